//! Managed fields and server-side apply through the API server, as a client sees them: the
//! `managedFields` each write leaves, apply's merge, conflicts and their 409, `force`, fields
//! an applier stops sending, and the upgrade from client-side apply.

use serde_json::{json, Value};

use crate::request::{Method, Request, Response};
use crate::{ApiServer, Config, ADMIN_TOKEN};

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const APPLY: &str = "application/apply-patch+yaml";

fn send(s: &mut ApiServer, method: Method, path: &str, ct: &str, body: &Value) -> Response {
    let req = Request::new(method, path)
        .bearer(ADMIN_TOKEN)
        .body(ct, body.to_string());
    s.handle(&req)
}

fn apply(s: &mut ApiServer, manager: &str, extra: &str, body: &Value) -> Response {
    let path = format!("{DEPLOYS}/web?fieldManager={manager}{extra}");
    send(s, Method::Patch, &path, APPLY, body)
}

fn get(s: &mut ApiServer) -> Value {
    s.handle(&Request::new(Method::Get, &format!("{DEPLOYS}/web")).bearer(ADMIN_TOKEN))
        .value()
}

fn web(replicas: i64, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}
        }
    })
}

/// The entry of one manager: (operation, fieldsV1).
fn entry(obj: &Value, manager: &str) -> Option<(String, Value)> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
        .map(|e| {
            (
                e["operation"].as_str().unwrap_or_default().into(),
                e["fieldsV1"].clone(),
            )
        })
}

#[test]
fn a_create_records_its_manager_and_what_it_set() {
    let mut s = ApiServer::new(Config::default());
    let path = format!("{DEPLOYS}?fieldManager=kubectl-create");
    let r = send(
        &mut s,
        Method::Post,
        &path,
        "application/json",
        &web(1, json!({"app": "web"})),
    );
    assert_eq!(r.code, 201, "{}", r.value());
    let d = r.value();
    let (op, fields) = entry(&d, "kubectl-create").expect("an entry for kubectl-create");
    assert_eq!(op, "Update");
    assert_eq!(
        fields["f:metadata"]["f:labels"],
        json!({".": {}, "f:app": {}})
    );
    assert_eq!(fields["f:spec"]["f:replicas"], json!({}));
    // Defaults are the creator's too; identity, bookkeeping and status are no one's.
    let container =
        &fields["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"nginx"}"#];
    assert_eq!(container["."], json!({}));
    assert_eq!(container["f:imagePullPolicy"], json!({}));
    assert!(fields["f:metadata"].get("f:name").is_none());
    assert!(fields.get("f:status").is_none());
    let e = &d["metadata"]["managedFields"][0];
    assert_eq!(e["apiVersion"], "apps/v1");
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert_eq!(e["time"], "2026-01-01T00:00:00Z");
}

#[test]
fn apply_creates_then_conflicts_with_another_manager_and_force_takes_the_field() {
    let mut s = ApiServer::new(Config::default());
    let r = apply(&mut s, "kubectl", "", &web(2, json!({"app": "web"})));
    assert_eq!(r.code, 201, "{}", r.value());
    let (op, fields) = entry(&r.value(), "kubectl").expect("the applier's entry");
    assert_eq!(op, "Apply");
    // An apply owns what it sent: no `.` on maps, items are members.
    assert_eq!(fields["f:metadata"]["f:labels"], json!({"f:app": {}}));
    assert_eq!(fields["f:spec"]["f:selector"], json!({}));

    // Another manager sets the same value: shared, no conflict.
    let r = apply(
        &mut s,
        "ci",
        "",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 2}}),
    );
    assert_eq!(r.code, 200, "{}", r.value());
    // A different value is a conflict, named as kubectl prints it.
    let r = apply(
        &mut s,
        "ci",
        "",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 5}}),
    );
    assert_eq!(r.code, 409);
    let status = r.value();
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        r#"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#
    );
    assert_eq!(
        status["details"]["causes"],
        json!([{"type": "FieldManagerConflict", "message": "conflict with \"kubectl\"", "field": ".spec.replicas"}])
    );
    assert_eq!(get(&mut s)["spec"]["replicas"], 2);
    // Forced, the field changes hands.
    let r = apply(
        &mut s,
        "ci",
        "&force=true",
        &json!({"apiVersion": "apps/v1",
        "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}),
    );
    assert_eq!(r.code, 200, "{}", r.value());
    let d = get(&mut s);
    assert_eq!(d["spec"]["replicas"], 5);
    let (_, kubectl) = entry(&d, "kubectl").unwrap();
    assert!(kubectl["f:spec"].get("f:replicas").is_none());
    assert_eq!(
        entry(&d, "ci").unwrap().1["f:spec"]["f:replicas"],
        json!({})
    );
}

#[test]
fn a_field_the_applier_stops_sending_goes_unless_someone_else_owns_it() {
    let mut s = ApiServer::new(Config::default());
    let r = apply(
        &mut s,
        "kubectl",
        "",
        &web(1, json!({"app": "web", "tier": "front", "team": "a"})),
    );
    assert_eq!(r.code, 201, "{}", r.value());
    // Someone else takes `team` over with an update.
    let patch = json!({"metadata": {"labels": {"team": "b"}}});
    let path = format!("{DEPLOYS}/web?fieldManager=kubectl-label");
    let r = send(
        &mut s,
        Method::Patch,
        &path,
        "application/merge-patch+json",
        &patch,
    );
    assert_eq!(r.code, 200, "{}", r.value());
    let r = apply(&mut s, "kubectl", "", &web(1, json!({"app": "web"})));
    assert_eq!(r.code, 200, "{}", r.value());
    let d = get(&mut s);
    assert_eq!(d["metadata"]["labels"], json!({"app": "web", "team": "b"}));
}

#[test]
fn keyed_lists_merge_item_by_item() {
    let mut s = ApiServer::new(Config::default());
    assert_eq!(
        apply(&mut s, "kubectl", "", &web(1, json!({"app": "web"}))).code,
        201
    );
    let sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "log", "image": "busybox"}]}}}});
    let r = apply(&mut s, "mesh", "", &sidecar);
    assert_eq!(r.code, 200, "{}", r.value());
    let d = get(&mut s);
    let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "log"]);
}

#[test]
fn server_side_apply_takes_over_from_client_side_apply() {
    let mut s = ApiServer::new(Config::default());
    let mut d = web(2, json!({"app": "web"}));
    let last = format!("{d}\n");
    d["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": last});
    let path = format!("{DEPLOYS}?fieldManager=kubectl-client-side-apply");
    assert_eq!(
        send(&mut s, Method::Post, &path, "application/json", &d).code,
        201
    );
    // The same configuration, now with 3 replicas: the field kubectl applied client-side
    // and nobody changed since is kubectl's to change.
    let r = apply(&mut s, "kubectl", "", &web(3, json!({"app": "web"})));
    assert_eq!(r.code, 200, "{}", r.value());
    let d = get(&mut s);
    assert_eq!(d["spec"]["replicas"], 3);
    let annotation = d["metadata"]["annotations"]
        ["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap();
    let last: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(
        last["spec"]["replicas"], 3,
        "the annotation follows the apply"
    );
    // Someone scales by hand: the drifted field is a conflict again.
    let scale = json!({"spec": {"replicas": 7}});
    let path = format!("{DEPLOYS}/web?fieldManager=kubectl-scale");
    send(
        &mut s,
        Method::Patch,
        &path,
        "application/merge-patch+json",
        &scale,
    );
    let r = apply(&mut s, "kubectl", "", &web(4, json!({"app": "web"})));
    assert_eq!(r.code, 409, "{}", r.value());
    assert!(r.value()["message"]
        .as_str()
        .unwrap()
        .contains(r#""kubectl-scale" using apps/v1"#));
}

#[test]
fn an_apply_names_its_manager_and_force_is_for_apply_only() {
    let mut s = ApiServer::new(Config::default());
    let start = s.revision();
    let path = format!("{DEPLOYS}/web");
    let r = send(&mut s, Method::Patch, &path, APPLY, &web(1, json!({})));
    assert_eq!(r.code, 422);
    assert_eq!(
        r.value()["message"],
        r#"PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch"#
    );
    let r = send(
        &mut s,
        Method::Patch,
        &format!("{path}?force=true"),
        "application/merge-patch+json",
        &json!({}),
    );
    assert_eq!(r.code, 422);
    assert_eq!(
        r.value()["message"],
        r#"PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch"#
    );
    let r = apply(
        &mut s,
        "kubectl",
        "",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicaz": 1}}),
    );
    assert_eq!(r.code, 400);
    assert_eq!(
        r.value()["message"],
        "failed to create typed patch object (apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema"
    );
    assert_eq!(s.revision(), start, "nothing was stored");
}

#[test]
fn a_dry_run_apply_stores_nothing() {
    let mut s = ApiServer::new(Config::default());
    let start = s.revision();
    let r = apply(
        &mut s,
        "kubectl",
        "&dryRun=All",
        &web(1, json!({"app": "web"})),
    );
    assert_eq!(r.code, 201, "{}", r.value());
    assert_eq!(r.value()["spec"]["replicas"], 1);
    assert_eq!(s.revision(), start);
}

#[test]
fn status_writes_are_recorded_under_the_status_subresource() {
    let mut s = ApiServer::new(Config::default());
    assert_eq!(
        apply(&mut s, "kubectl", "", &web(1, json!({"app": "web"}))).code,
        201
    );
    let mut d = get(&mut s);
    d["status"] = json!({"replicas": 1, "readyReplicas": 1});
    let path = format!("{DEPLOYS}/web/status?fieldManager=kube-controller-manager");
    let r = send(&mut s, Method::Put, &path, "application/json", &d);
    assert_eq!(r.code, 200, "{}", r.value());
    let d = get(&mut s);
    let e = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "kube-controller-manager")
        .expect("the controller's entry");
    assert_eq!(e["subresource"], "status");
    assert_eq!(
        e["fieldsV1"],
        json!({"f:status": {"f:readyReplicas": {}, "f:replicas": {}}})
    );
}

/// kubectl's own upgrade from client-side apply hands the applier the map itself (`.`) with
/// its keys; applying the keys alone afterwards keeps the map.
#[test]
fn a_map_the_applier_owned_whole_stays_while_it_still_applies_its_keys() {
    let mut s = ApiServer::new(Config::default());
    assert_eq!(
        apply(&mut s, "kubectl", "", &web(1, json!({"app": "web"}))).code,
        201
    );
    let mut d = get(&mut s);
    d["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:labels"]["."] = json!({});
    let path = format!("{DEPLOYS}/web?fieldManager=kubectl");
    let r = send(&mut s, Method::Put, &path, "application/json", &d);
    assert_eq!(r.code, 200, "{}", r.value());
    assert_eq!(
        apply(&mut s, "kubectl", "", &web(1, json!({"app": "web"}))).code,
        200
    );
    assert_eq!(get(&mut s)["metadata"]["labels"], json!({"app": "web"}));
}
