//! Strategic merge patch (`k8s.io/apimachinery/pkg/util/strategicpatch`).
//!
//! Like a JSON merge patch, except that some lists are merged element by element by a key
//! taken from the Go struct tags (`patchStrategy:"merge" patchMergeKey:"name"`): a patch of
//! `containers: [{name: web, image: nginx:1.16}]` changes the image of the container named
//! `web` and leaves the other containers alone. Directives steer the merge:
//! `$patch: replace|delete|merge`, `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
//! `$setElementOrder/<field>`.
//!
//! The merge keys are a table keyed by (parent field, field), which is all the context the
//! built-in types need: `ports` merges by `containerPort` inside a container and by `port`
//! in a Service spec.
//!
//! One simplification: without `$setElementOrder`, upstream puts list items new to the
//! original *first*; here they are appended. kubectl always sends `$setElementOrder` for
//! merged lists, so what it sees is the same.

use serde_json::{Map, Value};

/// How a list field merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListStrategy {
    /// Replace the whole list (no patch strategy).
    Replace,
    /// Merge maps by this key.
    MergeBy(&'static str),
    /// Union of primitive values (`finalizers`).
    MergePrimitives,
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The strategy of `field` inside a map found under `parent` (the field that holds that map,
/// or the kind at the top).
fn strategy(parent: &str, field: &str) -> ListStrategy {
    use ListStrategy::*;
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => MergeBy("name"),
        "hostIPs" | "podIPs" => MergeBy("ip"),
        "volumeMounts" => MergeBy("mountPath"),
        "volumeDevices" => MergeBy("devicePath"),
        "hostAliases" => MergeBy("ip"),
        "topologySpreadConstraints" => MergeBy("topologyKey"),
        "conditions" => MergeBy("type"),
        "ownerReferences" => MergeBy("uid"),
        // `metadata.finalizers` is a union; a Namespace's `spec.finalizers` is replaced.
        "finalizers" if parent == "metadata" => MergePrimitives,
        "podCIDRs" if parent == "spec" => MergePrimitives,
        "secrets" if parent == "ServiceAccount" => MergeBy("name"),
        "ports" if CONTAINER_LISTS.contains(&parent) => MergeBy("containerPort"),
        "ports" if parent == "spec" => MergeBy("port"),
        "addresses" if parent == "status" => MergeBy("type"),
        _ => Replace,
    }
}

pub fn apply(original: &Value, patch: &Value, kind: &str) -> Result<Value, String> {
    let patch = patch
        .as_object()
        .ok_or("strategic merge patch must be a JSON object")?;
    let original = original.as_object().cloned().unwrap_or_default();
    Ok(merge_map(original, patch, kind)?.map_or(Value::Object(Map::new()), Value::Object))
}

/// Merges `patch` into `original`; `None` means the map itself is deleted (`$patch: delete`).
fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    parent: &str,
) -> Result<Option<Map<String, Value>>, String> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => {
            let mut p = patch.clone();
            p.remove("$patch");
            return Ok(Some(strip_directives(p)));
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch type: {other} in map")),
    }
    let retain: Option<Vec<String>> = match patch.get("$retainKeys") {
        Some(Value::Array(keys)) => Some(
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect(),
        ),
        Some(_) => return Err("$retainKeys must be a list of strings".into()),
        None => None,
    };
    for (key, pv) in patch {
        if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = pv.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if pv.is_null() {
            original.remove(key);
            continue;
        }
        let merged = match (original.remove(key), pv) {
            (Some(Value::Object(o)), Value::Object(p)) => merge_map(o, p, key)?.map(Value::Object),
            (_, Value::Object(p)) => merge_map(Map::new(), p, key)?.map(Value::Object),
            (Some(Value::Array(o)), Value::Array(p)) => {
                Some(Value::Array(merge_list(o, p, parent, key)?))
            }
            (None, Value::Array(p)) => Some(Value::Array(merge_list(Vec::new(), p, parent, key)?)),
            (_, other) => Some(other.clone()),
        };
        if let Some(v) = merged {
            original.insert(key.clone(), v);
        }
    }
    for (key, order) in patch {
        if let (Some(field), Value::Array(order)) = (key.strip_prefix("$setElementOrder/"), order) {
            if let Some(Value::Array(list)) = original.get_mut(field) {
                reorder(list, order, strategy(parent, field));
            }
        }
    }
    if let Some(retain) = retain {
        original.retain(|k, _| retain.contains(k));
    }
    Ok(Some(original))
}

fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    parent: &str,
    field: &str,
) -> Result<Vec<Value>, String> {
    // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
    if patch
        .iter()
        .any(|e| e.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(patch
            .iter()
            .filter(|e| e.get("$patch").is_none())
            .map(|e| match e {
                Value::Object(m) => Value::Object(strip_directives(m.clone())),
                other => other.clone(),
            })
            .collect());
    }
    match strategy(parent, field) {
        ListStrategy::Replace => Ok(patch
            .iter()
            .map(|e| match e {
                Value::Object(m) => Value::Object(strip_directives(m.clone())),
                other => other.clone(),
            })
            .collect()),
        ListStrategy::MergePrimitives => {
            let mut out = original;
            for v in patch {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(out)
        }
        ListStrategy::MergeBy(merge_key) => {
            let mut out = original;
            for p in patch {
                let Value::Object(pm) = p else {
                    return Err(format!("{field}: element {p} is not an object"));
                };
                let Some(k) = pm.get(merge_key) else {
                    return Err(format!(
                        "map: {p} does not contain declared merge key: {merge_key}"
                    ));
                };
                let pos = out.iter().position(|o| o.get(merge_key) == Some(k));
                let delete = pm.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        let o = out[i].as_object().cloned().unwrap_or_default();
                        match merge_map(o, pm, field)? {
                            Some(m) => out[i] = Value::Object(m),
                            None => {
                                out.remove(i);
                            }
                        }
                    }
                    (None, false) => {
                        if let Some(m) = merge_map(Map::new(), pm, field)? {
                            out.push(Value::Object(m));
                        }
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Orders `list` as `$setElementOrder` says; elements it does not name keep their relative
/// order after the named ones.
fn reorder(list: &mut [Value], order: &[Value], strategy: ListStrategy) {
    let identity = |v: &Value| -> Value {
        match strategy {
            ListStrategy::MergeBy(k) => v.get(k).cloned().unwrap_or(Value::Null),
            _ => v.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(identity).collect();
    let rank = |v: &Value| {
        wanted
            .iter()
            .position(|w| *w == identity(v))
            .unwrap_or(usize::MAX)
    };
    apimachinery::collections::sort_by_key(list, rank);
}

fn strip_directives(mut m: Map<String, Value>) -> Map<String, Value> {
    m.retain(|k, _| !k.starts_with('$'));
    for v in m.values_mut() {
        if let Value::Object(inner) = v {
            *inner = strip_directives(std::mem::take(inner));
        }
    }
    m
}

/// The patch strategy of a field by its Go type, as the `patchStrategy`/`patchMergeKey`
/// struct tags of `k8s.io/api` give it: `(type, field) → (strategy, merge key)`. The OpenAPI
/// documents publish these as `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key`;
/// kubectl reads them to compute the patches it sends.
pub const PATCH_META: &[(&str, &str, &str, &str)] = &[
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        "merge",
        "uid",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        "merge",
        "",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        "merge,retainKeys",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        "merge",
        "name",
    ),
    ("io.k8s.api.core.v1.PodSpec", "containers", "merge", "name"),
    (
        "io.k8s.api.core.v1.PodSpec",
        "ephemeralContainers",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        "merge",
        "name",
    ),
    ("io.k8s.api.core.v1.PodSpec", "hostAliases", "merge", "ip"),
    (
        "io.k8s.api.core.v1.PodSpec",
        "topologySpreadConstraints",
        "merge",
        "topologyKey",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "schedulingGates",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "resourceClaims",
        "merge,retainKeys",
        "name",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        "merge",
        "containerPort",
    ),
    ("io.k8s.api.core.v1.Container", "env", "merge", "name"),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        "merge",
        "mountPath",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        "merge",
        "devicePath",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "ports",
        "merge",
        "containerPort",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "env",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeMounts",
        "merge",
        "mountPath",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeDevices",
        "merge",
        "devicePath",
    ),
    (
        "io.k8s.api.core.v1.ContainerStatus",
        "volumeMounts",
        "merge",
        "mountPath",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        "merge",
        "type",
    ),
    ("io.k8s.api.core.v1.PodStatus", "hostIPs", "merge", "ip"),
    ("io.k8s.api.core.v1.PodStatus", "podIPs", "merge", "ip"),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", "merge", "port"),
    (
        "io.k8s.api.core.v1.ServiceAccount",
        "secrets",
        "merge",
        "name",
    ),
    ("io.k8s.api.core.v1.NodeSpec", "podCIDRs", "merge", ""),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "addresses",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "strategy",
        "retainKeys",
        "",
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.apps.v1.DaemonSetStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "conditions",
        "merge",
        "type",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a"]},
            "spec": {
                "replicas": 3,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                "template": {"spec": {"containers": [
                    {"name": "web", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}],
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                    {"name": "log", "image": "busybox"}
                ]}}
            }
        })
    }

    #[test]
    fn merges_lists_by_key() {
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "log"}],
            "containers": [{"name": "web", "image": "nginx:1.16.1",
                            "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
                            "ports": [{"containerPort": 443}]}]
        }}}});
        let got = apply(&deployment(), &patch, "Deployment").unwrap();
        let c = &got["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["image"], "nginx:1.16.1");
        assert_eq!(
            c[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
        );
        assert_eq!(
            c[0]["ports"],
            json!([{"containerPort": 80}, {"containerPort": 443}])
        );
        assert_eq!(c[1], json!({"name": "log", "image": "busybox"}));
    }

    #[test]
    fn directives() {
        let got = apply(
            &deployment(),
            &json!({
                "metadata": {"labels": {"app": null, "v": "2"}, "$deleteFromPrimitiveList/finalizers": ["a"]},
                "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null},
                         "template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}}}
            }),
            "Deployment",
        )
        .unwrap();
        assert_eq!(got["metadata"]["labels"], json!({"v": "2"}));
        assert_eq!(got["metadata"]["finalizers"], json!([]));
        assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(
            got["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "x"}])
        );
        let svc = json!({"spec": {"ports": [{"port": 80, "name": "http"}]}});
        let got = apply(
            &svc,
            &json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}),
            "Service",
        )
        .unwrap();
        assert_eq!(
            got["spec"]["ports"],
            json!([{"port": 80, "name": "http", "targetPort": 8080}])
        );
        assert!(apply(
            &svc,
            &json!({"spec": {"ports": [{"name": "x"}]}}),
            "Service"
        )
        .is_err());
    }
}
