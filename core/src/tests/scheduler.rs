//! The scheduler in a world with nodes: where pods go, why, and what a pod that fits nowhere
//! is told.

use serde_json::{json, Value};

use crate::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use crate::scheduler::*;
use crate::sim::World;

fn node(name: &str, cpu: &str, memory: &str, taints: Value, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints},
        "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
                   "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}
    })
}

fn pod(name: &str, cpu: &str, extra: Value) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.14.2", "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}}}]}
    });
    if let Some(m) = extra.as_object() {
        for (k, v) in m {
            p["spec"][k] = v.clone();
        }
    }
    p
}

fn call(w: &mut World, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    w.api().handle(&req).value()
}

struct Setup {
    world: World,
    scheduler: crate::sim::ComponentId,
}

fn setup(nodes: &[Value]) -> Setup {
    let mut world = World::new(Config::default());
    for n in nodes {
        call(&mut world, Method::Post, "/api/v1/nodes", Some(n.clone()));
    }
    let scheduler = world.add(Box::new(Scheduler::default()));
    Setup { world, scheduler }
}

fn node_of(w: &mut World, name: &str) -> String {
    call(
        w,
        Method::Get,
        &format!("/api/v1/namespaces/default/pods/{name}"),
        None,
    )["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn events(w: &mut World) -> Vec<String> {
    let list = call(w, Method::Get, "/api/v1/namespaces/default/events", None);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["reason"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn pods_spread_over_the_least_allocated_nodes() {
    let mut s = setup(&[
        node("node-1", "2", "4Gi", json!([]), json!({})),
        node("node-2", "2", "4Gi", json!([]), json!({})),
    ]);
    for i in 0..4 {
        call(
            &mut s.world,
            Method::Post,
            "/api/v1/namespaces/default/pods",
            Some(pod(&format!("p{i}"), "500m", json!({}))),
        );
        s.world.advance(100);
    }
    let placed: Vec<String> = (0..4)
        .map(|i| node_of(&mut s.world, &format!("p{i}")))
        .collect();
    assert_eq!(
        placed.iter().filter(|n| *n == "node-1").count(),
        2,
        "{placed:?}"
    );
    assert_eq!(
        placed.iter().filter(|n| *n == "node-2").count(),
        2,
        "{placed:?}"
    );
    let p0 = call(
        &mut s.world,
        Method::Get,
        "/api/v1/namespaces/default/pods/p0",
        None,
    );
    assert_eq!(p0["status"]["conditions"][0]["type"], "PodScheduled");
    assert!(
        events(&mut s.world)[0].starts_with("Scheduled Successfully assigned default/p0 to node-")
    );
}

#[test]
fn taints_keep_pods_off_unless_tolerated() {
    let gpu = node(
        "gpu-1",
        "8",
        "16Gi",
        json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}]),
        json!({}),
    );
    let mut s = setup(&[gpu, node("cpu-1", "1", "2Gi", json!([]), json!({}))]);
    call(
        &mut s.world,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("plain", "100m", json!({}))),
    );
    let tolerant = json!({"tolerations": [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}], "nodeSelector": {"kubernetes.io/hostname": "gpu-1"}});
    s.world.advance(100);
    assert_eq!(node_of(&mut s.world, "plain"), "cpu-1");
    // The selector needs the label: add it, as a kubelet would set it.
    let label = Request::new(Method::Patch, "/api/v1/nodes/gpu-1")
        .bearer(ADMIN_TOKEN)
        .body(
            "application/merge-patch+json",
            r#"{"metadata":{"labels":{"kubernetes.io/hostname":"gpu-1"}}}"#,
        );
    s.world.api().handle(&label);
    call(
        &mut s.world,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("tolerant", "100m", tolerant)),
    );
    s.world.advance(100);
    assert_eq!(node_of(&mut s.world, "tolerant"), "gpu-1");
    let sched = s.world.component::<Scheduler>(s.scheduler).unwrap();
    let d = sched.decision_for("default/plain").unwrap();
    let gpu_row = d.nodes.iter().find(|n| n.node == "gpu-1").unwrap();
    assert_eq!(gpu_row.filters.last().unwrap().plugin, "TaintToleration");
    assert_eq!(
        gpu_row.filters.last().unwrap().status.reasons,
        ["node(s) had untolerated taint {gpu: true}"]
    );
    assert_eq!(d.chosen.as_deref(), Some("cpu-1"));
}

#[test]
fn a_pod_that_fits_nowhere_is_told_why_and_scheduled_when_a_node_arrives() {
    let tainted = node(
        "node-1",
        "4",
        "8Gi",
        json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
        json!({}),
    );
    let mut s = setup(&[
        tainted,
        node("node-2", "1", "2Gi", json!([]), json!({})),
        node("node-3", "1", "2Gi", json!([]), json!({})),
    ]);
    call(
        &mut s.world,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("big", "2", json!({}))),
    );
    s.world.advance(100);
    // Preemption is tried and cannot help: upstream appends why.
    let message = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";
    assert_eq!(
        events(&mut s.world),
        [format!("FailedScheduling {message}")]
    );
    let p = call(
        &mut s.world,
        Method::Get,
        "/api/v1/namespaces/default/pods/big",
        None,
    );
    assert_eq!(
        p["status"]["conditions"][0],
        json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastTransitionTime": p["status"]["conditions"][0]["lastTransitionTime"]})
    );
    call(
        &mut s.world,
        Method::Post,
        "/api/v1/nodes",
        Some(node("node-4", "4", "8Gi", json!([]), json!({}))),
    );
    s.world.advance(2_000);
    assert_eq!(node_of(&mut s.world, "big"), "node-4");
}

#[test]
fn no_nodes_at_all() {
    let mut s = setup(&[]);
    call(
        &mut s.world,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("lonely", "100m", json!({}))),
    );
    s.world.advance(100);
    assert_eq!(
        events(&mut s.world),
        ["FailedScheduling no nodes available to schedule pods"]
    );
}

#[test]
fn adaptive_percentage_of_nodes_to_score() {
    assert_eq!(num_feasible_nodes_to_find(50, 0), 50);
    assert_eq!(num_feasible_nodes_to_find(500, 0), 230);
    assert_eq!(num_feasible_nodes_to_find(5000, 0), 500);
    assert_eq!(num_feasible_nodes_to_find(100, 0), 100);
    // A profile's own percentage, still at least 100 nodes.
    assert_eq!(num_feasible_nodes_to_find(5000, 30), 1500);
    assert_eq!(num_feasible_nodes_to_find(500, 1), 100);
    assert_eq!(num_feasible_nodes_to_find(500, 100), 500);
}
