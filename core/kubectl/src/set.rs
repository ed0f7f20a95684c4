//! `kubectl set image TYPE/NAME CONTAINER=IMAGE ...` (`*=IMAGE` for every container): a
//! strategic merge patch of the pod template's containers (the pod's own for a Pod), as
//! kubectl sends it.

use serde_json::{json, Value};

use super::args::Parsed;
use super::{object_ref, send, server_error, targets, Api, Output};
use apiserver::{Method, Request};
use client::object_path;

pub fn set(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    match rest.first().map(String::as_str) {
        Some("image") => image(api, p, &rest[1..]),
        Some(other) => Output::error(format!(
            "error: unknown command \"{other}\" for \"kubectl set\" (the terminal has `set image`)"
        )),
        None => Output::error("error: set needs a subcommand: image"),
    }
}

fn image(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (assignments, target): (Vec<&String>, Vec<String>) = {
        let (a, t): (Vec<&String>, Vec<&String>) = rest.iter().partition(|w| w.contains('='));
        (a, t.into_iter().cloned().collect())
    };
    if assignments.is_empty() {
        return Output::error("error: at least one image update is required");
    }
    let (res, names) = match targets(&target) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let pointer = match res.kind {
        "Pod" => "/spec",
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => "/spec/template/spec",
        other => {
            return Output::error(format!(
                "error: {other}s have no pod template whose images could be set"
            ))
        }
    };
    let mut out = Output::default();
    for name in names {
        let path = object_path(res, Some(p.namespace()), name);
        let resp = send(api, Method::Get, &path);
        if resp.code >= 400 {
            return server_error(&resp);
        }
        let obj = resp.value();
        let spec = obj.pointer(pointer).cloned().unwrap_or(Value::Null);
        let mut containers: Vec<Value> = Vec::new();
        for a in &assignments {
            let (container, image) = a.split_once('=').unwrap_or_default();
            let mut found = false;
            for list in ["initContainers", "containers"] {
                for c in spec[list].as_array().into_iter().flatten() {
                    if container == "*" || c["name"] == container {
                        found = true;
                        containers.push(json!({"name": c["name"], "image": image, "list": list}));
                    }
                }
            }
            if !found {
                return Output::error(format!(
                    "error: unable to find container named \"{container}\""
                ));
            }
        }
        // The patch, nested at the pod spec's place: containers merged by name.
        let mut spec_patch = json!({});
        for c in containers {
            let list = c["list"].as_str().unwrap_or("containers").to_string();
            let entry = json!({"name": c["name"], "image": c["image"]});
            match spec_patch[&list].as_array_mut() {
                Some(items) => items.push(entry),
                None => spec_patch[&list] = json!([entry]),
            }
        }
        let mut patch = spec_patch;
        for key in pointer.trim_start_matches('/').split('/').rev() {
            patch = json!({ key: patch });
        }
        let patched = api.send(
            Request::new(Method::Patch, &path)
                .body("application/strategic-merge-patch+json", patch.to_string()),
        );
        if patched.code >= 400 {
            return server_error(&patched);
        }
        let rv = |v: &Value| v["metadata"]["resourceVersion"].clone();
        // kubectl reports only the objects it changed.
        if rv(&patched.value()) != rv(&obj) {
            out.stdout
                .push_str(&format!("{} image updated\n", object_ref(res, name)));
        }
    }
    out
}
