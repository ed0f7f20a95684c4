//! Owner references: how a ReplicaSet owns its Pods and a Deployment its ReplicaSets.

use serde_json::{json, Value};

/// The controller reference to put on an object owned by `owner` (`metav1.NewControllerRef`).
pub fn controller_ref(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The owner reference marked `controller: true`, if any.
pub fn controller_of(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == json!(true))
}

/// The work-queue key (`namespace/name`) of `obj`'s controller when it is a `kind`: how a
/// controller maps an event on an owned object back to the owner it must sync.
pub fn controller_key(obj: &Value, kind: &str) -> Option<String> {
    let r = controller_of(obj).filter(|r| r["kind"] == kind)?;
    Some(format!(
        "{}/{}",
        crate::api::meta::namespace(obj),
        r["name"].as_str().unwrap_or_default()
    ))
}

/// Whether `obj` is controlled by the object with `uid`.
pub fn is_controlled_by(obj: &Value, uid: &str) -> bool {
    controller_of(obj).is_some_and(|r| r["uid"].as_str() == Some(uid))
}
