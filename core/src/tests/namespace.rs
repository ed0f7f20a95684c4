//! The namespace controller empties a deleted namespace, then removes it.

use serde_json::json;

use crate::controllers;
use crate::sim::World;
use apiserver::{Config, Method, Request, ADMIN_TOKEN};

#[test]
fn a_deleted_namespace_is_emptied_then_removed() {
    let mut w = World::new(Config::default());
    for c in controllers::kube_controller_manager() {
        w.add(c);
    }
    let call = |w: &mut World, m: Method, p: &str, b: Option<serde_json::Value>| {
        let mut r = Request::new(m, p).bearer(ADMIN_TOKEN);
        if let Some(b) = b {
            r = r.json(&b);
        }
        w.api().handle(&r)
    };
    call(
        &mut w,
        Method::Post,
        "/api/v1/namespaces",
        Some(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})),
    );
    call(
        &mut w,
        Method::Post,
        "/api/v1/namespaces/team/configmaps",
        Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})),
    );
    let deleted = call(&mut w, Method::Delete, "/api/v1/namespaces/team", None).value();
    assert_eq!(deleted["status"]["phase"], "Terminating");
    let refused = call(
        &mut w,
        Method::Post,
        "/api/v1/namespaces/team/configmaps",
        Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}})),
    );
    assert_eq!(
        refused.code, 403,
        "no new content in a terminating namespace"
    );
    w.advance(2000);
    assert_eq!(
        call(&mut w, Method::Get, "/api/v1/namespaces/team", None).code,
        404
    );
    assert_eq!(
        call(
            &mut w,
            Method::Get,
            "/api/v1/namespaces/team/configmaps/a",
            None
        )
        .code,
        404
    );
}
