//! The Deployment controller (`pkg/controller/deployment` upstream), split by concern as
//! upstream splits it: [`sync`] (the ReplicaSet of the current template, scaling, status,
//! history cleanup), [`rolling`] (RollingUpdate arithmetic) and [`recreate`].
//!
//! A Deployment owns one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`.
//! The controller never creates Pods: it only sets the `replicas` of its ReplicaSets, and the
//! ReplicaSet controller does the rest.

mod recreate;
mod rolling;
pub mod sync;
pub mod util;

use serde_json::Value;

use super::owning::OwnerWatches;
use apimachinery::api::owner;
use apiserver::watch::{WatchEvent, WatchId};
use client::events::Recorder;
use client::Client;
use client::{Component, Ctx};

pub struct DeploymentController {
    client: Client,
    recorder: Recorder,
    /// Deployments, and the ReplicaSets they own.
    watches: OwnerWatches,
}

impl Default for DeploymentController {
    fn default() -> Self {
        let client = super::controller_manager_client();
        DeploymentController {
            recorder: Recorder::new(client.clone(), "deployment-controller"),
            client,
            watches: OwnerWatches::new("Deployment"),
        }
    }
}

impl DeploymentController {
    fn sync(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(d) = self.watches.owners.get(key).cloned() else {
            return;
        };
        if apimachinery::api::meta::is_being_deleted(&d) {
            return;
        }
        let ns = apimachinery::api::meta::namespace(&d);
        let uid = apimachinery::api::meta::uid(&d);
        let owned: Vec<Value> = self
            .watches
            .owned
            .in_namespace(ns)
            .filter(|rs| owner::is_controlled_by(rs, uid))
            .cloned()
            .collect();
        let mut s = sync::Sync {
            client: &self.client,
            recorder: &mut self.recorder,
            ctx,
        };
        let result = if d["spec"]["paused"] == Value::Bool(true) {
            s.sync_paused(&d, owned)
        } else if d["spec"]["strategy"]["type"] == "Recreate" {
            recreate::rollout(&mut s, &d, owned)
        } else {
            rolling::rollout(&mut s, &d, owned)
        };
        if result.is_err() {
            // A conflict or a stale cache: the watch brings fresh objects; try again soon.
            self.watches.queue.add(ctx, key.to_string(), 1000);
        } else if apimachinery::api::meta::condition(&d, "Progressing")
            .is_none_or(|c| c["reason"] != "NewReplicaSetAvailable")
            && d["spec"]["paused"] != Value::Bool(true)
        {
            // Look again when the progress deadline would pass, so a stalled rollout is
            // reported (`ProgressDeadlineExceeded`) even if nothing else changes.
            let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
            self.watches
                .queue
                .add(ctx, key.to_string(), deadline * 1000 + 1);
        }
    }
}

impl Component for DeploymentController {
    fn name(&self) -> &str {
        "deployment-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        let (owners, owned) = (("apps", "deployments"), ("apps", "replicasets"));
        self.watches.start(&self.client, ctx, owners, owned);
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        self.watches.on_watch(ctx, watch, event);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        for k in self.watches.due(ctx, token) {
            self.sync(ctx, &k);
        }
    }
}
