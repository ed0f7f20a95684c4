//! Admission control (`plugin/pkg/admission` upstream): plugins that see every write after
//! authorization. Mutating plugins run first and may change the object; validation of the
//! schema follows; validating plugins run last and may only say no.
//!
//! Plugins read the cluster through [`Lookup`] — the API server's own read path — never by
//! holding the store.

mod default_toleration_seconds;
mod namespace_lifecycle;
mod priority;
pub mod require_cpu_limits;
mod service_account;
pub mod sidecar_injector;

use serde_json::Value;

use super::authentication::UserInfo;
use super::status::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// What a plugin knows of the request (`admission.Attributes`).
pub struct Attributes<'a> {
    pub operation: Operation,
    pub kind: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub user: &'a UserInfo,
    pub old: Option<&'a Value>,
}

/// Read access to current objects, for plugins.
pub trait Lookup {
    fn get_object(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value>;
}

/// One plugin's effect on a request, for the request inspector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginOutcome {
    pub plugin: &'static str,
    /// `admit`, `mutated: <what>`, or `denied: <why>`.
    pub outcome: String,
    /// What a mutating plugin changed ([`apimachinery::api::diff`] lines); empty otherwise.
    pub patch: Vec<String>,
}

pub type MutatingPlugin =
    fn(&Attributes, &mut Value, &dyn Lookup) -> Result<Option<String>, ApiError>;
pub type ValidatingPlugin = fn(&Attributes, &Value, &dyn Lookup) -> Result<(), ApiError>;

/// The mutating chain, in the order kube-apiserver runs its default plugins.
pub const MUTATING: &[(&str, MutatingPlugin)] = &[
    ("ServiceAccount", service_account::admit),
    (
        "DefaultTolerationSeconds",
        default_toleration_seconds::admit,
    ),
    ("Priority", priority::admit),
    ("SidecarInjector", sidecar_injector::admit),
];

/// The validating chain.
pub const VALIDATING: &[(&str, ValidatingPlugin)] = &[
    ("NamespaceLifecycle", namespace_lifecycle::validate),
    ("ValidatingAdmissionPolicy", require_cpu_limits::validate),
];

/// Runs the mutating chain; with `patches`, each plugin's change is kept as a diff.
pub fn run_mutating(
    attrs: &Attributes,
    obj: &mut Value,
    lookup: &dyn Lookup,
    record: &mut Vec<PluginOutcome>,
    patches: bool,
) -> Result<(), ApiError> {
    // The object as the last plugin left it, to show what each one changed.
    let mut before = patches.then(|| obj.clone());
    for (name, plugin) in MUTATING {
        match plugin(attrs, obj, lookup) {
            Ok(Some(change)) => {
                let patch = match &mut before {
                    Some(before) => {
                        let patch = apimachinery::api::diff::diff(before, obj);
                        before.clone_from(obj);
                        patch
                    }
                    None => Vec::new(),
                };
                record.push(PluginOutcome {
                    plugin: name,
                    outcome: format!("mutated: {change}"),
                    patch,
                })
            }
            Ok(None) => record.push(PluginOutcome {
                plugin: name,
                outcome: "admit".into(),
                patch: Vec::new(),
            }),
            Err(e) => {
                record.push(PluginOutcome {
                    plugin: name,
                    outcome: format!("denied: {e}"),
                    patch: Vec::new(),
                });
                return Err(e);
            }
        }
    }
    Ok(())
}

pub fn run_validating(
    attrs: &Attributes,
    obj: &Value,
    lookup: &dyn Lookup,
    record: &mut Vec<PluginOutcome>,
) -> Result<(), ApiError> {
    for (name, plugin) in VALIDATING {
        match plugin(attrs, obj, lookup) {
            Ok(()) => record.push(PluginOutcome {
                plugin: name,
                outcome: "admit".into(),
                patch: Vec::new(),
            }),
            Err(e) => {
                record.push(PluginOutcome {
                    plugin: name,
                    outcome: format!("denied: {e}"),
                    patch: Vec::new(),
                });
                return Err(e);
            }
        }
    }
    Ok(())
}
