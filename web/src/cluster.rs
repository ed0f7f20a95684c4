//! The in-page cluster: the whole control plane (API server, controllers, scheduler, three
//! simulated nodes) on the virtual clock, and the client actions the page takes on it — the
//! same requests kubectl makes, with the same answers.

use std::cell::RefCell;
use std::rc::Rc;

use kubeplay_core::apiserver::registry;
use kubeplay_core::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use kubeplay_core::client::collection_path;
use serde_json::Value;

/// Simulated nodes the page starts with.
pub const NODES: u8 = 3;

/// Shared handle to the in-page cluster; cloned into components as a property.
#[derive(Clone)]
pub struct Cluster {
    inner: Rc<RefCell<kubeplay_core::cluster::Cluster>>,
}

impl PartialEq for Cluster {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
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
    /// What `kubectl get` would show first: a pod's phase, a node's readiness, replicas.
    pub status: String,
    pub resource_version: String,
}

fn status_of(kind: &str, o: &Value) -> String {
    let s = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let n = |p: &str| o.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    match kind {
        "Pod" if o.pointer("/metadata/deletionTimestamp").is_some() => "Terminating".into(),
        "Pod" => {
            let waiting = s("/status/containerStatuses/0/state/waiting/reason");
            if waiting.is_empty()
                || waiting == "ContainerCreating" && s("/status/phase") == "Running"
            {
                s("/status/phase")
            } else {
                waiting
            }
        }
        "Node" => o["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready")
            .map_or("Unknown".into(), |c| {
                if c["status"] == "True" {
                    "Ready".into()
                } else {
                    "NotReady".into()
                }
            }),
        "Deployment" | "StatefulSet" => format!(
            "{}/{} ready",
            n("/status/readyReplicas"),
            n("/spec/replicas")
        ),
        "ReplicaSet" => format!(
            "{}/{} ready",
            n("/status/readyReplicas"),
            n("/spec/replicas")
        ),
        "Namespace" => s("/status/phase"),
        _ => String::new(),
    }
}

impl Cluster {
    pub fn new(seed: u64) -> Cluster {
        let cluster = kubeplay_core::cluster::Cluster::with_nodes(
            Config {
                seed,
                ..Config::default()
            },
            NODES,
        );
        Cluster {
            inner: Rc::new(RefCell::new(cluster)),
        }
    }

    pub fn revision(&self) -> i64 {
        self.inner.borrow().world.api_ref().revision()
    }

    /// Lets `ms` of virtual time pass: every control loop runs what falls due.
    pub fn advance(&self, ms: i64) {
        self.inner.borrow_mut().world.advance(ms);
    }

    /// Virtual seconds since the cluster started.
    pub fn elapsed_seconds(&self) -> i64 {
        let now = self.inner.borrow().world.now();
        (now.millis() - kubeplay_core::sim::EPOCH.millis()) / 1000
    }

    fn send(&self, req: Request) -> (u16, Value) {
        let resp = self
            .inner
            .borrow_mut()
            .world
            .api()
            .handle(&req.bearer(ADMIN_TOKEN));
        (resp.code, resp.value())
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
        let (code, body) =
            self.send(Request::new(Method::Post, &collection_path(res, Some(ns))).json(obj));
        if code >= 400 {
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

    /// Every object in the store, as the etcd browser lists it (events and leases aside: they
    /// change all the time and are shown elsewhere).
    pub fn objects(&self) -> Vec<ObjectRow> {
        let mut rows = Vec::new();
        for res in registry::RESOURCES
            .iter()
            .filter(|r| r.serves("list") && r.name != "events" && r.name != "leases")
        {
            let (_, list) = self.send(Request::new(Method::Get, &collection_path(res, None)));
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
                    status: status_of(res.kind, item),
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
