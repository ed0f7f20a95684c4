//! Priority: resolves `priorityClassName` to `priority` and `preemptionPolicy`; pods without a
//! class get the global default class, or priority 0.

use serde_json::{json, Value};

use super::{Attributes, Lookup, Operation};
use crate::status::ApiError;

pub fn admit(
    a: &Attributes,
    pod: &mut Value,
    lookup: &dyn Lookup,
) -> Result<Option<String>, ApiError> {
    if a.kind != "Pod" || a.operation != Operation::Create || !a.subresource.is_empty() {
        return Ok(None);
    }
    let class_name = pod["spec"]["priorityClassName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (priority, policy) = if class_name.is_empty() {
        (0, "PreemptLowerPriority".to_string())
    } else if let Some(pc) = lookup.get_object("priorityclasses", None, &class_name) {
        (
            pc["value"].as_i64().unwrap_or(0),
            pc["preemptionPolicy"]
                .as_str()
                .unwrap_or("PreemptLowerPriority")
                .to_string(),
        )
    } else {
        return Err(ApiError::Forbidden {
            message: format!(
                "pods \"{}\" is forbidden: no PriorityClass with name {class_name} was found",
                a.name
            ),
            name: a.name.to_string(),
            group: String::new(),
            resource: "pods".into(),
        });
    };
    if let Some(given) = pod["spec"]["priority"].as_i64() {
        if given != priority {
            return Err(ApiError::Forbidden {
                message: format!(
                    "pods \"{}\" is forbidden: the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name",
                    a.name
                ),
                name: a.name.to_string(),
                group: String::new(),
                resource: "pods".into(),
            });
        }
    }
    pod["spec"]["priority"] = json!(priority);
    pod["spec"]["preemptionPolicy"] = json!(policy);
    Ok(Some(format!("set spec.priority to {priority}")))
}
