//! The integration tests, in one binary: real kubectl against the headless control plane, the
//! built page in real Chromium, the scenarios with their trace snapshots, and the
//! architecture's boundaries.

mod boundaries;
mod explain;
mod kubectl;
mod node_agent;
mod page;
mod page_real_node;
mod real_node;
mod scenarios;
mod schema;
mod yaml;
