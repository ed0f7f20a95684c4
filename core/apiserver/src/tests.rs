//! The API server's pipeline, verb by verb, as a client sees it: status codes, `Status`
//! reasons and messages, and what is stored afterwards.

use serde_json::{json, Value};

use super::*;

fn server() -> ApiServer {
    ApiServer::new(Config::default())
}

fn call(s: &mut ApiServer, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    s.handle(&req)
}

fn deployment(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "web", "image": image}]}}
        }
    })
}

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";

#[test]
fn create_get_and_defaults() {
    let mut s = server();
    let r = call(
        &mut s,
        Method::Post,
        DEPLOYS,
        Some(deployment("web", "nginx:1.14.2")),
    );
    assert_eq!(r.code, 201, "{}", r.value());
    let d = call(&mut s, Method::Get, &format!("{DEPLOYS}/web"), None).value();
    assert_eq!(d["metadata"]["generation"], 1);
    assert_eq!(d["metadata"]["namespace"], "default");
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert!(d["metadata"]["uid"].as_str().unwrap().len() == 36);
    let rv: i64 = d["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rv, s.revision());
    let again = call(
        &mut s,
        Method::Post,
        DEPLOYS,
        Some(deployment("web", "nginx:1.14.2")),
    );
    assert_eq!(again.code, 409);
    assert_eq!(again.value()["reason"], "AlreadyExists");
    assert_eq!(
        again.value()["message"],
        "deployments.apps \"web\" already exists"
    );
}

#[test]
fn authentication_and_rbac() {
    let mut s = server();
    let anonymous = s.handle(&Request::new(Method::Get, "/api/v1/pods"));
    assert_eq!(anonymous.code, 401);
    let viewer = |s: &mut ApiServer, m, p: &str, b: Option<Value>| {
        let mut r = Request::new(m, p).bearer(VIEWER_TOKEN);
        if let Some(b) = b {
            r = r.json(&b);
        }
        s.handle(&r)
    };
    assert_eq!(
        viewer(&mut s, Method::Get, "/api/v1/namespaces/default/pods", None).code,
        200
    );
    let denied = viewer(
        &mut s,
        Method::Post,
        DEPLOYS,
        Some(deployment("web", "nginx")),
    );
    assert_eq!(denied.code, 403);
    assert_eq!(
        denied.value()["message"],
        "deployments.apps is forbidden: User \"viewer\" cannot create resource \"deployments\" in API group \"apps\" in the namespace \"default\""
    );
    let nodes = viewer(&mut s, Method::Get, "/api/v1/nodes", None);
    assert_eq!(nodes.value()["message"], "nodes is forbidden: User \"viewer\" cannot list resource \"nodes\" in API group \"\" at the cluster scope");
    assert_eq!(
        s.store().count("/registry/deployments/"),
        0,
        "a denied request stores nothing"
    );
    assert_eq!(s.audit().last().unwrap().code, 403);
}

#[test]
fn validation_errors_carry_field_causes() {
    let mut s = server();
    let mut bad = deployment("Bad_Name", "");
    bad["spec"]["replicas"] = json!(-1);
    bad["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    let r = call(&mut s, Method::Post, DEPLOYS, Some(bad)).value();
    assert_eq!(r["code"], 422);
    assert_eq!(r["reason"], "Invalid");
    let fields: Vec<&str> = r["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "metadata.name",
            "spec.replicas",
            "spec.template.metadata.labels",
            "spec.template.spec.containers[0].image"
        ]
    );
    assert!(r["message"].as_str().unwrap().starts_with("Deployment.apps \"Bad_Name\" is invalid: [metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
}

#[test]
fn bad_bodies_are_rejected_and_change_nothing() {
    let mut s = server();
    let before = s.revision();
    let r = s.handle(
        &Request::new(Method::Post, DEPLOYS)
            .bearer(ADMIN_TOKEN)
            .body("application/json", "{not json"),
    );
    assert_eq!(
        (r.code, r.value()["reason"].clone()),
        (400, json!("BadRequest"))
    );
    let mut typed_wrong = deployment("web", "nginx");
    typed_wrong["spec"]["replicas"] = json!("three");
    let r = call(&mut s, Method::Post, DEPLOYS, Some(typed_wrong)).value();
    assert_eq!(r["code"], 400);
    assert_eq!(
        r["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    let mut unknown = deployment("web", "nginx");
    unknown["spec"]["replicaz"] = json!(3);
    let strict = s.handle(
        &Request::new(Method::Post, &format!("{DEPLOYS}?fieldValidation=Strict"))
            .bearer(ADMIN_TOKEN)
            .json(&unknown),
    );
    assert_eq!(strict.value()["message"], "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicaz\"");
    let big = vec![b' '; MAX_REQUEST_BODY_BYTES + 1];
    let r = s.handle(
        &Request::new(Method::Post, DEPLOYS)
            .bearer(ADMIN_TOKEN)
            .body("application/json", big),
    );
    assert_eq!(
        (r.code, r.value()["reason"].clone()),
        (413, json!("RequestEntityTooLarge"))
    );
    let r = call(
        &mut s,
        Method::Get,
        "/apis/apps/v2/namespaces/default/deployments",
        None,
    );
    assert_eq!(r.code, 404);
    let r = call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/nope/configmaps",
        Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})),
    );
    assert_eq!(r.value()["message"], "namespaces \"nope\" not found");
    assert_eq!(s.revision(), before, "no failed request wrote");
    // Warn (the default) accepts and drops the unknown field, with a warning.
    let warned = call(&mut s, Method::Post, DEPLOYS, Some(unknown));
    assert_eq!(warned.code, 201);
    assert_eq!(warned.warnings, ["unknown field \"spec.replicaz\""]);
}

#[test]
fn stale_update_conflicts_and_generation_moves_with_spec() {
    let mut s = server();
    call(
        &mut s,
        Method::Post,
        DEPLOYS,
        Some(deployment("web", "nginx:1.14.2")),
    );
    let d = call(&mut s, Method::Get, &format!("{DEPLOYS}/web"), None).value();
    let mut newer = d.clone();
    newer["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.16.1");
    let r = call(&mut s, Method::Put, &format!("{DEPLOYS}/web"), Some(newer));
    assert_eq!(r.code, 200);
    assert_eq!(r.value()["metadata"]["generation"], 2);
    let mut stale = d;
    stale["metadata"]["labels"]["x"] = json!("y");
    let r = call(&mut s, Method::Put, &format!("{DEPLOYS}/web"), Some(stale)).value();
    assert_eq!(r["code"], 409);
    assert_eq!(r["message"], "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again");
    let mut selector = call(&mut s, Method::Get, &format!("{DEPLOYS}/web"), None).value();
    selector["spec"]["selector"]["matchLabels"]["tier"] = json!("x");
    selector["spec"]["template"]["metadata"]["labels"]["tier"] = json!("x");
    let r = call(
        &mut s,
        Method::Put,
        &format!("{DEPLOYS}/web"),
        Some(selector),
    )
    .value();
    assert_eq!(r["details"]["causes"][0]["field"], "spec.selector");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .ends_with("field is immutable"));
}

#[test]
fn patches_and_scale() {
    let mut s = server();
    call(
        &mut s,
        Method::Post,
        DEPLOYS,
        Some(deployment("web", "nginx:1.14.2")),
    );
    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.16.1"}]}}}});
    let r = s.handle(
        &Request::new(Method::Patch, &format!("{DEPLOYS}/web"))
            .bearer(ADMIN_TOKEN)
            .body("application/strategic-merge-patch+json", smp.to_string()),
    );
    assert_eq!(
        r.value()["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.16.1"
    );
    let r = s.handle(
        &Request::new(Method::Patch, &format!("{DEPLOYS}/web"))
            .bearer(ADMIN_TOKEN)
            .body(
                "application/merge-patch+json",
                r#"{"metadata":{"labels":{"team":"a"}}}"#,
            ),
    );
    assert_eq!(
        r.value()["metadata"]["labels"],
        json!({"app": "web", "team": "a"})
    );
    let r = s.handle(
        &Request::new(Method::Patch, &format!("{DEPLOYS}/web"))
            .bearer(ADMIN_TOKEN)
            .body(
                "application/json-patch+json",
                r#"[{"op":"replace","path":"/spec/replicas","value":5}]"#,
            ),
    );
    assert_eq!(r.value()["spec"]["replicas"], 5);
    let r = s.handle(
        &Request::new(Method::Patch, &format!("{DEPLOYS}/web/scale"))
            .bearer(ADMIN_TOKEN)
            .body("application/merge-patch+json", r#"{"spec":{"replicas":2}}"#),
    );
    assert_eq!(r.value()["kind"], "Scale");
    assert_eq!(r.value()["spec"]["replicas"], 2);
    assert_eq!(r.value()["status"]["selector"], "app=web");
    let status_write = s.handle(
        &Request::new(Method::Patch, &format!("{DEPLOYS}/web"))
            .bearer(ADMIN_TOKEN)
            .body(
                "application/merge-patch+json",
                r#"{"status":{"replicas":7}}"#,
            ),
    );
    assert!(
        status_write.value()["status"].get("replicas").is_none(),
        "status changes only through the status subresource"
    );
    let r = s.handle(
        &Request::new(Method::Patch, &format!("{DEPLOYS}/web/status"))
            .bearer(ADMIN_TOKEN)
            .body(
                "application/merge-patch+json",
                r#"{"status":{"replicas":7}}"#,
            ),
    );
    assert_eq!(r.value()["status"]["replicas"], 7);
}

#[test]
fn list_with_selectors_limit_and_continue() {
    let mut s = server();
    for i in 0..5 {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}"), "labels": {"parity": if i % 2 == 0 { "even" } else { "odd" }}}});
        assert_eq!(
            call(
                &mut s,
                Method::Post,
                "/api/v1/namespaces/default/configmaps",
                Some(cm)
            )
            .code,
            201
        );
    }
    let page = call(
        &mut s,
        Method::Get,
        "/api/v1/namespaces/default/configmaps?limit=2&labelSelector=parity%3Deven",
        None,
    )
    .value();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cm-0", "cm-2"]);
    let token = page["metadata"]["continue"].as_str().unwrap().to_string();
    let rest = call(&mut s, Method::Get, &format!("/api/v1/namespaces/default/configmaps?limit=2&labelSelector=parity%3Deven&continue={token}"), None).value();
    let names: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cm-4"]);
    assert!(rest["metadata"].get("continue").is_none());
    let bad = call(
        &mut s,
        Method::Get,
        "/api/v1/namespaces/default/configmaps?fieldSelector=spec.nodeName%3Dx",
        None,
    )
    .value();
    assert_eq!(bad["message"], "field label not supported: spec.nodeName");
}

#[test]
fn watch_from_revision_with_selector_and_gone() {
    let mut s = ApiServer::new(Config {
        history_limit: 50,
        ..Config::default()
    });
    let start = s.revision();
    let w = s.handle(&Request::new(Method::Get, &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}&labelSelector=app%3Dweb")).bearer(ADMIN_TOKEN)).watch.unwrap();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"app": "web"}}});
    call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/default/configmaps",
        Some(cm),
    );
    s.handle(
        &Request::new(Method::Patch, "/api/v1/namespaces/default/configmaps/a")
            .bearer(ADMIN_TOKEN)
            .body("application/merge-patch+json", r#"{"data":{"k":"v"}}"#),
    );
    s.handle(
        &Request::new(Method::Patch, "/api/v1/namespaces/default/configmaps/a")
            .bearer(ADMIN_TOKEN)
            .body(
                "application/merge-patch+json",
                r#"{"metadata":{"labels":{"app":"db"}}}"#,
            ),
    );
    call(
        &mut s,
        Method::Delete,
        "/api/v1/namespaces/default/configmaps/a",
        None,
    );
    let types: Vec<String> = s
        .poll_watch(w)
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(
        types,
        ["ADDED", "MODIFIED", "DELETED"],
        "leaving the selector is a DELETED; the real delete is not seen"
    );
    for i in 0..60 {
        let cm =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("x{i}")}});
        call(
            &mut s,
            Method::Post,
            "/api/v1/namespaces/default/configmaps",
            Some(cm),
        );
    }
    let old = s
        .handle(
            &Request::new(
                Method::Get,
                &format!(
                    "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}"
                ),
            )
            .bearer(ADMIN_TOKEN),
        )
        .watch
        .unwrap();
    let events = s.poll_watch(old).unwrap();
    assert_eq!(events[0].kind, watch::EventType::Error);
    assert_eq!(events[0].object["code"], 410);
    assert_eq!(events[0].object["reason"], "Expired");
    assert!(
        s.poll_watch(old).is_none(),
        "the watch ends after its error"
    );
}

#[test]
fn delete_with_finalizers_and_pods() {
    let mut s = server();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}});
    call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/default/configmaps",
        Some(cm),
    );
    let r = call(
        &mut s,
        Method::Delete,
        "/api/v1/namespaces/default/configmaps/held",
        None,
    )
    .value();
    assert!(r["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        call(
            &mut s,
            Method::Get,
            "/api/v1/namespaces/default/configmaps/held",
            None
        )
        .code,
        200
    );
    s.handle(
        &Request::new(Method::Patch, "/api/v1/namespaces/default/configmaps/held")
            .bearer(ADMIN_TOKEN)
            .body(
                "application/merge-patch+json",
                r#"{"metadata":{"finalizers":null}}"#,
            ),
    );
    assert_eq!(
        call(
            &mut s,
            Method::Get,
            "/api/v1/namespaces/default/configmaps/held",
            None
        )
        .code,
        404,
        "gone with its last finalizer"
    );
    let r = call(
        &mut s,
        Method::Delete,
        DEPLOYS
            .to_string()
            .as_str()
            .replace("deployments", "deployments/x")
            .as_str(),
        None,
    );
    assert_eq!(r.value()["reason"], "NotFound");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let created = call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    )
    .value();
    let name = created["metadata"]["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    assert_eq!(created["status"]["phase"], "Pending");
    assert_eq!(
        created["spec"]["tolerations"].as_array().unwrap().len(),
        2,
        "DefaultTolerationSeconds"
    );
    assert_eq!(created["spec"]["serviceAccountName"], "default");
    let bind = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"kind": "Node", "name": "node-1"}});
    assert_eq!(
        call(
            &mut s,
            Method::Post,
            &format!("/api/v1/namespaces/default/pods/{name}/binding"),
            Some(bind.clone())
        )
        .code,
        201
    );
    let again = call(
        &mut s,
        Method::Post,
        &format!("/api/v1/namespaces/default/pods/{name}/binding"),
        Some(bind),
    )
    .value();
    assert_eq!(again["code"], 409);
    let r = call(
        &mut s,
        Method::Delete,
        &format!("/api/v1/namespaces/default/pods/{name}"),
        None,
    )
    .value();
    assert_eq!(
        r["metadata"]["deletionGracePeriodSeconds"], 30,
        "a bound pod waits for its kubelet"
    );
}

#[test]
fn tables_for_kubectl_get() {
    let mut s = server();
    call(
        &mut s,
        Method::Post,
        DEPLOYS,
        Some(deployment("web", "nginx:1.14.2")),
    );
    s.set_time(s.now().plus_secs(125));
    let t = s
        .handle(
            &Request::new(Method::Get, DEPLOYS)
                .bearer(ADMIN_TOKEN)
                .accept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
        )
        .value();
    assert_eq!(t["kind"], "Table");
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["web", "0/3", 0, 0, "2m5s", "web", "nginx:1.14.2", "app=web"])
    );
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[test]
fn self_subject_access_review() {
    let mut s = server();
    let review = json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": {"resourceAttributes": {"namespace": "default", "verb": "delete", "resource": "pods"}}});
    let r = s
        .handle(
            &Request::new(
                Method::Post,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            )
            .bearer(VIEWER_TOKEN)
            .json(&review),
        )
        .value();
    assert_eq!(r["status"]["allowed"], false);
    let r = s
        .handle(
            &Request::new(
                Method::Post,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            )
            .bearer(ADMIN_TOKEN)
            .json(&review),
        )
        .value();
    assert_eq!(r["status"]["allowed"], true);
}

#[test]
fn same_seed_same_objects() {
    let run = || {
        let mut s = server();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "p-"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let created = call(
            &mut s,
            Method::Post,
            "/api/v1/namespaces/default/pods",
            Some(pod),
        )
        .value();
        (
            created["metadata"]["name"].clone(),
            created["metadata"]["uid"].clone(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn eviction_respects_disruption_budgets() {
    let mut s = server();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "postgres"}]}});
    call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    );
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}});
    call(
        &mut s,
        Method::Post,
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        Some(pdb),
    );
    s.handle(&Request::new(Method::Patch, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/db/status").bearer(ADMIN_TOKEN).body("application/merge-patch+json", r#"{"status":{"disruptionsAllowed":0,"currentHealthy":1,"desiredHealthy":1,"expectedPods":1,"observedGeneration":1}}"#));
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "db-0", "namespace": "default"}});
    let r = call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/default/pods/db-0/eviction",
        Some(eviction.clone()),
    )
    .value();
    assert_eq!(
        (r["code"].clone(), r["reason"].clone()),
        (json!(429), json!("TooManyRequests"))
    );
    assert_eq!(
        r["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    s.handle(
        &Request::new(
            Method::Patch,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/db/status",
        )
        .bearer(ADMIN_TOKEN)
        .body(
            "application/merge-patch+json",
            r#"{"status":{"disruptionsAllowed":1}}"#,
        ),
    );
    let r = call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/default/pods/db-0/eviction",
        Some(eviction),
    );
    assert_eq!(r.code, 201);
    assert_eq!(
        call(
            &mut s,
            Method::Get,
            "/api/v1/namespaces/default/pods/db-0",
            None
        )
        .code,
        404,
        "an unscheduled pod goes at once"
    );
}

#[test]
fn patches_that_do_not_leave_an_object_are_refused() {
    let mut s = server();
    call(
        &mut s,
        Method::Post,
        "/api/v1/namespaces/default/configmaps",
        Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})),
    );
    for body in ["[1]", "\"x\"", "5"] {
        let r = s.handle(
            &Request::new(Method::Patch, "/api/v1/namespaces/default/configmaps/c")
                .bearer(ADMIN_TOKEN)
                .body("application/merge-patch+json", body),
        );
        assert_eq!(r.code, 400, "{body}: {}", r.value());
    }
    let review = json!({"metadata": "x", "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}});
    let r = s.handle(
        &Request::new(
            Method::Post,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        )
        .bearer(VIEWER_TOKEN)
        .json(&review),
    );
    assert!(r.code < 500, "{}", r.value());
    let w = s.handle(
        &Request::new(
            Method::Get,
            &format!("/api/v1/pods?watch=true&resourceVersion={}", i64::MAX),
        )
        .bearer(ADMIN_TOKEN),
    );
    assert_eq!(w.code, 400);
}

/// Kubelets' pod watches (`spec.nodeName=<node>`, all namespaces) share the node index: each
/// sees its own node's pods — bound, changed, moved off by deletion — and nothing of other
/// nodes'; a watch that starts after a write does not see it; only watches given events are
/// reported ready.
#[test]
fn pod_watches_by_node_see_their_own_pods_only() {
    let mut s = server();
    let watch = |s: &mut ApiServer, node: &str, rv: &str| {
        s.handle(
            &Request::new(
                Method::Get,
                &format!("/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3D{node}{rv}"),
            )
            .bearer(ADMIN_TOKEN),
        )
        .watch
        .unwrap()
    };
    let a = watch(&mut s, "node-a", "");
    let rv = format!("&resourceVersion={}", s.revision());
    let b = watch(&mut s, "node-b", &rv);
    // `spec.nodeName=`: the pods no node has yet (not a node of the index).
    let unscheduled = watch(&mut s, "", "");
    let everything = s
        .handle(&Request::new(Method::Get, "/api/v1/pods?watch=true").bearer(ADMIN_TOKEN))
        .watch
        .unwrap();
    s.take_ready_watches();
    let pod = |name: &str, node: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}})
    };
    const PODS: &str = "/api/v1/namespaces/default/pods";
    call(&mut s, Method::Post, PODS, Some(pod("on-a", "node-a")));
    call(&mut s, Method::Post, PODS, Some(pod("on-c", "node-c")));
    assert_eq!(
        s.take_ready_watches().into_iter().collect::<Vec<_>>(),
        [a, unscheduled, everything],
        "node-b's watch has nothing to say (the others' may: ready is a hint)"
    );
    let c = watch(&mut s, "node-c", "");
    assert_eq!(
        s.poll_watch(c).unwrap().len(),
        1,
        "node-c's watch starts with what exists (ADDED on-c), not the write it came after"
    );
    call(&mut s, Method::Post, PODS, Some(pod("on-b", "node-b")));
    s.handle(
        &Request::new(Method::Patch, &format!("{PODS}/on-a"))
            .bearer(ADMIN_TOKEN)
            .body(
                "application/merge-patch+json",
                r#"{"metadata":{"labels":{"x":"y"}}}"#,
            ),
    );
    // A bound pod's delete is graceful: marked first (MODIFIED), gone when forced.
    call(&mut s, Method::Delete, &format!("{PODS}/on-a"), None);
    call(
        &mut s,
        Method::Delete,
        &format!("{PODS}/on-a?gracePeriodSeconds=0"),
        None,
    );
    let seen = |s: &mut ApiServer, w| -> Vec<String> {
        s.poll_watch(w)
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.kind.as_str(),
                    e.object["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        seen(&mut s, a),
        [
            "ADDED on-a",
            "MODIFIED on-a",
            "MODIFIED on-a",
            "DELETED on-a"
        ]
    );
    assert_eq!(seen(&mut s, b), ["ADDED on-b"]);
    call(
        &mut s,
        Method::Post,
        PODS,
        Some(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "waiting"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})),
    );
    assert_eq!(seen(&mut s, unscheduled), ["ADDED waiting"]);
    assert!(seen(&mut s, c).is_empty());
    assert_eq!(seen(&mut s, everything).len(), 7);
    s.cancel_watch(a);
    s.cancel_watch(b);
    s.cancel_watch(c);
    call(&mut s, Method::Post, PODS, Some(pod("late", "node-a")));
    assert_eq!(s.poll_watch(a), None, "a cancelled watch is gone");
}
