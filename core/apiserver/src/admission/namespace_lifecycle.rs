//! NamespaceLifecycle: no new objects in a namespace that does not exist or is terminating.

use serde_json::Value;

use super::{Attributes, Lookup, Operation};
use crate::status::ApiError;

pub fn validate(a: &Attributes, _obj: &Value, lookup: &dyn Lookup) -> Result<(), ApiError> {
    if a.operation != Operation::Create || a.namespace.is_empty() || a.kind == "Namespace" {
        return Ok(());
    }
    let Some(ns) = lookup.get_object("namespaces", None, a.namespace) else {
        return Err(ApiError::NotFound {
            group: String::new(),
            resource: "namespaces".into(),
            name: a.namespace.to_string(),
        });
    };
    // Events and self reviews may still be written while a namespace is going away.
    let terminating = ns.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating");
    if terminating && a.resource != "events" {
        return Err(ApiError::Forbidden {
            message: format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                a.resource, a.name, a.namespace
            ),
            name: a.name.to_string(),
            group: String::new(),
            resource: a.resource.to_string(),
        });
    }
    Ok(())
}
