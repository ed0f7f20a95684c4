//! Validation of the smaller core kinds: Service, ConfigMap, Secret, Node, Binding.

use serde_json::Value;

use super::Errors;
use crate::status::FieldError;

pub fn validate_service(svc: &Value) -> Errors {
    let mut errs = Vec::new();
    let spec = &svc["spec"];
    let ty = spec["type"].as_str().unwrap_or("ClusterIP");
    let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !types.contains(&ty) {
        errs.push(FieldError::not_supported("spec.type", ty, &types));
    }
    let ports = spec["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if ports.is_empty() && ty != "ExternalName" && spec["clusterIP"].as_str() != Some("None") {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let port = p["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            errs.push(FieldError::invalid(
                format!("spec.ports[{i}].port"),
                port,
                "must be between 1 and 65535, inclusive",
            ));
        }
        let name = p["name"].as_str().unwrap_or_default();
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(format!("spec.ports[{i}].name"), ""));
        }
        if !name.is_empty() && !names.insert(name) {
            errs.push(FieldError::duplicate(format!("spec.ports[{i}].name"), name));
        }
    }
    errs
}

pub fn validate_data_keys(obj: &Value) -> Errors {
    let mut errs = Vec::new();
    for field in ["data", "binaryData", "stringData"] {
        for k in obj[field].as_object().into_iter().flatten().map(|(k, _)| k) {
            let ok = !k.is_empty()
                && k.len() <= 253
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
            if !ok {
                errs.push(FieldError::invalid(format!("{field}[{k}]"), k.as_str(), "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
            }
        }
    }
    errs
}

pub fn validate_node(node: &Value) -> Errors {
    let mut errs = Vec::new();
    for (i, t) in node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let effect = t["effect"].as_str().unwrap_or_default();
        if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            errs.push(FieldError::not_supported(
                format!("spec.taints[{i}].effect"),
                effect,
                &["NoExecute", "NoSchedule", "PreferNoSchedule"],
            ));
        }
        if t["key"].as_str().unwrap_or_default().is_empty() {
            errs.push(FieldError::required(format!("spec.taints[{i}].key"), ""));
        }
    }
    errs
}

pub fn validate_binding(b: &Value) -> Errors {
    let mut errs = Vec::new();
    if b["target"]["kind"]
        .as_str()
        .is_some_and(|k| k != "Node" && !k.is_empty())
    {
        errs.push(FieldError::not_supported(
            "target.kind",
            b["target"]["kind"].clone(),
            &["Node", "<empty>"],
        ));
    }
    if b["target"]["name"].as_str().unwrap_or_default().is_empty() {
        errs.push(FieldError::required("target.name", ""));
    }
    errs
}
