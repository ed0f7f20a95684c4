//! A Node as people read it: its Ready condition, as `kubectl get nodes` and the maps show it.

use serde_json::Value;

use super::meta::condition;

/// The node's Ready condition: `Some(true)` Ready, `Some(false)` NotReady (or Unknown, as
/// the node lifecycle controller marks a silent node), `None` not reported yet.
pub fn ready(node: &Value) -> Option<bool> {
    condition(node, "Ready").map(|c| c["status"] == "True")
}

/// The STATUS column of `kubectl get nodes`, without `,SchedulingDisabled`.
pub fn status(node: &Value) -> &'static str {
    match ready(node) {
        Some(true) => "Ready",
        Some(false) => "NotReady",
        None => "Unknown",
    }
}
