//! The Deployment controller (`pkg/controller/deployment` upstream) — in progress.
