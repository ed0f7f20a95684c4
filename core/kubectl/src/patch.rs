//! `kubectl patch TYPE NAME -p PATCH [--type strategic|merge|json]`: the patch (JSON or YAML)
//! sent as the server takes it; `patched`, or `patched (no change)` when the object stayed as
//! it was.

use super::args::Parsed;
use super::{object_ref, send, server_error, targets, Api, Output};
use apiserver::{Method, Request};
use client::object_path;

pub fn patch(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (res, names) = match targets(rest) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let [name] = names.as_slice() else {
        return Output::error(
            "error: patch needs one resource and one name: kubectl patch TYPE NAME -p PATCH",
        );
    };
    let Some(text) = p.flag("patch") else {
        return Output::error(
            "error: must specify --patch or --patch-file containing the contents of the patch",
        );
    };
    let content_type = match p.flag("type").unwrap_or("strategic") {
        "strategic" => "application/strategic-merge-patch+json",
        "merge" => "application/merge-patch+json",
        "json" => "application/json-patch+json",
        other => {
            return Output::error(format!(
                "error: --type must be one of [json merge strategic], not {other:?}"
            ))
        }
    };
    let body = match apimachinery::yaml::from_str(text) {
        Ok(v) => v.to_string(),
        Err(e) => return Output::error(format!("error: unable to parse {text:?}: {e}")),
    };
    let ns = res.namespaced.then(|| p.namespace().to_string());
    let path = object_path(res, ns.as_deref(), name);
    let before = send(api, Method::Get, &path);
    if before.code >= 400 {
        return server_error(&before);
    }
    let after = api.send(Request::new(Method::Patch, &path).body(content_type, body));
    if after.code >= 400 {
        return server_error(&after);
    }
    let rv = |v: serde_json::Value| v["metadata"]["resourceVersion"].clone();
    let what = if rv(before.value()) == rv(after.value()) {
        "patched (no change)"
    } else {
        "patched"
    };
    Output::ok(format!("{} {what}\n", object_ref(res, name)))
}
