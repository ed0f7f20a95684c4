//! `expect` steps: what a user would see with `kubectl get pods -o wide` and `kubectl get
//! events` at that moment, checked against the scenario's words.
//!
//! ```yaml
//! - expect:
//!     selector: app=web                    # the pods the placement checks count
//!     pods_per_node: {node-1: 1, node-2: 1} # bound, live pods by node (others: none)
//!     pods_per_zone: {zone-a: 2, zone-b: 2}
//!     pending: 1                            # pods with no node yet
//!     pods:                                 # single pods, by name
//!       big: {node: node-4, phase: Running}
//!       low-1: {gone: true}
//!       vip: {nominated_node: node-2}
//!     events:                               # "Reason message", as they are recorded
//!       - "FailedScheduling 0/3 nodes are available: 3 Insufficient cpu. preemption: ..."
//!     objects:                              # any object's fields, by dotted path
//!       persistentvolumeclaim/data: {status.phase: Bound, spec.volumeName: local-pv-1}
//! ```

use crate::api::pod::Pod;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::send;
use crate::apiserver::{Method, Request};
use crate::cluster::Cluster;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub selector: String,
    pub pods_per_node: Option<BTreeMap<String, usize>>,
    pub pods_per_zone: Option<BTreeMap<String, usize>>,
    pub pending: Option<usize>,
    #[serde(default)]
    pub pods: BTreeMap<String, PodExpect>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub objects: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodExpect {
    pub node: Option<String>,
    pub phase: Option<String>,
    pub nominated_node: Option<String>,
    #[serde(default)]
    pub gone: bool,
}

fn list(cluster: &mut Cluster, path: &str) -> Vec<Value> {
    let answer = send(cluster, Request::new(Method::Get, path));
    answer["items"].as_array().cloned().unwrap_or_default()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

impl Expect {
    pub fn check(&self, cluster: &mut Cluster) -> Result<(), String> {
        let mut failures = Vec::new();
        let query = if self.selector.is_empty() {
            String::new()
        } else {
            format!("?labelSelector={}", self.selector.replace('=', "%3D"))
        };
        let pods = list(cluster, &format!("/api/v1/namespaces/default/pods{query}"));
        let live: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                !crate::api::meta::is_being_deleted(p)
                    && !matches!(s(&p["status"]["phase"]), "Succeeded" | "Failed")
            })
            .collect();
        let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
        for p in &live {
            let node = Pod(p).node_name().unwrap_or_default();
            if !node.is_empty() {
                *per_node.entry(node.to_string()).or_default() += 1;
            }
        }
        if let Some(want) = &self.pods_per_node {
            if *want != per_node {
                failures.push(format!("pods per node: want {want:?}, got {per_node:?}"));
            }
        }
        if let Some(want) = &self.pods_per_zone {
            let nodes = list(cluster, "/api/v1/nodes");
            let zone_of = |node: &str| -> String {
                nodes
                    .iter()
                    .find(|n| s(&n["metadata"]["name"]) == node)
                    .map(|n| s(&n["metadata"]["labels"]["topology.kubernetes.io/zone"]).to_string())
                    .unwrap_or_default()
            };
            let mut per_zone: BTreeMap<String, usize> = BTreeMap::new();
            for (node, n) in &per_node {
                *per_zone.entry(zone_of(node)).or_default() += n;
            }
            if *want != per_zone {
                failures.push(format!("pods per zone: want {want:?}, got {per_zone:?}"));
            }
        }
        if let Some(want) = self.pending {
            let pending = live.iter().filter(|p| Pod(p).node_name().is_none()).count();
            if pending != want {
                failures.push(format!("pending pods: want {want}, got {pending}"));
            }
        }
        self.check_pods(cluster, &mut failures);
        if !self.events.is_empty() {
            let events = list(cluster, "/api/v1/namespaces/default/events");
            let seen: Vec<String> = events
                .iter()
                .map(|e| format!("{} {}", s(&e["reason"]), s(&e["message"])))
                .collect();
            for want in &self.events {
                if !seen.contains(want) {
                    failures.push(format!("no event {want:?}; events: {seen:#?}"));
                }
            }
        }
        self.check_objects(cluster, &mut failures);
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!("expect: {}", failures.join("; ")))
        }
    }

    /// `pods:`: each named pod gone, or on its node, in its phase, nominated where asked.
    fn check_pods(&self, cluster: &mut Cluster, failures: &mut Vec<String>) {
        for (name, want) in &self.pods {
            let pod = send(
                cluster,
                Request::new(
                    Method::Get,
                    &format!("/api/v1/namespaces/default/pods/{name}"),
                ),
            );
            let exists = pod["kind"] == "Pod";
            if want.gone {
                if exists {
                    failures.push(format!("pod {name}: want it gone, it is still there"));
                }
                continue;
            }
            if !exists {
                failures.push(format!("pod {name}: not found"));
                continue;
            }
            let checks = [
                (
                    "node",
                    &want.node,
                    Pod(&pod).node_name().unwrap_or_default(),
                ),
                ("phase", &want.phase, s(&pod["status"]["phase"])),
                (
                    "nominated node",
                    &want.nominated_node,
                    s(&pod["status"]["nominatedNodeName"]),
                ),
            ];
            for (what, want, got) in checks {
                if let Some(want) = want {
                    if want != got {
                        failures.push(format!("pod {name}: {what}: want {want:?}, got {got:?}"));
                    }
                }
            }
        }
    }

    /// `objects:`: fields of any object, by dotted path.
    fn check_objects(&self, cluster: &mut Cluster, failures: &mut Vec<String>) {
        for (target, fields) in &self.objects {
            let obj = match super::object_path(target) {
                Ok(path) => send(cluster, Request::new(Method::Get, &path)),
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            for (field, want) in fields {
                let pointer = format!("/{}", field.replace('.', "/"));
                let got = match obj.pointer(&pointer) {
                    Some(Value::String(v)) => v.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                if got != *want {
                    failures.push(format!("{target} {field}: want {want:?}, got {got:?}"));
                }
            }
        }
    }
}
