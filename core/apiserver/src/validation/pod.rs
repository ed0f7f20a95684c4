//! Pod and pod template validation (`ValidatePodSpec` and friends in `pkg/apis/core/validation`).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{dns_label, Errors};
use crate::status::FieldError;
use apimachinery::api::quantity::parse_milli;

pub fn validate_pod(pod: &Value) -> Errors {
    validate_pod_spec(&pod["spec"], "spec", &["Always", "OnFailure", "Never"])
}

/// `restart_policies` narrows what a template may use (Deployments allow only `Always`).
pub fn validate_pod_spec(spec: &Value, path: &str, restart_policies: &[&str]) -> Errors {
    let mut errs = Vec::new();
    if !spec.is_object() {
        errs.push(FieldError::required(path, ""));
        return errs;
    }
    let volumes: BTreeSet<&str> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for (i, v) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
        let vpath = format!("{path}.volumes[{i}].name");
        match v["name"].as_str() {
            None | Some("") => errs.push(FieldError::required(vpath, "")),
            Some(n) => errs.extend(dns_label(n, &vpath)),
        }
    }
    let containers = spec["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if containers.is_empty() {
        errs.push(FieldError::required(format!("{path}.containers"), ""));
    }
    let mut names = BTreeSet::new();
    for (list, key) in [
        (containers, "containers"),
        (
            spec["initContainers"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default(),
            "initContainers",
        ),
    ] {
        for (i, c) in list.iter().enumerate() {
            let cpath = format!("{path}.{key}[{i}]");
            errs.extend(validate_container(c, &cpath, &volumes, &mut names));
        }
    }
    let policy = spec["restartPolicy"].as_str().unwrap_or_default();
    if !restart_policies.contains(&policy) {
        errs.push(FieldError::not_supported(
            format!("{path}.restartPolicy"),
            policy,
            restart_policies,
        ));
    }
    let dns = spec["dnsPolicy"].as_str().unwrap_or("ClusterFirst");
    let dns_ok = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
    if !dns_ok.contains(&dns) {
        errs.push(FieldError::not_supported(
            format!("{path}.dnsPolicy"),
            dns,
            &dns_ok,
        ));
    }
    if let Some(g) = spec["terminationGracePeriodSeconds"].as_i64() {
        if g < 0 {
            errs.push(FieldError::invalid(
                format!("{path}.terminationGracePeriodSeconds"),
                g,
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(node_selector) = spec.get("nodeSelector") {
        errs.extend(super::labels(
            node_selector,
            &format!("{path}.nodeSelector"),
        ));
    }
    for (i, t) in spec["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let op = t["operator"].as_str().unwrap_or("Equal");
        if !["Equal", "Exists"].contains(&op) {
            errs.push(FieldError::not_supported(
                format!("{path}.tolerations[{i}].operator"),
                op,
                &["Equal", "Exists"],
            ));
        }
        if op == "Exists" && !t["value"].as_str().unwrap_or_default().is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.tolerations[{i}].operator"),
                op,
                "value must be empty when `operator` is 'Exists'",
            ));
        }
        let effect = t["effect"].as_str().unwrap_or_default();
        if !["", "NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            errs.push(FieldError::not_supported(
                format!("{path}.tolerations[{i}].effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}

fn validate_container(
    c: &Value,
    path: &str,
    volumes: &BTreeSet<&str>,
    names: &mut BTreeSet<String>,
) -> Errors {
    let mut errs = Vec::new();
    match c["name"].as_str() {
        None | Some("") => errs.push(FieldError::required(format!("{path}.name"), "")),
        Some(n) => {
            errs.extend(dns_label(n, &format!("{path}.name")));
            if !names.insert(n.to_string()) {
                errs.push(FieldError::duplicate(format!("{path}.name"), n));
            }
        }
    }
    if c["image"].as_str().is_none_or(|s| s.trim().is_empty()) {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    }
    for (i, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
        let port = p["containerPort"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            errs.push(FieldError::invalid(
                format!("{path}.ports[{i}].containerPort"),
                port,
                "must be between 1 and 65535, inclusive",
            ));
        }
        let proto = p["protocol"].as_str().unwrap_or("TCP");
        if !["TCP", "UDP", "SCTP"].contains(&proto) {
            errs.push(FieldError::not_supported(
                format!("{path}.ports[{i}].protocol"),
                proto,
                &["SCTP", "TCP", "UDP"],
            ));
        }
    }
    for (i, m) in c["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = m["name"].as_str().unwrap_or_default();
        if !volumes.contains(name) {
            errs.push(FieldError::new(
                crate::status::FieldErrorType::NotFound,
                format!("{path}.volumeMounts[{i}].name"),
                name.into(),
                "",
            ));
        }
        if m["mountPath"].as_str().unwrap_or_default().is_empty() {
            errs.push(FieldError::required(
                format!("{path}.volumeMounts[{i}].mountPath"),
                "",
            ));
        }
    }
    let pull = c["imagePullPolicy"].as_str().unwrap_or("IfNotPresent");
    if !["Always", "IfNotPresent", "Never"].contains(&pull) {
        errs.push(FieldError::not_supported(
            format!("{path}.imagePullPolicy"),
            pull,
            &["Always", "IfNotPresent", "Never"],
        ));
    }
    errs.extend(validate_resources(
        &c["resources"],
        &format!("{path}.resources"),
    ));
    errs
}

fn validate_resources(res: &Value, path: &str) -> Errors {
    let mut errs = Vec::new();
    for part in ["limits", "requests"] {
        for (name, q) in res[part].as_object().into_iter().flatten() {
            let qpath = format!("{path}.{part}[{name}]");
            let Some(s) = q
                .as_str()
                .map(str::to_string)
                .or_else(|| q.as_i64().map(|n| n.to_string()))
            else {
                errs.push(FieldError::invalid(qpath, q.clone(), "must be a quantity"));
                continue;
            };
            match parse_milli(&s) {
                None => errs.push(FieldError::invalid(qpath, s.as_str(), "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")),
                Some(v) if v < 0 => errs.push(FieldError::invalid(qpath, s.as_str(), "must be greater than or equal to 0")),
                Some(_) => {}
            }
        }
    }
    for (name, req) in res["requests"].as_object().into_iter().flatten() {
        let (Some(r), Some(l)) = (
            req.as_str().and_then(parse_milli),
            res["limits"][name].as_str().and_then(parse_milli),
        ) else {
            continue;
        };
        if r > l {
            let limit = res["limits"][name].as_str().unwrap_or_default();
            errs.push(FieldError::invalid(
                format!("{path}.requests"),
                req.as_str().unwrap_or_default(),
                format!("must be less than or equal to {name} limit of {limit}"),
            ));
        }
    }
    errs
}

/// Pods are mostly immutable: only images, `activeDeadlineSeconds`, added tolerations and the
/// grace period may change (`ValidatePodUpdate`).
pub fn validate_pod_update(new: &Value, old: &Value) -> Errors {
    let mask = |spec: &Value| -> Value {
        let mut s = spec.clone();
        for key in ["containers", "initContainers"] {
            if let Some(list) = s.get_mut(key).and_then(Value::as_array_mut) {
                for c in list {
                    c["image"] = Value::Null;
                }
            }
        }
        if let Some(m) = s.as_object_mut() {
            for key in [
                "activeDeadlineSeconds",
                "tolerations",
                "terminationGracePeriodSeconds",
            ] {
                m.remove(key);
            }
        }
        s
    };
    if mask(&new["spec"]) == mask(&old["spec"]) {
        return Vec::new();
    }
    vec![FieldError::forbidden(
        "spec",
        "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    )]
}
