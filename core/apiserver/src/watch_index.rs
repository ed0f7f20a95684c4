//! The node index of pod watches. Every kubelet watches the pods bound to it
//! (`fieldSelector=spec.nodeName=<node>`); with a store watch each, every pod write was decoded
//! and judged once per node — quadratic in a 5,000-node cluster. Upstream's watch cache keeps
//! an index on `spec.nodeName` for the same reason (the pods' `IndexerFuncs`). Here those
//! watches share one store watch: each write is decoded once and judged only by the watches of
//! the node it names before and after.

use std::collections::{BTreeMap, BTreeSet};

use super::registry::Resource;
use super::request::WatchId;
use super::selectors::FieldSelector;
use super::status::ApiError;
use super::ApiServer;

pub(super) struct NodeIndex {
    store_watch: store::WatchId,
    sessions: BTreeMap<String, BTreeSet<WatchId>>,
}

/// The node a watch of every namespace's pods is limited to (`spec.nodeName=<node>`), if any.
pub(super) fn indexable(res: &Resource, ns: Option<&str>, field: &FieldSelector) -> Option<String> {
    if res.kind != "Pod" || ns.is_some() {
        return None;
    }
    field
        .requirements
        .iter()
        .find(|(f, equal, _)| f == "spec.nodeName" && *equal)
        .map(|(_, _, node)| node.clone())
        // `spec.nodeName=` (the unscheduled pods) is not a node: such a watch keeps a store
        // watch of its own.
        .filter(|node| !node.is_empty())
}

fn node_of(pod: Option<&serde_json::Value>) -> Option<&str> {
    pod?.pointer("/spec/nodeName")?
        .as_str()
        .filter(|n| !n.is_empty())
}

impl ApiServer {
    /// Feeds watch `id` from the index from now on.
    pub(super) fn node_index_join(
        &mut self,
        pods: &Resource,
        node: String,
        id: WatchId,
    ) -> Result<(), ApiError> {
        // What the index holds so far belongs to the watches already there.
        self.route_node_index();
        if self.node_index.is_none() {
            let store_watch = self
                .store
                .watch(&pods.key_prefix(None), true, self.store.revision() + 1)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            self.node_index = Some(NodeIndex {
                store_watch,
                sessions: BTreeMap::new(),
            });
        }
        if let Some(index) = &mut self.node_index {
            index.sessions.entry(node).or_default().insert(id);
        }
        Ok(())
    }

    pub(super) fn node_index_leave(&mut self, node: &str, id: WatchId) {
        let Some(index) = &mut self.node_index else {
            return;
        };
        if let Some(ids) = index.sessions.get_mut(node) {
            ids.remove(&id);
            if ids.is_empty() {
                index.sessions.remove(node);
            }
        }
        if index.sessions.is_empty() {
            self.store.cancel_watch(index.store_watch);
            self.node_index = None;
        }
    }

    /// Whether the index's store watch has writes not yet handed to its watches.
    pub(super) fn node_index_pending(&self) -> bool {
        self.node_index
            .as_ref()
            .is_some_and(|i| self.store.pending_events(i.store_watch) > 0)
    }

    /// Hands each pod write the index has seen to the watches of the node(s) it names.
    pub(super) fn route_node_index(&mut self) {
        if !self.node_index_pending() {
            return;
        }
        let Some(index) = &self.node_index else {
            return;
        };
        let events = self
            .store
            .take_events(index.store_watch)
            .unwrap_or_default();
        let now = self.now;
        for ev in &events {
            // Routed by the trimmed form (the node is in the spec); each watch gets its own.
            let (new, old) = self.decoded.decode_both(ev, true);
            let mut targets = BTreeSet::new();
            for node in [node_of(new.as_deref()), node_of(old.as_deref())]
                .into_iter()
                .flatten()
            {
                if let Some(ids) = index.sessions.get(node) {
                    targets.extend(ids.iter().copied());
                }
            }
            for id in targets {
                let Some(session) = self.watches.get_mut(&id) else {
                    continue;
                };
                session.last_rv = ev.revision.main;
                let (new, old) = if session.trim {
                    (new.clone(), old.clone())
                } else {
                    self.decoded.decode_both(ev, false)
                };
                if let Some(e) = session.judge(new, old, now) {
                    session.pending.push_back(e);
                    self.ready.insert(id);
                }
            }
        }
    }
}
