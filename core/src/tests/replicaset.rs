//! The ReplicaSet controller in a world of its own: the API actions it takes, in order.

use serde_json::{json, Value};

use crate::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use crate::controllers::replicaset::*;
use crate::sim::World;

fn world() -> World {
    let mut w = World::new(Config::default());
    w.add(Box::new(ReplicaSetController::default()));
    w
}

fn kubectl(w: &mut World, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    w.api().handle(&req).value()
}

fn replicaset(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    })
}

const RS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn pod_names(w: &mut World) -> Vec<String> {
    let list = kubectl(w, Method::Get, PODS, None);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// The controller's writes since `after`, as `verb resource` lines.
fn actions(w: &mut World, after: u64) -> Vec<String> {
    w.api()
        .audit()
        .since(after)
        .filter(|e| e.user == "system:kube-controller-manager" && e.verb != "watch")
        .map(|e| format!("{} {} {}", e.verb, e.resource, e.code))
        .collect()
}

#[test]
fn creates_the_missing_pods_in_slow_start_batches_and_reports_status() {
    let mut w = world();
    kubectl(&mut w, Method::Post, RS, Some(replicaset(3)));
    w.advance(1000);
    let pods = pod_names(&mut w);
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter().all(|n| n.starts_with("web-") && n.len() == 9),
        "{pods:?}"
    );
    let pod = kubectl(&mut w, Method::Get, &format!("{PODS}/{}", pods[0]), None);
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(pod["metadata"]["labels"], json!({"app": "web"}));
    // The first status is written before the watch has shown the new pods (replicas 0, the
    // generation observed), the second once it has — as upstream.
    assert_eq!(
        actions(&mut w, 0),
        [
            "create pods 201",
            "create pods 201",
            "create pods 201",
            "update replicasets/status 200",
            "update replicasets/status 200"
        ]
    );
    let rs = kubectl(&mut w, Method::Get, &format!("{RS}/web"), None);
    assert_eq!(
        rs["status"],
        json!({"replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 1})
    );
}

#[test]
fn replaces_a_deleted_pod_and_deletes_the_newest_on_scale_down() {
    let mut w = world();
    kubectl(&mut w, Method::Post, RS, Some(replicaset(3)));
    w.advance(1000);
    let before = pod_names(&mut w);
    let mark = w.api().audit().last().unwrap().seq;
    kubectl(
        &mut w,
        Method::Delete,
        &format!("{PODS}/{}", before[0]),
        None,
    );
    w.advance(1000);
    let after = pod_names(&mut w);
    assert_eq!(after.len(), 3);
    assert!(!after.contains(&before[0]));
    assert_eq!(
        actions(&mut w, mark),
        [
            "create pods 201",
            "update replicasets/status 200",
            "update replicasets/status 200"
        ]
    );
    let replacement: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
    assert_eq!(replacement.len(), 1);

    // Scale to 1: the replacement (the newest pod) goes first, then the next newest.
    w.advance(5000);
    let mark = w.api().audit().last().unwrap().seq;
    let patch = Request::new(Method::Patch, &format!("{RS}/web/scale"))
        .bearer(ADMIN_TOKEN)
        .body("application/merge-patch+json", r#"{"spec":{"replicas":1}}"#);
    w.api().handle(&patch);
    w.advance(1000);
    let left = pod_names(&mut w);
    assert_eq!(left.len(), 1);
    assert!(
        !left.contains(replacement[0]),
        "the newest pod is deleted first"
    );
    assert_eq!(
        actions(&mut w, mark),
        [
            "delete pods 200",
            "delete pods 200",
            "update replicasets/status 200",
            "update replicasets/status 200"
        ]
    );
}

#[test]
fn adopts_a_matching_orphan() {
    let mut w = world();
    let orphan = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    kubectl(&mut w, Method::Post, PODS, Some(orphan));
    kubectl(&mut w, Method::Post, RS, Some(replicaset(2)));
    w.advance(1000);
    let pods = pod_names(&mut w);
    assert_eq!(pods.len(), 2, "{pods:?}");
    let stray = kubectl(&mut w, Method::Get, &format!("{PODS}/stray"), None);
    assert_eq!(stray["metadata"]["ownerReferences"][0]["name"], "web");
}

#[test]
fn same_seed_same_run() {
    let run = || {
        let mut w = world();
        kubectl(&mut w, Method::Post, RS, Some(replicaset(4)));
        w.advance(1000);
        (
            pod_names(&mut w),
            w.api()
                .audit()
                .since(0)
                .map(|e| format!("{:?}", e))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(run(), run());
}
