//! Per-resource create and update rules (the `RESTCreateStrategy`/`RESTUpdateStrategy` of each
//! `pkg/registry/<group>/<resource>/strategy.go` upstream): what the server owns in an object
//! and a client cannot set — uid, timestamps, generation, and status outside the `status`
//! subresource.

use serde_json::{json, Map, Value};

use super::registry::Resource;
use apimachinery::api::quantity::parse_milli;
use apimachinery::clock::Time;

/// `PrepareForCreate`: server-owned metadata and a fresh status.
pub fn prepare_for_create(res: &Resource, obj: &mut Value, now: Time, uid: String) {
    let meta = apimachinery::api::meta::metadata_mut(obj);
    meta.insert("uid".into(), json!(uid));
    meta.insert("creationTimestamp".into(), json!(now.rfc3339()));
    for key in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(key);
    }
    if res.has_generation {
        meta.insert("generation".into(), json!(1));
    }
    let Some(o) = obj.as_object_mut() else { return };
    match res.kind {
        "Pod" => {
            let qos = qos_class(o.get("spec").unwrap_or(&Value::Null));
            o.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": qos}),
            );
        }
        "Namespace" => {
            o.insert("status".into(), json!({"phase": "Active"}));
        }
        "Service" => {
            o.insert("status".into(), json!({"loadBalancer": {}}));
        }
        // The volume binder moves them on (Available, Bound, Released).
        "PersistentVolume" | "PersistentVolumeClaim" => {
            o.insert("status".into(), json!({"phase": "Pending"}));
        }
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" | "PodDisruptionBudget" => {
            o.insert("status".into(), json!({}));
        }
        _ => {}
    }
}

/// `PrepareForUpdate`: keep what this request may not change. On the main resource a kind
/// with a status subresource keeps its old status; on `status` only the status changes.
/// Generation moves when the spec does.
pub fn prepare_for_update(res: &Resource, subresource: Option<&str>, new: &mut Value, old: &Value) {
    if subresource == Some("finalize") {
        // `namespaces/finalize` changes `spec.finalizers` and nothing else.
        let finalizers = new
            .pointer("/spec/finalizers")
            .cloned()
            .unwrap_or(json!([]));
        *new = old.clone();
        new["spec"]["finalizers"] = finalizers;
    } else if subresource == Some("status") {
        let status = new.get("status").cloned();
        *new = old.clone();
        match status {
            Some(s) => new["status"] = s,
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    } else if res.has_status_subresource {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    }
    let old_meta = old
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let meta = apimachinery::api::meta::metadata_mut(new);
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        restore(meta, &old_meta, key);
    }
    if res.has_generation && subresource.is_none() && new.get("spec") != old.get("spec") {
        let g = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        apimachinery::api::meta::metadata_mut(new).insert("generation".into(), json!(g + 1));
    }
}

fn restore(meta: &mut Map<String, Value>, old: &Map<String, Value>, key: &str) {
    match old.get(key) {
        Some(v) => {
            meta.insert(key.into(), v.clone());
        }
        None => {
            meta.remove(key);
        }
    }
}

/// The pod's QoS class: Guaranteed when every container has equal CPU and memory requests and
/// limits, BestEffort when none has any, Burstable otherwise.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().into_iter().flatten())
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        let res = &c["resources"];
        for r in ["cpu", "memory"] {
            let req = res["requests"][r].as_str().and_then(parse_milli);
            let lim = res["limits"][r].as_str().and_then(parse_milli);
            any |= req.is_some_and(|v| v != 0) || lim.is_some_and(|v| v != 0);
            if lim.is_none() || req.is_some_and(|q| Some(q) != lim) {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_classes() {
        let best = json!({"containers": [{"name": "a"}]});
        let burst = json!({"containers": [{"resources": {"requests": {"cpu": "100m"}}}]});
        let guaranteed = json!({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}}]});
        assert_eq!(qos_class(&best), "BestEffort");
        assert_eq!(qos_class(&burst), "Burstable");
        assert_eq!(qos_class(&guaranteed), "Guaranteed");
    }
}
