//! The store: the etcd of the playground.
//!
//! An MVCC key-value store after etcd's `mvcc` package. Every write gets a global [`Revision`];
//! each key carries its `create_revision`, `mod_revision` and `version`. Transactions compare a
//! key's revisions before writing — this is how a stale Kubernetes `resourceVersion` becomes a
//! 409 Conflict. Watches start from any revision still in the history and receive every later
//! change to their key or prefix, in revision order.
//!
//! History is bounded: [`Store::compact`] (or the automatic compaction past `history_limit`
//! events) forgets events older than the compaction revision, and a watch that asks for them
//! gets [`StoreError::Compacted`] — the "too old resource version" (410 Gone) of Kubernetes.
//!
//! Worked example of compaction: revisions 2..=9 are in history. `compact(6)` drops the events
//! of revisions 2..=5. `watch("/a/", 6)` still works (it replays 6..=9); `watch("/a/", 5)`
//! fails with `Compacted { requested: 5, compacted: 6 }`.
//!
//! The store keeps the latest value of each key and the event history; it does not serve reads
//! at past revisions (Kubernetes' list semantics never need them here: the API server serves
//! "not older than" reads from the latest state).
//!
//! Invariants: `history` is sorted by revision and holds every event with `main >=
//! compact_revision`; only the API server holds a `Store`.

mod kv;
mod revision;
mod watcher_group;

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

pub use kv::{Event, EventType, KeyValue};
pub use revision::Revision;
pub use watcher_group::WatchId;
use watcher_group::{covers, WatcherGroup};

/// Sentinel errors, as etcd names them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("mvcc: required revision {requested} has been compacted (compacted at {compacted})")]
    Compacted { requested: i64, compacted: i64 },
    #[error("mvcc: required revision {requested} is a future revision (current {current})")]
    FutureRevision { requested: i64, current: i64 },
    #[error("invalid watch key {0:?}: a prefix must end in '/'")]
    InvalidWatchKey(String),
    #[error("unknown watch {0:?}")]
    UnknownWatch(WatchId),
}

/// What a [`Compare`] looks at. An absent key has all three equal to 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareTarget {
    ModRevision(i64),
    CreateRevision(i64),
    Version(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareResult {
    Equal,
    NotEqual,
    Less,
    Greater,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    pub key: String,
    pub target: CompareTarget,
    pub result: CompareResult,
}

impl Compare {
    /// `mod_revision(key) == rev`; `rev == 0` means "the key does not exist".
    pub fn mod_revision(key: &str, rev: i64) -> Self {
        Compare {
            key: key.to_string(),
            target: CompareTarget::ModRevision(rev),
            result: CompareResult::Equal,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Get { key: String },
    Put { key: String, value: Arc<[u8]> },
    Delete { key: String },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub success: Vec<Op>,
    pub failure: Vec<Op>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    Get(Option<KeyValue>),
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// `prev` is `None` when the key did not exist (nothing was deleted).
    Delete {
        prev: Option<KeyValue>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnResponse {
    pub succeeded: bool,
    /// The store's revision after the transaction.
    pub revision: i64,
    pub results: Vec<OpResult>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeResult {
    pub kvs: Vec<KeyValue>,
    /// More keys match past the limit.
    pub more: bool,
    /// The store's revision the range was read at.
    pub revision: i64,
}

/// Default bound on the event history before automatic compaction.
pub const DEFAULT_HISTORY_LIMIT: usize = 100_000;

#[derive(Debug)]
pub struct Store {
    revision: i64,
    compact_revision: i64,
    kvs: BTreeMap<Arc<str>, KeyValue>,
    history: VecDeque<Event>,
    history_limit: usize,
    watchers: WatcherGroup,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        Self::with_history_limit(DEFAULT_HISTORY_LIMIT)
    }

    /// A store that compacts automatically once more than `limit` events are in history.
    pub fn with_history_limit(limit: usize) -> Self {
        Store {
            // etcd starts at revision 1; the first write is revision 2.
            revision: 1,
            compact_revision: 0,
            kvs: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: limit.max(1),
            watchers: WatcherGroup::default(),
        }
    }

    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn compact_revision(&self) -> i64 {
        self.compact_revision
    }

    pub fn len(&self) -> usize {
        self.kvs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kvs.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&KeyValue> {
        self.kvs.get(key)
    }

    /// Keys starting with `prefix`, in key order, strictly after `start_after` when given, at
    /// most `limit` of them (`0` = no limit).
    pub fn range(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> RangeResult {
        let lower = match start_after {
            Some(k) if k >= prefix => Bound::Excluded(k),
            _ => Bound::Included(prefix),
        };
        let mut kvs = Vec::new();
        let mut more = false;
        for (k, kv) in self.kvs.range::<str, _>((lower, Bound::Unbounded)) {
            if !k.starts_with(prefix) {
                break;
            }
            if limit != 0 && kvs.len() == limit {
                more = true;
                break;
            }
            kvs.push(kv.clone());
        }
        RangeResult {
            kvs,
            more,
            revision: self.revision,
        }
    }

    /// The changes to `key` still in history (since the last compaction), oldest first: what
    /// the etcd browser shows of a key's past.
    pub fn history_of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.history.iter().filter(move |e| &*e.kv.key == key)
    }

    /// Number of keys under `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.kvs
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .count()
    }

    pub fn put(&mut self, key: &str, value: impl Into<Arc<[u8]>>) -> KeyValue {
        let resp = self.txn(Txn {
            success: vec![Op::Put {
                key: key.to_string(),
                value: value.into(),
            }],
            ..Txn::default()
        });
        match resp.results.into_iter().next() {
            Some(OpResult::Put { kv, .. }) => kv,
            // Invariant: a Put op always yields a Put result.
            _ => unreachable!("put yields a put result"),
        }
    }

    pub fn delete(&mut self, key: &str) -> Option<KeyValue> {
        let resp = self.txn(Txn {
            success: vec![Op::Delete {
                key: key.to_string(),
            }],
            ..Txn::default()
        });
        match resp.results.into_iter().next() {
            Some(OpResult::Delete { prev }) => prev,
            // Invariant: a Delete op always yields a Delete result.
            _ => unreachable!("delete yields a delete result"),
        }
    }

    fn compare_holds(&self, c: &Compare) -> bool {
        let kv = self.kvs.get(c.key.as_str());
        let (actual, wanted) = match c.target {
            CompareTarget::ModRevision(r) => (kv.map_or(0, |kv| kv.mod_revision), r),
            CompareTarget::CreateRevision(r) => (kv.map_or(0, |kv| kv.create_revision), r),
            CompareTarget::Version(v) => (kv.map_or(0, |kv| kv.version), v),
        };
        match c.result {
            CompareResult::Equal => actual == wanted,
            CompareResult::NotEqual => actual != wanted,
            CompareResult::Less => actual < wanted,
            CompareResult::Greater => actual > wanted,
        }
    }

    /// Runs `success` if every compare holds, else `failure`. All writes of one transaction
    /// share one main revision; a transaction that writes nothing does not move the revision.
    pub fn txn(&mut self, txn: Txn) -> TxnResponse {
        let succeeded = txn.compares.iter().all(|c| self.compare_holds(c));
        let ops = if succeeded { txn.success } else { txn.failure };
        let main = self.revision + 1;
        let mut sub = 0;
        let mut results = Vec::with_capacity(ops.len());
        let mut events = Vec::new();
        for op in ops {
            match op {
                Op::Get { key } => results.push(OpResult::Get(self.kvs.get(key.as_str()).cloned())),
                Op::Put { key, value } => {
                    let prev = self.kvs.get(key.as_str()).cloned();
                    let key: Arc<str> = prev.as_ref().map_or_else(|| key.into(), |p| p.key.clone());
                    let kv = KeyValue {
                        key: key.clone(),
                        value,
                        create_revision: prev.as_ref().map_or(main, |p| p.create_revision),
                        mod_revision: main,
                        version: prev.as_ref().map_or(1, |p| p.version + 1),
                    };
                    self.kvs.insert(key, kv.clone());
                    events.push(Event {
                        kind: EventType::Put,
                        revision: Revision::new(main, sub),
                        kv: kv.clone(),
                        prev_kv: prev.clone(),
                    });
                    sub += 1;
                    results.push(OpResult::Put { kv, prev });
                }
                Op::Delete { key } => {
                    let prev = self.kvs.remove(key.as_str());
                    if let Some(p) = &prev {
                        events.push(Event {
                            kind: EventType::Delete,
                            revision: Revision::new(main, sub),
                            kv: KeyValue {
                                key: p.key.clone(),
                                value: Arc::from(&[][..]),
                                create_revision: p.create_revision,
                                mod_revision: main,
                                version: 0,
                            },
                            prev_kv: Some(p.clone()),
                        });
                        sub += 1;
                    }
                    results.push(OpResult::Delete { prev });
                }
            }
        }
        if !events.is_empty() {
            self.revision = main;
            for ev in events {
                self.watchers.notify(&ev);
                self.history.push_back(ev);
            }
            self.auto_compact();
        }
        TxnResponse {
            succeeded,
            revision: self.revision,
            results,
        }
    }

    fn auto_compact(&mut self) {
        if self.history.len() <= self.history_limit {
            return;
        }
        // Drop whole revisions, so a revision is either fully in history or fully compacted.
        let excess = self.history.len() - self.history_limit;
        let cut = self.history[excess - 1].revision.main + 1;
        self.drop_history_before(cut);
    }

    fn drop_history_before(&mut self, rev: i64) {
        while self.history.front().is_some_and(|e| e.revision.main < rev) {
            self.history.pop_front();
        }
        self.compact_revision = self.compact_revision.max(rev);
    }

    /// Forgets every event older than `rev`. Watches may then start at `rev` or later.
    pub fn compact(&mut self, rev: i64) -> Result<(), StoreError> {
        if rev > self.revision {
            return Err(StoreError::FutureRevision {
                requested: rev,
                current: self.revision,
            });
        }
        if rev <= self.compact_revision {
            return Err(StoreError::Compacted {
                requested: rev,
                compacted: self.compact_revision,
            });
        }
        self.drop_history_before(rev);
        Ok(())
    }

    /// Starts a watch on `key` (exact) or on every key under `key` (`prefix`, which must end in
    /// `/`), delivering every event from revision `start` on. `start == 0` means "from the next
    /// write". Past events still in history are queued at once.
    pub fn watch(&mut self, key: &str, prefix: bool, start: i64) -> Result<WatchId, StoreError> {
        if prefix && !key.ends_with('/') {
            return Err(StoreError::InvalidWatchKey(key.to_string()));
        }
        let start = if start <= 0 { self.revision + 1 } else { start };
        if start < self.compact_revision {
            return Err(StoreError::Compacted {
                requested: start,
                compacted: self.compact_revision,
            });
        }
        // History is sorted by revision: find the first event at or after `start`.
        let first = self.history.partition_point(|e| e.revision.main < start);
        let backlog = self
            .history
            .range(first..)
            .filter(|e| covers(key, prefix, &e.kv.key))
            .cloned()
            .collect();
        Ok(self.watchers.add(key, prefix, backlog))
    }

    /// Takes the events delivered to a watch since the last call.
    pub fn take_events(&mut self, id: WatchId) -> Result<Vec<Event>, StoreError> {
        self.watchers.take(id).ok_or(StoreError::UnknownWatch(id))
    }

    /// The watches that were given events since the last call (a hint: their owners poll
    /// these instead of every watch).
    pub fn take_ready_watches(&mut self) -> std::collections::BTreeSet<WatchId> {
        self.watchers.take_ready()
    }

    /// Events waiting for a watch.
    pub fn pending_events(&self, id: WatchId) -> usize {
        self.watchers.pending(id)
    }

    pub fn cancel_watch(&mut self, id: WatchId) -> bool {
        self.watchers.remove(id)
    }
}

#[cfg(test)]
mod tests;
