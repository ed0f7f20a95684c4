//! The StatefulSet controller (`pkg/controller/statefulset`): pods with stable names and
//! identities — `<set>-0`, `<set>-1`, … — each with its ordinal, hostname and subdomain.
//!
//! With `OrderedReady` (the default) pod *n* is created only when pods 0…n-1 are Running and
//! Ready, and scaling down removes the highest ordinal first, one at a time, waiting for it to
//! be gone. With `Parallel` all are created and deleted at once. The pod path after creation —
//! scheduler, kubelet, runtime — is the same as a ReplicaSet's.

use serde_json::{json, Value};

use super::owner;
use super::queue::{WorkQueue, SYNC};
use crate::apiserver::watch::WatchId;
use crate::client::{self, Client, Informer};
use crate::controllers::replicaset::{is_active, is_ready};
use crate::sim::{Component, Ctx};

pub struct StatefulSetController {
    client: Client,
    set_watch: Option<WatchId>,
    pod_watch: Option<WatchId>,
    sets: Informer,
    pods: Informer,
    queue: WorkQueue,
}

impl Default for StatefulSetController {
    fn default() -> Self {
        StatefulSetController {
            client: super::controller_manager_client(),
            set_watch: None,
            pod_watch: None,
            sets: Informer::default(),
            pods: Informer::default(),
            queue: WorkQueue::default(),
        }
    }
}

fn ordinal(set: &str, pod: &str) -> Option<i64> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

impl StatefulSetController {
    fn sync(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(set) = self.sets.get(key).cloned() else {
            return;
        };
        if set.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let (ns, name, uid) = (
            crate::api::meta::namespace(&set).to_string(),
            crate::api::meta::name(&set).to_string(),
            crate::api::meta::uid(&set).to_string(),
        );
        let replicas = set["spec"]["replicas"].as_i64().unwrap_or(1);
        let parallel = set["spec"]["podManagementPolicy"] == "Parallel";
        // Pods by ordinal, with the ones still being deleted.
        let mut pods: Vec<(i64, Value)> = self
            .pods
            .in_namespace(&ns)
            .filter(|p| owner::is_controlled_by(p, &uid))
            .filter_map(|p| ordinal(&name, crate::api::meta::name(p)).map(|o| (o, p.clone())))
            .collect();
        pods.sort_by_key(|(o, _)| *o);
        let pods_res = client::resource("", "pods");
        let terminating = pods
            .iter()
            .any(|(_, p)| p.pointer("/metadata/deletionTimestamp").is_some());
        // Create the missing ordinals, in order.
        for i in 0..replicas {
            if pods.iter().any(|(o, _)| *o == i) {
                continue;
            }
            if !parallel {
                let predecessors_ready = pods
                    .iter()
                    .filter(|(o, _)| *o < i)
                    .all(|(_, p)| is_active(p) && is_ready(p) && p["status"]["phase"] == "Running");
                if !predecessors_ready || terminating {
                    break;
                }
            }
            let pod = stateful_pod(&set, i);
            let _ = self.client.create(ctx.api, pods_res, Some(&ns), &pod);
            if !parallel {
                break;
            }
        }
        // Scale down: the highest ordinals beyond `replicas` go first.
        let mut extra: Vec<&(i64, Value)> = pods
            .iter()
            .filter(|(o, p)| *o >= replicas && p.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        extra.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
        for (_, pod) in extra.into_iter().take(if parallel {
            usize::MAX
        } else if terminating {
            0
        } else {
            1
        }) {
            let _ = self.client.delete(
                ctx.api,
                pods_res,
                Some(&ns),
                crate::api::meta::name(pod),
                &json!({}),
            );
        }
        let active: Vec<&Value> = pods
            .iter()
            .map(|(_, p)| p)
            .filter(|p| is_active(p))
            .collect();
        let ready = active.iter().filter(|p| is_ready(p)).count();
        let mut status = json!({
            "replicas": active.len(),
            "readyReplicas": ready,
            "currentReplicas": active.len(),
            "updatedReplicas": active.len(),
            "availableReplicas": ready,
            "observedGeneration": set["metadata"]["generation"],
        });
        if let Some(m) = status.as_object_mut() {
            m.retain(|k, v| {
                k == "replicas"
                    || k == "observedGeneration"
                    || k == "availableReplicas"
                    || *v != json!(0)
            });
        }
        if set["status"] != status {
            let _ = self.client.replace_status(
                ctx.api,
                client::resource("apps", "statefulsets"),
                Some(&ns),
                &name,
                &status,
            );
        }
    }
}

/// Pod `<set>-<ordinal>`, with its identity labels, hostname and subdomain.
fn stateful_pod(set: &Value, ordinal: i64) -> Value {
    let set_name = crate::api::meta::name(set);
    let name = format!("{set_name}-{ordinal}");
    let template = &set["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    labels["statefulset.kubernetes.io/pod-name"] = json!(name);
    labels["apps.kubernetes.io/pod-index"] = json!(ordinal.to_string());
    let mut spec = template["spec"].clone();
    spec["hostname"] = json!(name);
    if let Some(service) = set["spec"]["serviceName"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        spec["subdomain"] = json!(service);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": set["metadata"]["namespace"], "labels": labels,
                     "ownerReferences": [owner::controller_ref(set, "apps/v1", "StatefulSet")]},
        "spec": spec,
    })
}

impl Component for StatefulSetController {
    fn name(&self) -> &str {
        "statefulset-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.set_watch = self.client.open_watch(ctx, "apps", "statefulsets");
        self.pod_watch = self.client.open_watch(ctx, "", "pods");
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &Value) {
        if Some(watch) == self.set_watch {
            if let Some(change) = self.sets.apply(event) {
                self.queue.add(ctx, client::key_of(change.object()), 0);
            }
        } else if Some(watch) == self.pod_watch {
            let Some(change) = self.pods.apply(event) else {
                return;
            };
            if let Some(key) = owner::controller_key(change.object(), "StatefulSet") {
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
