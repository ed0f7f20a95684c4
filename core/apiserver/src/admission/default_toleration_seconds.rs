//! DefaultTolerationSeconds: every pod tolerates `node.kubernetes.io/not-ready` and
//! `node.kubernetes.io/unreachable` NoExecute taints for 300 s, so a pod on a lost node is
//! evicted five minutes after the node goes away, not at once.

use serde_json::{json, Value};

use super::{Attributes, Lookup, Operation};
use crate::status::ApiError;

pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;
const TAINTS: [&str; 2] = [
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
];

pub fn admit(
    a: &Attributes,
    pod: &mut Value,
    _lookup: &dyn Lookup,
) -> Result<Option<String>, ApiError> {
    if a.kind != "Pod" || a.operation != Operation::Create || !a.subresource.is_empty() {
        return Ok(None);
    }
    let existing = pod["spec"]["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut added = Vec::new();
    let mut tolerations = existing.clone();
    for key in TAINTS {
        let covered = existing.iter().any(|t| {
            let effect = t["effect"].as_str().unwrap_or_default();
            let op_exists = t["operator"].as_str() == Some("Exists");
            let key_match = t["key"].as_str() == Some(key)
                || (op_exists && t["key"].as_str().unwrap_or_default().is_empty());
            key_match && (effect.is_empty() || effect == "NoExecute")
        });
        if !covered {
            tolerations.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS
            }));
            added.push(key);
        }
    }
    if added.is_empty() {
        return Ok(None);
    }
    pod["spec"]["tolerations"] = Value::Array(tolerations);
    Ok(Some(format!("added tolerations for {}", added.join(", "))))
}
