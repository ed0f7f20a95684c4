//! The three deletion modes, end to end with the Deployment and ReplicaSet controllers.

use serde_json::{json, Value};

use crate::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use crate::sim::World;

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const RS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn world_with_a_deployment() -> World {
    let mut w = World::new(Config::default());
    for c in crate::controllers::kube_controller_manager() {
        w.add(c);
    }
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    });
    w.api().handle(
        &Request::new(Method::Post, DEPLOYS)
            .bearer(ADMIN_TOKEN)
            .json(&d),
    );
    w.advance(1000);
    w
}

fn count(w: &mut World, path: &str) -> usize {
    w.api()
        .handle(&Request::new(Method::Get, path).bearer(ADMIN_TOKEN))
        .value()["items"]
        .as_array()
        .map_or(0, Vec::len)
}

fn delete(w: &mut World, propagation: &str) -> Value {
    let req = Request::new(Method::Delete, &format!("{DEPLOYS}/web"))
        .bearer(ADMIN_TOKEN)
        .json(&json!({"propagationPolicy": propagation}));
    w.api().handle(&req).value()
}

#[test]
fn background_deletion_removes_the_dependents_after_the_owner() {
    let mut w = world_with_a_deployment();
    assert_eq!((count(&mut w, RS), count(&mut w, PODS)), (1, 2));
    delete(&mut w, "Background");
    assert_eq!(count(&mut w, DEPLOYS), 0, "the owner goes at once");
    w.advance(1000);
    assert_eq!((count(&mut w, RS), count(&mut w, PODS)), (0, 0));
}

#[test]
fn foreground_deletion_waits_for_the_dependents() {
    let mut w = world_with_a_deployment();
    let d = delete(&mut w, "Foreground");
    assert_eq!(d["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert_eq!(
        count(&mut w, DEPLOYS),
        1,
        "the owner stays while dependents exist"
    );
    w.advance(1000);
    assert_eq!(
        (
            count(&mut w, DEPLOYS),
            count(&mut w, RS),
            count(&mut w, PODS)
        ),
        (0, 0, 0)
    );
}

#[test]
fn orphan_deletion_leaves_the_dependents_without_an_owner() {
    let mut w = world_with_a_deployment();
    delete(&mut w, "Orphan");
    w.advance(1000);
    assert_eq!(count(&mut w, DEPLOYS), 0);
    let sets = w
        .api()
        .handle(&Request::new(Method::Get, RS).bearer(ADMIN_TOKEN))
        .value();
    assert_eq!(sets["items"].as_array().unwrap().len(), 1);
    assert!(
        sets["items"][0]["metadata"]
            .get("ownerReferences")
            .is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)),
        "{}",
        sets["items"][0]["metadata"]
    );
    assert_eq!(
        count(&mut w, PODS),
        2,
        "the orphaned ReplicaSet keeps its pods"
    );
}
