//! SidecarInjector: a mutating plugin in the manner of a service mesh's injector (Istio's
//! `istio-injection=enabled`). In a namespace labelled `kubeplay.io/sidecar-injection:
//! enabled`, every new pod gets a `proxy` container beside its own, and an annotation saying
//! so. It shows what mutating admission is for: the stored pod is not the pod submitted.

use serde_json::{json, Value};

use super::{Attributes, Lookup, Operation};
use crate::status::ApiError;

pub const NAMESPACE_LABEL: &str = "kubeplay.io/sidecar-injection";
pub const STATUS_ANNOTATION: &str = "sidecar.kubeplay.io/status";
pub const PROXY_IMAGE: &str = "envoyproxy/envoy:v1.30.1";

pub fn admit(
    a: &Attributes,
    pod: &mut Value,
    lookup: &dyn Lookup,
) -> Result<Option<String>, ApiError> {
    if a.kind != "Pod" || a.operation != Operation::Create || !a.subresource.is_empty() {
        return Ok(None);
    }
    let enabled = lookup
        .get_object("namespaces", None, a.namespace)
        .is_some_and(|ns| ns["metadata"]["labels"][NAMESPACE_LABEL] == "enabled");
    let already = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["name"] == "proxy");
    if !enabled || already {
        return Ok(None);
    }
    let proxy = json!({
        "name": "proxy", "image": PROXY_IMAGE, "imagePullPolicy": "IfNotPresent",
        "args": ["proxy", "sidecar"], "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
    });
    if let Some(list) = pod["spec"]["containers"].as_array_mut() {
        list.push(proxy);
    }
    pod["metadata"]["annotations"][STATUS_ANNOTATION] = json!("injected");
    Ok(Some(format!("injected the proxy sidecar ({PROXY_IMAGE})")))
}
