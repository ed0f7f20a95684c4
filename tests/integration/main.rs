//! The integration tests, in one binary: real kubectl against the headless control plane, the
//! built page in real Chromium, and the architecture's boundaries.

mod boundaries;
mod kubectl;
mod page;
