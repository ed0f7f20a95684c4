//! The StatefulSet controller (`pkg/controller/statefulset`): pods with stable names and
//! identities — `<set>-0`, `<set>-1`, … — each with its ordinal, hostname and subdomain.
//!
//! With `OrderedReady` (the default) pod *n* is created only when pods 0…n-1 are Running and
//! Ready, and scaling down removes the highest ordinal first, one at a time, waiting for it to
//! be gone. With `Parallel` all are created and deleted at once. The pod path after creation —
//! scheduler, kubelet, runtime — is the same as a ReplicaSet's.

use serde_json::{json, Value};

use super::owning::OwnerWatches;
use apimachinery::api::owner;
use apimachinery::api::pod::Pod;
use apiserver::watch::{WatchEvent, WatchId};
use client::{self, Client};
use client::{Component, Ctx};

pub struct StatefulSetController {
    client: Client,
    /// StatefulSets, and the Pods they own.
    watches: OwnerWatches,
}

impl Default for StatefulSetController {
    fn default() -> Self {
        StatefulSetController {
            client: super::controller_manager_client(),
            watches: OwnerWatches::new("StatefulSet"),
        }
    }
}

fn ordinal(set: &str, pod: &str) -> Option<i64> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

impl StatefulSetController {
    fn sync(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(set) = self.watches.owners.get(key).cloned() else {
            return;
        };
        if apimachinery::api::meta::is_being_deleted(&set) {
            return;
        }
        let (ns, name, uid) = (
            apimachinery::api::meta::namespace(&set).to_string(),
            apimachinery::api::meta::name(&set).to_string(),
            apimachinery::api::meta::uid(&set).to_string(),
        );
        let replicas = set["spec"]["replicas"].as_i64().unwrap_or(1);
        let parallel = set["spec"]["podManagementPolicy"] == "Parallel";
        // Pods by ordinal, with the ones still being deleted.
        let mut pods: Vec<(i64, Value)> = self
            .watches
            .owned
            .in_namespace(&ns)
            .filter(|p| owner::is_controlled_by(p, &uid))
            .filter_map(|p| {
                ordinal(&name, apimachinery::api::meta::name(p)).map(|o| (o, p.clone()))
            })
            .collect();
        apimachinery::collections::sort_by_key(&mut pods, |(o, _)| *o);
        let pods_res = client::resource("", "pods");
        let terminating = pods
            .iter()
            .any(|(_, p)| apimachinery::api::meta::is_being_deleted(p));
        // Create the missing ordinals, in order.
        for i in 0..replicas {
            if pods.iter().any(|(o, _)| *o == i) {
                continue;
            }
            if !parallel {
                let predecessors_ready = pods.iter().filter(|(o, _)| *o < i).all(|(_, p)| {
                    Pod(p).is_active() && Pod(p).is_ready() && Pod(p).phase() == "Running"
                });
                if !predecessors_ready || terminating {
                    break;
                }
            }
            let pod = stateful_pod(&set, i);
            let _ = self.client.create(ctx, pods_res, Some(&ns), &pod);
            if !parallel {
                break;
            }
        }
        // Scale down: the highest ordinals beyond `replicas` go first.
        let mut extra: Vec<&(i64, Value)> = pods
            .iter()
            .filter(|(o, p)| *o >= replicas && !apimachinery::api::meta::is_being_deleted(p))
            .collect();
        apimachinery::collections::sort_by_key(&mut extra, |(o, _)| std::cmp::Reverse(*o));
        for (_, pod) in extra.into_iter().take(if parallel {
            usize::MAX
        } else if terminating {
            0
        } else {
            1
        }) {
            let _ = self.client.delete(
                ctx,
                pods_res,
                Some(&ns),
                apimachinery::api::meta::name(pod),
                &json!({}),
            );
        }
        let active: Vec<&Value> = pods
            .iter()
            .map(|(_, p)| p)
            .filter(|p| Pod(p).is_active())
            .collect();
        let ready = active.iter().filter(|p| Pod(p).is_ready()).count();
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
                ctx,
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
    let set_name = apimachinery::api::meta::name(set);
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
        let (owners, owned) = (("apps", "statefulsets"), ("", "pods"));
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
