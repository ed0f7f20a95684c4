//! delete and deletecollection: options (grace period, preconditions, propagation
//! policy), graceful deletion, finalizers.

use super::*;

/// The options of a delete, from the body (`DeleteOptions`) and the query.
pub(super) struct DeleteOptions {
    pub(super) grace: Option<i64>,
    pub(super) propagation: String,
    pub(super) uid: Option<String>,
    pub(super) resource_version: Option<String>,
}

pub(super) fn delete_options(req: &Request, query: &Query) -> Result<DeleteOptions, ApiError> {
    let body: Value = if !req.has_body() {
        json!({})
    } else {
        decode_body(req)?
    };
    let grace = body["gracePeriodSeconds"]
        .as_i64()
        .or_else(|| query.get("gracePeriodSeconds").and_then(|g| g.parse().ok()));
    let mut propagation = body["propagationPolicy"]
        .as_str()
        .or(query.get("propagationPolicy"))
        .unwrap_or("Background")
        .to_string();
    if body["orphanDependents"] == json!(true) {
        propagation = "Orphan".into();
    }
    if !["Background", "Foreground", "Orphan"].contains(&propagation.as_str()) {
        return Err(ApiError::Invalid {
            group: "meta.k8s.io".into(),
            kind: "DeleteOptions.meta.k8s.io".into(),
            name: String::new(),
            causes: vec![crate::status::FieldError::not_supported(
                "propagationPolicy",
                propagation.as_str(),
                &["Foreground", "Background", "Orphan"],
            )],
        });
    }
    Ok(DeleteOptions {
        grace,
        propagation,
        uid: body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        resource_version: body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

pub(super) fn delete(
    s: &mut ApiServer,
    scope: &Scope,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let opts = delete_options(scope.req, scope.query)?;
    delete_one(s, scope.res, scope.ns, scope.name, &opts, record)
}

pub(super) fn delete_one(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let key = res.key(ns, name);
    let kv = s
        .store
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(res, name))?;
    let obj = ApiServer::decode(&kv)?;
    check_preconditions(res, name, &obj, kv.mod_revision, opts)?;
    let mut finalizers: Vec<Value> = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let add = match opts.propagation.as_str() {
        "Foreground" => Some("foregroundDeletion"),
        "Orphan" => Some("orphan"),
        _ => None,
    };
    if let Some(f) = add {
        if !finalizers.contains(&json!(f)) {
            finalizers.push(json!(f));
        }
    }
    let pod_grace = pod_grace(res, &obj, opts);
    // A namespace waits for the namespace controller to empty it (`spec.finalizers`).
    let namespace_finalizers = res.kind == "Namespace" && !no_finalizers(&obj, "/spec/finalizers");
    let graceful = !finalizers.is_empty() || pod_grace.is_some() || namespace_finalizers;
    let target = Target {
        res,
        name,
        key: &key,
        mod_revision: kv.mod_revision,
    };
    let response_object = if graceful {
        let marks = Marks {
            finalizers,
            grace: pod_grace.unwrap_or(0),
            terminating_namespace: namespace_finalizers,
        };
        mark_for_deletion(s, &target, obj, marks, opts, record)?
    } else {
        remove(s, &target, opts, record)?;
        obj
    };
    if res.kind == "Pod" || graceful {
        return Ok(Response::json(200, &response_object));
    }
    let mut details = json!({"name": name, "kind": res.name, "uid": meta::uid(&response_object)});
    if !res.group.is_empty() {
        details["group"] = json!(res.group);
    }
    Ok(Response::json(200, &success_status(details)))
}

/// The object a delete is about, as read.
struct Target<'a> {
    res: &'static Resource,
    name: &'a str,
    key: &'a str,
    mod_revision: i64,
}

/// What a graceful delete writes onto the object.
struct Marks {
    finalizers: Vec<Value>,
    grace: i64,
    terminating_namespace: bool,
}

/// The delete's `preconditions` (uid, resourceVersion) against the stored object.
fn check_preconditions(
    res: &'static Resource,
    name: &str,
    obj: &Value,
    mod_revision: i64,
    opts: &DeleteOptions,
) -> Result<(), ApiError> {
    let failed = |detail: String| ApiError::Conflict {
        group: res.group.into(),
        resource: res.qualified_name(),
        name: name.into(),
        detail,
    };
    if let Some(uid) = &opts.uid {
        if uid != meta::uid(obj) {
            return Err(failed(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta::uid(obj)
            )));
        }
    }
    if let Some(rv) = &opts.resource_version {
        if *rv != mod_revision.to_string() {
            return Err(failed(format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {mod_revision}")));
        }
    }
    Ok(())
}

/// A bound, running pod is deleted gracefully: the kubelet stops it, then removes it.
fn pod_grace(res: &'static Resource, obj: &Value, opts: &DeleteOptions) -> Option<i64> {
    if res.kind != "Pod" {
        return None;
    }
    let bound = !obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty();
    let terminal = matches!(
        obj.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    let grace = opts.grace.unwrap_or_else(|| {
        obj.pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30)
    });
    (bound && !terminal && grace > 0).then_some(grace)
}

/// Sets `deletionTimestamp` (and the finalizers the propagation asks for); the object as
/// stored, or as it would be on a dry run.
fn mark_for_deletion(
    s: &mut ApiServer,
    target: &Target,
    mut obj: Value,
    marks: Marks,
    opts: &DeleteOptions,
    record: &mut AuditEvent,
) -> Result<Value, ApiError> {
    let key = target.key;
    if apimachinery::api::meta::is_being_deleted(&obj) {
        record
            .stages
            .push(stage("storage", "already being deleted"));
        return Ok(obj);
    }
    let grace = marks.grace;
    let m = meta::metadata_mut(&mut obj);
    m.insert(
        "deletionTimestamp".into(),
        json!(s.now.plus_secs(grace).rfc3339()),
    );
    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
    if !marks.finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(marks.finalizers));
    }
    if marks.terminating_namespace {
        obj["status"]["phase"] = json!("Terminating");
    }
    let put = Op::Put {
        key: key.to_string(),
        value: store_object(&obj)?,
    };
    let Some(revision) = write_if_unmodified(s, key, target.mod_revision, put) else {
        return Err(conflict(target.res, target.name));
    };
    if s.dry_run {
        record.stages.push(stage(
            "storage",
            &format!("dry run: {key} not marked for deletion"),
        ));
        return Ok(obj);
    }
    record.resource_version = Some(revision);
    record.stages.push(stage(
        "storage",
        &format!(
            "marked {key} for deletion (propagationPolicy={}, grace {grace}s) at revision {}",
            opts.propagation, revision
        ),
    ));
    ApiServer::decode(
        s.store
            .get(key)
            .ok_or_else(|| ApiError::internal("object vanished"))?,
    )
}

/// Removes the object from the store (unless a dry run).
fn remove(
    s: &mut ApiServer,
    target: &Target,
    opts: &DeleteOptions,
    record: &mut AuditEvent,
) -> Result<(), ApiError> {
    let key = target.key;
    let delete = Op::Delete {
        key: key.to_string(),
    };
    let Some(revision) = write_if_unmodified(s, key, target.mod_revision, delete) else {
        return Err(conflict(target.res, target.name));
    };
    if s.dry_run {
        record
            .stages
            .push(stage("storage", &format!("dry run: {key} not deleted")));
    } else {
        record.resource_version = Some(revision);
        record.stages.push(stage(
            "storage",
            &format!(
                "deleted {key} (propagationPolicy={}) at revision {}",
                opts.propagation, revision
            ),
        ));
    }
    Ok(())
}

pub(super) fn delete_collection(
    s: &mut ApiServer,
    scope: &Scope,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let Scope {
        res,
        ns,
        req,
        query,
        ..
    } = *scope;
    let opts = delete_options(req, query)?;
    let (label, field) =
        crate::request::from_query(res.kind, query).map_err(ApiError::bad_request)?;
    let names: Vec<(Option<String>, String)> = s
        .store
        .range(&res.key_prefix(ns), None, 0)
        .kvs
        .iter()
        .filter_map(|kv| ApiServer::decode(kv).ok())
        .filter(|o| label.matches(o) && field.matches(res.kind, o))
        .map(|o| {
            (
                Some(meta::namespace(&o).to_string()).filter(|n| !n.is_empty()),
                meta::name(&o).to_string(),
            )
        })
        .collect();
    let mut items = Vec::new();
    for (ns, name) in names {
        let r = delete_one(s, res, ns.as_deref(), &name, &opts, record)?;
        items.push(r.value());
    }
    Ok(Response::json(
        200,
        &json!({"kind": format!("{}List", res.kind), "apiVersion": res.api_version(), "metadata": {"resourceVersion": s.store.revision().to_string()}, "items": items}),
    ))
}
