//! The node lifecycle controller (`pkg/controller/nodelifecycle`) with the taint eviction it
//! drives (`pkg/controller/tainteviction`).
//!
//! Every 5 s it looks at each node's last heartbeat — its Lease's `renewTime`, or the Ready
//! condition's `lastHeartbeatTime` — and when a node has been silent past the grace period
//! (50 s) it:
//! - sets the node's conditions to `Unknown` ("Kubelet stopped posting node status."),
//! - taints it `node.kubernetes.io/unreachable` with `NoSchedule` (no new pods) and
//!   `NoExecute` (evict),
//! - marks its pods not Ready.
//!
//! Pods on a `NoExecute`-tainted node are deleted when they do not tolerate the taint, or once
//! their `tolerationSeconds` have passed since the taint was added (300 s by default, from the
//! DefaultTolerationSeconds admission plugin). When the node's kubelet reports Ready again the
//! taints are removed.

use apimachinery::api::pod::Pod;
use std::collections::BTreeMap;

use serde_json::{json, Value};

use apimachinery::clock::Time;
use apiserver::watch::{WatchEvent, WatchId};
use client::events::Recorder;
use client::{self, Client, Informer};
use client::{Component, Ctx};
use scheduler::framework::{PodInfo, Taint};

pub const NODE_MONITOR_PERIOD_MS: i64 = 5_000;
pub const NODE_MONITOR_GRACE_PERIOD_MS: i64 = 50_000;
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

const MONITOR: u64 = 1;

pub struct NodeLifecycleController {
    client: Client,
    recorder: Recorder,
    node_watch: Option<WatchId>,
    lease_watch: Option<WatchId>,
    pod_watch: Option<WatchId>,
    nodes: Informer,
    leases: Informer,
    pods: Informer,
    /// Pods already asked to go, so each eviction is made once.
    evicted: BTreeMap<String, Time>,
}

impl Default for NodeLifecycleController {
    fn default() -> Self {
        let client = super::controller_manager_client();
        NodeLifecycleController {
            recorder: Recorder::new(client.clone(), "node-controller"),
            client,
            node_watch: None,
            lease_watch: None,
            pod_watch: None,
            nodes: Informer::default(),
            leases: Informer::default(),
            pods: Informer::default(),
            evicted: BTreeMap::new(),
        }
    }
}

fn ready_condition(node: &Value) -> Option<&Value> {
    apimachinery::api::meta::condition(node, "Ready")
}

fn has_taint(node: &Value, key: &str, effect: &str) -> bool {
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["key"] == key && t["effect"] == effect)
}

impl NodeLifecycleController {
    fn last_heartbeat(&self, node: &Value) -> Option<Time> {
        let name = apimachinery::api::meta::name(node);
        let lease = self
            .leases
            .get(&format!("kube-node-lease/{name}"))
            .and_then(|l| l["spec"]["renewTime"].as_str())
            .and_then(Time::parse_rfc3339);
        let condition = ready_condition(node)
            .and_then(|c| c["lastHeartbeatTime"].as_str())
            .and_then(Time::parse_rfc3339);
        match (lease, condition) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    fn monitor(&mut self, ctx: &mut Ctx) {
        let nodes: Vec<Value> = self.nodes.iter().cloned().collect();
        for node in nodes {
            let name = apimachinery::api::meta::name(&node).to_string();
            let ready = ready_condition(&node)
                .map(|c| c["status"].as_str().unwrap_or_default().to_string())
                .unwrap_or_default();
            let silent = self
                .last_heartbeat(&node)
                .is_none_or(|t| t.plus_millis(NODE_MONITOR_GRACE_PERIOD_MS) < ctx.now);
            let tainted = has_taint(&node, UNREACHABLE_TAINT, "NoExecute");
            if silent && ready != "Unknown" {
                self.mark_unknown(ctx, &node);
            } else if silent && !tainted {
                self.taint(ctx, &name, &node);
            } else if !silent && ready == "True" && tainted {
                self.untaint(ctx, &name, &node);
            }
            if tainted {
                self.evict(ctx, &node);
            }
        }
    }

    fn mark_unknown(&mut self, ctx: &mut Ctx, node: &Value) {
        let now = ctx.now.rfc3339();
        let conditions: Vec<Value> = node["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let mut c = c.clone();
                c["status"] = json!("Unknown");
                c["reason"] = json!("NodeStatusUnknown");
                c["message"] = json!("Kubelet stopped posting node status.");
                c["lastTransitionTime"] = json!(now);
                c
            })
            .collect();
        let name = apimachinery::api::meta::name(node);
        let patch = json!({"status": {"conditions": conditions}});
        let nodes = client::resource("", "nodes");
        let req = apiserver::Request::new(
            apiserver::Method::Patch,
            &format!("{}/status", client::object_path(nodes, None, name)),
        )
        .body("application/strategic-merge-patch+json", patch.to_string());
        self.client.send(ctx, req);
        self.recorder.normal(
            ctx,
            node,
            "v1",
            "Node",
            "NodeNotReady",
            format!("Node {name} status is now: NodeNotReady"),
        );
        // Its pods are not Ready any more (`MarkPodsNotReady`).
        let pods: Vec<Value> = self
            .pods
            .iter()
            .filter(|p| Pod(p).node_name() == Some(name))
            .cloned()
            .collect();
        for pod in pods {
            let conditions: Vec<Value> = pod["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let mut c = c.clone();
                    if c["type"] == "Ready" || c["type"] == "ContainersReady" {
                        c["status"] = json!("False");
                        c["lastTransitionTime"] = json!(now);
                    }
                    c
                })
                .collect();
            let patch = json!({"status": {"conditions": conditions}});
            let path = format!(
                "{}/status",
                client::object_path(
                    client::resource("", "pods"),
                    Some(apimachinery::api::meta::namespace(&pod)),
                    apimachinery::api::meta::name(&pod)
                )
            );
            let req = apiserver::Request::new(apiserver::Method::Patch, &path)
                .body("application/strategic-merge-patch+json", patch.to_string());
            self.client.send(ctx, req);
        }
    }

    fn taint(&mut self, ctx: &mut Ctx, name: &str, node: &Value) {
        let mut taints: Vec<Value> = node["spec"]["taints"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for effect in ["NoSchedule", "NoExecute"] {
            if !has_taint(node, UNREACHABLE_TAINT, effect) {
                taints.push(json!({"key": UNREACHABLE_TAINT, "effect": effect, "timeAdded": ctx.now.rfc3339()}));
            }
        }
        let _ = self.client.patch(
            ctx,
            client::resource("", "nodes"),
            None,
            name,
            &json!({"spec": {"taints": taints}}),
        );
    }

    fn untaint(&mut self, ctx: &mut Ctx, name: &str, node: &Value) {
        let taints: Vec<Value> = node["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["key"] != UNREACHABLE_TAINT)
            .cloned()
            .collect();
        // No taints left: no `taints` field, as Go's omitempty writes it.
        let taints = if taints.is_empty() {
            Value::Null
        } else {
            Value::Array(taints)
        };
        let _ = self.client.patch(
            ctx,
            client::resource("", "nodes"),
            None,
            name,
            &json!({"spec": {"taints": taints}}),
        );
        self.recorder.normal(
            ctx,
            node,
            "v1",
            "Node",
            "NodeReady",
            format!("Node {name} status is now: NodeReady"),
        );
    }

    /// Deletes the pods that may not stay on a `NoExecute`-tainted node (`processPodOnNode`).
    fn evict(&mut self, ctx: &mut Ctx, node: &Value) {
        let name = apimachinery::api::meta::name(node);
        let taints: Vec<(Taint, Time)> = node["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["effect"] == "NoExecute")
            .map(|t| {
                let taint = Taint {
                    key: t["key"].as_str().unwrap_or_default().into(),
                    value: t["value"].as_str().unwrap_or_default().into(),
                    effect: "NoExecute".into(),
                };
                (
                    taint,
                    t["timeAdded"]
                        .as_str()
                        .and_then(Time::parse_rfc3339)
                        .unwrap_or(ctx.now),
                )
            })
            .collect();
        let pods: Vec<Value> = self
            .pods
            .iter()
            .filter(|p| {
                Pod(p).node_name() == Some(name) && !apimachinery::api::meta::is_being_deleted(p)
            })
            .cloned()
            .collect();
        for pod in pods {
            let info = PodInfo::from_pod(&pod);
            let key = info.key();
            if self.evicted.contains_key(&key) {
                continue;
            }
            // The pod goes at the earliest time any taint's toleration runs out.
            let mut due: Option<Time> = None;
            for (taint, added) in &taints {
                let tolerations: Vec<_> = info
                    .tolerations
                    .iter()
                    .filter(|t| t.tolerates(taint))
                    .collect();
                let deadline = if tolerations.is_empty() {
                    Some(*added)
                } else {
                    let seconds = tolerations
                        .iter()
                        .filter_map(|t| {
                            let raw = pod["spec"]["tolerations"].as_array()?.iter().find(|r| {
                                r["key"] == t.key.as_str() && r["effect"] == t.effect.as_str()
                            })?;
                            raw["tolerationSeconds"].as_i64()
                        })
                        .min();
                    seconds.map(|s| added.plus_secs(s.max(0)))
                };
                if let Some(d) = deadline {
                    due = Some(due.map_or(d, |x| x.min(d)));
                }
            }
            let Some(due) = due else { continue };
            if due <= ctx.now {
                self.evicted.insert(key.clone(), ctx.now);
                self.recorder.normal(
                    ctx,
                    &pod,
                    "v1",
                    "Pod",
                    "TaintManagerEviction",
                    format!("Marking for deletion Pod {key}"),
                );
                let _ = self.client.delete(
                    ctx,
                    client::resource("", "pods"),
                    Some(&info.namespace),
                    &info.name,
                    &json!({}),
                );
            }
        }
    }
}

impl Component for NodeLifecycleController {
    fn name(&self) -> &str {
        "node-lifecycle-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        for (group, res, slot) in [
            ("", "nodes", 0),
            ("coordination.k8s.io", "leases", 1),
            ("", "pods", 2),
        ] {
            if let Some(w) = self.client.open_watch(ctx, group, res) {
                match slot {
                    0 => self.node_watch = Some(w),
                    1 => self.lease_watch = Some(w),
                    _ => self.pod_watch = Some(w),
                }
            }
        }
        ctx.after(NODE_MONITOR_PERIOD_MS, MONITOR);
    }

    fn on_watch(&mut self, _ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        if Some(watch) == self.node_watch {
            self.nodes.apply(event);
        } else if Some(watch) == self.lease_watch {
            self.leases.apply(event);
        } else if Some(watch) == self.pod_watch {
            if event.is_deleted() {
                let key = client::key_of(&event.object);
                self.evicted.remove(&key);
            }
            self.pods.apply(event);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        if token == MONITOR {
            self.monitor(ctx);
            ctx.after(NODE_MONITOR_PERIOD_MS, MONITOR);
        }
    }
}
