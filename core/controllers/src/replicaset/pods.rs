//! What the ReplicaSet controller needs to know of a Pod: the template it is made from,
//! whether it counts, and the order in which it would be deleted.

use serde_json::{json, Value};

use apimachinery::api::meta::condition;
use apimachinery::api::owner;
use apimachinery::api::pod::Pod;
use apimachinery::clock::Time;

/// A new Pod from a ReplicaSet's template, owned by it (`GetPodFromTemplate`).
pub fn from_template(rs: &Value) -> Value {
    let template = &rs["spec"]["template"];
    let mut meta = json!({
        "generateName": format!("{}-", rs["metadata"]["name"].as_str().unwrap_or_default()),
        "namespace": rs["metadata"]["namespace"],
        "ownerReferences": [owner::controller_ref(rs, "apps/v1", "ReplicaSet")],
    });
    for field in ["labels", "annotations"] {
        if let Some(v) = template["metadata"].get(field) {
            meta[field] = v.clone();
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]})
}

fn ready_condition(pod: &Value) -> Option<&Value> {
    condition(pod, "Ready")
}

/// Ready for at least `min_ready_seconds` (`IsPodAvailable`).
pub fn is_available(pod: &Value, min_ready_seconds: i64, now: Time) -> bool {
    let Some(c) = ready_condition(pod).filter(|c| c["status"] == "True") else {
        return false;
    };
    if min_ready_seconds == 0 {
        return true;
    }
    c["lastTransitionTime"]
        .as_str()
        .and_then(Time::parse_rfc3339)
        .is_some_and(|t| t.plus_secs(min_ready_seconds) <= now)
}

/// The sort key of `ActivePods` (`controller.ActivePods.Less`): smaller keys are deleted first.
pub fn deletion_rank(pod: &Value, now: Time) -> (u8, u8, u8, i64, i64, i64) {
    let assigned = u8::from(Pod(pod).node_name().is_some());
    let phase = match pod["status"]["phase"].as_str() {
        Some("Pending") => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    };
    let ready = u8::from(Pod(pod).is_ready());
    // Ready for a shorter time first.
    let ready_since = ready_condition(pod)
        .and_then(|c| c["lastTransitionTime"].as_str())
        .and_then(Time::parse_rfc3339)
        .map_or(0, |t| now.millis() - t.millis());
    let restarts: i64 = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
        .sum();
    let created = pod["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(Time::parse_rfc3339)
        .map_or(0, |t| t.millis());
    (assigned, phase, ready, ready_since, -restarts, -created)
}
