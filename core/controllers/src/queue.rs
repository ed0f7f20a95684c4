//! The work queue of a controller (client-go's delaying `workqueue`): keys waiting to be
//! synced, each due at a time. Keys added again before they are handled are handled once, at
//! the earliest time asked for; a burst of watch events for one object costs one sync.

use std::collections::{BTreeMap, BTreeSet};

use apimachinery::clock::Time;
use client::Ctx;

/// The timer token every controller uses for "process the queue".
pub const SYNC: u64 = 1;

#[derive(Debug, Default)]
pub struct WorkQueue {
    /// Key → when it is due.
    due: BTreeMap<String, Time>,
    /// Times a wake-up is already set for.
    wakeups: BTreeSet<Time>,
}

impl WorkQueue {
    /// Queues `key` to be synced `delay_ms` from now (sooner if it is already due sooner).
    pub fn add(&mut self, ctx: &mut Ctx, key: String, delay_ms: i64) {
        let at = ctx.now.plus_millis(delay_ms.max(0));
        let due = self.due.entry(key).or_insert(at);
        *due = (*due).min(at);
        let due = *due;
        // A wake-up at or before `due` will find it; otherwise set one.
        if self.wakeups.range(..=due).next().is_none() {
            self.wakeups.insert(due);
            ctx.after(due.millis() - ctx.now.millis(), SYNC);
        }
    }

    /// The keys due now, in order; called on a `SYNC` wake-up. Keys due later stay queued
    /// (with their own wake-up).
    pub fn take(&mut self, ctx: &mut Ctx) -> Vec<String> {
        let now = ctx.now;
        self.wakeups.retain(|t| *t > now);
        let ready: Vec<String> = self
            .due
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &ready {
            self.due.remove(k);
        }
        if let Some(next) = self.due.values().min().copied() {
            if self.wakeups.range(..=next).next().is_none() {
                self.wakeups.insert(next);
                ctx.after(next.millis() - now.millis(), SYNC);
            }
        }
        ready
    }
}
