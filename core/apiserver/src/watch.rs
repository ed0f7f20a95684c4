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

use std::collections::{BTreeSet, VecDeque};

use serde_json::{json, Value};

use super::printers;
use super::registry::Resource;
use super::request::{Query, Request, Response};
use super::selectors::{FieldSelector, Selector};
use super::status::ApiError;
use super::watch_index::decode_both;
use super::ApiServer;
use store::{Event, EventType, StoreError};

pub use super::request::WatchId;

pub struct WatchSession {
    store_watch: Option<store::WatchId>,
    res: &'static Resource,
    label: Selector,
    field: FieldSelector,
    name: Option<String>,
    /// Events ready to send (the initial state, or a terminal error).
    pub(super) pending: VecDeque<Value>,
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
    };
    let node = super::watch_index::indexable(res, ns, &session.field);
    if rv_param.is_empty() || rv_param == "0" {
        // "Get state and start at most recent": synthetic ADDED events for what exists now.
        for kv in s.store.range(&prefix, None, 0).kvs {
            let obj = ApiServer::decode(&kv)?;
            if session.selects(&obj) {
                let ev = session.event("ADDED", obj, s.now);
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
                    .push_back(json!({"type": "ERROR", "object": err.status()}));
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

    fn event(&mut self, kind: &str, obj: Value, now: apimachinery::clock::Time) -> Value {
        if self.table {
            let columns = !self.sent_columns;
            self.sent_columns = true;
            let mut table = printers::table(
                self.res.kind,
                std::slice::from_ref(&obj),
                self.include_object.as_deref(),
                now,
            );
            if !columns {
                table["columnDefinitions"] = Value::Null;
            }
            table["metadata"] = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
            return json!({"type": kind, "object": table});
        }
        json!({"type": kind, "object": obj})
    }

    /// The watch event for one store event, if this session sees it.
    fn translate(&mut self, ev: &Event, now: apimachinery::clock::Time) -> Option<Value> {
        let rv = ev.revision.main;
        let decode = |kv: &store::KeyValue| -> Option<Value> {
            let mut kv = kv.clone();
            kv.mod_revision = rv;
            ApiServer::decode(&kv).ok()
        };
        // Without selectors every object is in: the event's kind follows from the store's
        // event alone, and only the object sent is decoded (most watchers — every
        // controller's — are like this; decoding the previous value too doubled their work).
        if self.name.is_none() && self.label.is_empty() && self.field.requirements.is_empty() {
            let (kind, obj) = match (ev.kind, &ev.prev_kv) {
                (EventType::Put, None) => ("ADDED", decode(&ev.kv)?),
                (EventType::Put, Some(_)) => ("MODIFIED", decode(&ev.kv)?),
                (EventType::Delete, prev) => ("DELETED", decode(prev.as_ref()?)?),
            };
            return Some(self.event(kind, obj, now));
        }
        let (new, old) = decode_both(ev);
        self.judge(new.as_ref(), old.as_ref(), now)
    }

    /// The event for a write that turned `old` into `new` (either absent), if this session
    /// sees it: entering its view is `ADDED`, leaving it `DELETED`.
    pub(super) fn judge(
        &mut self,
        new: Option<&Value>,
        old: Option<&Value>,
        now: apimachinery::clock::Time,
    ) -> Option<Value> {
        let new_in = new.is_some_and(|o| self.selects(o));
        let old_in = old.is_some_and(|o| self.selects(o));
        let (kind, obj) = match (old_in, new_in) {
            (false, true) => ("ADDED", new?),
            (true, true) => ("MODIFIED", new?),
            (true, false) => ("DELETED", new.or(old)?),
            (false, false) => return None,
        };
        Some(self.event(kind, obj.clone(), now))
    }
}

impl WatchSession {}

impl ApiServer {
    /// Takes the events of a watch that are ready; `None` if the watch is unknown or closed.
    pub fn poll_watch(&mut self, id: WatchId) -> Option<Vec<Value>> {
        self.route_node_index();
        self.ready.remove(&id);
        let session = self.watches.get_mut(&id)?;
        let mut out: Vec<Value> = session.pending.drain(..).collect();
        if let Some(w) = session.store_watch {
            let events = self.store.take_events(w).ok()?;
            let now = self.now;
            let session = self.watches.get_mut(&id)?;
            for ev in &events {
                session.last_rv = ev.revision.main;
                if let Some(e) = session.translate(ev, now) {
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
    pub fn bookmark(&mut self, id: WatchId) -> Option<Value> {
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
        Some(json!({
            "type": "BOOKMARK",
            "object": {"kind": session.res.kind, "apiVersion": session.res.api_version(), "metadata": {"resourceVersion": rv.to_string()}}
        }))
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
