//! Controller expectations (`pkg/controller/controller_utils.go` upstream): after asking for N
//! creations, a controller waits until its watch has shown it N new pods before it counts
//! again — otherwise a sync that runs before the watch catches up would create them twice.
//! Expectations expire after five minutes, so a lost event cannot stall a controller forever.

use std::collections::BTreeMap;

use apimachinery::clock::Time;

pub const EXPECTATIONS_TIMEOUT_MS: i64 = 5 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expectation {
    adds: i64,
    deletes: i64,
    set_at: Time,
}

#[derive(Debug, Default)]
pub struct Expectations {
    by_key: BTreeMap<String, Expectation>,
}

impl Expectations {
    pub fn satisfied(&self, key: &str, now: Time) -> bool {
        match self.by_key.get(key) {
            None => true,
            Some(e) => {
                (e.adds <= 0 && e.deletes <= 0)
                    || now.millis() - e.set_at.millis() > EXPECTATIONS_TIMEOUT_MS
            }
        }
    }

    pub fn expect(&mut self, key: &str, adds: i64, deletes: i64, now: Time) {
        self.by_key.insert(
            key.to_string(),
            Expectation {
                adds,
                deletes,
                set_at: now,
            },
        );
    }

    pub fn creation_observed(&mut self, key: &str) {
        if let Some(e) = self.by_key.get_mut(key) {
            e.adds -= 1;
        }
    }

    pub fn deletion_observed(&mut self, key: &str) {
        if let Some(e) = self.by_key.get_mut(key) {
            e.deletes -= 1;
        }
    }

    /// Lowers the expected creations when some were never made (a failed create).
    pub fn lower(&mut self, key: &str, adds: i64, deletes: i64) {
        if let Some(e) = self.by_key.get_mut(key) {
            e.adds -= adds;
            e.deletes -= deletes;
        }
    }

    pub fn forget(&mut self, key: &str) {
        self.by_key.remove(key);
    }
}
