//! The world the control plane lives in: the virtual clock and the seeded RNG.
//!
//! Later this folder holds the deterministic event loop that steps every component; today the
//! API server takes its time and randomness from here.

mod clock;
mod rng;

pub use clock::{Time, EPOCH};
pub use rng::Rng;
