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

use serde_json::Value;

use super::events::Recorder;
use super::owner;
use super::queue::{WorkQueue, SYNC};
use crate::apiserver::watch::WatchId;
use crate::client::{self, Client, Informer};
use crate::sim::{Component, Ctx};

pub struct DeploymentController {
    client: Client,
    recorder: Recorder,
    deployment_watch: Option<WatchId>,
    rs_watch: Option<WatchId>,
    deployments: Informer,
    replicasets: Informer,
    queue: WorkQueue,
}

impl Default for DeploymentController {
    fn default() -> Self {
        let client = super::controller_manager_client();
        DeploymentController {
            recorder: Recorder::new(client.clone(), "deployment-controller"),
            client,
            deployment_watch: None,
            rs_watch: None,
            deployments: Informer::default(),
            replicasets: Informer::default(),
            queue: WorkQueue::default(),
        }
    }
}

impl DeploymentController {
    fn sync(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(d) = self.deployments.get(key).cloned() else {
            return;
        };
        if d.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let ns = crate::api::meta::namespace(&d);
        let uid = crate::api::meta::uid(&d);
        let owned: Vec<Value> = self
            .replicasets
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
            self.queue.add(ctx, key.to_string(), 1000);
        } else if d["status"]["conditions"][1]["reason"] != "NewReplicaSetAvailable"
            && d["spec"]["paused"] != Value::Bool(true)
        {
            // Look again when the progress deadline would pass, so a stalled rollout is
            // reported (`ProgressDeadlineExceeded`) even if nothing else changes.
            let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
            self.queue.add(ctx, key.to_string(), deadline * 1000 + 1);
        }
    }
}

impl Component for DeploymentController {
    fn name(&self) -> &str {
        "deployment-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.deployment_watch = self.client.open_watch(ctx, "apps", "deployments");
        self.rs_watch = self.client.open_watch(ctx, "apps", "replicasets");
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &Value) {
        if Some(watch) == self.deployment_watch {
            if let Some(change) = self.deployments.apply(event) {
                self.queue.add(ctx, client::key_of(change.object()), 0);
            }
        } else if Some(watch) == self.rs_watch {
            let Some(change) = self.replicasets.apply(event) else {
                return;
            };
            if let Some(key) = owner::controller_key(change.object(), "Deployment") {
                self.queue.add(ctx, key, 0);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        if token == SYNC {
            for k in self.queue.take(ctx) {
                self.sync(ctx, &k);
            }
        }
    }
}

#[cfg(test)]
mod tests;
