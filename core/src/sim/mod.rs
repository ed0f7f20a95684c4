//! The world the control plane lives in: the virtual clock, the seeded RNG, and the
//! deterministic event loop that steps every component ([`World`]).

mod world;

pub use crate::client::{Component, ComponentId, Ctx};
pub use crate::clock::{parse_rfc3339_micros, rfc3339, seconds, Time, EPOCH};
pub use crate::rng::Rng;
pub use world::{Profiler, World};
