//! The Deployment and ReplicaSet controllers together: the ReplicaSets and Pods a Deployment
//! leads to, and a rolling update that keeps inside its bounds at every step.
//!
//! There are no kubelets in these tests: `mark_pods_ready` writes what a kubelet would write
//! (`Running`, `Ready=True`) through the pods' `status` subresource.

use serde_json::{json, Value};

use crate::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use crate::controllers::deployment::util::{template_hash, REVISION};
use crate::controllers::deployment::*;
use crate::controllers::replicaset::ReplicaSetController;
use crate::sim::World;

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const RS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn world() -> World {
    let mut w = World::new(Config::default());
    w.add(Box::new(DeploymentController::default()));
    w.add(Box::new(ReplicaSetController::default()));
    w
}

fn call(w: &mut World, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    w.api().handle(&req).value()
}

fn merge_patch(w: &mut World, path: &str, patch: Value) -> Value {
    w.api()
        .handle(
            &Request::new(Method::Patch, path)
                .bearer(ADMIN_TOKEN)
                .body("application/merge-patch+json", patch.to_string()),
        )
        .value()
}

fn deployment(replicas: i64, strategy: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx"},
        "spec": {"replicas": replicas, "strategy": strategy, "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}}
    })
}

fn items(w: &mut World, path: &str) -> Vec<Value> {
    call(w, Method::Get, path, None)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// What a kubelet would report for every pod not yet running: Running and Ready.
fn mark_pods_ready(w: &mut World) {
    let now = w.now().rfc3339();
    for pod in items(w, PODS) {
        if pod["status"]["phase"] == "Running" || pod["metadata"].get("deletionTimestamp").is_some()
        {
            continue;
        }
        let name = pod["metadata"]["name"].as_str().unwrap().to_string();
        let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}});
        merge_patch(w, &format!("{PODS}/{name}/status"), status);
    }
}

#[test]
fn a_deployment_makes_a_replicaset_that_makes_pods() {
    let mut w = world();
    call(
        &mut w,
        Method::Post,
        DEPLOYS,
        Some(deployment(3, json!({}))),
    );
    w.advance(1000);
    let d = call(&mut w, Method::Get, &format!("{DEPLOYS}/nginx"), None);
    let hash = template_hash(&d["spec"]["template"], 0);
    let rs = call(&mut w, Method::Get, &format!("{RS}/nginx-{hash}"), None);
    assert_eq!(rs["spec"]["replicas"], 3);
    assert_eq!(rs["metadata"]["annotations"][REVISION], "1");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"],
        json!({"app": "nginx", "pod-template-hash": hash})
    );
    let pods = items(&mut w, PODS);
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| p["metadata"]["name"]
        .as_str()
        .unwrap()
        .starts_with(&format!("nginx-{hash}-"))));
    assert_eq!(d["metadata"]["annotations"][REVISION], "1");
    assert_eq!(d["status"]["replicas"], 3);
    assert_eq!(d["status"]["updatedReplicas"], 3);
    assert_eq!(
        d["status"]["conditions"][0]["reason"],
        "MinimumReplicasUnavailable"
    );

    mark_pods_ready(&mut w);
    w.advance(1000);
    let d = call(&mut w, Method::Get, &format!("{DEPLOYS}/nginx"), None);
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(
        d["status"]["conditions"][0]["reason"],
        "MinimumReplicasAvailable"
    );
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        "NewReplicaSetAvailable"
    );
    assert_eq!(
        d["status"]["conditions"][1]["message"],
        format!("ReplicaSet \"nginx-{hash}\" has successfully progressed.")
    );
    let events: Vec<String> = items(&mut w, "/api/v1/namespaces/default/events")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["reason"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        events,
        [format!(
            "ScalingReplicaSet Scaled up replica set nginx-{hash} from 0 to 3"
        )]
    );
}

/// Rolls 1.14.2 → 1.16.1 and checks the bounds after every event of the run.
fn roll(strategy: Value, replicas: i64, max_total: i64, min_available: i64) {
    let mut w = world();
    call(
        &mut w,
        Method::Post,
        DEPLOYS,
        Some(deployment(replicas, strategy)),
    );
    w.advance(1000);
    mark_pods_ready(&mut w);
    w.advance(1000);
    let old_hash = template_hash(
        &call(&mut w, Method::Get, &format!("{DEPLOYS}/nginx"), None)["spec"]["template"],
        0,
    );
    merge_patch(
        &mut w,
        &format!("{DEPLOYS}/nginx"),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.16.1"}]}}}}),
    );
    for round in 0..50 {
        // Step event by event, checking the bounds after each.
        let until = w.now().plus_millis(1000);
        while w.next_event_at().is_some_and(|t| t <= until) {
            w.step();
            let sets = items(&mut w, RS);
            let total: i64 = sets
                .iter()
                .map(|rs| rs["spec"]["replicas"].as_i64().unwrap())
                .sum();
            let pods = items(&mut w, PODS);
            let ready = pods
                .iter()
                .filter(|p| {
                    crate::api::pod::Pod(p).is_ready() && crate::api::pod::Pod(p).is_active()
                })
                .count() as i64;
            assert!(
                total <= max_total,
                "round {round}: {total} pods wanted, more than {max_total}"
            );
            assert!(
                ready >= min_available,
                "round {round}: only {ready} ready, fewer than {min_available}"
            );
        }
        w.run_until(until);
        mark_pods_ready(&mut w);
        let d = call(&mut w, Method::Get, &format!("{DEPLOYS}/nginx"), None);
        if d["status"]["conditions"][1]["reason"] == "NewReplicaSetAvailable"
            && d["status"]["updatedReplicas"] == replicas
            && d["status"]["replicas"] == replicas
        {
            let sets = items(&mut w, RS);
            let old = sets
                .iter()
                .find(|rs| rs["metadata"]["name"] == format!("nginx-{old_hash}").as_str())
                .unwrap();
            assert_eq!(
                old["spec"]["replicas"], 0,
                "the old ReplicaSet is scaled to zero and kept for rollback"
            );
            assert_eq!(d["metadata"]["annotations"][REVISION], "2");
            assert_eq!(d["metadata"]["generation"], 2);
            return;
        }
    }
    panic!("the rollout did not complete");
}

#[test]
fn rolling_update_with_max_surge_1_and_max_unavailable_0() {
    roll(
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
        3,
        4,
        3,
    );
}

#[test]
fn rolling_update_with_25_percent() {
    // 10 replicas: surge rounds up to 3, unavailability down to 2.
    roll(
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
        10,
        13,
        8,
    );
}

#[test]
fn recreate_scales_down_before_it_scales_up() {
    let mut w = world();
    call(
        &mut w,
        Method::Post,
        DEPLOYS,
        Some(deployment(2, json!({"type": "Recreate"}))),
    );
    w.advance(1000);
    mark_pods_ready(&mut w);
    w.advance(1000);
    merge_patch(
        &mut w,
        &format!("{DEPLOYS}/nginx"),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.16.1"}]}}}}),
    );
    w.advance(1000);
    let images: Vec<String> = items(&mut w, PODS)
        .iter()
        .map(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        images,
        ["nginx:1.16.1", "nginx:1.16.1"],
        "old pods gone, new ones made"
    );
}

#[test]
fn the_template_hash_ignores_key_order() {
    let a = json!({"metadata": {"labels": {"app": "x", "tier": "y"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let b = json!({"spec": {"containers": [{"image": "i", "name": "c"}]}, "metadata": {"labels": {"tier": "y", "app": "x"}}});
    assert_eq!(template_hash(&a, 0), template_hash(&b, 0));
    assert_ne!(
        template_hash(&a, 0),
        template_hash(&a, 1),
        "a collision count changes the hash"
    );
}

#[test]
fn same_seed_same_rollout() {
    let run = || {
        let mut w = world();
        call(
            &mut w,
            Method::Post,
            DEPLOYS,
            Some(deployment(3, json!({}))),
        );
        w.advance(1000);
        mark_pods_ready(&mut w);
        w.advance(1000);
        w.api()
            .audit()
            .since(0)
            .map(|e| {
                format!(
                    "{} {} {} {} {}",
                    e.time.millis(),
                    e.user,
                    e.verb,
                    e.resource,
                    e.name
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn a_stalled_rollout_exceeds_its_progress_deadline() {
    let mut w = world();
    let mut d = deployment(2, json!({}));
    d["spec"]["progressDeadlineSeconds"] = json!(30);
    call(&mut w, Method::Post, DEPLOYS, Some(d));
    // No kubelet makes the pods ready: nothing progresses after the pods are created.
    w.advance(10_000);
    let d = call(&mut w, Method::Get, &format!("{DEPLOYS}/nginx"), None);
    assert_eq!(d["status"]["conditions"][1]["status"], "True");
    w.advance(40_000);
    let d = call(&mut w, Method::Get, &format!("{DEPLOYS}/nginx"), None);
    assert_eq!(d["status"]["conditions"][1]["status"], "False");
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        "ProgressDeadlineExceeded"
    );
    assert!(d["status"]["conditions"][1]["message"]
        .as_str()
        .unwrap()
        .ends_with("has timed out progressing."));
}
