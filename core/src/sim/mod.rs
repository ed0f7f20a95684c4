//! The world the control plane lives in: the virtual clock, the seeded RNG, and the
//! deterministic event loop that steps every component ([`World`]).

mod clock;
mod rng;
mod world;

pub use clock::{parse_rfc3339_micros, rfc3339, seconds, Time, EPOCH};
pub use rng::Rng;
pub use world::{Component, ComponentId, Ctx, World};
