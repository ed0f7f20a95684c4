//! Watchers and their fan-out index, after etcd's `watcher_group.go`.
//!
//! A watcher follows one exact key or one key prefix. Prefix watchers must end in `/`, which is
//! how every Kubernetes watch looks (`/registry/pods/`, `/registry/pods/default/`). That lets a
//! write find its watchers by looking up each `/`-terminated prefix of its key in a map instead
//! of scanning every watcher: a write to `/registry/pods/default/web-0` looks up `/`,
//! `/registry/`, `/registry/pods/`, `/registry/pods/default/` and the key itself — five lookups
//! whether there are ten watchers or ten thousand.
//!
//! Invariant: every watcher in `watchers` is in exactly one list of `prefixes` or `exact`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::kv::Event;

/// Names one watcher; handed out in increasing order, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchId(pub u64);

#[derive(Debug)]
struct Watcher {
    key: String,
    prefix: bool,
    /// Events delivered but not yet taken by the watcher's owner.
    pending: VecDeque<Event>,
}

#[derive(Debug, Default)]
pub struct WatcherGroup {
    next_id: u64,
    watchers: BTreeMap<WatchId, Watcher>,
    prefixes: BTreeMap<String, Vec<WatchId>>,
    exact: BTreeMap<String, Vec<WatchId>>,
    /// Watchers with events pending, so their owners poll only those (with thousands of
    /// watchers — one per kubelet — polling all of them after every write was quadratic).
    ready: BTreeSet<WatchId>,
}

impl WatcherGroup {
    pub fn add(&mut self, key: &str, prefix: bool, backlog: VecDeque<Event>) -> WatchId {
        self.next_id += 1;
        let id = WatchId(self.next_id);
        let index = if prefix {
            &mut self.prefixes
        } else {
            &mut self.exact
        };
        index.entry(key.to_string()).or_default().push(id);
        self.watchers.insert(
            id,
            Watcher {
                key: key.to_string(),
                prefix,
                pending: backlog,
            },
        );
        if !self.watchers[&id].pending.is_empty() {
            self.ready.insert(id);
        }
        id
    }

    pub fn remove(&mut self, id: WatchId) -> bool {
        let Some(w) = self.watchers.remove(&id) else {
            return false;
        };
        self.ready.remove(&id);
        let index = if w.prefix {
            &mut self.prefixes
        } else {
            &mut self.exact
        };
        if let Some(ids) = index.get_mut(&w.key) {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                index.remove(&w.key);
            }
        }
        true
    }

    /// Queues `event` on every watcher whose key or prefix covers the event's key.
    pub fn notify(&mut self, event: &Event) {
        let key: &str = &event.kv.key;
        let deliver = |ids: &Vec<WatchId>,
                       watchers: &mut BTreeMap<WatchId, Watcher>,
                       ready: &mut BTreeSet<WatchId>| {
            for id in ids {
                if let Some(w) = watchers.get_mut(id) {
                    w.pending.push_back(event.clone());
                    ready.insert(*id);
                }
            }
        };
        for (i, c) in key.char_indices() {
            if c == '/' {
                if let Some(ids) = self.prefixes.get(&key[..=i]) {
                    deliver(ids, &mut self.watchers, &mut self.ready);
                }
            }
        }
        if let Some(ids) = self.exact.get(key) {
            deliver(ids, &mut self.watchers, &mut self.ready);
        }
    }

    pub fn take(&mut self, id: WatchId) -> Option<Vec<Event>> {
        self.ready.remove(&id);
        self.watchers
            .get_mut(&id)
            .map(|w| w.pending.drain(..).collect())
    }

    /// The watchers that had events queued since the last call, in id order.
    pub fn take_ready(&mut self) -> BTreeSet<WatchId> {
        std::mem::take(&mut self.ready)
    }

    pub fn pending(&self, id: WatchId) -> usize {
        self.watchers.get(&id).map_or(0, |w| w.pending.len())
    }
}

/// Whether a watcher on `key` (exact, or a `/`-terminated prefix) sees a write to `candidate`.
pub fn covers(key: &str, prefix: bool, candidate: &str) -> bool {
    if prefix {
        candidate.starts_with(key)
    } else {
        candidate == key
    }
}
