//! Field management (`k8s.io/apimachinery/pkg/util/managedfields` over structured-merge-diff):
//! who set which field of an object, kept in `metadata.managedFields`, and server-side apply.
//!
//! Every write records its manager's fields: an *Update* (create, update, patch) owns what it
//! added or changed and takes it from the others; an *Apply* owns exactly the fields of the
//! configuration it sends, and may not change a field another manager owns unless forced —
//! the 409 names the managers and fields. A field an applier stops sending is removed if no
//! one else owns it. `kubectl apply --server-side` over an object `kubectl apply` created
//! client-side takes over the fields whose values the last-applied annotation still holds,
//! and keeps that annotation current, as upstream's `lastAppliedManager`/`Updater` do.

pub mod fieldpath;
mod rules;
mod typed;

use serde_json::{json, Map, Value};

use self::fieldpath::Set;
use self::rules::Shape;
use crate::authentication::UserInfo;
use crate::registry::Resource;
use apimachinery::clock::Time;
use apimachinery::status::ApiError;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    manager: String,
    apply: bool,
    api_version: String,
    time: Option<String>,
    subresource: String,
    set: Set,
}

impl Entry {
    fn is(&self, manager: &str, apply: bool, subresource: &str) -> bool {
        self.manager == manager && self.apply == apply && self.subresource == subresource
    }

    fn to_value(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": if self.apply { "Apply" } else { "Update" },
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.set.to_fields_v1(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }

    /// How a conflict names the manager: `"kubectl-client-side-apply" using apps/v1`.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if !self.apply {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

fn read_entries(obj: &Value) -> Vec<Entry> {
    let list = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(|e| {
            Some(Entry {
                manager: e["manager"].as_str().unwrap_or_default().to_string(),
                apply: e["operation"] == "Apply",
                api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
                time: e["time"].as_str().map(str::to_string),
                subresource: e["subresource"].as_str().unwrap_or_default().to_string(),
                set: Set::from_fields_v1(e.get("fieldsV1")?)?,
            })
        })
        .collect()
}

/// Writes the entries that own something, in upstream's order: Apply before Update, then by
/// time, manager, API version and subresource.
fn write_entries(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    apimachinery::collections::sort_by(&mut entries, |a, b| {
        (
            !a.apply,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                !b.apply,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let meta = apimachinery::api::meta::metadata_mut(obj);
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        let list = entries.iter().map(Entry::to_value).collect();
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// The manager of a write that names none: the component, as its user agent would say.
pub fn default_manager(user: &UserInfo, user_agent: Option<&str>) -> String {
    if let Some(ua) = user_agent.filter(|ua| !ua.is_empty()) {
        return ua.split('/').next().unwrap_or(ua).to_string();
    }
    match user.name.as_str() {
        "system:kube-scheduler" => "kube-scheduler".into(),
        "system:kube-controller-manager" => "kube-controller-manager".into(),
        n if n.starts_with("system:node:") => "kubelet".into(),
        n => n.into(),
    }
}

/// Whether a write to `subresource` can change the top-level field `top` at all: a kind
/// with a status subresource takes its status there and everything else on the main
/// resource.
fn written_by(res: &Resource, subresource: &str, top: &str) -> bool {
    !res.has_status_subresource || (subresource == "status") == (top == "status")
}

/// Leaves out what no manager owns — identity and bookkeeping (`stripMetaManager`) — and,
/// for a kind with a status subresource, what the request's endpoint resets: the status on
/// the main resource, all but the status on `status`.
fn owned(res: &Resource, subresource: &str, set: Set) -> Set {
    static STRIP: std::sync::OnceLock<Set> = std::sync::OnceLock::new();
    let strip = STRIP.get_or_init(|| {
        let mut strip = Set::default();
        for top in ["f:apiVersion", "f:kind", "f:metadata"] {
            strip.insert(&[top.to_string()]);
        }
        for field in [
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "generation",
            "managedFields",
            "resourceVersion",
        ] {
            strip.insert(&["f:metadata".to_string(), format!("f:{field}")]);
        }
        strip
    });
    let set = set.difference(strip);
    if !res.has_status_subresource {
        return set;
    }
    let status = set.only("f:status");
    if subresource == "status" {
        status
    } else {
        set.difference(&status)
    }
}

/// Records an Update (create, update, patch) by `manager` in `new`'s `managedFields`: the
/// manager owns what it added or changed, taken from everyone else. `old` is the object
/// before (`None` on create). A request that sends `managedFields` of its own replaces them.
pub fn update(
    res: &Resource,
    subresource: &str,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    now: Time,
) {
    let sent = read_entries(new);
    let mut entries = if sent.is_empty() {
        old.map(read_entries).unwrap_or_default()
    } else {
        sent
    };
    let cmp = typed::compare(rules::root(res.schema), old, new, |top| {
        written_by(res, subresource, top)
    });
    let changed = owned(res, subresource, cmp.changed());
    let removed = owned(res, subresource, cmp.removed);
    for e in entries.iter_mut() {
        if !e.is(manager, false, subresource) {
            e.set = e.set.difference(&changed).difference(&removed);
        }
    }
    let mine = match entries
        .iter()
        .position(|e| e.is(manager, false, subresource))
    {
        Some(i) => entries.remove(i),
        None => Entry {
            manager: manager.to_string(),
            apply: false,
            api_version: res.api_version(),
            time: None,
            subresource: subresource.to_string(),
            set: Set::default(),
        },
    };
    let set = mine.set.difference(&removed).union(&changed);
    let time = if set == mine.set {
        mine.time.clone()
    } else {
        Some(now.rfc3339())
    };
    entries.push(Entry { set, time, ..mine });
    write_entries(new, entries);
}

/// Server-side apply: `config` (the applied configuration, already checked to be of the
/// resource's kind) merged into `live` (`None`: the apply creates the object), owned by
/// `manager`. Returns the object to store, `managedFields` included, or the conflicts.
pub fn apply(
    res: &Resource,
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: Time,
) -> Result<Value, ApiError> {
    let shape = rules::root(res.schema);
    let applied = typed::to_field_set(shape, config).map_err(|e| {
        ApiError::bad_request(format!(
            "failed to create typed patch object ({}, Kind={}): {e}",
            res.api_version(),
            res.kind
        ))
    })?;
    let applied = owned(res, "", applied);
    let mut entries = live.map(read_entries).unwrap_or_default();
    let mut merged = typed::merge(shape, live, Some(config)).unwrap_or_else(|| json!({}));
    // What this manager applied last time and no longer does goes, unless someone — this
    // apply included — owns it.
    if let Some(last) = entries.iter().find(|e| e.is(manager, true, "")) {
        let keep = entries
            .iter()
            .filter(|e| !e.is(manager, true, ""))
            .fold(applied.clone(), |acc, e| acc.union(&e.set));
        let dropped = last.set.difference(&keep);
        merged = typed::remove(shape, &merged, &dropped, &keep);
    }
    let cmp = typed::compare(shape, live, &merged, |top| written_by(res, "", top));
    let changed = owned(res, "", cmp.changed());
    let removed = owned(res, "", cmp.removed);
    let conflicts = conflicts(&entries, manager, &changed);
    if !conflicts.is_empty() && !force && !last_applied_allows(shape, live, manager, &conflicts) {
        return Err(conflict_error(&conflicts));
    }
    for e in entries.iter_mut().filter(|e| !e.is(manager, true, "")) {
        e.set = e.set.difference(&changed).difference(&removed);
    }
    entries.retain(|e| !e.is(manager, true, ""));
    entries.push(Entry {
        manager: manager.to_string(),
        apply: true,
        api_version: res.api_version(),
        time: Some(now.rfc3339()),
        subresource: String::new(),
        set: applied,
    });
    if manager == "kubectl" && live.is_some_and(|l| last_applied(l).is_some()) {
        keep_last_applied_current(&mut merged, config);
    }
    write_entries(&mut merged, entries);
    Ok(merged)
}

/// Each other manager's fields that the apply would change.
fn conflicts(entries: &[Entry], manager: &str, changed: &Set) -> Vec<(Entry, Set)> {
    entries
        .iter()
        .filter(|e| !e.is(manager, true, ""))
        .filter_map(|e| {
            let both = e.set.intersection(changed);
            (!both.is_empty()).then(|| (e.clone(), both))
        })
        .collect()
}

fn conflict_error(conflicts: &[(Entry, Set)]) -> ApiError {
    let mut causes = Vec::new();
    for (e, set) in conflicts {
        for path in set.paths() {
            causes.push((
                format!("conflict with {}", e.describe()),
                fieldpath::display(&path),
            ));
        }
    }
    let message = if causes.len() == 1 {
        format!(
            "Apply failed with 1 conflict: {}: {}",
            causes[0].0, causes[0].1
        )
    } else {
        let mut lines = Vec::new();
        let mut by_manager: Vec<&(Entry, Set)> = conflicts.iter().collect();
        apimachinery::collections::sort_by_key(&mut by_manager, |c| c.0.describe());
        for (e, set) in by_manager {
            lines.push(format!("conflicts with {}:", e.describe()));
            lines.extend(
                set.paths()
                    .iter()
                    .map(|p| format!("- {}", fieldpath::display(p))),
            );
        }
        format!(
            "Apply failed with {} conflicts: {}",
            causes.len(),
            lines.join("\n")
        )
    };
    ApiError::ApplyConflict { message, causes }
}

fn last_applied(obj: &Value) -> Option<Value> {
    let text = obj
        .pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()?;
    serde_json::from_slice(text.as_bytes())
        .ok()
        .filter(Value::is_object)
}

/// `kubectl apply --server-side` over an object applied client-side: a conflict is no
/// conflict where the last-applied configuration set the field and the live object still
/// holds that value (upstream's `lastAppliedManager`, for the manager `kubectl` only).
fn last_applied_allows(
    shape: Shape,
    live: Option<&Value>,
    manager: &str,
    conflicts: &[(Entry, Set)],
) -> bool {
    let Some(live) = live.filter(|_| manager == "kubectl") else {
        return false;
    };
    let Some(last) = last_applied(live) else {
        return false;
    };
    if last["apiVersion"] != live["apiVersion"] {
        return false;
    }
    let Ok(set) = typed::to_field_set(shape, &last) else {
        return false;
    };
    let drift = typed::compare(shape, Some(&last), live, |_| true);
    let allowed = set
        .difference(&drift.modified)
        .difference(&drift.added)
        .difference(&drift.removed);
    conflicts
        .iter()
        .all(|(_, s)| s.difference(&allowed).is_empty())
}

/// The last-applied annotation, where it exists, follows a server-side apply by `kubectl`,
/// so that a later client-side apply computes its patch from what was applied.
fn keep_last_applied_current(obj: &mut Value, config: &Value) {
    let mut applied = config.clone();
    if let Some(a) = applied
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED);
        if a.is_empty() {
            if let Some(meta) = applied["metadata"].as_object_mut() {
                meta.remove("annotations");
            }
        }
    }
    let annotations = apimachinery::api::meta::metadata_mut(obj)
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(a) = annotations.as_object_mut() {
        // As kubectl writes it: JSON and a newline.
        a.insert(LAST_APPLIED.into(), json!(format!("{applied}\n")));
    }
}

#[cfg(test)]
mod tests;
