//! The three patch formats the API server accepts for `PATCH` (`k8s.io/apiserver` `patch.go`):
//! JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch, Kubernetes'
//! own format that merges lists of named things (containers, env, ports) by key.

pub mod json_patch;
pub mod merge;
pub mod strategic;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        let base = ct.split(';').next().unwrap_or("").trim();
        Some(match base {
            "application/json-patch+json" => PatchType::Json,
            "application/merge-patch+json" => PatchType::Merge,
            "application/strategic-merge-patch+json" => PatchType::StrategicMerge,
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => PatchType::Apply,
            _ => return None,
        })
    }
}

/// Applies `patch` (raw bytes of `patch_type`) to `original`, an object of `kind`.
pub fn apply(
    original: &Value,
    patch: &[u8],
    patch_type: PatchType,
    kind: &str,
) -> Result<Value, String> {
    let patch: Value =
        serde_json::from_slice(patch).map_err(|e| format!("error decoding patch: {e}"))?;
    let patched = match patch_type {
        PatchType::Merge => merge::apply(original, &patch),
        PatchType::Json => json_patch::apply(original, &patch)?,
        PatchType::StrategicMerge => strategic::apply(original, &patch, kind)?,
        // The field manager merges an applied configuration (`fieldmanager::apply`).
        PatchType::Apply => return Err("an apply patch is merged by the field manager".into()),
    };
    // A patch must leave an object, and one no bigger or deeper than a request may carry.
    if !patched.is_object() {
        return Err("the patched object is not a JSON object".into());
    }
    Ok(patched)
}
