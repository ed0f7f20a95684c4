//! The verbs besides `get`, each printing what kubectl prints.

use serde_json::{json, Value};

use super::args::Parsed;
use super::get::align;
use super::{
    object_ref, resolve, resource_not_found, send, server_error, targets, value_str, Api, Output,
};
use apiserver::registry::RESOURCES;
use apiserver::{Method, Request};
use client::{collection_path, object_path};

fn merge_patch(api: &mut dyn Api, path: &str, patch: &Value) -> apiserver::Response {
    api.send(
        Request::new(Method::Patch, path).body("application/merge-patch+json", patch.to_string()),
    )
}

/// The names `rest` gives, or those `-l` selects.
fn names_or_selected(
    api: &mut dyn Api,
    p: &Parsed,
    res: &apiserver::registry::Resource,
    ns: Option<&str>,
    names: Vec<&str>,
) -> Result<Vec<String>, Output> {
    if !names.is_empty() {
        return Ok(names.into_iter().map(str::to_string).collect());
    }
    let Some(sel) = p.flag("selector") else {
        return Err(Output::error(
            "error: resource(s) were provided, but no name was specified",
        ));
    };
    let path = format!(
        "{}?labelSelector={}",
        collection_path(res, ns),
        sel.replace('=', "%3D").replace(',', "%2C")
    );
    let resp = send(api, Method::Get, &path);
    if resp.code >= 400 {
        return Err(server_error(&resp));
    }
    Ok(resp.value()["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| value_str(&o["metadata"]["name"]))
        .collect())
}

pub fn delete(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (res, names) = match targets(rest) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let ns = res.namespaced.then(|| p.namespace().to_string());
    let names = match names_or_selected(api, p, res, ns.as_deref(), names) {
        Ok(n) => n,
        Err(out) => return out,
    };
    if names.is_empty() {
        return Output {
            stderr: "No resources found".into(),
            ..Output::default()
        };
    }
    let kind = match res.group {
        "" => res.singular.to_string(),
        g => format!("{}.{g}", res.singular),
    };
    let mut out = Output::default();
    for name in names {
        let resp = send(api, Method::Delete, &object_path(res, ns.as_deref(), &name));
        if resp.code >= 400 {
            out.stderr.push_str(&server_error(&resp).stderr);
            out.stderr.push('\n');
            out.code = 1;
        } else {
            out.stdout.push_str(&format!("{kind} \"{name}\" deleted\n"));
        }
    }
    out
}

pub fn scale(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let Some(replicas) = p.flag("replicas").and_then(|r| r.parse::<i64>().ok()) else {
        return Output::error("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0");
    };
    let (res, names) = match targets(rest) {
        Ok(t) => t,
        Err(out) => return out,
    };
    if !res.subresources.contains(&"scale") {
        return Output::error(format!(
            "error: no scaler has been implemented for {{\"{}\" \"{}\"}}",
            res.group, res.kind
        ));
    }
    let ns = p.namespace();
    let mut out = Output::default();
    for name in names {
        let path = format!("{}/scale", object_path(res, Some(ns), name));
        let resp = merge_patch(api, &path, &json!({"spec": {"replicas": replicas}}));
        if resp.code >= 400 {
            return server_error(&resp);
        }
        out.stdout
            .push_str(&format!("{} scaled\n", object_ref(res, name)));
    }
    out
}

pub fn cordon(api: &mut dyn Api, rest: &[String], on: bool) -> Output {
    let Some(node) = rest.first() else {
        return Output::error("error: USAGE: cordon NODE [flags]");
    };
    let node = node.strip_prefix("node/").unwrap_or(node);
    set_unschedulable(api, node, on)
}

fn set_unschedulable(api: &mut dyn Api, node: &str, on: bool) -> Output {
    let nodes = resolve("nodes").unwrap_or(&RESOURCES[0]);
    let path = object_path(nodes, None, node);
    let current = send(api, Method::Get, &path);
    if current.code >= 400 {
        return server_error(&current);
    }
    let word = if on { "cordoned" } else { "uncordoned" };
    if current.value()["spec"]["unschedulable"]
        .as_bool()
        .unwrap_or(false)
        == on
    {
        return Output::ok(format!("node/{node} already {word}\n"));
    }
    let resp = merge_patch(
        api,
        &path,
        &json!({"spec": {"unschedulable": if on { json!(true) } else { Value::Null }}}),
    );
    if resp.code >= 400 {
        return server_error(&resp);
    }
    Output::ok(format!("node/{node} {word}\n"))
}

/// `kubectl drain`: cordon, then evict every pod on the node through the Eviction API
/// (which honours PodDisruptionBudgets).
pub fn drain(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let Some(node) = rest.first() else {
        return Output::error("error: USAGE: drain NODE [flags]");
    };
    let node = node.strip_prefix("node/").unwrap_or(node);
    let mut out = set_unschedulable(api, node, true);
    if out.code != 0 {
        return out;
    }
    let pods = resolve("pods").unwrap_or(&RESOURCES[0]);
    let path = format!(
        "{}?fieldSelector=spec.nodeName%3D{node}",
        collection_path(pods, None)
    );
    let list = send(api, Method::Get, &path).value();
    let items: Vec<Value> = list["items"].as_array().cloned().unwrap_or_default();
    let daemon = |o: &Value| {
        o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["kind"] == "DaemonSet" && r["controller"] == true)
    };
    let daemons: Vec<String> = items
        .iter()
        .filter(|o| daemon(o))
        .map(|o| {
            format!(
                "{}/{}",
                value_str(&o["metadata"]["namespace"]),
                value_str(&o["metadata"]["name"])
            )
        })
        .collect();
    if !daemons.is_empty() && !p.has("ignore-daemonsets") {
        out.stderr = format!(
            "error: unable to drain node \"{node}\" due to error: cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {}",
            daemons.join(", ")
        );
        out.code = 1;
        return out;
    }
    if !daemons.is_empty() {
        out.stderr = format!(
            "Warning: ignoring DaemonSet-managed Pods: {}\n",
            daemons.join(", ")
        );
    }
    for pod in items.iter().filter(|o| !daemon(o)) {
        let (ns, name) = (
            value_str(&pod["metadata"]["namespace"]),
            value_str(&pod["metadata"]["name"]),
        );
        out.stdout.push_str(&format!("evicting pod {ns}/{name}\n"));
        let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}});
        let path = format!("{}/eviction", object_path(pods, Some(&ns), &name));
        let resp = api.send(Request::new(Method::Post, &path).json(&eviction));
        if resp.code >= 400 {
            out.stderr.push_str(&format!(
                "error when evicting pods/\"{name}\" -n \"{ns}\" (will retry after 5s): {}\n",
                resp.value()["message"].as_str().unwrap_or_default()
            ));
            out.code = 1;
            return out;
        }
        out.stdout.push_str(&format!("pod/{name} evicted\n"));
    }
    out.stdout.push_str(&format!("node/{node} drained\n"));
    out
}

/// `kubectl label` / `annotate`: `key=value` sets, `key-` removes; an existing key changes
/// only with `--overwrite`.
pub fn label(api: &mut dyn Api, p: &Parsed, rest: &[String], labels: bool) -> Output {
    let field = if labels { "labels" } else { "annotations" };
    let (res, mut names) = match targets(rest) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let pairs: Vec<&str> = names
        .iter()
        .copied()
        .filter(|w| w.contains('=') || w.ends_with('-'))
        .collect();
    names.retain(|w| !(w.contains('=') || w.ends_with('-')));
    if pairs.is_empty() {
        return Output::error(format!(
            "error: at least one {} update is required",
            &field[..field.len() - 1]
        ));
    }
    let ns = res.namespaced.then(|| p.namespace().to_string());
    let mut out = Output::default();
    for name in names {
        let path = object_path(res, ns.as_deref(), name);
        let current = send(api, Method::Get, &path);
        if current.code >= 400 {
            return server_error(&current);
        }
        let existing = current.value()["metadata"][field].clone();
        let mut patch = serde_json::Map::new();
        for pair in &pairs {
            if let Some(key) = pair.strip_suffix('-') {
                patch.insert(key.to_string(), Value::Null);
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if let Some(old) = existing[k].as_str() {
                if old != v && !p.has("overwrite") {
                    return Output::error(format!(
                        "error: '{k}' already has a value ({old}), and --overwrite is false"
                    ));
                }
            }
            patch.insert(k.to_string(), json!(v));
        }
        let resp = merge_patch(api, &path, &json!({"metadata": {field: patch}}));
        if resp.code >= 400 {
            return server_error(&resp);
        }
        let word = if labels { "labeled" } else { "annotated" };
        out.stdout
            .push_str(&format!("{} {word}\n", object_ref(res, name)));
    }
    out
}

pub fn logs(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let Some(target) = rest.first() else {
        return Output::error("error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.");
    };
    let pod = target.strip_prefix("pod/").unwrap_or(target);
    let ns = p.namespace();
    // The pod's `log` subresource: the API server checks it, the pod's kubelet answers.
    let mut path = format!(
        "{}/log",
        object_path(resolve("pods").unwrap_or(&RESOURCES[0]), Some(ns), pod)
    );
    if let Some(c) = p.flag("container") {
        path = format!("{path}?container={c}");
    }
    let answer = send(api, Method::Get, &path);
    if answer.code >= 400 {
        return server_error(&answer);
    }
    Output::ok(String::from_utf8_lossy(&answer.bytes()).into_owned())
}

/// `kubectl auth can-i VERB RESOURCE`: a SelfSubjectAccessReview.
pub fn can_i(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (Some("can-i"), Some(verb), Some(what)) =
        (rest.first().map(String::as_str), rest.get(1), rest.get(2))
    else {
        return Output::error(
            "error: you must specify two arguments: verb resource or verb resource/resourceName",
        );
    };
    let (kind, name) = what.split_once('/').unwrap_or((what, ""));
    let Some(res) = resolve(kind) else {
        return resource_not_found(kind);
    };
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": if res.namespaced { p.namespace() } else { "" },
            "verb": verb, "group": res.group, "resource": res.name, "name": name}}});
    let resp = api.send(
        Request::new(
            Method::Post,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        )
        .json(&review),
    );
    if resp.code >= 400 {
        return server_error(&resp);
    }
    if resp.value()["status"]["allowed"] == true {
        Output::ok("yes\n")
    } else {
        Output {
            stdout: "no\n".into(),
            code: 1,
            ..Output::default()
        }
    }
}

pub fn api_resources() -> String {
    let mut rows = vec![vec![
        "NAME".to_string(),
        "SHORTNAMES".into(),
        "APIVERSION".into(),
        "NAMESPACED".into(),
        "KIND".into(),
    ]];
    for r in RESOURCES {
        rows.push(vec![
            r.name.to_string(),
            r.short_names.join(","),
            r.api_version(),
            r.namespaced.to_string(),
            r.kind.to_string(),
        ]);
    }
    align(&rows)
}
