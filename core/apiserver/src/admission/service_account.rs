//! ServiceAccount: a pod without `serviceAccountName` runs as `default`.
//!
//! Upstream also rejects pods whose service account does not exist yet; the playground has no
//! service account controller yet, so that check waits for it.

use serde_json::{json, Value};

use super::{Attributes, Lookup, Operation};
use crate::status::ApiError;

pub fn admit(
    a: &Attributes,
    pod: &mut Value,
    _lookup: &dyn Lookup,
) -> Result<Option<String>, ApiError> {
    if a.kind != "Pod" || a.operation != Operation::Create || !a.subresource.is_empty() {
        return Ok(None);
    }
    let spec = &mut pod["spec"];
    if spec["serviceAccountName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        spec["serviceAccountName"] = json!("default");
        spec["serviceAccount"] = json!("default");
        return Ok(Some("set spec.serviceAccountName to \"default\"".into()));
    }
    Ok(None)
}
