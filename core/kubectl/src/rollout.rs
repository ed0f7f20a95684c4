//! `kubectl rollout` for Deployments: `status` (where the rollout stands now, without
//! waiting), `history` (the ReplicaSets' revisions), `undo` (back to the previous revision or
//! `--to-revision`), `restart` (a new rollout by stamping the template).

use serde_json::{json, Value};

use super::args::Parsed;
use super::get::align_with;
use super::{object_ref, resolve, send, server_error, targets, Api, Output};
use apiserver::{Method, Request};
use client::{collection_path, object_path};

const REVISION: &str = "deployment.kubernetes.io/revision";

pub fn rollout(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let Some(sub) = rest.first().map(String::as_str) else {
        return Output::error(
            "error: rollout needs a subcommand: status, history, undo or restart",
        );
    };
    let (res, names) = match targets(&rest[1..]) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let Some(name) = names.first().copied() else {
        return Output::error("error: required resource not specified");
    };
    if res.kind != "Deployment" {
        return Output::error(format!(
            "error: no {} has been implemented for {}",
            if sub == "status" {
                "status viewer"
            } else {
                "rollbacker or history viewer"
            },
            res.kind
        ));
    }
    let path = object_path(res, Some(p.namespace()), name);
    let resp = send(api, Method::Get, &path);
    if resp.code >= 400 {
        return server_error(&resp);
    }
    let d = resp.value();
    match sub {
        "status" => status(&d, name),
        "history" => history(api, p, &d, name),
        "undo" => undo(api, p, &d, name, &path),
        "restart" => restart(api, &path, name),
        other => Output::error(format!(
            "error: unknown command \"{other}\" for \"kubectl rollout\""
        )),
    }
}

fn status(d: &Value, name: &str) -> Output {
    let n = |path: &str| d.pointer(path).and_then(Value::as_i64).unwrap_or(0);
    let (want, updated, total, available) = (
        n("/spec/replicas"),
        n("/status/updatedReplicas"),
        n("/status/replicas"),
        n("/status/availableReplicas"),
    );
    let text = if n("/metadata/generation") > n("/status/observedGeneration") {
        "Waiting for deployment spec update to be observed...".to_string()
    } else if updated < want {
        format!("Waiting for deployment \"{name}\" rollout to finish: {updated} out of {want} new replicas have been updated...")
    } else if total > updated {
        format!("Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...", total - updated)
    } else if available < updated {
        format!("Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available...")
    } else {
        format!("deployment \"{name}\" successfully rolled out")
    };
    Output::ok(text + "\n")
}

/// The Deployment's ReplicaSets by revision, oldest first.
fn revisions(api: &mut dyn Api, p: &Parsed, d: &Value) -> Result<Vec<(i64, Value)>, Output> {
    let Some(replicasets) = resolve("replicasets") else {
        return Err(Output::error("error: no replicasets resource"));
    };
    let resp = send(
        api,
        Method::Get,
        &collection_path(replicasets, Some(p.namespace())),
    );
    if resp.code >= 400 {
        return Err(server_error(&resp));
    }
    let uid = &d["metadata"]["uid"];
    let mut out: Vec<(i64, Value)> = resp.value()["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["uid"] == *uid && o["controller"] == true)
        })
        .filter_map(|rs| {
            let revision = rs["metadata"]["annotations"][REVISION]
                .as_str()?
                .parse()
                .ok()?;
            Some((revision, rs.clone()))
        })
        .collect();
    apimachinery::collections::sort_by_key(&mut out, |(r, _)| *r);
    Ok(out)
}

fn history(api: &mut dyn Api, p: &Parsed, d: &Value, name: &str) -> Output {
    let revisions = match revisions(api, p, d) {
        Ok(r) => r,
        Err(out) => return out,
    };
    let mut rows = vec![vec!["REVISION".to_string(), "CHANGE-CAUSE".to_string()]];
    for (revision, rs) in &revisions {
        let cause = rs["metadata"]["annotations"]["kubernetes.io/change-cause"]
            .as_str()
            .unwrap_or("<none>");
        rows.push(vec![revision.to_string(), cause.to_string()]);
    }
    let res = resolve("deployments").map_or(String::new(), |r| object_ref(r, name));
    Output::ok(format!("{res} \n{}\n", align_with(&rows, 2)))
}

fn undo(api: &mut dyn Api, p: &Parsed, d: &Value, name: &str, path: &str) -> Output {
    let revisions = match revisions(api, p, d) {
        Ok(r) => r,
        Err(out) => return out,
    };
    let current = d["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse::<i64>().ok())
        .unwrap_or(0);
    let wanted: i64 = match p.flag("to-revision").map(str::parse) {
        Some(Ok(r)) if r > 0 => r,
        Some(Ok(_)) | None => {
            // The newest revision before the current one.
            match revisions.iter().rev().find(|(r, _)| *r < current) {
                Some((r, _)) => *r,
                None => {
                    return Output::error(format!(
                        "error: no rollout history found for deployment \"{name}\""
                    ))
                }
            }
        }
        Some(Err(_)) => return Output::error("error: invalid --to-revision"),
    };
    let Some((_, rs)) = revisions.iter().find(|(r, _)| *r == wanted) else {
        return Output::error(format!(
            "error: unable to find specified revision {wanted} in history"
        ));
    };
    let res = resolve("deployments").map_or(String::new(), |r| object_ref(r, name));
    // The ReplicaSet's template without the label the controller added to it.
    let mut template = rs["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    if wanted == current {
        return Output::ok(format!(
            "{res} skipped rollback (current template already matches revision {wanted})\n"
        ));
    }
    let mut updated = d.clone();
    updated["spec"]["template"] = template;
    let resp = api.send(Request::new(Method::Put, path).json(&updated));
    if resp.code >= 400 {
        return server_error(&resp);
    }
    Output::ok(format!("{res} rolled back\n"))
}

fn restart(api: &mut dyn Api, path: &str, name: &str) -> Output {
    let now = api.now().rfc3339();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now
    }}}}});
    let resp = api.send(
        Request::new(Method::Patch, path)
            .body("application/strategic-merge-patch+json", patch.to_string()),
    );
    if resp.code >= 400 {
        return server_error(&resp);
    }
    let res = resolve("deployments").map_or(String::new(), |r| object_ref(r, name));
    Output::ok(format!("{res} restarted\n"))
}
