//! `kubectl top pod|node`: what the metrics API (`metrics.k8s.io`) says pods and nodes use,
//! printed as kubectl prints it — CPU in millicores (rounded up), memory in MiB, and for
//! nodes the share of what each can allocate.

use serde_json::Value;

use super::args::Parsed;
use super::get::align;
use super::{send, server_error, Api, Output};
use apimachinery::api::quantity::parse_milli;
use apiserver::Method;

/// A quantity in milli-units, rounded up as `Quantity.MilliValue` does for CPU.
fn milli(q: &Value) -> i128 {
    parse_milli(q.as_str().unwrap_or_default()).unwrap_or(0)
}

fn cpu(usage: &Value) -> String {
    format!("{}m", milli(&usage["cpu"]))
}

fn memory(usage: &Value) -> String {
    format!("{}Mi", milli(&usage["memory"]) / 1000 / (1 << 20))
}

/// The metrics at `path`: one object (`single`) or a list's items.
fn fetch(api: &mut dyn Api, path: &str, single: bool) -> Result<Vec<Value>, Output> {
    let answer = send(api, Method::Get, path);
    if answer.code >= 400 {
        return Err(server_error(&answer));
    }
    let v = answer.into_value();
    Ok(if single {
        vec![v]
    } else {
        v["items"].as_array().cloned().unwrap_or_default()
    })
}

pub fn top(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (what, name) = (
        rest.first().map(String::as_str),
        rest.get(1).map(String::as_str),
    );
    let selector = p
        .flag("selector")
        .map(|s| format!("?labelSelector={s}"))
        .unwrap_or_default();
    match what {
        Some("pod" | "pods" | "po") => top_pods(api, p, name, &selector),
        Some("node" | "nodes" | "no") => top_nodes(api, name, &selector),
        _ => Output::error(
            "error: unknown command \"top\" without a resource: use \"top pod\" or \"top node\"",
        ),
    }
}

/// `top pod [NAME]`: each pod's containers summed.
fn top_pods(api: &mut dyn Api, p: &Parsed, name: Option<&str>, selector: &str) -> Output {
    let all = p.all_namespaces();
    let base = if all {
        "/apis/metrics.k8s.io/v1beta1/pods".to_string()
    } else {
        format!(
            "/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods",
            p.namespace()
        )
    };
    let path = match name {
        Some(n) => format!("{base}/{n}"),
        None => format!("{base}{selector}"),
    };
    let mut items = match fetch(api, &path, name.is_some()) {
        Ok(items) => items,
        Err(e) => return e,
    };
    if items.is_empty() {
        return Output::error("error: metrics not available yet");
    }
    let key = |m: &Value| {
        format!(
            "{}/{}",
            m["metadata"]["namespace"].as_str().unwrap_or_default(),
            m["metadata"]["name"].as_str().unwrap_or_default()
        )
    };
    apimachinery::collections::sort_by_key(&mut items, key);
    let mut rows = vec![Vec::new()];
    if all {
        rows[0].push("NAMESPACE".to_string());
    }
    rows[0].extend(["NAME", "CPU(cores)", "MEMORY(bytes)"].map(String::from));
    for m in &items {
        let (mut c, mut mem) = (0i128, 0i128);
        for container in m["containers"].as_array().into_iter().flatten() {
            c += milli(&container["usage"]["cpu"]);
            mem += milli(&container["usage"]["memory"]);
        }
        let mut row = Vec::new();
        if all {
            row.push(
                m["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        row.push(
            m["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        row.push(format!("{c}m"));
        row.push(format!("{}Mi", mem / 1000 / (1 << 20)));
        rows.push(row);
    }
    Output::ok(align(&rows))
}

/// `top node [NAME]`: each node's usage, and its share of what the node can allocate.
fn top_nodes(api: &mut dyn Api, name: Option<&str>, selector: &str) -> Output {
    let path = match name {
        Some(n) => format!("/apis/metrics.k8s.io/v1beta1/nodes/{n}"),
        None => format!("/apis/metrics.k8s.io/v1beta1/nodes{selector}"),
    };
    let items = match fetch(api, &path, name.is_some()) {
        Ok(items) => items,
        Err(e) => return e,
    };
    let nodes = send(api, Method::Get, "/api/v1/nodes").value();
    let allocatable = |node: &str| {
        nodes["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["metadata"]["name"] == node)
            .map(|n| n["status"]["allocatable"].clone())
            .unwrap_or(Value::Null)
    };
    let mut rows = vec![
        ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
            .map(String::from)
            .to_vec(),
    ];
    for m in &items {
        let node = m["metadata"]["name"].as_str().unwrap_or_default();
        let alloc = allocatable(node);
        let share = |used: i128, of: i128| {
            if of > 0 {
                format!("{}%", used * 100 / of)
            } else {
                "<unknown>".to_string()
            }
        };
        let usage = &m["usage"];
        rows.push(vec![
            node.to_string(),
            cpu(usage),
            share(milli(&usage["cpu"]), milli(&alloc["cpu"])),
            memory(usage),
            share(milli(&usage["memory"]), milli(&alloc["memory"])),
        ]);
    }
    Output::ok(align(&rows))
}
