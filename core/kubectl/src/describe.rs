//! `kubectl describe`: an object's story in kubectl's layout — labelled fields aligned,
//! sections for pods (containers, conditions), nodes (conditions, capacity, taints) and
//! deployments (replicas, strategy), and the events about it at the end.

use serde_json::Value;

use super::args::Parsed;
use super::get::align_with;

fn align(rows: &[Vec<String>]) -> String {
    align_with(rows, 2)
}
use super::{server_error, targets, value_str, Api, Output};
use apiserver::{Method, Request};
use client::{collection_path, object_path};

/// Fields printed as `Label:` then the value, aligned as kubectl's describe aligns them.
struct Fields {
    rows: Vec<(String, String)>,
}

impl Fields {
    fn new() -> Fields {
        Fields { rows: Vec::new() }
    }

    fn add(&mut self, label: &str, value: impl Into<String>) {
        let value = value.into();
        self.rows.push((
            format!("{label}:"),
            if value.is_empty() {
                "<none>".into()
            } else {
                value
            },
        ));
    }

    /// `key=value` pairs, one per line under the first.
    fn map(&mut self, label: &str, map: &Value) {
        let pairs: Vec<String> = map
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        self.add(label, pairs.join("\n"));
    }

    fn render(&self, indent: &str) -> String {
        let width = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 2;
        let mut out = String::new();
        for (label, value) in &self.rows {
            for (i, line) in value.lines().enumerate() {
                let head = if i == 0 { label.as_str() } else { "" };
                out.push_str(&format!("{indent}{head:<width$}{line}\n"));
            }
        }
        out
    }
}

fn target(meta: &Value) -> String {
    value_str(&meta["name"])
}

fn events_about(api: &mut dyn Api, obj: &Value) -> String {
    let uid = value_str(&obj["metadata"]["uid"]);
    let ns = value_str(&obj["metadata"]["namespace"]);
    let events = crate::resolve("events")
        .map(|r| collection_path(r, Some(if ns.is_empty() { "default" } else { &ns })));
    let Some(path) = events else {
        return "Events:  <none>\n".into();
    };
    let list = api.send(Request::new(Method::Get, &path)).value();
    let mine: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["involvedObject"]["uid"] == uid.as_str())
        .collect();
    if mine.is_empty() {
        return "Events:  <none>\n".into();
    }
    let mut rows = vec![
        vec![
            "Type".to_string(),
            "Reason".into(),
            "From".into(),
            "Message".into(),
        ],
        vec![
            "----".to_string(),
            "------".into(),
            "----".into(),
            "-------".into(),
        ],
    ];
    for e in mine {
        rows.push(vec![
            value_str(&e["type"]),
            value_str(&e["reason"]),
            value_str(&e["source"]["component"]),
            value_str(&e["message"]),
        ]);
    }
    let table: String = align(&rows).lines().map(|l| format!("  {l}\n")).collect();
    format!("Events:\n{table}")
}

fn pod(p: &Value) -> String {
    let (meta, spec, status) = (&p["metadata"], &p["spec"], &p["status"]);
    let mut f = Fields::new();
    f.add("Name", target(meta));
    f.add("Namespace", value_str(&meta["namespace"]));
    f.add(
        "Priority",
        spec["priority"].as_i64().unwrap_or(0).to_string(),
    );
    f.add("Service Account", value_str(&spec["serviceAccountName"]));
    let node = value_str(&spec["nodeName"]);
    let host = value_str(&status["hostIP"]);
    f.add(
        "Node",
        if host.is_empty() {
            node
        } else {
            format!("{node}/{host}")
        },
    );
    f.map("Labels", &meta["labels"]);
    f.map("Annotations", &meta["annotations"]);
    let phase = if meta["deletionTimestamp"].is_string() {
        "Terminating".into()
    } else {
        value_str(&status["phase"])
    };
    f.add("Status", phase);
    f.add("IP", value_str(&status["podIP"]));
    if let Some(owner) = apimachinery::api::owner::controller_of(p) {
        f.add(
            "Controlled By",
            format!(
                "{}/{}",
                value_str(&owner["kind"]),
                value_str(&owner["name"])
            ),
        );
    }
    let mut out = f.render("");
    out.push_str("Containers:\n");
    for c in spec["containers"].as_array().into_iter().flatten() {
        let name = value_str(&c["name"]);
        let cs = status["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name.as_str());
        let mut cf = Fields::new();
        cf.add("Image", value_str(&c["image"]));
        let state = cs
            .and_then(|s| s["state"].as_object())
            .and_then(|m| m.iter().next())
            .map(|(k, v)| match v["reason"].as_str() {
                Some(r) => format!("{}\n  Reason: {r}", capitalize(k)),
                None => capitalize(k),
            })
            .unwrap_or_else(|| "Waiting".into());
        cf.add("State", state);
        cf.add(
            "Ready",
            if cs.is_some_and(|s| s["ready"] == true) {
                "True"
            } else {
                "False"
            },
        );
        cf.add(
            "Restart Count",
            cs.map_or(0, |s| s["restartCount"].as_i64().unwrap_or(0))
                .to_string(),
        );
        let requests: Vec<String> = c["resources"]["requests"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
            .collect();
        if !requests.is_empty() {
            cf.add("Requests", requests.join("\n"));
        }
        out.push_str(&format!("  {name}:\n{}", cf.render("    ")));
    }
    out.push_str("Conditions:\n");
    let mut rows = vec![vec!["Type".to_string(), "Status".into()]];
    for c in status["conditions"].as_array().into_iter().flatten() {
        rows.push(vec![value_str(&c["type"]), value_str(&c["status"])]);
    }
    out.extend(align(&rows).lines().map(|l| format!("  {l}\n")));
    let mut tail = Fields::new();
    tail.add("QoS Class", value_str(&status["qosClass"]));
    tail.map("Node-Selectors", &spec["nodeSelector"]);
    let tolerations: Vec<String> = spec["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let key = value_str(&t["key"]);
            let value = value_str(&t["value"]);
            let kv = if value.is_empty() {
                key
            } else {
                format!("{key}={value}")
            };
            let effect = value_str(&t["effect"]);
            let secs = t["tolerationSeconds"]
                .as_i64()
                .map(|s| format!(" for {s}s"))
                .unwrap_or_default();
            format!(
                "{kv}:{effect} op={}{secs}",
                t["operator"].as_str().unwrap_or("Equal")
            )
        })
        .collect();
    tail.add("Tolerations", tolerations.join("\n"));
    out.push_str(&tail.render(""));
    out
}

fn node(n: &Value) -> String {
    let (meta, spec, status) = (&n["metadata"], &n["spec"], &n["status"]);
    let mut f = Fields::new();
    f.add("Name", target(meta));
    f.map("Labels", &meta["labels"]);
    let taints: Vec<String> = spec["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let value = value_str(&t["value"]);
            let kv = if value.is_empty() {
                value_str(&t["key"])
            } else {
                format!("{}={value}", value_str(&t["key"]))
            };
            format!("{kv}:{}", value_str(&t["effect"]))
        })
        .collect();
    f.add("Taints", taints.join("\n"));
    f.add(
        "Unschedulable",
        if spec["unschedulable"] == true {
            "true"
        } else {
            "false"
        },
    );
    let mut out = f.render("");
    out.push_str("Conditions:\n");
    let mut rows = vec![vec![
        "Type".to_string(),
        "Status".into(),
        "Reason".into(),
        "Message".into(),
    ]];
    for c in status["conditions"].as_array().into_iter().flatten() {
        rows.push(vec![
            value_str(&c["type"]),
            value_str(&c["status"]),
            value_str(&c["reason"]),
            value_str(&c["message"]),
        ]);
    }
    out.extend(align(&rows).lines().map(|l| format!("  {l}\n")));
    for (title, list) in [
        ("Capacity", &status["capacity"]),
        ("Allocatable", &status["allocatable"]),
    ] {
        out.push_str(&format!("{title}:\n"));
        for (k, v) in list.as_object().into_iter().flatten() {
            out.push_str(&format!(
                "  {k}:{}{}\n",
                " ".repeat(19usize.saturating_sub(k.len())),
                v.as_str().unwrap_or_default()
            ));
        }
    }
    out
}

fn deployment(d: &Value) -> String {
    let (meta, spec, status) = (&d["metadata"], &d["spec"], &d["status"]);
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let mut f = Fields::new();
    f.add("Name", target(meta));
    f.add("Namespace", value_str(&meta["namespace"]));
    f.map("Labels", &meta["labels"]);
    f.add(
        "Selector",
        spec["selector"]["matchLabels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
    );
    f.add(
        "Replicas",
        format!(
            "{} desired | {} updated | {} total | {} available | {} unavailable",
            n(&spec["replicas"]),
            n(&status["updatedReplicas"]),
            n(&status["replicas"]),
            n(&status["availableReplicas"]),
            n(&status["unavailableReplicas"])
        ),
    );
    f.add("StrategyType", value_str(&spec["strategy"]["type"]));
    if let Some(r) = spec["strategy"]["rollingUpdate"].as_object() {
        let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        f.add(
            "RollingUpdateStrategy",
            format!(
                "{} max unavailable, {} max surge",
                s(&r["maxUnavailable"]),
                s(&r["maxSurge"])
            ),
        );
    }
    let mut out = f.render("");
    out.push_str("Conditions:\n");
    let mut rows = vec![vec!["Type".to_string(), "Status".into(), "Reason".into()]];
    rows.push(vec!["----".to_string(), "------".into(), "------".into()]);
    for c in status["conditions"].as_array().into_iter().flatten() {
        rows.push(vec![
            value_str(&c["type"]),
            value_str(&c["status"]),
            value_str(&c["reason"]),
        ]);
    }
    out.extend(align(&rows).lines().map(|l| format!("  {l}\n")));
    out
}

fn generic(o: &Value) -> String {
    let meta = &o["metadata"];
    let mut f = Fields::new();
    f.add("Name", target(meta));
    if meta["namespace"].is_string() {
        f.add("Namespace", value_str(&meta["namespace"]));
    }
    f.map("Labels", &meta["labels"]);
    f.map("Annotations", &meta["annotations"]);
    f.render("")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        format!("{}{}", f.to_ascii_uppercase(), c.as_str())
    })
}

pub fn describe(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (res, names) = match targets(rest) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let ns = res.namespaced.then(|| p.namespace().to_string());
    let objects: Vec<Value> = if names.is_empty() {
        let list = api.send(Request::new(
            Method::Get,
            &collection_path(res, ns.as_deref()),
        ));
        if list.code >= 400 {
            return server_error(&list);
        }
        list.value()["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    } else {
        let mut found = Vec::new();
        for name in &names {
            let resp = api.send(Request::new(
                Method::Get,
                &object_path(res, ns.as_deref(), name),
            ));
            if resp.code >= 400 {
                return server_error(&resp);
            }
            found.push(resp.value());
        }
        found
    };
    let mut out = String::new();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&match res.kind {
            "Pod" => pod(o),
            "Node" => node(o),
            "Deployment" => deployment(o),
            _ => generic(o),
        });
        out.push_str(&events_about(api, o));
    }
    Output::ok(out)
}
