//! The scheduling queue (`internal/queue/scheduling_queue.go` upstream): three sub-queues.
//!
//! - **active**: ready to schedule, ordered by PrioritySort — higher `priority` first, then
//!   the earlier arrival;
//! - **backoff**: failed recently, waiting 1 s, 2 s, 4 s … up to 10 s per attempt;
//! - **unschedulable**: failed, waiting for a cluster event (a node added or changed, a pod
//!   gone) that could make it fit — or for five minutes, whichever comes first.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use apimachinery::clock::Time;

pub const INITIAL_BACKOFF_MS: i64 = 1_000;
pub const MAX_BACKOFF_MS: i64 = 10_000;
/// `podMaxInUnschedulablePodsDuration`.
pub const MAX_UNSCHEDULABLE_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Default)]
pub struct SchedulingQueue {
    active: BTreeSet<(Reverse<i64>, Time, String)>,
    active_index: BTreeMap<String, (Reverse<i64>, Time)>,
    backoff: BTreeMap<String, Time>,
    unschedulable: BTreeMap<String, Time>,
    attempts: BTreeMap<String, u32>,
    priority: BTreeMap<String, i64>,
}

impl SchedulingQueue {
    /// A new pending pod, or one whose spec changed: straight to active.
    pub fn add(&mut self, key: &str, priority: i64, now: Time) {
        self.priority.insert(key.to_string(), priority);
        self.backoff.remove(key);
        self.unschedulable.remove(key);
        if self.active_index.contains_key(key) {
            return;
        }
        self.push_active(key, now);
    }

    fn push_active(&mut self, key: &str, now: Time) {
        let p = Reverse(*self.priority.get(key).unwrap_or(&0));
        self.active.insert((p, now, key.to_string()));
        self.active_index.insert(key.to_string(), (p, now));
    }

    pub fn pop(&mut self) -> Option<String> {
        let (_, _, key) = self.active.pop_first()?;
        self.active_index.remove(&key);
        Some(key)
    }

    pub fn has_active(&self) -> bool {
        !self.active.is_empty()
    }

    /// Forgets a pod (bound, deleted, or no longer ours).
    pub fn delete(&mut self, key: &str) {
        if let Some((p, t)) = self.active_index.remove(key) {
            self.active.remove(&(p, t, key.to_string()));
        }
        self.backoff.remove(key);
        self.unschedulable.remove(key);
        self.attempts.remove(key);
        self.priority.remove(key);
    }

    fn backoff_ms(&self, key: &str) -> i64 {
        let n = self.attempts.get(key).copied().unwrap_or(1).max(1);
        (INITIAL_BACKOFF_MS << (n - 1).min(10)).min(MAX_BACKOFF_MS)
    }

    /// A failed attempt: the pod waits for a cluster event (and its backoff).
    pub fn unschedulable(&mut self, key: &str, now: Time) {
        *self.attempts.entry(key.to_string()).or_default() += 1;
        self.unschedulable.insert(key.to_string(), now);
    }

    /// A failed bind or an error: retry after the backoff.
    pub fn backoff(&mut self, key: &str, now: Time) -> Time {
        *self.attempts.entry(key.to_string()).or_default() += 1;
        let at = now.plus_millis(self.backoff_ms(key));
        self.backoff.insert(key.to_string(), at);
        at
    }

    /// A cluster event that may make unschedulable pods fit: each goes to active, or to
    /// backoff if its backoff has not run out (`MoveAllToActiveOrBackoffQueue`). Returns the
    /// earliest time a backoff ends, if any pod went there.
    pub fn move_all_to_active_or_backoff(&mut self, now: Time) -> Option<Time> {
        let keys: Vec<(String, Time)> = std::mem::take(&mut self.unschedulable)
            .into_iter()
            .collect();
        let mut earliest: Option<Time> = None;
        for (key, failed_at) in keys {
            let ready = failed_at.plus_millis(self.backoff_ms(&key));
            if ready <= now {
                self.push_active(&key, now);
            } else {
                self.backoff.insert(key, ready);
                earliest = Some(earliest.map_or(ready, |e| e.min(ready)));
            }
        }
        earliest
    }

    /// Moves pods whose backoff ended, and pods unschedulable for too long, to active.
    /// Returns the next time something will be due.
    pub fn flush(&mut self, now: Time) -> Option<Time> {
        let due: Vec<String> = self
            .backoff
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.backoff.remove(&k);
            self.push_active(&k, now);
        }
        let stale: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|(_, t)| t.plus_millis(MAX_UNSCHEDULABLE_MS) <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.unschedulable.remove(&k);
            self.push_active(&k, now);
        }
        let next_backoff = self.backoff.values().min().copied();
        let next_stale = self
            .unschedulable
            .values()
            .map(|t| t.plus_millis(MAX_UNSCHEDULABLE_MS))
            .min();
        match (next_backoff, next_stale) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn len(&self) -> (usize, usize, usize) {
        (
            self.active.len(),
            self.backoff.len(),
            self.unschedulable.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::clock::EPOCH;

    #[test]
    fn priority_then_arrival_order() {
        let mut q = SchedulingQueue::default();
        q.add("a", 0, EPOCH);
        q.add("b", 100, EPOCH.plus_millis(1));
        q.add("c", 0, EPOCH.plus_millis(2));
        assert_eq!(
            (q.pop(), q.pop(), q.pop(), q.pop()),
            (Some("b".into()), Some("a".into()), Some("c".into()), None)
        );
    }

    #[test]
    fn backoff_doubles_to_ten_seconds() {
        let mut q = SchedulingQueue::default();
        let waits: Vec<i64> = (0..6)
            .map(|_| q.backoff("p", EPOCH).millis() - EPOCH.millis())
            .collect();
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    }

    #[test]
    fn cluster_events_move_unschedulable_pods() {
        let mut q = SchedulingQueue::default();
        q.add("p", 0, EPOCH);
        q.pop();
        q.unschedulable("p", EPOCH);
        assert_eq!(q.len(), (0, 0, 1));
        // Too soon: its first backoff (1 s) has not run out.
        assert_eq!(
            q.move_all_to_active_or_backoff(EPOCH.plus_millis(500)),
            Some(EPOCH.plus_millis(1000))
        );
        assert_eq!(q.len(), (0, 1, 0));
        q.flush(EPOCH.plus_millis(1000));
        assert_eq!(q.pop(), Some("p".into()));
    }
}
