//! The DaemonSet controller (`pkg/controller/daemon`): one pod of the template on every node
//! that can run it — matching the template's node selector and affinity, tolerating the node's
//! taints. Each pod is pinned to its node with required node affinity on `metadata.name` and
//! placed by the scheduler, as upstream does. Nodes added later get their pod; nodes that no
//! longer qualify lose it.

use apimachinery::api::pod::Pod;
use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::expectations::Expectations;
use super::queue::{WorkQueue, SYNC};
use apimachinery::api::owner;
use apiserver::watch::{WatchEvent, WatchId};
use client::{self, Client, Informer};
use client::{Component, Ctx};
use scheduler::framework::{NodeInfo, PodInfo};
use scheduler::plugins::node_affinity::required_matches;

pub struct DaemonSetController {
    client: Client,
    watches: BTreeMap<WatchId, &'static str>,
    daemonsets: Informer,
    nodes: Informer,
    pods: Informer,
    queue: WorkQueue,
    expectations: Expectations,
}

impl Default for DaemonSetController {
    fn default() -> Self {
        DaemonSetController {
            client: super::controller_manager_client(),
            watches: BTreeMap::new(),
            daemonsets: Informer::default(),
            nodes: Informer::default(),
            pods: Informer::default(),
            queue: WorkQueue::default(),
            expectations: Expectations::default(),
        }
    }
}

/// The tolerations the controller adds to every daemon pod (`AddOrUpdateDaemonPodTolerations`):
/// daemons keep running on nodes that are not ready, unreachable, under pressure or cordoned.
fn daemon_tolerations() -> Vec<Value> {
    let mut t: Vec<Value> = [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]
    .iter()
    .map(|k| json!({"key": k, "operator": "Exists", "effect": "NoExecute"}))
    .collect();
    for k in [
        "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/pid-pressure",
        "node.kubernetes.io/unschedulable",
    ] {
        t.push(json!({"key": k, "operator": "Exists", "effect": "NoSchedule"}));
    }
    t
}

/// Whether a daemon pod of `template` should run on `node` (`NodeShouldRunDaemonPod`).
fn should_run(template_pod: &PodInfo, node: &Value) -> bool {
    let mut info = NodeInfo::default();
    info.set_node(node);
    if !required_matches(template_pod, &info) {
        return false;
    }
    info.taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .all(|t| template_pod.tolerations.iter().any(|tol| tol.tolerates(t)))
}

impl DaemonSetController {
    fn sync(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(ds) = self.daemonsets.get(key).cloned() else {
            return;
        };
        if apimachinery::api::meta::is_being_deleted(&ds) {
            return;
        }
        let ns = apimachinery::api::meta::namespace(&ds).to_string();
        let uid = apimachinery::api::meta::uid(&ds).to_string();
        let mut template = json!({"metadata": {"namespace": ns, "name": "template"}, "spec": ds["spec"]["template"]["spec"].clone()});
        let mut tolerations = template["spec"]["tolerations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        tolerations.extend(daemon_tolerations());
        template["spec"]["tolerations"] = Value::Array(tolerations.clone());
        let template_info = PodInfo::from_pod(&template);
        // Daemon pods by the node they are pinned to.
        let mut by_node: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for pod in self
            .pods
            .in_namespace(&ns)
            .filter(|p| owner::is_controlled_by(p, &uid) && Pod(p).is_active())
        {
            by_node
                .entry(pinned_node(pod))
                .or_default()
                .push(pod.clone());
        }
        let pods_res = client::resource("", "pods");
        // Until the watch shows the pods asked for, count but do not act (no double creates).
        let act = self.expectations.satisfied(key, ctx.now);
        let mut creations = 0;
        let (mut desired, mut scheduled, mut ready) = (0, 0, 0);
        let nodes: Vec<Value> = self.nodes.iter().cloned().collect();
        for node in &nodes {
            let name = apimachinery::api::meta::name(node).to_string();
            let existing = by_node.remove(&name).unwrap_or_default();
            if should_run(&template_info, node) {
                desired += 1;
                if existing.is_empty() {
                    if act {
                        let pod = daemon_pod(&ds, &name, &tolerations);
                        if self.client.create(ctx, pods_res, Some(&ns), &pod).is_ok() {
                            creations += 1;
                        }
                    }
                } else {
                    scheduled += 1;
                    ready += existing.iter().filter(|p| Pod(p).is_ready()).count();
                    // One is enough: delete the extras.
                    for extra in existing.iter().skip(1) {
                        let _ = self.client.delete(
                            ctx,
                            pods_res,
                            Some(&ns),
                            apimachinery::api::meta::name(extra),
                            &json!({}),
                        );
                    }
                }
            } else if act {
                for pod in existing {
                    let _ = self.client.delete(
                        ctx,
                        pods_res,
                        Some(&ns),
                        apimachinery::api::meta::name(&pod),
                        &json!({}),
                    );
                }
            }
        }
        if creations > 0 {
            self.expectations.expect(key, creations, 0, ctx.now);
        }
        // Pods pinned to nodes that are gone.
        for pods in by_node.values().filter(|_| act) {
            for pod in pods {
                let _ = self.client.delete(
                    ctx,
                    pods_res,
                    Some(&ns),
                    apimachinery::api::meta::name(pod),
                    &json!({}),
                );
            }
        }
        self.update_status(ctx, &ds, desired, scheduled, ready);
    }

    /// Writes what the sync counted into the DaemonSet's status (zero counts left out, as
    /// Go's omitempty does, except those upstream always writes).
    fn update_status(
        &self,
        ctx: &mut Ctx,
        ds: &Value,
        desired: usize,
        scheduled: usize,
        ready: usize,
    ) {
        let ns = apimachinery::api::meta::namespace(ds);
        let mut status = json!({
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": scheduled,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": scheduled,
            "numberMisscheduled": 0,
            "observedGeneration": ds["metadata"]["generation"],
        });
        if desired > ready {
            status["numberUnavailable"] = json!(desired - ready);
        }
        if let Some(m) = status.as_object_mut() {
            m.retain(|k, v| {
                k == "observedGeneration"
                    || k == "desiredNumberScheduled"
                    || k == "currentNumberScheduled"
                    || k == "numberMisscheduled"
                    || k == "numberReady"
                    || *v != json!(0)
            });
        }
        if ds["status"] != status {
            let _ = self.client.replace_status(
                ctx,
                client::resource("apps", "daemonsets"),
                Some(ns),
                apimachinery::api::meta::name(ds),
                &status,
            );
        }
    }
}

/// The node a daemon pod is pinned to: its `nodeName`, or the node named by its affinity.
fn pinned_node(pod: &Value) -> String {
    if let Some(n) = Pod(pod).node_name() {
        return n.to_string();
    }
    pod.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn daemon_pod(ds: &Value, node: &str, tolerations: &[Value]) -> Value {
    let template = &ds["spec"]["template"];
    let mut spec = template["spec"].clone();
    spec["tolerations"] = Value::Array(tolerations.to_vec());
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]});
    let mut labels = template["metadata"]["labels"].clone();
    labels["pod-template-generation"] = json!(ds["metadata"]["generation"]
        .as_i64()
        .unwrap_or(1)
        .to_string());
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": format!("{}-", apimachinery::api::meta::name(ds)), "namespace": ds["metadata"]["namespace"],
                     "labels": labels, "ownerReferences": [owner::controller_ref(ds, "apps/v1", "DaemonSet")]},
        "spec": spec,
    })
}

impl Component for DaemonSetController {
    fn name(&self) -> &str {
        "daemonset-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        for (group, res) in [("apps", "daemonsets"), ("", "nodes"), ("", "pods")] {
            if let Some(w) = self.client.open_watch(ctx, group, res) {
                self.watches.insert(w, res);
            }
        }
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        match self.watches.get(&watch).copied() {
            Some("daemonsets") => {
                if let Some(change) = self.daemonsets.apply(event) {
                    self.queue.add(ctx, client::key_of(change.object()), 0);
                }
            }
            // A node came, went or changed: every DaemonSet looks again.
            Some("nodes") if self.nodes.apply(event).is_some() => {
                let keys: Vec<String> = self.daemonsets.iter().map(client::key_of).collect();
                for k in keys {
                    self.queue.add(ctx, k, 0);
                }
            }
            Some("nodes") => {}
            Some(_) => {
                let Some(change) = self.pods.apply(event) else {
                    return;
                };
                if let Some(key) = owner::controller_key(change.object(), "DaemonSet") {
                    if matches!(change, client::InformerEvent::Added(_)) {
                        self.expectations.creation_observed(&key);
                    }
                    self.queue.add(ctx, key, 0);
                }
            }
            None => {}
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
