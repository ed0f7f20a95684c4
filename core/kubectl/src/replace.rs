//! `kubectl replace -f -`: each document of the manifest put in place of the object it names
//! (`deployment.apps/web replaced`); one that does not exist is the server's NotFound.

use serde_json::Value;

use super::args::Parsed;
use super::{object_ref, Api, Output};
use apiserver::{registry, Method, Request};
use client::object_path;

pub fn replace(api: &mut dyn Api, p: &Parsed, stdin: &str) -> Output {
    if p.flag("filename") != Some("-") {
        return Output::error(
            "error: must specify -f - (the terminal has no files: use `replace -f - <<EOF` … `EOF`)",
        );
    }
    let mut out = Output::default();
    for doc in apimachinery::yaml::documents(stdin) {
        let obj = match doc {
            Ok(Value::Null) => continue,
            Ok(obj) => obj,
            Err(e) => {
                out.stderr
                    .push_str(&format!("error: error parsing manifest: {e}\n"));
                out.code = 1;
                break;
            }
        };
        let (api_version, kind) = (
            obj["apiVersion"].as_str().unwrap_or_default(),
            obj["kind"].as_str().unwrap_or_default(),
        );
        let Some(res) = registry::find_kind(api_version, kind) else {
            out.stderr.push_str(&format!(
                "error: no matches for kind \"{kind}\" in version \"{api_version}\"\n"
            ));
            out.code = 1;
            continue;
        };
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or(p.namespace());
        let ns = res.namespaced.then_some(ns);
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let resp = api.send(Request::new(Method::Put, &object_path(res, ns, name)).json(&obj));
        if resp.code >= 400 {
            let body = resp.value();
            out.stderr.push_str(&format!(
                "Error from server ({}): error when replacing \"STDIN\": {}\n",
                body["reason"].as_str().unwrap_or_default(),
                body["message"].as_str().unwrap_or_default()
            ));
            out.code = 1;
        } else {
            out.stdout
                .push_str(&format!("{} replaced\n", object_ref(res, name)));
        }
    }
    out
}
