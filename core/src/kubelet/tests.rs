//! The whole chain on simulated nodes: a Deployment becomes Running pods with IPs, and a
//! deleted pod is stopped and removed by its kubelet.

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

fn nginx() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}}}
    })
}

fn pods(c: &mut Cluster) -> Vec<Value> {
    call(c, Method::Get, "/api/v1/namespaces/default/pods", None)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn nodes_register_and_renew_their_leases() {
    let mut c = Cluster::with_nodes(Config::default(), 2);
    let nodes = call(&mut c, Method::Get, "/api/v1/nodes", None);
    let names: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["node-1", "node-2"]);
    assert_eq!(
        nodes["items"][0]["status"]["conditions"][3]["type"],
        "Ready"
    );
    let before = call(
        &mut c,
        Method::Get,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
        None,
    )["spec"]["renewTime"]
        .clone();
    c.world.advance(10_500);
    let after = call(
        &mut c,
        Method::Get,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
        None,
    )["spec"]["renewTime"]
        .clone();
    assert_ne!(before, after, "the lease is renewed every 10 s");
}

#[test]
fn a_deployment_runs_on_simulated_nodes() {
    let mut c = Cluster::with_nodes(Config::default(), 3);
    call(
        &mut c,
        Method::Post,
        "/apis/apps/v1/namespaces/default/deployments",
        Some(nginx()),
    );
    c.world.advance(10_000);
    let all = pods(&mut c);
    assert_eq!(all.len(), 3);
    for p in &all {
        assert_eq!(p["status"]["phase"], "Running", "{}", p["status"]);
        assert!(p["status"]["podIP"]
            .as_str()
            .unwrap()
            .starts_with("10.244."));
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
        let ready = p["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
    }
    let d = call(
        &mut c,
        Method::Get,
        "/apis/apps/v1/namespaces/default/deployments/nginx",
        None,
    );
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        "NewReplicaSetAvailable"
    );
    // What the pod went through, as `kubectl describe pod` lists it.
    let name = all[0]["metadata"]["name"].as_str().unwrap().to_string();
    let events = call(
        &mut c,
        Method::Get,
        &format!("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D{name}"),
        None,
    );
    let reasons: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    );

    // Delete one pod: the kubelet stops it, the ReplicaSet replaces it.
    call(
        &mut c,
        Method::Delete,
        &format!("/api/v1/namespaces/default/pods/{name}"),
        None,
    );
    let terminating = call(
        &mut c,
        Method::Get,
        &format!("/api/v1/namespaces/default/pods/{name}"),
        None,
    );
    assert!(
        terminating["metadata"]["deletionTimestamp"].is_string(),
        "a running pod is deleted gracefully"
    );
    c.world.advance(10_000);
    let after = pods(&mut c);
    assert_eq!(after.len(), 3);
    assert!(after
        .iter()
        .all(|p| p["metadata"]["name"] != name.as_str() && p["status"]["phase"] == "Running"));
}

#[test]
fn an_unknown_image_fails_to_pull() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "typo"}, "spec": {"containers": [{"name": "c", "image": "ngnix:1.0"}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    );
    c.world.advance(5_000);
    let p = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/pods/typo",
        None,
    );
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ErrImagePull"
    );
}
