//! Server-side printing: objects as a `meta.k8s.io/v1` `Table`, the columns `kubectl get`
//! shows (`pkg/printers/internalversion/printers.go` upstream). The server always sends every
//! column; kubectl hides those with `priority > 0` unless `-o wide`.

use serde_json::{json, Value};

use apimachinery::api::meta::{is_condition_true, str_at};
use apimachinery::api::node;
use apimachinery::api::pod::{self, PodSummary};
use apimachinery::clock::Time;

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.split(',').next().unwrap_or_default().contains("as=Table"))
}

/// `duration.HumanDuration`: `45s`, `2m3s`, `10m`, `3h4m`, `2d3h`, `45d`, `2y3d`.
pub fn human_duration(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    let two = |a: i64, ua: &str, b: i64, ub: &str| {
        if b == 0 {
            format!("{a}{ua}")
        } else {
            format!("{a}{ua}{b}{ub}")
        }
    };
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        two(m, "m", secs % 60, "s")
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        two(h, "h", m % 60, "m")
    } else if h < 48 {
        format!("{h}h")
    } else if h < 192 {
        two(d, "d", h % 24, "h")
    } else if d < 365 * 2 {
        format!("{d}d")
    } else if d < 365 * 8 {
        two(d / 365, "y", d % 365, "d")
    } else {
        format!("{}y", d / 365)
    }
}

/// The age of a timestamp at `now`, or `<unknown>`.
pub fn age(ts: &str, now: Time) -> String {
    match Time::parse_rfc3339(ts) {
        Some(t) => human_duration(now.millis() - t.millis()),
        None => "<unknown>".into(),
    }
}

struct Column {
    name: &'static str,
    ty: &'static str,
    priority: u8,
}

const fn col(name: &'static str, ty: &'static str, priority: u8) -> Column {
    Column { name, ty, priority }
}

fn columns(kind: &str) -> Vec<Column> {
    let age = col("Age", "string", 0);
    match kind {
        "Pod" => vec![
            col("Name", "string", 0),
            col("Ready", "string", 0),
            col("Status", "string", 0),
            col("Restarts", "string", 0),
            age,
            col("IP", "string", 1),
            col("Node", "string", 1),
            col("Nominated Node", "string", 1),
            col("Readiness Gates", "string", 1),
        ],
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => workload_columns(kind, age),
        "Node" => vec![
            col("Name", "string", 0),
            col("Status", "string", 0),
            col("Roles", "string", 0),
            age,
            col("Version", "string", 0),
            col("Internal-IP", "string", 1),
            col("External-IP", "string", 1),
            col("OS-Image", "string", 1),
            col("Kernel-Version", "string", 1),
            col("Container-Runtime", "string", 1),
        ],
        "Namespace" => vec![col("Name", "string", 0), col("Status", "string", 0), age],
        "Service" => vec![
            col("Name", "string", 0),
            col("Type", "string", 0),
            col("Cluster-IP", "string", 0),
            col("External-IP", "string", 0),
            col("Port(s)", "string", 0),
            age,
            col("Selector", "string", 1),
        ],
        "ConfigMap" => vec![col("Name", "string", 0), col("Data", "string", 0), age],
        "Secret" => vec![
            col("Name", "string", 0),
            col("Type", "string", 0),
            col("Data", "string", 0),
            age,
        ],
        "ServiceAccount" => vec![col("Name", "string", 0), col("Secrets", "string", 0), age],
        "Event" => vec![
            col("Last Seen", "string", 0),
            col("Type", "string", 0),
            col("Reason", "string", 0),
            col("Object", "string", 0),
            col("Subobject", "string", 1),
            col("Source", "string", 1),
            col("Message", "string", 0),
            col("First Seen", "string", 1),
            col("Count", "string", 1),
            col("Name", "string", 1),
        ],
        "Lease" => vec![col("Name", "string", 0), col("Holder", "string", 0), age],
        "PriorityClass" => vec![
            col("Name", "string", 0),
            col("Value", "integer", 0),
            col("Global-Default", "boolean", 0),
            age,
            col("PreemptionPolicy", "string", 0),
        ],
        "RoleBinding" | "ClusterRoleBinding" => vec![
            col("Name", "string", 0),
            col("Role", "string", 0),
            age,
            col("Users", "string", 1),
            col("Groups", "string", 1),
            col("ServiceAccounts", "string", 1),
        ],
        "PodDisruptionBudget" => vec![
            col("Name", "string", 0),
            col("Min Available", "string", 0),
            col("Max Unavailable", "string", 0),
            col("Allowed Disruptions", "integer", 0),
            age,
        ],
        _ => vec![col("Name", "string", 0), col("Created At", "date", 0)],
    }
}

/// The columns of the workload kinds (`kubectl get deployments`, …, `-o wide` included).
fn workload_columns(kind: &str, age: Column) -> Vec<Column> {
    match kind {
        "Deployment" => vec![
            col("Name", "string", 0),
            col("Ready", "string", 0),
            col("Up-to-date", "string", 0),
            col("Available", "string", 0),
            age,
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        "ReplicaSet" => vec![
            col("Name", "string", 0),
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            age,
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        "DaemonSet" => vec![
            col("Name", "string", 0),
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            col("Up-to-date", "integer", 0),
            col("Available", "integer", 0),
            col("Node Selector", "string", 0),
            age,
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        "StatefulSet" => vec![
            col("Name", "string", 0),
            col("Ready", "string", 0),
            age,
            col("Containers", "string", 1),
            col("Images", "string", 1),
        ],
        _ => vec![col("Name", "string", 0), age],
    }
}

fn or_none(s: String) -> Value {
    if s.is_empty() {
        json!("<none>")
    } else {
        json!(s)
    }
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn joined(list: Option<&Vec<Value>>, field: &str) -> String {
    list.into_iter()
        .flatten()
        .map(|c| str_at(c, field).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn format_labels(m: &Value) -> String {
    let Some(m) = m.as_object() else {
        return "<none>".into();
    };
    if m.is_empty() {
        return "<none>".into();
    }
    let mut pairs: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    apimachinery::collections::sort(&mut pairs);
    pairs.join(",")
}

fn selector_string(sel: &Value) -> String {
    match super::selectors::Selector::from_label_selector(sel) {
        Ok(s) if !s.requirements.is_empty() => s.to_string(),
        _ => "<none>".into(),
    }
}

/// The cells of one row.
fn cells(kind: &str, o: &Value, now: Time) -> Vec<Value> {
    let name = json!(str_at(o, "/metadata/name"));
    let age = json!(age(str_at(o, "/metadata/creationTimestamp"), now));
    match kind {
        "Pod" => pod_cells(o, now),
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
            workload_cells(kind, o, name, age)
        }
        "Node" => node_cells(o, name, age),
        "Namespace" => vec![name, json!(str_at(o, "/status/phase")), age],
        "Service" => service_cells(o, name, age),
        "ConfigMap" => {
            let n = o["data"].as_object().map_or(0, |m| m.len())
                + o["binaryData"].as_object().map_or(0, |m| m.len());
            vec![name, json!(n), age]
        }
        "Secret" => vec![
            name,
            json!(str_at(o, "/type")),
            json!(o["data"].as_object().map_or(0, |m| m.len())),
            age,
        ],
        "ServiceAccount" => vec![
            name,
            json!(o["secrets"].as_array().map_or(0, |m| m.len())),
            age,
        ],
        "Event" => event_cells(o, now),
        "Lease" => vec![name, json!(str_at(o, "/spec/holderIdentity")), age],
        "PriorityClass" => vec![
            name,
            json!(int(o, "/value")),
            json!(o["globalDefault"].as_bool().unwrap_or(false)),
            age,
            json!(str_at(o, "/preemptionPolicy")),
        ],
        "RoleBinding" | "ClusterRoleBinding" | "PodDisruptionBudget" => {
            policy_cells(kind, o, name, age)
        }
        _ => vec![name, json!(str_at(o, "/metadata/creationTimestamp"))],
    }
}

/// The cells of the workload kinds: Deployments, ReplicaSets, DaemonSets, StatefulSets.
fn workload_cells(kind: &str, o: &Value, name: Value, age: Value) -> Vec<Value> {
    let containers = |p: &str| o.pointer(p).and_then(Value::as_array);
    match kind {
        "Deployment" => {
            let cs = containers("/spec/template/spec/containers");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, "/status/readyReplicas"),
                    int(o, "/spec/replicas")
                )),
                json!(int(o, "/status/updatedReplicas")),
                json!(int(o, "/status/availableReplicas")),
                age,
                json!(joined(cs, "/name")),
                json!(joined(cs, "/image")),
                json!(selector_string(&o["spec"]["selector"])),
            ]
        }
        "ReplicaSet" => {
            let cs = containers("/spec/template/spec/containers");
            vec![
                name,
                json!(int(o, "/spec/replicas")),
                json!(int(o, "/status/replicas")),
                json!(int(o, "/status/readyReplicas")),
                age,
                json!(joined(cs, "/name")),
                json!(joined(cs, "/image")),
                json!(selector_string(&o["spec"]["selector"])),
            ]
        }
        "DaemonSet" => {
            let cs = containers("/spec/template/spec/containers");
            vec![
                name,
                json!(int(o, "/status/desiredNumberScheduled")),
                json!(int(o, "/status/currentNumberScheduled")),
                json!(int(o, "/status/numberReady")),
                json!(int(o, "/status/updatedNumberScheduled")),
                json!(int(o, "/status/numberAvailable")),
                json!(format_labels(
                    &o["spec"]["template"]["spec"]["nodeSelector"]
                )),
                age,
                json!(joined(cs, "/name")),
                json!(joined(cs, "/image")),
                json!(selector_string(&o["spec"]["selector"])),
            ]
        }
        "StatefulSet" => {
            let cs = containers("/spec/template/spec/containers");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, "/status/readyReplicas"),
                    int(o, "/spec/replicas")
                )),
                age,
                json!(joined(cs, "/name")),
                json!(joined(cs, "/image")),
            ]
        }
        _ => vec![name, age],
    }
}

/// The cells of the access and disruption kinds: role bindings, PodDisruptionBudgets.
fn policy_cells(kind: &str, o: &Value, name: Value, age: Value) -> Vec<Value> {
    match kind {
        "RoleBinding" | "ClusterRoleBinding" => {
            let subjects = o["subjects"].as_array().cloned().unwrap_or_default();
            let of = |k: &str| {
                subjects
                    .iter()
                    .filter(|s| s["kind"] == k)
                    .map(|s| {
                        if k == "ServiceAccount" {
                            format!("{}/{}", str_at(s, "/namespace"), str_at(s, "/name"))
                        } else {
                            str_at(s, "/name").to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    str_at(o, "/roleRef/kind"),
                    str_at(o, "/roleRef/name")
                )),
                age,
                json!(of("User")),
                json!(of("Group")),
                json!(of("ServiceAccount")),
            ]
        }
        "PodDisruptionBudget" => {
            let show = |p: &str| {
                o.pointer(p).map_or("N/A".to_string(), |v| {
                    v.as_str().map_or(v.to_string(), str::to_string)
                })
            };
            vec![
                name,
                json!(show("/spec/minAvailable")),
                json!(show("/spec/maxUnavailable")),
                json!(int(o, "/status/disruptionsAllowed")),
                age,
            ]
        }
        _ => vec![name, age],
    }
}

fn pod_cells(o: &Value, now: Time) -> Vec<Value> {
    let PodSummary {
        ready,
        total,
        status: reason,
        restarts,
        last_restart,
    } = pod::summarize(o);
    let restarts_cell = match last_restart {
        Some(t) if restarts > 0 => format!(
            "{restarts} ({} ago)",
            human_duration(now.millis() - t.millis())
        ),
        _ => restarts.to_string(),
    };
    let ip = o["status"]["podIPs"][0]["ip"]
        .as_str()
        .or(o["status"]["podIP"].as_str())
        .unwrap_or_default()
        .to_string();
    let gates = o["spec"]["readinessGates"]
        .as_array()
        .map_or(0, |g| g.len());
    let gates_cell = if gates == 0 {
        "<none>".to_string()
    } else {
        let true_count = o["spec"]["readinessGates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| is_condition_true(o, g["conditionType"].as_str().unwrap_or_default()))
            .count();
        format!("{true_count}/{gates}")
    };
    vec![
        json!(str_at(o, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        json!(age(str_at(o, "/metadata/creationTimestamp"), now)),
        or_none(ip),
        or_none(str_at(o, "/spec/nodeName").to_string()),
        or_none(str_at(o, "/status/nominatedNodeName").to_string()),
        json!(gates_cell),
    ]
}

fn node_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let mut status = node::status(o).to_string();
    if o["spec"]["unschedulable"] == json!(true) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                Some(role.to_string())
            } else if k == "kubernetes.io/role" {
                v.as_str().map(str::to_string)
            } else {
                None
            }
        })
        .filter(|r| !r.is_empty())
        .collect();
    apimachinery::collections::sort(&mut roles);
    roles.dedup();
    let address = |ty: &str| {
        o["status"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["type"] == ty)
            .and_then(|a| a["address"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let unknown = |p: &str| {
        let v = str_at(o, p);
        if v.is_empty() {
            "<unknown>".to_string()
        } else {
            v.to_string()
        }
    };
    vec![
        name,
        json!(status),
        or_none(roles.join(",")),
        age,
        json!(str_at(o, "/status/nodeInfo/kubeletVersion")),
        or_none(address("InternalIP")),
        or_none(address("ExternalIP")),
        json!(unknown("/status/nodeInfo/osImage")),
        json!(unknown("/status/nodeInfo/kernelVersion")),
        json!(unknown("/status/nodeInfo/containerRuntimeVersion")),
    ]
}

fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ty = str_at(o, "/spec/type");
    let cluster_ip = o["spec"]["clusterIPs"][0]
        .as_str()
        .or(o["spec"]["clusterIP"].as_str())
        .unwrap_or_default()
        .to_string();
    let external_ips = || {
        o["spec"]["externalIPs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let external = match ty {
        "ClusterIP" | "NodePort" => or_none(external_ips()),
        "LoadBalancer" => {
            let ing: Vec<&str> = o["status"]["loadBalancer"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
                .collect();
            if ing.is_empty() {
                json!("<pending>")
            } else {
                json!(ing.join(","))
            }
        }
        "ExternalName" => json!(str_at(o, "/spec/externalName")),
        _ => json!("<unknown>"),
    };
    let ports: Vec<String> = o["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) if np != 0 => format!("{}:{np}/{proto}", int(p, "/port")),
                _ => format!("{}/{proto}", int(p, "/port")),
            }
        })
        .collect();
    vec![
        name,
        json!(ty),
        or_none(cluster_ip),
        external,
        or_none(ports.join(",")),
        age,
        json!(format_labels(&o["spec"]["selector"])),
    ]
}

fn event_cells(o: &Value, now: Time) -> Vec<Value> {
    let last = [
        "/lastTimestamp",
        "/firstTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .map(|p| str_at(o, p))
    .find(|s| !s.is_empty())
    .unwrap_or_default();
    let first = [
        "/firstTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .map(|p| str_at(o, p))
    .find(|s| !s.is_empty())
    .unwrap_or_default();
    let object = format!(
        "{}/{}",
        str_at(o, "/involvedObject/kind").to_ascii_lowercase(),
        str_at(o, "/involvedObject/name")
    );
    let host = str_at(o, "/source/host");
    let source = if host.is_empty() {
        str_at(o, "/source/component").to_string()
    } else {
        format!("{}, {host}", str_at(o, "/source/component"))
    };
    let count = int(o, "/count").max(1);
    vec![
        json!(age(last, now)),
        json!(str_at(o, "/type")),
        json!(str_at(o, "/reason")),
        json!(object),
        json!(str_at(o, "/involvedObject/fieldPath")),
        json!(source),
        json!(str_at(o, "/message").trim()),
        json!(age(first, now)),
        json!(count.to_string()),
        json!(str_at(o, "/metadata/name")),
    ]
}

/// A Table of `items`. `include_object` is `None`/`Metadata` (the default: a
/// `PartialObjectMetadata`), `Object` or `None`.
pub fn table(kind: &str, items: &[Value], include_object: Option<&str>, now: Time) -> Value {
    let cols: Vec<Value> = columns(kind)
        .iter()
        .map(|c| {
            let format = if c.name == "Name" { "name" } else { "" };
            json!({"name": c.name, "type": c.ty, "format": format, "description": "", "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let object = match include_object.unwrap_or("Metadata") {
                "Object" => o.clone(),
                "None" => Value::Null,
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            };
            let mut row = json!({"cells": cells(kind, o, now), "object": object});
            if kind == "Pod" {
                if let Some(phase @ ("Succeeded" | "Failed")) = o.pointer("/status/phase").and_then(Value::as_str) {
                    row["conditions"] = json!([{"type": "Completed", "status": "True", "reason": phase, "message": "The pod has completed successfully."}]);
                }
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": cols, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubernetes() {
        let s = 1000;
        let cases = [
            (-5 * s, "<invalid>"),
            (0, "0s"),
            (119 * s, "119s"),
            (123 * s, "2m3s"),
            (600 * s, "10m"),
            (179 * 60 * s, "179m"),
            ((3 * 3600 + 240) * s, "3h4m"),
            (47 * 3600 * s, "47h"),
            ((2 * 86_400 + 3 * 3600) * s, "2d3h"),
            (45 * 86_400 * s, "45d"),
            ((2 * 365 + 3) * 86_400 * s, "2y3d"),
            (9 * 365 * 86_400 * s, "9y"),
        ];
        for (ms, want) in cases {
            assert_eq!(human_duration(ms), want, "{ms}");
        }
    }

    #[test]
    fn pod_status_column() {
        let now = apimachinery::clock::EPOCH.plus_secs(600);
        let pod = json!({
            "metadata": {"name": "web", "creationTimestamp": apimachinery::clock::EPOCH.rfc3339()},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-1"},
            "status": {"phase": "Running", "podIP": "10.244.1.5", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"finishedAt": apimachinery::clock::EPOCH.plus_secs(480).rfc3339()}}}
            ]}
        });
        let c = cells("Pod", &pod, now);
        assert_eq!(
            c[..7],
            [
                json!("web"),
                json!("1/2"),
                json!("CrashLoopBackOff"),
                json!("5 (2m ago)"),
                json!("10m"),
                json!("10.244.1.5"),
                json!("node-1")
            ]
        );
    }
}
