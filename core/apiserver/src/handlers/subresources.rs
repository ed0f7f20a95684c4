//! The `scale`, `binding`, `eviction`, `log` and `exec` subresources.

use super::*;

/// The `autoscaling/v1` Scale view of a workload.
pub(super) fn scale_of(res: &Resource, obj: &Value) -> Value {
    let selector = Selector::from_label_selector(&obj["spec"]["selector"])
        .map(|s| s.to_string())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
            "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(if res.kind == "DaemonSet" { 0 } else { 1 })},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

pub(super) fn update_scale(
    s: &mut ApiServer,
    scope: &Scope,
    scale: &Value,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let Scope {
        res, ns, name, req, ..
    } = *scope;
    let mut obj = get_object(s, res, ns, name)?;
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas < 0 {
        return Err(ApiError::Invalid {
            group: "autoscaling".into(),
            kind: "Scale.autoscaling".into(),
            name: name.into(),
            causes: vec![crate::status::FieldError::invalid(
                "spec.replicas",
                replicas,
                "must be greater than or equal to 0",
            )],
        });
    }
    if let Some(rv) = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        obj["metadata"]["resourceVersion"] = json!(rv);
    }
    obj["spec"]["replicas"] = json!(replicas);
    let plain = Request {
        accept: None,
        ..req.clone()
    };
    let whole = Scope {
        sub: None,
        req: &plain,
        ..*scope
    };
    let updated = update(s, &whole, obj, Fields::Update, None, record)?;
    let scale = scale_of(res, &updated.value());
    Ok(Response::json(200, &scale))
}

/// `pods/binding`: the scheduler's decision. Sets `spec.nodeName` once, and the
/// `PodScheduled` condition.
pub(super) fn bind(
    s: &mut ApiServer,
    user: &UserInfo,
    ns: &str,
    pod_name: &str,
    binding: &Value,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    // A Binding goes through admission and validation like any create.
    let mut b = binding.clone();
    meta::metadata_mut(&mut b).insert("namespace".into(), json!(ns));
    meta::metadata_mut(&mut b).insert("name".into(), json!(pod_name));
    let attrs = admission::Attributes {
        operation: Operation::Create,
        kind: "Binding",
        resource: "pods",
        subresource: "binding",
        namespace: ns,
        name: pod_name,
        user,
        old: None,
    };
    let mut outcomes = Vec::new();
    let mutated =
        admission::run_mutating(&attrs, &mut b, &s.store, &mut outcomes, s.admission_patches);
    record.stages.extend(outcomes.drain(..).map(|o| Stage {
        patch: o.patch,
        ..stage(&format!("admission/mutating/{}", o.plugin), &o.outcome)
    }));
    mutated?;
    let errs = validation::validate_create("Binding", &b, true);
    if !errs.is_empty() {
        return Err(ApiError::Invalid {
            group: String::new(),
            kind: "Binding".into(),
            name: pod_name.into(),
            causes: errs,
        });
    }
    record.stages.push(stage("validation", "valid"));
    let validated = admission::run_validating(&attrs, &b, &s.store, &mut outcomes);
    record.stages.extend(
        outcomes
            .drain(..)
            .map(|o| stage(&format!("admission/validating/{}", o.plugin), &o.outcome)),
    );
    validated?;
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let pods = registry::find("", "v1", "pods").ok_or(ApiError::NoRoute)?;
    let key = pods.key(Some(ns), pod_name);
    let kv = s
        .store
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(pods, pod_name))?;
    let mut pod = ApiServer::decode(&kv)?;
    if apimachinery::api::meta::is_being_deleted(&pod) {
        return Err(ApiError::Conflict {
            group: String::new(),
            resource: "pods".into(),
            name: pod_name.into(),
            detail: "pod is being deleted, cannot be assigned to a host".into(),
        });
    }
    let current = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !current.is_empty() {
        return Err(ApiError::Conflict {
            group: String::new(),
            resource: "pods/binding".into(),
            name: pod_name.into(),
            detail: format!("pod {pod_name} is already assigned to node \"{current}\""),
        });
    }
    pod["spec"]["nodeName"] = json!(node);
    let now = s.now.rfc3339();
    let conditions = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut conditions: Vec<Value> = conditions
        .into_iter()
        .filter(|c| c["type"] != "PodScheduled")
        .collect();
    conditions.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
    pod["status"]["conditions"] = Value::Array(conditions);
    let put = Op::Put {
        key: key.clone(),
        value: store_object(&pod)?,
    };
    let Some(revision) = write_if_unmodified(s, &key, kv.mod_revision, put) else {
        return Err(conflict(pods, pod_name));
    };
    if s.dry_run {
        record.stages.push(stage("storage", "dry run: not bound"));
    } else {
        record.resource_version = Some(revision);
        record.stages.push(stage(
            "storage",
            &format!("bound {ns}/{pod_name} to {node} at revision {}", revision),
        ));
    }
    Ok(Response::json(
        201,
        &success_status(json!({"name": pod_name, "kind": "pods"})),
    ))
}

/// `pods/eviction` (policy/v1 `Eviction`): a delete that respects PodDisruptionBudgets —
/// refused with 429 while a budget that selects the pod allows no disruption.
pub(super) fn evict(
    s: &mut ApiServer,
    ns: &str,
    name: &str,
    eviction: &Value,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let pods = registry::find("", "v1", "pods").ok_or(ApiError::NoRoute)?;
    let pod = get_object(s, pods, Some(ns), name)?;
    let pdbs = registry::find("policy", "v1", "poddisruptionbudgets").ok_or(ApiError::NoRoute)?;
    for kv in s.store.range(&pdbs.key_prefix(Some(ns)), None, 0).kvs {
        let pdb = ApiServer::decode(&kv)?;
        let selects = Selector::from_label_selector(&pdb["spec"]["selector"])
            .is_ok_and(|sel| sel.matches(&pod));
        if selects && pdb["status"]["disruptionsAllowed"].as_i64() == Some(0) {
            record.stages.push(stage(
                "admission/validating/PodDisruptionBudget",
                &format!("denied by {}", meta::name(&pdb)),
            ));
            return Err(ApiError::TooManyRequests {
                message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
            });
        }
    }
    let options = &eviction["deleteOptions"];
    let opts = DeleteOptions {
        grace: options["gracePeriodSeconds"].as_i64(),
        propagation: "Background".into(),
        uid: options
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        resource_version: None,
    };
    delete_one(s, pods, Some(ns), name, &opts, record)?;
    Ok(Response::json(
        201,
        &success_status(json!({"name": name, "kind": "pods"})),
    ))
}

/// `GET pods/<name>/log`: checked as kube-apiserver's `LogLocation` checks it, then handed to
/// the pod's kubelet (the answer's [`Delegated`](crate::Delegated)).
pub(super) fn pod_log(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    name: &str,
    query: &Query,
) -> Result<Response, ApiError> {
    let (node, container) = pod_container(s, res, ns, name, query)?;
    let mut answer = Response::raw(200, "text/plain", Vec::new());
    answer.delegated = Some(crate::Delegated::Logs {
        node,
        namespace: ns.unwrap_or_default().to_string(),
        pod: name.to_string(),
        container,
    });
    Ok(answer)
}

/// The node and container a pod's `log` or `exec` names (`container`, or the only one), as
/// kube-apiserver checks them before it asks the kubelet.
fn pod_container(
    s: &ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    name: &str,
    query: &Query,
) -> Result<(String, String), ApiError> {
    let pod = get_object(s, res, ns, name)?;
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let container = match query.get("container").filter(|c| !c.is_empty()) {
        Some(c) if names.contains(&c) => c.to_string(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )))
        }
        None if names.len() == 1 => names[0].to_string(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )))
        }
    };
    let node = apimachinery::api::pod::Pod(&pod)
        .node_name()
        .unwrap_or_default();
    if node.is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    Ok((node.to_string(), container))
}

/// `pods/exec`: a command in a container, answered by the pod's kubelet (a stream through
/// the door; one answer to an in-process caller). stdin and a terminal are not offered.
pub(super) fn pod_exec(s: &mut ApiServer, scope: &Scope) -> Result<Response, ApiError> {
    let Scope {
        res,
        ns,
        name,
        query,
        ..
    } = *scope;
    let command: Vec<String> = query
        .get_all("command")
        .into_iter()
        .map(str::to_string)
        .collect();
    if command.is_empty() {
        return Err(ApiError::bad_request("you must specify at least 1 command"));
    }
    if query.flag("stdin") || query.flag("tty") {
        return Err(ApiError::bad_request(
            "interactive exec (stdin, tty) is not offered by this cluster: run a command without -i/-t",
        ));
    }
    let (node, container) = pod_container(s, res, ns, name, query)?;
    let mut answer = Response::raw(200, "application/json", Vec::new());
    answer.delegated = Some(crate::Delegated::Exec {
        node,
        namespace: ns.unwrap_or_default().to_string(),
        pod: name.to_string(),
        container,
        command,
    });
    Ok(answer)
}
