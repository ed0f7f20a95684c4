//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`) and the other
//! plain paths (`/version`, health), as `k8s.io/apiserver/pkg/endpoints/discovery` serves
//! them. Clients learn from these which resources exist, their kinds, verbs and short names.
//!
//! Only the legacy (unaggregated) documents are served: a client asking for aggregated
//! discovery gets the legacy JSON, which kubectl recognises and falls back from.

use serde_json::{json, Value};

use super::registry::{self, Resource, GROUPS, RESOURCES};
use super::request::{Request, Response};
use super::status::ApiError;

/// The Kubernetes version the playground's API mirrors.
pub const GIT_VERSION: &str = "v1.32.0-kubeplay";

pub fn serve(path: &str, _req: &Request) -> Result<Response, ApiError> {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let body = match parts.as_slice() {
        ["api"] => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
        }),
        ["api", "v1"] => resource_list("", "v1"),
        ["apis"] => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": GROUPS.iter().map(|g| group(g)).chain([super::metrics::group()]).collect::<Vec<_>>()
        }),
        ["apis", super::metrics::GROUP] => {
            let mut doc = super::metrics::group();
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        ["apis", super::metrics::GROUP, super::metrics::VERSION] => super::metrics::resource_list(),
        ["apis", g] if GROUPS.contains(g) => {
            let mut doc = group(g);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        ["apis", g, "v1"] if GROUPS.contains(g) => resource_list(g, "v1"),
        ["version"] => json!({
            "major": "1", "minor": "32", "gitVersion": GIT_VERSION,
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
            "platform": "linux/amd64"
        }),
        ["healthz"] | ["livez"] | ["readyz"] => {
            return Ok(Response::raw(200, "text/plain", b"ok".to_vec()))
        }
        _ => return Err(ApiError::NoRoute),
    };
    Ok(Response::json(200, &body))
}

fn group(name: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [gv], "preferredVersion": gv})
}

fn resource_entry(r: &Resource) -> Value {
    let mut e = json!({
        "name": r.name,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    e
}

fn subresource_entry(r: &Resource, sub: &str) -> Value {
    let verbs: &[&str] = match sub {
        "binding" | "eviction" => &["create"],
        "log" => &["get"],
        "finalize" => &["update"],
        _ => &["get", "patch", "update"],
    };
    let mut e = json!({
        "name": format!("{}/{sub}", r.name),
        "singularName": "",
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": verbs,
    });
    if let Some((api_version, kind)) = registry::subresource_kind(r, sub) {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        e["group"] = json!(group);
        e["version"] = json!(version);
        e["kind"] = json!(kind);
    }
    e
}

fn resource_list(group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for r in registry::in_group_version(group, version) {
        resources.push(resource_entry(r));
        for sub in r.subresources {
            resources.push(subresource_entry(r, sub));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

/// Every served resource, for tools that enumerate them (the in-page `kubectl api-resources`).
pub fn resources() -> &'static [Resource] {
    RESOURCES
}
