//! Key-value records and the events the store emits, as etcd's `mvccpb` shapes them.

use std::sync::Arc;

use super::revision::Revision;

/// One key at one revision. `value` is shared: history, watchers and the live map hold the
/// same bytes, so fan-out to many watchers never copies an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Arc<str>,
    pub value: Arc<[u8]>,
    /// Main revision of the write that created this generation of the key.
    pub create_revision: i64,
    /// Main revision of the last write to the key.
    pub mod_revision: i64,
    /// Writes to this generation of the key, starting at 1; reset by a delete.
    pub version: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Put,
    Delete,
}

/// A change to one key. For a delete, `kv` carries the key with the deleting revision as
/// `mod_revision` and an empty value (as etcd does); `prev_kv` the last value it had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventType,
    pub revision: Revision,
    pub kv: KeyValue,
    pub prev_kv: Option<KeyValue>,
}
