//! `kubectl taint nodes NODE key=value:Effect …` adds taints, `key:Effect-` or `key-`
//! removes them; `--overwrite` replaces a taint's value. Reported as kubectl does
//! (`node/node-1 tainted`, `untainted`).

use serde_json::{json, Value};

use super::args::Parsed;
use super::{send, server_error, Api, Output};
use apiserver::{Method, Request};

const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// One taint argument: what to add or remove.
enum Change {
    Add {
        key: String,
        value: String,
        effect: String,
    },
    Remove {
        key: String,
        effect: Option<String>,
    },
}

fn parse(arg: &str) -> Result<Change, String> {
    if let Some(spec) = arg.strip_suffix('-') {
        let (key, effect) = match spec.split_once(':') {
            Some((k, e)) => (k, Some(e.to_string())),
            None => (spec, None),
        };
        return Ok(Change::Remove {
            key: key.to_string(),
            effect,
        });
    }
    let (kv, effect) = arg
        .split_once(':')
        .ok_or_else(|| format!("invalid taint spec: {arg}, unknown taint effect"))?;
    if !EFFECTS.contains(&effect) {
        return Err(format!(
            "invalid taint effect: {effect}, unsupported taint effect"
        ));
    }
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    Ok(Change::Add {
        key: key.to_string(),
        value: value.to_string(),
        effect: effect.to_string(),
    })
}

pub fn taint(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (node, specs) = match rest {
        [kind, node, specs @ ..] if matches!(kind.as_str(), "node" | "nodes" | "no") => {
            (node.as_str(), specs)
        }
        [target, specs @ ..] if target.starts_with("node/") || target.starts_with("nodes/") => {
            (target.split_once('/').map_or("", |(_, n)| n), specs)
        }
        _ => return Output::error("error: USAGE: taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N"),
    };
    if specs.is_empty() {
        return Output::error("error: at least one taint update is required");
    }
    let changes: Result<Vec<Change>, String> = specs.iter().map(|s| parse(s)).collect();
    let changes = match changes {
        Ok(c) => c,
        Err(e) => return Output::error(format!("error: {e}")),
    };
    let path = format!("/api/v1/nodes/{node}");
    let current = send(api, Method::Get, &path);
    if current.code >= 400 {
        return server_error(&current);
    }
    let mut taints: Vec<Value> = current.value()["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let overwrite = p.flag("overwrite").is_some_and(|v| v != "false");
    let mut removed = false;
    for change in changes {
        match change {
            Change::Add { key, value, effect } => {
                let same = |t: &Value| t["key"] == key.as_str() && t["effect"] == effect.as_str();
                if taints.iter().any(same) {
                    if !overwrite {
                        return Output::error(format!(
                            "error: node {node} already has {key} taint(s) with same effect(s) and --overwrite is false"
                        ));
                    }
                    taints.retain(|t| !same(t));
                }
                let mut t = json!({"key": key, "effect": effect});
                if !value.is_empty() {
                    t["value"] = json!(value);
                }
                taints.push(t);
            }
            Change::Remove { key, effect } => {
                let before = taints.len();
                taints.retain(|t| {
                    !(t["key"] == key.as_str()
                        && effect.as_deref().is_none_or(|e| t["effect"] == e))
                });
                if taints.len() == before {
                    let name = match &effect {
                        Some(e) => format!("{key}:{e}"),
                        None => key.clone(),
                    };
                    return Output::error(format!("error: taint {name:?} not found"));
                }
                removed = true;
            }
        }
    }
    let patch = json!({"spec": {"taints": taints}});
    let resp = api.send(
        Request::new(Method::Patch, &path).body("application/merge-patch+json", patch.to_string()),
    );
    if resp.code >= 400 {
        return server_error(&resp);
    }
    let word = if removed { "untainted" } else { "tainted" };
    Output::ok(format!("node/{node} {word}\n"))
}
