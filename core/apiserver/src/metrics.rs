//! The resource metrics API, `metrics.k8s.io/v1beta1` — what metrics-server serves upstream,
//! as an aggregated API, from the kubelets' figures. Here the pipeline authenticates and
//! authorizes the request and hands it on as a [`Delegated::Metrics`]; whoever owns the
//! kubelets (`Cluster::handle`) answers it with [`answer`] from their housekeeping (CRI
//! `ListContainerStats`, every 10 s). `kubectl top` reads it.

use serde_json::{json, Value};

use super::request::{Delegated, Query, RequestInfo, Response};
use super::selectors::Selector;
use super::status::ApiError;
use apimachinery::clock::Time;

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
/// How often the kubelets measure (their housekeeping): the figures' window.
const WINDOW: &str = "10s";

/// What a pod's containers use, as its kubelet last measured.
#[derive(Clone, Debug, PartialEq)]
pub struct PodUsage {
    pub namespace: String,
    pub name: String,
    pub labels: Value,
    /// `(container, CPU in nanocores, memory working set in bytes)`.
    pub containers: Vec<(String, i64, i64)>,
}

/// One node's figures: its name, labels, when they were measured, its pods'.
pub struct NodeUsage {
    pub node: String,
    pub labels: Value,
    pub at: Option<Time>,
    pub pods: Vec<PodUsage>,
}

/// A request to the group, once authorized: checked here, answered by [`answer`].
pub fn serve(info: &RequestInfo, query: &Query) -> Result<Response, ApiError> {
    let pods = match info.resource.as_str() {
        "pods" => true,
        "nodes" if info.namespace.is_none() => false,
        _ => return Err(ApiError::NoRoute),
    };
    if info.version != VERSION || info.subresource.is_some() {
        return Err(ApiError::NoRoute);
    }
    if !matches!(info.verb, "get" | "list") {
        return Err(ApiError::MethodNotAllowed);
    }
    let label_selector = query.get("labelSelector").unwrap_or_default().to_string();
    Selector::parse(&label_selector).map_err(ApiError::bad_request)?;
    let mut answer = Response::raw(200, "application/json", Vec::new());
    answer.delegated = Some(Delegated::Metrics {
        pods,
        namespace: info.namespace.clone(),
        name: info.name.clone(),
        label_selector,
    });
    Ok(answer)
}

/// The group's discovery documents: `/apis` lists it, `/apis/metrics.k8s.io/v1beta1` its
/// two read-only resources.
pub fn group() -> Value {
    let gv = json!({"groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION});
    json!({"name": GROUP, "versions": [gv], "preferredVersion": gv})
}

pub fn resource_list() -> Value {
    let entry = |name: &str, kind: &str, namespaced: bool| {
        json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
               "verbs": ["get", "list"]})
    };
    json!({
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{GROUP}/{VERSION}"),
        "resources": [entry("nodes", "NodeMetrics", false), entry("pods", "PodMetrics", true)],
    })
}

/// `1234567n`, `2048Ki`: quantities as metrics-server writes them.
fn usage(cpu_nano_cores: i64, memory_bytes: i64) -> Value {
    json!({"cpu": format!("{cpu_nano_cores}n"), "memory": format!("{}Ki", memory_bytes / 1024)})
}

fn metadata(name: &str, namespace: Option<&str>, labels: &Value, now: Time) -> Value {
    let mut m = json!({"name": name, "creationTimestamp": now.rfc3339()});
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    if labels.is_object() {
        m["labels"] = labels.clone();
    }
    m
}

/// The answer to a [`Delegated::Metrics`] from the nodes' figures (`now`: the server's clock).
pub fn answer(query: &Delegated, nodes: &[NodeUsage], now: Time) -> Response {
    let Delegated::Metrics {
        pods,
        namespace,
        name,
        label_selector,
    } = query
    else {
        return Response::error(&ApiError::NoRoute);
    };
    let selector = Selector::parse(label_selector).unwrap_or_else(|_| Selector::everything());
    let stamp = |at: Option<Time>| at.unwrap_or(now).rfc3339();
    let mut items = Vec::new();
    for n in nodes {
        if *pods {
            for p in &n.pods {
                let wanted = namespace.as_deref().is_none_or(|ns| ns == p.namespace)
                    && name.as_deref().is_none_or(|want| want == p.name)
                    && selector.matches_labels(p.labels.as_object());
                if !wanted {
                    continue;
                }
                let containers: Vec<Value> = p
                    .containers
                    .iter()
                    .map(|(c, cpu, mem)| json!({"name": c, "usage": usage(*cpu, *mem)}))
                    .collect();
                items.push(json!({
                    "kind": "PodMetrics", "apiVersion": format!("{GROUP}/{VERSION}"),
                    "metadata": metadata(&p.name, Some(&p.namespace), &p.labels, now),
                    "timestamp": stamp(n.at), "window": WINDOW, "containers": containers,
                }));
            }
        } else if name.as_deref().is_none_or(|want| want == n.node)
            && selector.matches_labels(n.labels.as_object())
        {
            // The node's usage is its pods' (the node's own processes are not measured).
            let (mut cpu, mut mem) = (0, 0);
            for (_, c, m) in n.pods.iter().flat_map(|p| &p.containers) {
                cpu += c;
                mem += m;
            }
            items.push(json!({
                "kind": "NodeMetrics", "apiVersion": format!("{GROUP}/{VERSION}"),
                "metadata": metadata(&n.node, None, &n.labels, now),
                "timestamp": stamp(n.at), "window": WINDOW, "usage": usage(cpu, mem),
            }));
        }
    }
    let kind = if *pods { "PodMetrics" } else { "NodeMetrics" };
    match name {
        Some(want) => match items.into_iter().next() {
            Some(item) => Response::json_value(200, item),
            None => Response::error(&ApiError::NotFound {
                group: GROUP.into(),
                resource: format!("{}.{GROUP}", kind.to_ascii_lowercase()),
                name: want.clone(),
            }),
        },
        None => Response::json_value(
            200,
            json!({"kind": format!("{kind}List"), "apiVersion": format!("{GROUP}/{VERSION}"),
                   "metadata": {}, "items": items}),
        ),
    }
}
