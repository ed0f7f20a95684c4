//! The generators: `create namespace|deployment|configmap|secret generic|service clusterip`,
//! `run` and `expose` build the object kubectl's generators build and create it, reporting
//! as kubectl does (`deployment.apps/web created`, `service/web exposed`).

use base64::Engine;
use serde_json::{json, Map, Value};

use super::args::Parsed;
use super::{object_ref, resolve, server_error, Api, Output};
use apiserver::{Method, Request};
use client::{collection_path, object_path};

fn post(api: &mut dyn Api, p: &Parsed, obj: Value, done: &str) -> Output {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let Some(res) = resolve(kind) else {
        return Output::error(format!("error: no resource for {kind}"));
    };
    let ns = res.namespaced.then(|| p.namespace().to_string());
    let resp =
        api.send(Request::new(Method::Post, &collection_path(res, ns.as_deref())).json(&obj));
    if resp.code >= 400 {
        return server_error(&resp);
    }
    let name = resp.value()["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Output::ok(format!("{} {done}\n", object_ref(res, &name)))
}

/// `k=v` pairs of a repeated flag, as a JSON object.
fn pairs(values: &[&str], flag: &str) -> Result<Map<String, Value>, Output> {
    let mut out = Map::new();
    for v in values {
        let Some((k, val)) = v.split_once('=') else {
            return Err(Output::error(format!(
                "error: invalid {flag}: {v:?}, expected key=value"
            )));
        };
        out.insert(k.to_string(), json!(val));
    }
    Ok(out)
}

/// A container's name from its image, as kubectl derives it (`registry/nginx:1.27` → `nginx`).
fn container_name(image: &str) -> String {
    let base = image.rsplit('/').next().unwrap_or(image);
    let base = base.split(['@', ':']).next().unwrap_or(base);
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

pub fn create(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let what: Vec<&str> = rest.iter().map(String::as_str).collect();
    match what.as_slice() {
        ["namespace" | "ns", name] => post(
            api,
            p,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
            "created",
        ),
        ["deployment" | "deploy", name] => deployment(api, p, name),
        ["configmap" | "cm", name] => {
            let data = match pairs(&p.flag_all("from-literal"), "--from-literal") {
                Ok(d) => d,
                Err(out) => return out,
            };
            let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
            post(api, p, obj, "created")
        }
        ["secret", "generic", name] => {
            let mut data = match pairs(&p.flag_all("from-literal"), "--from-literal") {
                Ok(d) => d,
                Err(out) => return out,
            };
            for v in data.values_mut() {
                let text = v.as_str().unwrap_or_default();
                *v = json!(base64::engine::general_purpose::STANDARD.encode(text));
            }
            let obj = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "data": data});
            post(api, p, obj, "created")
        }
        ["service" | "svc", "clusterip", name] => {
            let ports = match tcp_ports(p) {
                Ok(ports) => ports,
                Err(out) => return out,
            };
            let obj = json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "labels": {"app": name}},
                "spec": {"type": "ClusterIP", "selector": {"app": name}, "ports": ports}});
            post(api, p, obj, "created")
        }
        _ => Output::error(
            "error: this terminal creates: namespace NAME, deployment NAME --image=IMAGE, configmap NAME --from-literal=k=v, secret generic NAME --from-literal=k=v, service clusterip NAME --tcp=PORT[:TARGET]",
        ),
    }
}

fn deployment(api: &mut dyn Api, p: &Parsed, name: &str) -> Output {
    let images = p.flag_all("image");
    if images.is_empty() {
        return Output::error("error: required flag(s) \"image\" not set");
    }
    let replicas: i64 = match p.flag("replicas").unwrap_or("1").parse() {
        Ok(n) => n,
        Err(_) => return Output::error("error: invalid argument for \"--replicas\" flag"),
    };
    let mut containers: Vec<Value> = images
        .iter()
        .map(|image| json!({"name": container_name(image), "image": image, "resources": {}}))
        .collect();
    if let (Some(port), Some(first)) = (p.flag("port"), containers.first_mut()) {
        let Ok(port) = port.parse::<i64>() else {
            return Output::error("error: invalid argument for \"--port\" flag");
        };
        first["ports"] = json!([{"containerPort": port}]);
    }
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "strategy": {},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}});
    post(api, p, obj, "created")
}

/// `--tcp=80:8080` (port, target port), repeated.
fn tcp_ports(p: &Parsed) -> Result<Vec<Value>, Output> {
    let mut ports = Vec::new();
    for spec in p.flag_all("tcp") {
        let (port, target) = spec.split_once(':').unwrap_or((spec, spec));
        let (Ok(port), Ok(target)) = (port.parse::<i64>(), target.parse::<i64>()) else {
            return Err(Output::error(format!(
                "error: invalid --tcp {spec:?}: want PORT[:TARGET]"
            )));
        };
        ports.push(json!({"name": format!("{port}-{target}"), "protocol": "TCP", "port": port, "targetPort": target}));
    }
    if ports.is_empty() {
        return Err(Output::error("error: at least one --tcp port is required"));
    }
    Ok(ports)
}

/// `run NAME --image=IMAGE [--env=K=V]… [--port=P] [--labels=k=v,…] [--restart=Never]
/// [-- COMMAND ARGS…]`: a Pod labelled `run=NAME`.
pub fn run(api: &mut dyn Api, p: &Parsed) -> Output {
    let before = p.dashes.unwrap_or(p.positional.len());
    let Some(name) = p.positional.get(1).filter(|_| before >= 2) else {
        return Output::error("error: NAME is required for run");
    };
    let Some(image) = p.flag("image") else {
        return Output::error("error: required flag(s) \"image\" not set");
    };
    let env: Vec<Value> = match pairs(&p.flag_all("env"), "--env") {
        Ok(m) => m
            .into_iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect(),
        Err(out) => return out,
    };
    let labels = match p.flag("labels") {
        Some(l) => match pairs(&l.split(',').collect::<Vec<_>>(), "--labels") {
            Ok(m) => Value::Object(m),
            Err(out) => return out,
        },
        None => json!({"run": name}),
    };
    let mut container = json!({"name": name, "image": image, "resources": {}});
    if !env.is_empty() {
        container["env"] = json!(env);
    }
    if let Some(port) = p.flag("port").and_then(|v| v.parse::<i64>().ok()) {
        container["ports"] = json!([{"containerPort": port}]);
    }
    let words = &p.positional[before..];
    if !words.is_empty() {
        let key = if p.has("command") { "command" } else { "args" };
        container[key] = json!(words);
    }
    let restart = p.flag("restart").unwrap_or("Always");
    let obj = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [container], "restartPolicy": restart, "dnsPolicy": "ClusterFirst"}});
    post(api, p, obj, "created")
}

/// `expose deployment|replicaset|pod|service NAME --port=P [--target-port=T] [--name=N]`:
/// a ClusterIP Service selecting what the workload selects.
pub fn expose(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (res, name) = match rest {
        [what] if what.contains('/') => {
            let (k, n) = what.split_once('/').unwrap_or_default();
            (resolve(k), n.to_string())
        }
        [kind, name, ..] => (resolve(kind), name.clone()),
        _ => {
            return Output::error(
                "error: you must provide one or more resources by argument or filename",
            )
        }
    };
    let Some(res) = res else {
        return Output::error("error: the server doesn't have that resource type");
    };
    let ns = res.namespaced.then(|| p.namespace().to_string());
    let got = api.send(Request::new(
        Method::Get,
        &object_path(res, ns.as_deref(), &name),
    ));
    if got.code >= 400 {
        return server_error(&got);
    }
    let obj = got.value();
    let selector = match res.kind {
        "Pod" => obj["metadata"]["labels"].clone(),
        "Service" => obj["spec"]["selector"].clone(),
        _ => obj["spec"]["selector"]["matchLabels"].clone(),
    };
    if selector.as_object().is_none_or(|m| m.is_empty()) {
        return Output::error(format!(
            "error: couldn't retrieve selectors via --selector flag or introspection: the {} has no labels to select",
            res.singular
        ));
    }
    let container_port =
        &obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"];
    let port = match p.flag("port").map(str::parse::<i64>) {
        Some(Ok(port)) => port,
        Some(Err(_)) => return Output::error("error: invalid --port"),
        None => match container_port.as_i64() {
            Some(port) => port,
            None => {
                return Output::error("error: couldn't find port via --port flag or introspection")
            }
        },
    };
    let target = match p.flag("target-port") {
        Some(t) => t.parse::<i64>().map_or(json!(t), |n| json!(n)),
        None => json!(port),
    };
    let service = p.flag("name").unwrap_or(&name).to_string();
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": service, "labels": obj["metadata"]["labels"]},
        "spec": {"ports": [{"port": port, "protocol": "TCP", "targetPort": target}], "selector": selector}});
    post(api, p, svc, "exposed")
}
