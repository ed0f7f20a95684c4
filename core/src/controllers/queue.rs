//! The work queue of a controller (client-go's `workqueue`): a set of dirty keys and one
//! pending wake-up. Keys added while a wake-up is pending are handled by it, so a burst of
//! watch events for one object costs one sync.

use std::collections::BTreeSet;

use crate::sim::Ctx;

/// The timer token every controller uses for "process the queue".
pub const SYNC: u64 = 1;

#[derive(Debug, Default)]
pub struct WorkQueue {
    dirty: BTreeSet<String>,
    scheduled: bool,
}

impl WorkQueue {
    /// Marks `key` dirty and makes sure a sync runs after `delay_ms`.
    pub fn add(&mut self, ctx: &mut Ctx, key: String, delay_ms: i64) {
        self.dirty.insert(key);
        if !self.scheduled {
            self.scheduled = true;
            ctx.after(delay_ms, SYNC);
        }
    }

    /// The dirty keys, in order; the queue is empty afterwards.
    pub fn take(&mut self) -> Vec<String> {
        self.scheduled = false;
        std::mem::take(&mut self.dirty).into_iter().collect()
    }
}
