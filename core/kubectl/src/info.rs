//! What the cluster says about itself and about the user: `auth whoami`, `api-versions`,
//! `cluster-info`.

use serde_json::{json, Value};

use super::get::align;
use super::{send, server_error, Api, Output};
use apiserver::{Method, Request};

/// `auth whoami`: the user the server sees (a SelfSubjectReview), impersonation applied.
pub fn whoami(api: &mut dyn Api) -> Output {
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let resp = api.send(
        Request::new(
            Method::Post,
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        )
        .json(&review),
    );
    if resp.code >= 400 {
        return server_error(&resp);
    }
    let info = resp.value()["status"]["userInfo"].clone();
    let list = |v: &Value| {
        let items: Vec<&str> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        format!("[{}]", items.join(" "))
    };
    let mut rows = vec![
        vec!["ATTRIBUTE".to_string(), "VALUE".to_string()],
        vec![
            "Username".into(),
            info["username"].as_str().unwrap_or_default().into(),
        ],
    ];
    if let Some(uid) = info["uid"].as_str() {
        rows.push(vec!["UID".into(), uid.into()]);
    }
    rows.push(vec!["Groups".into(), list(&info["groups"])]);
    for (key, values) in info["extra"].as_object().into_iter().flatten() {
        rows.push(vec![format!("Extra: {key}"), list(values)]);
    }
    Output::ok(align(&rows))
}

/// `api-versions`: every group/version discovery lists, sorted.
pub fn api_versions(api: &mut dyn Api) -> Output {
    let (core, groups) = (
        send(api, Method::Get, "/api"),
        send(api, Method::Get, "/apis"),
    );
    for resp in [&core, &groups] {
        if resp.code >= 400 {
            return server_error(resp);
        }
    }
    let mut versions: Vec<String> = core.value()["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for group in groups.value()["groups"].as_array().into_iter().flatten() {
        for v in group["versions"].as_array().into_iter().flatten() {
            versions.extend(v["groupVersion"].as_str().map(str::to_string));
        }
    }
    apimachinery::collections::sort(&mut versions);
    Output::ok(
        versions
            .iter()
            .map(|v| format!("{v}\n"))
            .collect::<String>(),
    )
}

/// `cluster-info`: where the control plane runs — here, in the page itself.
pub fn cluster_info() -> Output {
    Output::ok(
        "Kubernetes control plane is running in this browser tab (the page is the API server)\n\nTo further debug and diagnose cluster problems, use 'kubectl get events -A' and 'kubectl describe'.\n",
    )
}
