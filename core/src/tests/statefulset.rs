//! StatefulSets and DaemonSets on simulated nodes: only the controller differs; the pod path
//! is the same.

use serde_json::{json, Value};

use crate::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use crate::cluster::Cluster;

fn call(c: &mut Cluster, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    c.world.api().handle(&req).value()
}

fn pods(c: &mut Cluster) -> Vec<Value> {
    call(c, Method::Get, "/api/v1/namespaces/default/pods", None)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_statefulset_creates_its_pods_in_order() {
    let mut c = Cluster::with_nodes(Config::default(), 2);
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}}
    });
    call(
        &mut c,
        Method::Post,
        "/apis/apps/v1/namespaces/default/statefulsets",
        Some(sts),
    );
    // Watch creation order: each pod appears only once the one before runs and is ready.
    let mut order: Vec<(String, i64)> = Vec::new();
    for _ in 0..150 {
        c.world.advance(100);
        for p in pods(&mut c) {
            let name = p["metadata"]["name"].as_str().unwrap().to_string();
            if !order.iter().any(|(n, _)| *n == name) {
                order.push((name, c.world.now().millis()));
            }
        }
    }
    let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["web-0", "web-1", "web-2"]);
    assert!(
        order[1].1 - order[0].1 >= 700,
        "web-1 waited for web-0 to run: {order:?}"
    );
    let web1 = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/pods/web-1",
        None,
    );
    assert_eq!(web1["spec"]["hostname"], "web-1");
    assert_eq!(web1["spec"]["subdomain"], "web");
    assert_eq!(
        web1["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
        "1"
    );
    let set = call(
        &mut c,
        Method::Get,
        "/apis/apps/v1/namespaces/default/statefulsets/web",
        None,
    );
    assert_eq!(set["status"]["readyReplicas"], 3);
    // Scale down: the highest ordinal goes first.
    let patch = Request::new(
        Method::Patch,
        "/apis/apps/v1/namespaces/default/statefulsets/web",
    )
    .bearer(ADMIN_TOKEN)
    .body("application/merge-patch+json", r#"{"spec":{"replicas":1}}"#);
    c.world.api().handle(&patch);
    c.world.advance(30_000);
    let left: Vec<String> = pods(&mut c)
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["web-0"]);
}

#[test]
fn a_daemonset_runs_one_pod_per_node_including_later_ones() {
    let mut c = Cluster::with_nodes(Config::default(), 2);
    let ds = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}}
    });
    call(
        &mut c,
        Method::Post,
        "/apis/apps/v1/namespaces/default/daemonsets",
        Some(ds),
    );
    c.world.advance(5_000);
    let mut nodes: Vec<String> = pods(&mut c)
        .iter()
        .map(|p| {
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["node-1", "node-2"]);
    c.add_simulated_node("4", "8Gi");
    c.world.advance(5_000);
    let mut nodes: Vec<String> = pods(&mut c)
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .map(|p| {
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        ["node-1", "node-2", "node-3"],
        "the node added later gets its pod"
    );
    let ds = call(
        &mut c,
        Method::Get,
        "/apis/apps/v1/namespaces/default/daemonsets/agent",
        None,
    );
    assert_eq!(ds["status"]["desiredNumberScheduled"], 3);
    assert_eq!(ds["status"]["numberReady"], 3);
}
