//! `kubectl exec POD [-c CONTAINER] -- COMMAND [ARGS…]`: the command runs in the container
//! (`pods/exec`); what it wrote is printed, and a failing command's exit code is kubectl's.

use super::args::Parsed;
use super::{send, server_error, Api, Output};
use apiserver::{Method, Request};

pub fn exec(api: &mut dyn Api, p: &Parsed) -> Output {
    let Some(dashes) = p.dashes else {
        return Output::error(
            "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead",
        );
    };
    let (before, command) = p.positional.split_at(dashes);
    let pod = match before.get(1).map(String::as_str) {
        Some(name) => name
            .strip_prefix("pod/")
            .or(name.strip_prefix("pods/"))
            .unwrap_or(name),
        None => return Output::error("error: pod, type/name or --filename must be specified"),
    };
    if command.is_empty() {
        return Output::error("error: you must specify at least one command for the container");
    }
    if p.has("stdin") || p.has("tty") {
        return Output::error(
            "error: this terminal has no interactive sessions: run the command without -i/-t",
        );
    }
    let ns = p.namespace();
    let path = format!("/api/v1/namespaces/{ns}/pods/{pod}");
    let resp = send(api, Method::Get, &path);
    if resp.code >= 400 {
        return server_error(&resp);
    }
    let obj = resp.value();
    let phase = obj["status"]["phase"].as_str().unwrap_or_default();
    if matches!(phase, "Succeeded" | "Failed") {
        return Output::error(format!(
            "error: cannot exec into a container in a completed pod; current phase is {phase}"
        ));
    }
    let names: Vec<&str> = obj["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let mut out = Output::default();
    let container = match p.flag("container") {
        Some(c) => c.to_string(),
        None => {
            let default = obj["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"]
                .as_str()
                .or(names.first().copied())
                .unwrap_or_default();
            if names.len() > 1 {
                out.stderr = format!(
                    "Defaulted container \"{default}\" out of: {}\n",
                    names.join(", ")
                );
            }
            default.to_string()
        }
    };
    let mut query = format!("container={}&stdout=true&stderr=true", encode(&container));
    for word in command {
        query.push_str(&format!("&command={}", encode(word)));
    }
    let resp = api.send(Request::new(Method::Post, &format!("{path}/exec?{query}")));
    if resp.code >= 400 {
        let mut failed = server_error(&resp);
        failed.stderr = format!("{}{}", out.stderr, failed.stderr);
        return failed;
    }
    let answer = resp.value();
    out.stdout = answer["stdout"].as_str().unwrap_or_default().to_string();
    out.stderr
        .push_str(answer["stderr"].as_str().unwrap_or_default());
    let code = answer["exitCode"].as_i64().unwrap_or(0) as i32;
    if code != 0 {
        out.stderr
            .push_str(&format!("command terminated with exit code {code}"));
        out.code = code;
    }
    out
}

/// A query value, percent-encoded (everything but unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
