//! The garbage collector (`pkg/controller/garbagecollector` upstream): deletes objects whose
//! owners are gone, and carries out the two deletion modes that wait on dependents.
//!
//! - **Background** (kubectl's default): the owner is deleted at once; its dependents, whose
//!   owners are now all absent, are deleted after it.
//! - **Foreground**: the owner keeps a `foregroundDeletion` finalizer while the collector
//!   deletes the dependents that block it (`blockOwnerDeletion`), themselves in foreground;
//!   when none is left the finalizer goes, and the owner with it.
//! - **Orphan**: the collector strips the owner's reference from every dependent, then
//!   removes the `orphan` finalizer.
//!
//! Its view is a graph built from watches of every kind that owns or is owned: each object by
//! UID, with the UIDs of its owners. Before deleting a dependent for a missing owner it asks
//! the API server, as upstream does, so a lagging watch never causes a wrong deletion.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::queue::{WorkQueue, SYNC};
use apiserver::registry::{self, Resource};
use apiserver::watch::{WatchEvent, WatchId};
use client::{self, Client};
use client::{Component, Ctx};

/// The kinds the collector watches: every owner and dependent the controllers make.
const WATCHED: &[(&str, &str)] = &[
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("", "pods"),
];

#[derive(Clone, Debug)]
struct Node {
    resource: &'static Resource,
    namespace: String,
    name: String,
    owners: Vec<Value>,
    finalizers: Vec<String>,
    deleting: bool,
}

pub struct GarbageCollector {
    client: Client,
    watches: BTreeMap<WatchId, &'static Resource>,
    nodes: BTreeMap<String, Node>,
    dependents: BTreeMap<String, BTreeSet<String>>,
    queue: WorkQueue,
}

impl Default for GarbageCollector {
    fn default() -> Self {
        GarbageCollector {
            client: Client::new(
                "system:serviceaccount:kube-system:generic-garbage-collector",
                &["system:masters"],
            ),
            watches: BTreeMap::new(),
            nodes: BTreeMap::new(),
            dependents: BTreeMap::new(),
            queue: WorkQueue::default(),
        }
    }
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

impl GarbageCollector {
    fn observe(&mut self, ctx: &mut Ctx, resource: &'static Resource, event: &WatchEvent) {
        let obj = &*event.object;
        let uid = apimachinery::api::meta::uid(obj).to_string();
        if uid.is_empty() {
            return;
        }
        let old = self.nodes.remove(&uid);
        if let Some(old) = &old {
            for o in &old.owners {
                if let Some(set) = o["uid"].as_str().and_then(|u| self.dependents.get_mut(u)) {
                    set.remove(&uid);
                }
            }
        }
        let deleted = event.is_deleted();
        let deleting = apimachinery::api::meta::is_being_deleted(obj);
        let finalizers = str_list(&obj["metadata"]["finalizers"]);
        // Its dependents need a look only when this object goes, starts going, or its
        // finalizers change (upstream's graph changes): not on every status write of a
        // ReplicaSet with a thousand pods.
        let dependents_concerned = deleted
            || deleting
            || old
                .as_ref()
                .is_none_or(|o| o.deleting != deleting || o.finalizers != finalizers);
        let owners = obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !deleted {
            for o in &owners {
                if let Some(u) = o["uid"].as_str() {
                    self.dependents
                        .entry(u.to_string())
                        .or_default()
                        .insert(uid.clone());
                }
            }
            self.nodes.insert(
                uid.clone(),
                Node {
                    resource,
                    namespace: apimachinery::api::meta::namespace(obj).to_string(),
                    name: apimachinery::api::meta::name(obj).to_string(),
                    owners: owners.clone(),
                    finalizers,
                    deleting,
                },
            );
        }
        // This object may now be garbage, or a dependent's owner may have gone or changed.
        self.queue.add(ctx, uid.clone(), 0);
        if dependents_concerned {
            for d in self.dependents.get(&uid).into_iter().flatten() {
                self.queue.add(ctx, d.clone(), 0);
            }
        }
        for o in &owners {
            if let Some(u) = o["uid"].as_str() {
                self.queue.add(ctx, u.to_string(), 0);
            }
        }
    }

    /// Whether the owner a reference names still exists (asked of the API server).
    fn owner_exists(&self, ctx: &mut Ctx, namespace: &str, owner: &Value) -> bool {
        let (api_version, kind) = (
            owner["apiVersion"].as_str().unwrap_or_default(),
            owner["kind"].as_str().unwrap_or_default(),
        );
        let Some(res) = registry::find_kind(api_version, kind) else {
            return true;
        };
        let ns = res.namespaced.then_some(namespace);
        let path = client::object_path(res, ns, owner["name"].as_str().unwrap_or_default());
        let resp = self
            .client
            .send(ctx, apiserver::Request::new(apiserver::Method::Get, &path));
        resp.code == 200 && resp.value()["metadata"]["uid"] == owner["uid"]
    }

    fn delete(&self, ctx: &mut Ctx, node: &Node, propagation: &str) {
        let ns = node.resource.namespaced.then_some(node.namespace.as_str());
        let _ = self.client.delete(
            ctx,
            node.resource,
            ns,
            &node.name,
            &json!({"propagationPolicy": propagation}),
        );
    }

    fn remove_finalizer(&self, ctx: &mut Ctx, node: &Node, finalizer: &str) {
        let rest: Vec<&String> = node.finalizers.iter().filter(|f| *f != finalizer).collect();
        let ns = node.resource.namespaced.then_some(node.namespace.as_str());
        let _ = self.client.patch(
            ctx,
            node.resource,
            ns,
            &node.name,
            &json!({"metadata": {"finalizers": rest}}),
        );
    }

    fn process(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(node) = self.nodes.get(uid).cloned() else {
            return;
        };
        // Only an owner being deleted looks at its dependents.
        let dependents: Vec<Node> = if node.deleting {
            self.dependents
                .get(uid)
                .into_iter()
                .flatten()
                .filter_map(|d| self.nodes.get(d).cloned())
                .collect()
        } else {
            Vec::new()
        };
        if node.deleting && node.finalizers.iter().any(|f| f == "orphan") {
            // attemptToOrphan: drop the reference from every dependent, then the finalizer.
            for d in &dependents {
                let kept: Vec<&Value> = d
                    .owners
                    .iter()
                    .filter(|o| o["uid"].as_str() != Some(uid))
                    .collect();
                let ns = d.resource.namespaced.then_some(d.namespace.as_str());
                let _ = self.client.patch(
                    ctx,
                    d.resource,
                    ns,
                    &d.name,
                    &json!({"metadata": {"ownerReferences": kept}}),
                );
            }
            self.remove_finalizer(ctx, &node, "orphan");
            return;
        }
        if node.deleting && node.finalizers.iter().any(|f| f == "foregroundDeletion") {
            let blocking: Vec<&Node> = dependents
                .iter()
                .filter(|d| {
                    d.owners.iter().any(|o| {
                        o["uid"].as_str() == Some(uid) && o["blockOwnerDeletion"] == json!(true)
                    })
                })
                .collect();
            if blocking.is_empty() {
                self.remove_finalizer(ctx, &node, "foregroundDeletion");
            } else {
                for d in blocking.into_iter().filter(|d| !d.deleting) {
                    self.delete(ctx, d, "Foreground");
                }
            }
            return;
        }
        if node.owners.is_empty() || node.deleting {
            return;
        }
        // attemptToDeleteItem: garbage when no owner is left.
        let any_alive = node.owners.iter().any(|o| {
            let known = o["uid"].as_str().and_then(|u| self.nodes.get(u));
            match known {
                Some(owner) => {
                    !owner.deleting || owner.finalizers.iter().any(|f| f == "foregroundDeletion")
                }
                None => false,
            }
        });
        let owner_in_foreground = node.owners.iter().any(|o| {
            o["uid"]
                .as_str()
                .and_then(|u| self.nodes.get(u))
                .is_some_and(|owner| {
                    owner.deleting && owner.finalizers.iter().any(|f| f == "foregroundDeletion")
                })
        });
        if owner_in_foreground {
            self.delete(ctx, &node, "Foreground");
            return;
        }
        if any_alive {
            return;
        }
        // The cache may lag: judge by the dependent's owners as they are now.
        let ns = node.resource.namespaced.then_some(node.namespace.as_str());
        let path = client::object_path(node.resource, ns, &node.name);
        let live = self
            .client
            .send(ctx, apiserver::Request::new(apiserver::Method::Get, &path));
        if live.code != 200 || live.value()["metadata"]["uid"] != uid {
            return;
        }
        let owners = live.value()["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !owners.is_empty()
            && owners
                .iter()
                .all(|o| !self.owner_exists(ctx, &node.namespace, o))
        {
            self.delete(ctx, &node, "Background");
        }
    }
}

impl Component for GarbageCollector {
    fn name(&self) -> &str {
        "garbage-collector-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        for (group, name) in WATCHED {
            let res = client::resource(group, name);
            if let Ok(w) = self.client.watch(ctx, res, "") {
                self.watches.insert(w, res);
                ctx.own_watch(w);
            }
        }
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        if let Some(res) = self.watches.get(&watch).copied() {
            self.observe(ctx, res, event);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        if token == SYNC {
            for uid in self.queue.take(ctx) {
                self.process(ctx, &uid);
            }
        }
    }
}
