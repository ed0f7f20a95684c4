//! `kubectl apply -f -`: every document of a manifest is created when absent, else merged
//! into the live object (a JSON merge patch — client-side apply without the
//! last-applied bookkeeping), and reported as kubectl does: `deployment.apps/web created`,
//! `configured` or `unchanged`. With `--server-side`, the API server merges it (an apply
//! patch owned by the field manager `kubectl`): `serverside-applied`. The page's manifest
//! editor applies through the same code.

use serde_json::Value;

use super::args::Parsed;
use super::{object_ref, Api, Output};
use apiserver::{registry, Method, Request};
use client::{collection_path, object_path};

/// Why a document was not applied: the server's `Status` reason (empty when the client
/// refused it) and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError {
    pub reason: String,
    pub message: String,
    /// The server refused a create (kubectl: "error when creating").
    pub creating: bool,
}

/// Who merges an applied manifest into the live objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Merge {
    /// kubectl: create, or a merge patch.
    ClientSide,
    /// The API server, for this field manager; `force` takes fields from other managers.
    ServerSide { manager: String, force: bool },
}

/// Applies each document of `yaml` (objects without a namespace go to `namespace`); one
/// result per document.
pub fn apply_manifest(
    api: &mut dyn Api,
    yaml: &str,
    namespace: &str,
) -> Vec<Result<String, ApplyError>> {
    apply_manifest_by(api, yaml, namespace, &Merge::ClientSide)
}

pub fn apply_manifest_by(
    api: &mut dyn Api,
    yaml: &str,
    namespace: &str,
    merge: &Merge,
) -> Vec<Result<String, ApplyError>> {
    let mut out = Vec::new();
    for doc in apimachinery::yaml::documents(yaml) {
        match doc {
            Ok(Value::Null) => {}
            Ok(obj) => out.push(apply_object(api, obj, namespace, merge)),
            Err(e) => {
                out.push(Err(ApplyError {
                    creating: false,
                    reason: String::new(),
                    message: format!("error parsing manifest: {e}"),
                }));
                // The parser cannot go on past a broken document.
                break;
            }
        }
    }
    out
}

fn apply_object(
    api: &mut dyn Api,
    obj: Value,
    namespace: &str,
    merge: &Merge,
) -> Result<String, ApplyError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let res = registry::find_kind(api_version, kind).ok_or_else(|| ApplyError {
        creating: false,
        reason: String::new(),
        message: format!(
            "resource mapping not found for name: {:?} namespace: \"\" from \"STDIN\": no matches for kind \"{kind}\" in version \"{api_version}\"",
            obj["metadata"]["name"].as_str().unwrap_or_default()
        ),
    })?;
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(namespace)
        .to_string();
    let ns = res.namespaced.then_some(ns.as_str());
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let failed = |resp: &apiserver::Response| {
        let body = resp.value();
        ApplyError {
            creating: false,
            reason: body["reason"].as_str().unwrap_or_default().to_string(),
            message: body["message"]
                .as_str()
                .unwrap_or("request failed")
                .to_string(),
        }
    };
    if let Merge::ServerSide { manager, force } = merge {
        let path = format!(
            "{}?fieldManager={manager}&force={force}",
            object_path(res, ns, name)
        );
        let applied = api.send(
            Request::new(Method::Patch, &path)
                .body("application/apply-patch+yaml", obj.to_string()),
        );
        if applied.code >= 400 {
            return Err(failed(&applied));
        }
        return Ok(format!("{} serverside-applied", object_ref(res, name)));
    }
    let existing = api.send(Request::new(Method::Get, &object_path(res, ns, name)));
    let verb = if existing.code == 404 || name.is_empty() {
        let created = api.send(Request::new(Method::Post, &collection_path(res, ns)).json(&obj));
        if created.code >= 400 {
            return Err(ApplyError {
                creating: true,
                ..failed(&created)
            });
        }
        "created"
    } else {
        let patch = Request::new(Method::Patch, &object_path(res, ns, name))
            .body("application/merge-patch+json", obj.to_string());
        let patched = api.send(patch);
        if patched.code >= 400 {
            return Err(failed(&patched));
        }
        let rv = |v: Value| v["metadata"]["resourceVersion"].clone();
        if rv(patched.value()) == rv(existing.value()) {
            "unchanged"
        } else {
            "configured"
        }
    };
    Ok(format!("{} {verb}", object_ref(res, name)))
}

/// What kubectl adds to a server-side apply's conflict.
const CONFLICT_HELP: &str =
    "Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts";

/// The verb: `kubectl apply -f -` with the manifest on standard input.
pub fn apply(api: &mut dyn Api, p: &Parsed, stdin: &str) -> Output {
    match p.flag("filename") {
        Some("-") => {}
        Some(file) => {
            return Output::error(format!(
                "error: the path \"{file}\" does not exist (the terminal has no files: use `-f -` with a heredoc, or the editor)"
            ))
        }
        None => {
            return Output::error(
                "error: must specify one of -f and -k\n\nUse `kubectl apply -f - <<EOF` … `EOF`, or the manifest editor.",
            )
        }
    }
    if stdin.trim().is_empty() {
        return Output::error("error: no objects passed to apply");
    }
    let merge = if p.flag("server-side").is_some_and(|v| v != "false") {
        Merge::ServerSide {
            manager: p.flag("field-manager").unwrap_or("kubectl").to_string(),
            force: p.flag("force-conflicts").is_some_and(|v| v != "false"),
        }
    } else {
        Merge::ClientSide
    };
    let mut out = Output::default();
    for result in apply_manifest_by(api, stdin, p.namespace(), &merge) {
        match result {
            Ok(line) => {
                out.stdout.push_str(&line);
                out.stdout.push('\n');
            }
            Err(e) => {
                let line = if e.reason == "Conflict" && e.message.starts_with("Apply failed") {
                    format!("error: {}\n{CONFLICT_HELP}", e.message)
                } else if e.reason.is_empty() {
                    format!("error: {}", e.message)
                } else {
                    let verb = if e.creating { "creating" } else { "applying" };
                    format!(
                        "Error from server ({}): error when {verb} \"STDIN\": {}",
                        e.reason, e.message
                    )
                };
                out.stderr.push_str(&line);
                out.stderr.push('\n');
                out.code = 1;
            }
        }
    }
    out
}
