//! Workload validation: Deployment, ReplicaSet, DaemonSet, StatefulSet
//! (`pkg/apis/apps/validation`).

use serde_json::Value;

use super::{pod::validate_pod_spec, Errors};
use crate::selectors::Selector;
use crate::status::FieldError;

pub fn validate_workload(kind: &str, obj: &Value) -> Errors {
    let mut errs = Vec::new();
    let spec = &obj["spec"];
    if let Some(r) = spec.get("replicas") {
        if r.as_i64().is_some_and(|r| r < 0) {
            errs.push(FieldError::invalid(
                "spec.replicas",
                r.clone(),
                "must be greater than or equal to 0",
            ));
        }
    }
    for key in ["revisionHistoryLimit", "minReadySeconds"] {
        if let Some(v) = spec[key].as_i64().filter(|v| *v < 0) {
            errs.push(FieldError::invalid(
                format!("spec.{key}"),
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    let selector = &spec["selector"];
    let template_labels = &spec["template"]["metadata"]["labels"];
    if selector.is_null() {
        errs.push(FieldError::required("spec.selector", ""));
    } else {
        match Selector::from_label_selector(selector) {
            Err(e) => errs.push(FieldError::invalid("spec.selector", selector.clone(), e)),
            Ok(sel) if sel.requirements.is_empty() => errs.push(FieldError::invalid(
                "spec.selector",
                selector.clone(),
                format!(
                    "empty selector is invalid for {}",
                    kind.to_ascii_lowercase()
                ),
            )),
            Ok(sel) => {
                if !sel.matches_labels(template_labels.as_object()) {
                    errs.push(FieldError::invalid(
                        "spec.template.metadata.labels",
                        template_labels.clone(),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        }
        errs.extend(super::labels(
            &selector["matchLabels"],
            "spec.selector.matchLabels",
        ));
    }
    errs.extend(super::labels(
        template_labels,
        "spec.template.metadata.labels",
    ));
    let restart: &[&str] = &["Always"];
    errs.extend(validate_pod_spec(
        &spec["template"]["spec"],
        "spec.template.spec",
        restart,
    ));
    if kind == "Deployment" {
        errs.extend(deployment_strategy(spec));
        if let (Some(deadline), min_ready) = (
            spec["progressDeadlineSeconds"].as_i64(),
            spec["minReadySeconds"].as_i64().unwrap_or(0),
        ) {
            if deadline <= min_ready {
                errs.push(FieldError::invalid(
                    "spec.progressDeadlineSeconds",
                    deadline,
                    "must be greater than minReadySeconds",
                ));
            }
        }
    }
    if kind == "StatefulSet" {
        let p = spec["podManagementPolicy"]
            .as_str()
            .unwrap_or("OrderedReady");
        if !["OrderedReady", "Parallel"].contains(&p) {
            errs.push(FieldError::not_supported(
                "spec.podManagementPolicy",
                p,
                &["OrderedReady", "Parallel"],
            ));
        }
    }
    errs
}

/// An `intstr` of a rolling update: an absolute count or a percentage.
fn int_or_percent(v: &Value) -> Option<(i64, bool)> {
    match v {
        Value::Number(n) => n.as_i64().map(|n| (n, false)),
        Value::String(s) => s
            .strip_suffix('%')
            .and_then(|p| p.parse().ok())
            .map(|p| (p, true)),
        _ => None,
    }
}

fn deployment_strategy(spec: &Value) -> Errors {
    let mut errs = Vec::new();
    let strategy = &spec["strategy"];
    let ty = strategy["type"].as_str().unwrap_or("RollingUpdate");
    if !["Recreate", "RollingUpdate"].contains(&ty) {
        errs.push(FieldError::not_supported(
            "spec.strategy.type",
            ty,
            &["Recreate", "RollingUpdate"],
        ));
    }
    let ru = &strategy["rollingUpdate"];
    if ty == "Recreate" && !ru.is_null() {
        errs.push(FieldError::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
    if ty != "RollingUpdate" || ru.is_null() {
        return errs;
    }
    let mut values = Vec::new();
    for key in ["maxUnavailable", "maxSurge"] {
        let v = &ru[key];
        let path = format!("spec.strategy.rollingUpdate.{key}");
        match int_or_percent(v) {
            None => {
                errs.push(FieldError::invalid(path, v.clone(), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
                values.push(None);
            }
            Some((n, _)) if n < 0 => {
                errs.push(FieldError::invalid(
                    path,
                    v.clone(),
                    "must be greater than or equal to 0",
                ));
                values.push(None);
            }
            Some((n, true)) if key == "maxUnavailable" && n > 100 => {
                errs.push(FieldError::invalid(
                    path,
                    v.clone(),
                    "must not be greater than 100%",
                ));
                values.push(None);
            }
            Some((n, _)) => values.push(Some(n)),
        }
    }
    if values == [Some(0), Some(0)] {
        errs.push(FieldError::invalid(
            "spec.strategy.rollingUpdate.maxUnavailable",
            ru["maxUnavailable"].clone(),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errs
}

pub fn immutable_selector(new: &Value, old: &Value) -> Errors {
    if new["spec"]["selector"] != old["spec"]["selector"] {
        return vec![FieldError::invalid(
            "spec.selector",
            new["spec"]["selector"].clone(),
            "field is immutable",
        )];
    }
    Vec::new()
}
