//! RequireCPULimits: a validating policy in the manner of a ValidatingAdmissionPolicy. In a
//! namespace labelled `kubeplay.io/require-cpu-limits: "true"`, a pod whose containers do not
//! all set `resources.limits.cpu` is refused — validating admission may only say no.

use serde_json::Value;

use super::{Attributes, Lookup, Operation};
use crate::status::ApiError;

pub const NAMESPACE_LABEL: &str = "kubeplay.io/require-cpu-limits";
pub const POLICY: &str = "require-cpu-limits";

pub fn validate(a: &Attributes, pod: &Value, lookup: &dyn Lookup) -> Result<(), ApiError> {
    if a.kind != "Pod" || a.operation != Operation::Create || !a.subresource.is_empty() {
        return Ok(());
    }
    let enforced = lookup
        .get_object("namespaces", None, a.namespace)
        .is_some_and(|ns| ns["metadata"]["labels"][NAMESPACE_LABEL] == "true");
    if !enforced {
        return Ok(());
    }
    let missing: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["resources"]["limits"]["cpu"].is_null())
        .filter_map(|c| c["name"].as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::Forbidden {
        message: format!(
            "pods \"{}\" is forbidden: ValidatingAdmissionPolicy '{POLICY}' with binding '{POLICY}-binding' denied request: every container needs a CPU limit (missing: {})",
            a.name,
            missing.join(", ")
        ),
        name: a.name.to_string(),
        group: String::new(),
        resource: "pods".into(),
    })
}
