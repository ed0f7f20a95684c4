//! Accessors of `metadata` and other common fields of an object held as JSON.

use serde_json::Value;

pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

pub fn namespace(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace")
}

pub fn uid(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid")
}

pub fn kind(obj: &Value) -> &str {
    str_at(obj, "/kind")
}

pub fn api_version(obj: &Value) -> &str {
    str_at(obj, "/apiVersion")
}

/// Ensures `obj.metadata` exists as an object and returns it.
pub fn metadata_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Default::default());
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        // Invariant: set to an object just above.
        _ => unreachable!("metadata is an object"),
    }
}

/// The condition of `type_` in an object's `status.conditions`, if it has one.
pub fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Whether the object's condition of `type_` is `True`.
pub fn is_condition_true(obj: &Value, type_: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c["status"] == "True")
}

/// Whether the object is being deleted (`metadata.deletionTimestamp` is set): finalizers or
/// a grace period hold it.
pub fn is_being_deleted(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some()
}
