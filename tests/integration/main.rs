//! The integration tests, in one binary: real kubectl against the headless control plane.

mod kubectl;
