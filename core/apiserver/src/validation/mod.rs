//! Validation of objects on create and update (`pkg/apis/<group>/validation` upstream).
//!
//! Validation sees a defaulted object and returns every problem at once as [`FieldError`]s
//! with Kubernetes' field paths and messages; the API server turns them into one 422 Invalid.

mod apps;
mod core;
pub mod names;
mod pod;

use serde_json::Value;

use super::status::FieldError;
use names::{is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_path_segment_name};
pub use names::{validate_label_key, validate_label_value};

pub type Errors = Vec<FieldError>;

/// Which name rule a kind's `metadata.name` follows.
fn name_rule(kind: &str) -> fn(&str) -> Option<String> {
    match kind {
        "Namespace" => is_dns1123_label,
        "Service" => is_dns1035_label,
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => is_path_segment_name,
        _ => is_dns1123_subdomain,
    }
}

pub fn validate_create(kind: &str, obj: &Value, namespaced: bool) -> Errors {
    let mut errs = object_meta(kind, obj, namespaced);
    errs.extend(by_kind(kind, obj));
    errs
}

pub fn validate_update(kind: &str, new: &Value, old: &Value, namespaced: bool) -> Errors {
    let mut errs = object_meta(kind, new, namespaced);
    errs.extend(by_kind(kind, new));
    errs.extend(match kind {
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
            apps::immutable_selector(new, old)
        }
        "Pod" => pod::validate_pod_update(new, old),
        _ => Vec::new(),
    });
    errs
}

fn by_kind(kind: &str, obj: &Value) -> Errors {
    match kind {
        "Pod" => pod::validate_pod(obj),
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
            apps::validate_workload(kind, obj)
        }
        "Service" => core::validate_service(obj),
        "ConfigMap" | "Secret" => core::validate_data_keys(obj),
        "Node" => core::validate_node(obj),
        "Binding" => core::validate_binding(obj),
        _ => Vec::new(),
    }
}

fn object_meta(kind: &str, obj: &Value, namespaced: bool) -> Errors {
    let mut errs = Vec::new();
    let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
    let name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if let Some(msg) = name_rule(kind)(name) {
        errs.push(FieldError::invalid("metadata.name", name, msg));
    }
    let ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if namespaced && ns.is_empty() {
        errs.push(FieldError::required("metadata.namespace", ""));
    } else if !namespaced && !ns.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    errs.extend(labels(&meta["labels"], "metadata.labels"));
    if let Some(a) = meta.get("annotations").and_then(Value::as_object) {
        for k in a.keys() {
            if let Some(msg) = validate_label_key(k) {
                errs.push(FieldError::invalid("metadata.annotations", k.as_str(), msg));
            }
        }
        let size: usize = a
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        if size > 256 * 1024 {
            errs.push(FieldError::too_long("metadata.annotations", 256 * 1024));
        }
    }
    errs
}

/// `ValidateLabels`: every key a qualified name, every value a label value.
pub fn labels(labels: &Value, path: &str) -> Errors {
    let mut errs = Vec::new();
    if let Some(m) = labels.as_object() {
        for (k, v) in m {
            if let Some(msg) = validate_label_key(k) {
                errs.push(FieldError::invalid(path, k.as_str(), msg));
            }
            let v = v.as_str().unwrap_or_default();
            if let Some(msg) = validate_label_value(v) {
                errs.push(FieldError::invalid(path, v, msg));
            }
        }
    }
    errs
}

/// Kubernetes wants DNS-1123 labels for container and port names.
pub fn dns_label(value: &str, path: &str) -> Option<FieldError> {
    is_dns1123_label(value).map(|m| FieldError::invalid(path, value, m))
}
