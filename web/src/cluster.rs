//! The in-page cluster: an API server on the virtual clock, and the client actions the page
//! takes on it — the same requests kubectl makes, with the same answers.

use std::cell::RefCell;
use std::rc::Rc;

use kubeplay_core::apiserver::registry::{self, Resource};
use kubeplay_core::apiserver::{ApiServer, Config, Method, Request, ADMIN_TOKEN};
use serde_json::Value;

/// Shared handle to the in-page cluster; cloned into components through context.
#[derive(Clone)]
pub struct Cluster {
    server: Rc<RefCell<ApiServer>>,
}

impl PartialEq for Cluster {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.server, &other.server)
    }
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster::new(1)
    }
}

/// One row of the object browser.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRow {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub resource_version: String,
}

fn base_path(r: &Resource, namespace: Option<&str>) -> String {
    let root = if r.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    match namespace {
        Some(ns) if r.namespaced => format!("{root}/namespaces/{ns}/{}", r.name),
        _ => format!("{root}/{}", r.name),
    }
}

impl Cluster {
    pub fn new(seed: u64) -> Cluster {
        Cluster {
            server: Rc::new(RefCell::new(ApiServer::new(Config {
                seed,
                ..Config::default()
            }))),
        }
    }

    pub fn revision(&self) -> i64 {
        self.server.borrow().revision()
    }

    /// Creates every document of a YAML manifest, as `kubectl create -f` does; returns one
    /// line per document, `deployment.apps/web created` or the server's error message.
    pub fn create_manifest(&self, yaml: &str) -> Vec<Result<String, String>> {
        let mut out = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(yaml) {
            let value: Value = match serde::Deserialize::deserialize(doc) {
                Ok(Value::Null) => continue,
                Ok(v) => v,
                Err(e) => {
                    out.push(Err(format!("error parsing manifest: {e}")));
                    continue;
                }
            };
            out.push(self.create(&value));
        }
        out
    }

    fn create(&self, obj: &Value) -> Result<String, String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let res = registry::find_kind(api_version, kind).ok_or_else(|| {
            format!("no matches for kind \"{kind}\" in version \"{api_version}\"")
        })?;
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let req = Request::new(Method::Post, &base_path(res, Some(ns)))
            .bearer(ADMIN_TOKEN)
            .json(obj);
        let resp = self.server.borrow_mut().handle(&req);
        let body = resp.value();
        if resp.code >= 400 {
            return Err(body["message"]
                .as_str()
                .unwrap_or("request failed")
                .to_string());
        }
        let group = if res.group.is_empty() {
            String::new()
        } else {
            format!(".{}", res.group)
        };
        Ok(format!(
            "{}{group}/{} created",
            res.singular,
            body["metadata"]["name"].as_str().unwrap_or_default()
        ))
    }

    /// Every object in the store, as the etcd browser lists it.
    pub fn objects(&self) -> Vec<ObjectRow> {
        let mut rows = Vec::new();
        for res in registry::RESOURCES.iter().filter(|r| r.serves("list")) {
            let req = Request::new(Method::Get, &base_path(res, None)).bearer(ADMIN_TOKEN);
            let list = self.server.borrow_mut().handle(&req).value();
            for item in list["items"].as_array().into_iter().flatten() {
                rows.push(ObjectRow {
                    kind: res.kind.to_string(),
                    namespace: item["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    name: item["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    resource_version: item["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                });
            }
        }
        rows
    }
}
