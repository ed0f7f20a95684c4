//! Watches (`k8s.io/apiserver/pkg/storage` watch and the `WatchServer` of the endpoints
//! package): a session turns store events under a resource's key prefix into Kubernetes
//! watch events — `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR` — filtered by label and
//! field selectors.
//!
//! A watch with a selector sees an object *enter* its view as `ADDED` and *leave* it as
//! `DELETED`, judged on the object before and after each write, as upstream's cacher does.
//!
//! The session is pull-based (sans-IO): the owner of the connection calls
//! [`ApiServer::poll_watch`] whenever the store may have moved.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::{json, Value};

use super::printers;
use super::registry::Resource;
use super::request::{Query, Request, Response};
use super::selectors::{FieldSelector, Selector};
use super::status::ApiError;
use super::ApiServer;
use store::{Event, KeyValue, StoreError};

pub use super::request::WatchId;

/// What a watch event says happened (`watch.EventType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
            EventType::Bookmark => "BOOKMARK",
            EventType::Error => "ERROR",
        }
    }
}

/// One watch event (`{"type": …, "object": …}` on the wire). The object is shared: a write
/// is decoded once, however many watchers — every controller, the scheduler, the page — it
/// goes to, and their informers keep that one copy.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchEvent {
    pub kind: EventType,
    pub object: Arc<Value>,
}

impl WatchEvent {
    pub fn new(kind: EventType, object: impl Into<Arc<Value>>) -> WatchEvent {
        WatchEvent {
            kind,
            object: object.into(),
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.kind == EventType::Deleted
    }

    /// The event as the wire carries it.
    pub fn to_value(&self) -> Value {
        json!({"type": self.kind.as_str(), "object": &*self.object})
    }
}

impl serde::Serialize for WatchEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("type", self.kind.as_str())?;
        map.serialize_entry("object", &*self.object)?;
        map.end()
    }
}

/// Objects decoded for watches, by key, revision and whether it is the value before the
/// write: the watchers of one write share one decode. Bounded; a miss only decodes again.
#[derive(Debug, Default)]
pub(super) struct DecodeCache {
    objects: BTreeMap<DecodeKey, Arc<Value>>,
    order: VecDeque<DecodeKey>,
}

/// A stored value decoded: its key, the revision it is decoded at, whether it is the value
/// before a write, and whether its `managedFields` were left out.
type DecodeKey = (Arc<str>, i64, bool, bool);

/// Writes whose objects the cache holds (a burst's watchers poll right after it).
const DECODE_CACHE_ENTRIES: usize = 4096;

impl DecodeCache {
    /// `kv` decoded as of revision `rv` (its own, or the write's for a previous value);
    /// `trim` leaves `managedFields` out.
    pub(super) fn decode(
        &mut self,
        kv: &KeyValue,
        rv: i64,
        prev: bool,
        trim: bool,
    ) -> Option<Arc<Value>> {
        let key = (Arc::clone(&kv.key), rv, prev, trim);
        if let Some(obj) = self.objects.get(&key) {
            return Some(Arc::clone(obj));
        }
        let mut kv = kv.clone();
        kv.mod_revision = rv;
        let mut obj = ApiServer::decode(&kv).ok()?;
        if trim {
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("managedFields");
            }
        }
        let obj = Arc::new(obj);
        if self.order.len() >= DECODE_CACHE_ENTRIES {
            if let Some(old) = self.order.pop_front() {
                self.objects.remove(&old);
            }
        }
        self.order.push_back(key.clone());
        self.objects.insert(key, Arc::clone(&obj));
        Some(obj)
    }

    /// A store event's object after and before the write, both at the write's revision.
    pub(super) fn decode_both(
        &mut self,
        ev: &Event,
        trim: bool,
    ) -> (Option<Arc<Value>>, Option<Arc<Value>>) {
        let rv = ev.revision.main;
        let new = match ev.kind {
            store::EventType::Put => self.decode(&ev.kv, rv, false, trim),
            store::EventType::Delete => None,
        };
        let old = ev
            .prev_kv
            .as_ref()
            .and_then(|kv| self.decode(kv, rv, true, trim));
        (new, old)
    }
}

pub struct WatchSession {
    store_watch: Option<store::WatchId>,
    res: &'static Resource,
    label: Selector,
    field: FieldSelector,
    name: Option<String>,
    /// Events ready to send (the initial state, or a terminal error).
    pub(super) pending: VecDeque<WatchEvent>,
    table: bool,
    include_object: Option<String>,
    /// Table watches send column definitions with the first event only.
    sent_columns: bool,
    pub bookmarks: bool,
    /// The revision of the last event sent.
    pub(super) last_rv: i64,
    /// The node of a `spec.nodeName=<node>` pod watch fed by the shared node index
    /// (`watch_index.rs`) instead of a store watch of its own.
    pub(super) indexed_node: Option<String>,
    /// Objects without `managedFields` (an in-process informer's watch).
    pub(super) trim: bool,
}

pub fn start(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    name: Option<&str>,
    req: &Request,
    query: &Query,
) -> Result<Response, ApiError> {
    let (label, field) =
        super::request::from_query(res.kind, query).map_err(ApiError::bad_request)?;
    let rv_param = query.get("resourceVersion").unwrap_or_default();
    let prefix = res.key_prefix(ns);
    let mut session = WatchSession {
        store_watch: None,
        res,
        label,
        field,
        name: name.map(str::to_string),
        pending: VecDeque::new(),
        table: printers::wants_table(req.accept.as_deref()),
        include_object: query.get("includeObject").map(str::to_string),
        sent_columns: false,
        bookmarks: query.flag("allowWatchBookmarks"),
        last_rv: s.store.revision(),
        indexed_node: None,
        trim: req.trim_managed_fields,
    };
    let node = super::watch_index::indexable(res, ns, &session.field);
    if rv_param.is_empty() || rv_param == "0" {
        // "Get state and start at most recent": synthetic ADDED events for what exists now.
        for kv in s.store.range(&prefix, None, 0).kvs {
            let obj = match s.decoded.decode(&kv, kv.mod_revision, false, session.trim) {
                Some(obj) => obj,
                None => Arc::new(ApiServer::decode(&kv)?),
            };
            if session.selects(&obj) {
                let ev = session.event(EventType::Added, obj, s.now);
                session.pending.push_back(ev);
            }
        }
        if node.is_none() {
            session.store_watch = Some(
                s.store
                    .watch(&prefix, true, s.store.revision() + 1)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            );
        }
        session.indexed_node = node;
    } else {
        let rv: i64 = rv_param.parse().map_err(|_| {
            ApiError::bad_request(format!("resourceVersion: Invalid value: \"{rv_param}\": strconv.ParseUint: parsing \"{rv_param}\": invalid syntax"))
        })?;
        if rv < 0 || rv == i64::MAX {
            return Err(ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{rv_param}\": out of range"
            )));
        }
        // The shared index only feeds watches that start now.
        let node = node.filter(|_| rv == s.store.revision());
        let watch = match node {
            Some(_) => Ok(None),
            None => s.store.watch(&prefix, true, rv + 1).map(Some),
        };
        match watch {
            Ok(None) => {
                session.indexed_node = node;
                session.last_rv = rv;
            }
            Ok(Some(w)) => {
                session.store_watch = Some(w);
                session.last_rv = rv;
            }
            Err(StoreError::Compacted { compacted, .. }) => {
                // Upstream answers 200 and then a single ERROR event carrying 410 Expired.
                let err = ApiError::Expired {
                    message: format!("too old resource version: {rv} ({})", compacted - 1),
                };
                session
                    .pending
                    .push_back(WatchEvent::new(EventType::Error, err.status()));
            }
            Err(e) => return Err(ApiError::internal(e.to_string())),
        }
    }
    s.next_watch += 1;
    let id = WatchId(s.next_watch);
    if let Some(w) = session.store_watch {
        s.session_of.insert(w, id);
    }
    if let Some(node) = &session.indexed_node {
        s.node_index_join(res, node.clone(), id)?;
    }
    if !session.pending.is_empty() {
        s.ready.insert(id);
    }
    s.watches.insert(id, session);
    let mut resp = Response::raw(200, "application/json", Vec::new());
    resp.watch = Some(id);
    Ok(resp)
}

impl WatchSession {
    fn selects(&self, obj: &Value) -> bool {
        self.name
            .as_deref()
            .is_none_or(|n| apimachinery::api::meta::name(obj) == n)
            && self.label.matches(obj)
            && self.field.matches(self.res.kind, obj)
    }

    fn event(
        &mut self,
        kind: EventType,
        obj: Arc<Value>,
        now: apimachinery::clock::Time,
    ) -> WatchEvent {
        if self.table {
            let columns = !self.sent_columns;
            self.sent_columns = true;
            let mut table = printers::table(
                self.res.kind,
                std::slice::from_ref(&*obj),
                self.include_object.as_deref(),
                now,
            );
            if !columns {
                table["columnDefinitions"] = Value::Null;
            }
            table["metadata"] = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
            return WatchEvent::new(kind, table);
        }
        WatchEvent::new(kind, obj)
    }

    /// The watch event for one store event, if this session sees it.
    fn translate(
        &mut self,
        ev: &Event,
        now: apimachinery::clock::Time,
        decoded: &mut DecodeCache,
    ) -> Option<WatchEvent> {
        let rv = ev.revision.main;
        // Without selectors every object is in: the event's kind follows from the store's
        // event alone, and only the object sent is decoded (most watchers — every
        // controller's — are like this; decoding the previous value too doubled their work).
        if self.name.is_none() && self.label.is_empty() && self.field.requirements.is_empty() {
            let (kind, obj) = match (ev.kind, &ev.prev_kv) {
                (store::EventType::Put, None) => (
                    EventType::Added,
                    decoded.decode(&ev.kv, rv, false, self.trim)?,
                ),
                (store::EventType::Put, Some(_)) => (
                    EventType::Modified,
                    decoded.decode(&ev.kv, rv, false, self.trim)?,
                ),
                (store::EventType::Delete, prev) => (
                    EventType::Deleted,
                    decoded.decode(prev.as_ref()?, rv, true, self.trim)?,
                ),
            };
            return Some(self.event(kind, obj, now));
        }
        let (new, old) = decoded.decode_both(ev, self.trim);
        self.judge(new, old, now)
    }

    /// The event for a write that turned `old` into `new` (either absent), if this session
    /// sees it: entering its view is `ADDED`, leaving it `DELETED`.
    pub(super) fn judge(
        &mut self,
        new: Option<Arc<Value>>,
        old: Option<Arc<Value>>,
        now: apimachinery::clock::Time,
    ) -> Option<WatchEvent> {
        let new_in = new.as_ref().is_some_and(|o| self.selects(o));
        let old_in = old.as_ref().is_some_and(|o| self.selects(o));
        let (kind, obj) = match (old_in, new_in) {
            (false, true) => (EventType::Added, new?),
            (true, true) => (EventType::Modified, new?),
            (true, false) => (EventType::Deleted, new.or(old)?),
            (false, false) => return None,
        };
        Some(self.event(kind, obj, now))
    }
}

impl ApiServer {
    /// Takes the events of a watch that are ready; `None` if the watch is unknown or closed.
    pub fn poll_watch(&mut self, id: WatchId) -> Option<Vec<WatchEvent>> {
        self.route_node_index();
        self.ready.remove(&id);
        let session = self.watches.get_mut(&id)?;
        let mut out: Vec<WatchEvent> = session.pending.drain(..).collect();
        if let Some(w) = session.store_watch {
            let events = self.store.take_events(w).ok()?;
            let now = self.now;
            let session = self.watches.get_mut(&id)?;
            for ev in &events {
                session.last_rv = ev.revision.main;
                if let Some(e) = session.translate(ev, now, &mut self.decoded) {
                    out.push(e);
                }
            }
        } else if session.indexed_node.is_some() {
            // Fed by the node index (`route_node_index`).
        } else if out.is_empty() {
            // A failed watch has delivered its error: it is over.
            self.watches.remove(&id);
            return None;
        } else {
            // Ready again, so its owner's next poll learns that it is over.
            self.ready.insert(id);
        }
        Some(out)
    }

    /// A `BOOKMARK` event carrying the latest revision the watch has seen, when the client
    /// allowed bookmarks.
    pub fn bookmark(&mut self, id: WatchId) -> Option<WatchEvent> {
        let session = self.watches.get(&id)?;
        if !session.bookmarks || !session.pending.is_empty() {
            return None;
        }
        let behind = match (session.store_watch, &session.indexed_node) {
            (Some(w), _) => self.store.pending_events(w) > 0,
            (None, Some(_)) => self.node_index_pending(),
            (None, None) => return None,
        };
        if behind {
            return None;
        }
        let rv = session.last_rv.max(self.store.revision());
        Some(WatchEvent::new(
            EventType::Bookmark,
            json!({"kind": session.res.kind, "apiVersion": session.res.api_version(), "metadata": {"resourceVersion": rv.to_string()}}),
        ))
    }

    pub fn cancel_watch(&mut self, id: WatchId) {
        if let Some(session) = self.watches.remove(&id) {
            if let Some(w) = session.store_watch {
                self.store.cancel_watch(w);
                self.session_of.remove(&w);
            }
            if let Some(node) = &session.indexed_node {
                self.node_index_leave(node, id);
            }
        }
        self.ready.remove(&id);
    }

    /// The watches that may have events to send since the last call, in id order: whoever
    /// serves many watches polls these rather than all of them.
    pub fn take_ready_watches(&mut self) -> BTreeSet<WatchId> {
        let store_ready = self.store.take_ready_watches();
        self.route_node_index();
        let mut ready = std::mem::take(&mut self.ready);
        for w in store_ready {
            if let Some(id) = self.session_of.get(&w) {
                ready.insert(*id);
            }
        }
        ready
    }
}
