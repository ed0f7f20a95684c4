//! The namespace controller (`pkg/controller/namespace` upstream): empties a namespace that is
//! being deleted — every namespaced resource in it, through `deletecollection` — and then
//! removes the `kubernetes` finalizer from `spec.finalizers` (the `finalize` subresource), so
//! the API server can let the namespace go.

use serde_json::{json, Value};

use super::queue::{WorkQueue, SYNC};
use apiserver::registry::RESOURCES;
use apiserver::watch::{WatchEvent, WatchId};
use apiserver::{Method, Request};
use client::{self, Client, Informer};
use client::{Component, Ctx};

/// How long to wait before looking again at a namespace that still has content.
const RECHECK_MS: i64 = 500;

pub struct NamespaceController {
    client: Client,
    watch: Option<WatchId>,
    namespaces: Informer,
    queue: WorkQueue,
}

impl Default for NamespaceController {
    fn default() -> Self {
        NamespaceController {
            client: super::controller_manager_client(),
            watch: None,
            namespaces: Informer::default(),
            queue: WorkQueue::default(),
        }
    }
}

impl NamespaceController {
    /// Deletes what is left in `ns`; returns how many objects were still there.
    fn delete_content(&self, ctx: &mut Ctx, ns: &str) -> usize {
        let mut remaining = 0;
        for res in RESOURCES
            .iter()
            .filter(|r| r.namespaced && r.serves("deletecollection") && r.serves("list"))
        {
            let path = client::collection_path(res, Some(ns));
            let list = self
                .client
                .send(ctx, Request::new(Method::Get, &path))
                .value();
            let count = list["items"].as_array().map_or(0, Vec::len);
            if count > 0 {
                remaining += count;
                self.client.send(
                    ctx,
                    Request::new(Method::Delete, &path)
                        .json(&json!({"propagationPolicy": "Background"})),
                );
            }
        }
        remaining
    }

    fn sync(&mut self, ctx: &mut Ctx, name: &str) {
        let Some(ns) = self.namespaces.get(name).cloned() else {
            return;
        };
        let finalizers: Vec<Value> = ns["spec"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !apimachinery::api::meta::is_being_deleted(&ns)
            || !finalizers.contains(&json!("kubernetes"))
        {
            return;
        }
        if self.delete_content(ctx, name) > 0 {
            self.queue.add(ctx, name.to_string(), RECHECK_MS);
            return;
        }
        let mut finalized = ns.clone();
        finalized["spec"]["finalizers"] = Value::Array(
            finalizers
                .into_iter()
                .filter(|f| f != "kubernetes")
                .collect(),
        );
        let path = format!(
            "{}/finalize",
            client::object_path(client::resource("", "namespaces"), None, name)
        );
        self.client
            .send(ctx, Request::new(Method::Put, &path).json(&finalized));
    }
}

impl Component for NamespaceController {
    fn name(&self) -> &str {
        "namespace-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.watch = self.client.open_watch(ctx, "", "namespaces");
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        if Some(watch) == self.watch {
            if let Some(change) = self.namespaces.apply(event) {
                self.queue.add(ctx, client::key_of(change.object()), 0);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        if token == SYNC {
            for name in self.queue.take(ctx) {
                self.sync(ctx, &name);
            }
        }
    }
}
