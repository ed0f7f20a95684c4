//! `dryRun=All` on every verb that writes: the pipeline runs — authentication, RBAC,
//! admission, validation — and answers with what would be stored, and nothing is: the store's
//! revision stays, no watch hears anything.

use serde_json::{json, Value};

use super::*;

fn send(s: &mut ApiServer, method: Method, path: &str, body: Option<&str>) -> Response {
    let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
    if let Some(b) = body {
        let ct = if method == Method::Patch {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        req = req.body(ct, b);
    }
    s.handle(&req)
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[test]
fn a_dry_run_answers_what_would_be_and_stores_nothing() {
    let mut s = ApiServer::new(Config::default());
    let cm = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}"#;
    assert_eq!(send(&mut s, Method::Post, CMS, Some(cm)).code, 201);
    let start = s.revision();
    let watch = s
        .handle(
            &Request::new(
                Method::Get,
                &format!("{CMS}?watch=true&resourceVersion={start}"),
            )
            .bearer(ADMIN_TOKEN),
        )
        .watch
        .expect("a watch");
    let dry = |path: &str| format!("{path}?dryRun=All");

    // create: the object as it would be stored, with its server-set fields.
    let b = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}"#;
    let created = send(&mut s, Method::Post, &dry(CMS), Some(b));
    assert_eq!(created.code, 201);
    let v = created.value();
    assert_eq!(v["metadata"]["name"], "b");
    assert!(v["metadata"]["uid"].is_string() && v["metadata"]["creationTimestamp"].is_string());
    assert_eq!(
        send(&mut s, Method::Get, &format!("{CMS}/b"), None).code,
        404
    );
    // An existing name is still a conflict, and an invalid object still invalid.
    assert_eq!(send(&mut s, Method::Post, &dry(CMS), Some(cm)).code, 409);
    let bad = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}"#;
    assert_eq!(send(&mut s, Method::Post, &dry(CMS), Some(bad)).code, 422);

    // update and patch: the changed object comes back; the stored one is unchanged.
    let patched = send(
        &mut s,
        Method::Patch,
        &dry(&format!("{CMS}/a")),
        Some(r#"{"data": {"k": "w"}}"#),
    );
    assert_eq!(patched.code, 200);
    assert_eq!(patched.value()["data"]["k"], "w");
    let put = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "x"}}"#;
    assert_eq!(
        send(&mut s, Method::Put, &dry(&format!("{CMS}/a")), Some(put)).value()["data"]["k"],
        "x"
    );
    // delete and deletecollection: still there (kubectl says it in the DeleteOptions).
    let options = r#"{"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}"#;
    assert_eq!(
        send(&mut s, Method::Delete, &format!("{CMS}/a"), Some(options)).code,
        200
    );
    assert_eq!(
        send(&mut s, Method::Delete, &dry(&format!("{CMS}/a")), None).code,
        200
    );
    assert_eq!(send(&mut s, Method::Delete, &dry(CMS), None).code, 200);
    let stored: Value = send(&mut s, Method::Get, &format!("{CMS}/a"), None).value();
    assert_eq!(stored["data"], json!({"k": "v"}));

    assert_eq!(s.revision(), start, "nothing was written");
    assert_eq!(
        s.poll_watch(watch).unwrap_or_default(),
        Vec::<watch::WatchEvent>::new(),
        "no watch event"
    );
    // The audit log marks them.
    let marked = s
        .audit()
        .since(0)
        .filter(|e| e.stages.iter().any(|st| st.name == "dryRun"))
        .count();
    assert!(marked >= 6, "{marked} dry runs in the audit log");

    let unsupported = send(&mut s, Method::Post, &format!("{CMS}?dryRun=Some"), Some(b));
    assert_eq!(unsupported.code, 400);
    assert_eq!(
        unsupported.value()["message"],
        "dryRun: Unsupported value: \"Some\": supported values: \"All\""
    );
}

/// Impersonation: the admin may act as a service account, which then gets its own RBAC;
/// the viewer may not impersonate; the audit log names both users.
#[test]
fn impersonation_acts_as_the_user_rbac_lets_the_requester_be() {
    let mut s = ApiServer::new(Config::default());
    let as_user = |token: &str, user: &str, groups: &[&str]| {
        let mut r = Request::new(Method::Get, "/api/v1/namespaces/default/pods").bearer(token);
        r.impersonate = Some(Impersonation {
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            uid: String::new(),
            extra: Vec::new(),
        });
        r
    };
    let sa = "system:serviceaccount:default:default";
    let denied = s.handle(&as_user(ADMIN_TOKEN, sa, &[]));
    assert_eq!(denied.code, 403);
    assert_eq!(
        denied.value()["message"],
        format!("pods is forbidden: User \"{sa}\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"")
    );
    let last = s.audit().last().expect("audited");
    assert_eq!(last.user, format!("kubernetes-admin (as {sa})"));
    assert_eq!(
        s.handle(&as_user(ADMIN_TOKEN, "someone", &["system:masters"]))
            .code,
        200
    );
    let refused = s.handle(&as_user(VIEWER_TOKEN, "someone", &[]));
    assert_eq!(refused.code, 403);
    assert_eq!(
        refused.value()["message"],
        "users \"someone\" is forbidden: User \"viewer\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
}

/// `Impersonate-Extra-<key>`: each value is checked as `impersonate` on `userextras/<key>`;
/// the request then carries them, as `kubectl auth whoami` shows.
#[test]
fn impersonated_extras_are_checked_and_carried() {
    let mut s = ApiServer::new(Config::default());
    let whoami = |token: &str, extra: &[(&str, &[&str])]| {
        let mut r = Request::new(
            Method::Post,
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        )
        .bearer(token)
        .json(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}));
        r.impersonate = Some(Impersonation {
            user: "jane".into(),
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|x| x.to_string()).collect()))
                .collect(),
            ..Impersonation::default()
        });
        r
    };
    let r = s.handle(&whoami(ADMIN_TOKEN, &[("scopes", &["view", "edit"])]));
    assert_eq!(r.code, 201, "{}", r.value());
    assert_eq!(
        r.value()["status"]["userInfo"]["extra"],
        json!({"scopes": ["view", "edit"]})
    );
    // The viewer may impersonate jane, but not give her extras.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "impersonate-jane"},
        "rules": [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": ["jane"]}]});
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "viewer-impersonates-jane"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "impersonate-jane"},
        "subjects": [{"kind": "User", "name": "viewer"}]});
    for (path, obj) in [
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", role),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            binding,
        ),
    ] {
        let r = s.handle(
            &Request::new(Method::Post, path)
                .bearer(ADMIN_TOKEN)
                .json(&obj),
        );
        assert_eq!(r.code, 201, "{}", r.value());
    }
    assert_eq!(s.handle(&whoami(VIEWER_TOKEN, &[])).code, 201);
    let refused = s.handle(&whoami(VIEWER_TOKEN, &[("scopes", &["view"])]));
    assert_eq!(refused.code, 403);
    assert_eq!(
        refused.value()["message"],
        "userextras.authentication.k8s.io \"view\" is forbidden: User \"viewer\" cannot impersonate resource \"userextras/scopes\" in API group \"authentication.k8s.io\" at the cluster scope"
    );
}
