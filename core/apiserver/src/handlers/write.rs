//! create and update (patch included): admission, validation, the store's compare-and-swap,
//! and what a write sets on the way (managed fields, cluster IPs, finalizer-driven removal).

use super::*;

/// Whose fields a write changes: recorded as an Update by the request's field manager, or
/// already recorded by server-side apply.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Fields {
    Update,
    Applied,
}

/// The field manager a request names (`fieldManager`), or its component's.
pub(super) fn field_manager(scope: &Scope) -> Result<String, ApiError> {
    match scope.query.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) if m.chars().count() > 128 => Err(ApiError::bad_request(format!(
            "fieldManager: Too long: may not be more than 128 bytes: {m:?}"
        ))),
        Some(m) => Ok(m.to_string()),
        None => Ok(fieldmanager::default_manager(
            scope.user,
            scope.req.user_agent.as_deref(),
        )),
    }
}

pub(super) fn create(
    s: &mut ApiServer,
    scope: &Scope,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let obj = decode_body(scope.req)?;
    create_object(s, scope, obj, Fields::Update, record)
}

pub(super) fn create_object(
    s: &mut ApiServer,
    scope: &Scope,
    mut obj: Value,
    fields: Fields,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let Scope {
        res,
        ns,
        user,
        req,
        query,
        ..
    } = *scope;
    check_type(res, &mut obj)?;
    let meta_ns = meta::namespace(&obj).to_string();
    if let Some(ns) = ns {
        if !meta_ns.is_empty() && meta_ns != ns {
            return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
        }
        meta::metadata_mut(&mut obj).insert("namespace".into(), json!(ns));
    }
    if meta::name(&obj).is_empty() {
        if let Some(prefix) = obj
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .map(str::to_string)
        {
            // Retry a few suffixes: a clash is unlikely but possible.
            let name = (0..8)
                .map(|_| format!("{prefix}{}", s.rng.name_suffix()))
                .find(|n| s.store.get(&res.key(ns, n)).is_none())
                .unwrap_or_else(|| format!("{prefix}{}", s.rng.name_suffix()));
            meta::metadata_mut(&mut obj).insert("name".into(), json!(name));
        }
    }
    let mut warnings = Vec::new();
    let mut obj = normalize(res, obj, field_validation(query)?, &mut warnings)?;
    defaults::apply(res.kind, &mut obj);
    let uid = s.rng.uuid();
    strategy::prepare_for_create(res, &mut obj, s.now, uid);
    if fields == Fields::Update {
        let manager = field_manager(scope)?;
        fieldmanager::update(res, "", None, &mut obj, &manager, s.now);
    }
    if res.kind == "Service" {
        allocate_cluster_ip(s, &mut obj);
    }
    let name = meta::name(&obj).to_string();
    // A create names its object only now (generateName): the record shows the name given.
    record.name = name.clone();
    let ns_str = ns.unwrap_or_default();
    let attrs = admission::Attributes {
        operation: Operation::Create,
        kind: res.kind,
        resource: res.name,
        subresource: "",
        namespace: ns_str,
        name: &name,
        user,
        old: None,
    };
    admit_and_validate(s, res, &attrs, &mut obj, None, record)?;
    let key = res.key(ns, &name);
    let put = Op::Put {
        key: key.clone(),
        value: store_object(&obj)?,
    };
    let Some(revision) = write_if_unmodified(s, &key, 0, put) else {
        record.stages.push(stage("storage", "key exists"));
        return Err(ApiError::AlreadyExists {
            group: res.group.into(),
            resource: res.qualified_name(),
            name,
        });
    };
    let created = if s.dry_run {
        record
            .stages
            .push(stage("storage", &format!("dry run: {key} not created")));
        obj
    } else {
        record.resource_version = Some(revision);
        record.stages.push(stage(
            "storage",
            &format!("created {key} at revision {}", revision),
        ));
        ApiServer::decode(
            s.store
                .get(&key)
                .ok_or_else(|| ApiError::internal("created object vanished"))?,
        )?
    };
    let mut r = respond(201, created, req, res, query, s.now);
    r.warnings = warnings;
    Ok(r)
}

/// Mutating admission, validation, validating admission — in that order.
pub(super) fn admit_and_validate(
    s: &ApiServer,
    res: &Resource,
    attrs: &admission::Attributes,
    obj: &mut Value,
    old: Option<&Value>,
    record: &mut AuditEvent,
) -> Result<(), ApiError> {
    let mut outcomes = Vec::new();
    let mutated = admission::run_mutating(attrs, obj, &s.store, &mut outcomes, s.admission_patches);
    record.stages.extend(outcomes.drain(..).map(|o| Stage {
        patch: o.patch,
        ..stage(&format!("admission/mutating/{}", o.plugin), &o.outcome)
    }));
    mutated?;
    let errs = match old {
        None => validation::validate_create(res.kind, obj, res.namespaced),
        Some(old) => validation::validate_update(res.kind, obj, old, res.namespaced),
    };
    if !errs.is_empty() {
        let e = ApiError::Invalid {
            group: res.group.into(),
            kind: res.qualified_kind(),
            name: meta::name(obj).into(),
            causes: errs,
        };
        record.stages.push(stage("validation", &e.to_string()));
        return Err(e);
    }
    record.stages.push(stage("validation", "valid"));
    let validated = admission::run_validating(attrs, obj, &s.store, &mut outcomes);
    record.stages.extend(
        outcomes
            .drain(..)
            .map(|o| stage(&format!("admission/validating/{}", o.plugin), &o.outcome)),
    );
    validated
}

pub(super) fn no_finalizers(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .is_none_or(|f| f.is_empty())
}

/// Writes `op` on `key` only if the key is still at `mod_revision` (0: absent) — the
/// compare-and-swap every write is. Returns the new store revision, or `None` when the key
/// has moved (the caller answers Conflict or AlreadyExists).
pub(super) fn write_if_unmodified(
    s: &mut ApiServer,
    key: &str,
    mod_revision: i64,
    op: Op,
) -> Option<i64> {
    if s.dry_run {
        // Everything up to here ran; the compare is checked, nothing is written.
        let current = s.store.get(key).map_or(0, |kv| kv.mod_revision);
        return (current == mod_revision).then(|| s.store.revision());
    }
    let resp = s.store.txn(Txn {
        compares: vec![Compare::mod_revision(key, mod_revision)],
        success: vec![op],
        failure: vec![],
    });
    if !resp.succeeded {
        return None;
    }
    s.note_write(key);
    Some(resp.revision)
}

/// What goes into the store: the object without `resourceVersion` (the key's revision is it).
pub(super) fn store_object(obj: &Value) -> Result<std::sync::Arc<[u8]>, ApiError> {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&o)
        .map(Into::into)
        .map_err(|e| ApiError::internal(e.to_string()))
}

pub(super) fn check_type(res: &Resource, obj: &mut Value) -> Result<(), ApiError> {
    let api_version = meta::api_version(obj).to_string();
    let kind = meta::kind(obj).to_string();
    let expected = res.api_version();
    if !api_version.is_empty() && api_version != expected {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    if !kind.is_empty() && kind != res.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            res.kind
        )));
    }
    obj["apiVersion"] = json!(expected);
    obj["kind"] = json!(res.kind);
    Ok(())
}

pub(super) fn allocate_cluster_ip(s: &mut ApiServer, svc: &mut Value) {
    let spec = &mut svc["spec"];
    if spec["type"] == "ExternalName" || spec["clusterIP"].as_str().is_some_and(|ip| !ip.is_empty())
    {
        return;
    }
    // 10.96.0.0/12, handed out in order; .1 is the `kubernetes` Service as upstream. A dry
    // run shows the address a create would get, and keeps it free.
    let n = s.next_cluster_ip;
    if !s.dry_run {
        s.next_cluster_ip += 1;
    }
    let ip = format!("10.{}.{}.{}", 96 + (n >> 16), (n >> 8) & 0xFF, n & 0xFF);
    spec["clusterIP"] = json!(ip);
    spec["clusterIPs"] = json!([ip]);
    spec["ipFamilies"] = json!(["IPv4"]);
    spec["ipFamilyPolicy"] = json!("SingleStack");
}

/// Replaces the object `scope` names with `obj`. `current` is the stored object when the
/// caller has just read it (a patch, an apply): read once, not twice.
pub(super) fn update(
    s: &mut ApiServer,
    scope: &Scope,
    mut obj: Value,
    fields: Fields,
    current: Option<Value>,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let Scope {
        res,
        ns,
        name,
        sub,
        user,
        req,
        query,
    } = *scope;
    check_type(res, &mut obj)?;
    let body_name = meta::name(&obj);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(ns) = ns {
        let body_ns = meta::namespace(&obj);
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
        }
    }
    let key = res.key(ns, name);
    let old_kv = s
        .store
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(res, name))?;
    let old = match current {
        Some(v) => v,
        None => ApiServer::decode(&old_kv)?,
    };
    let requested_rv = obj
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !requested_rv.is_empty() && requested_rv != old_kv.mod_revision.to_string() {
        record.stages.push(stage(
            "storage",
            &format!(
                "stale resourceVersion {requested_rv}, current {}",
                old_kv.mod_revision
            ),
        ));
        return Err(conflict(res, name));
    }
    let mut warnings = Vec::new();
    let mut obj = normalize(res, obj, field_validation(query)?, &mut warnings)?;
    defaults::apply(res.kind, &mut obj);
    strategy::prepare_for_update(res, sub, &mut obj, &old);
    if fields == Fields::Update {
        let manager = field_manager(scope)?;
        let sub = sub.unwrap_or_default();
        fieldmanager::update(res, sub, Some(&old), &mut obj, &manager, s.now);
    }
    let attrs = admission::Attributes {
        operation: Operation::Update,
        kind: res.kind,
        resource: res.name,
        subresource: sub.unwrap_or_default(),
        namespace: ns.unwrap_or_default(),
        name,
        user,
        old: Some(&old),
    };
    admit_and_validate(s, res, &attrs, &mut obj, Some(&old), record)?;
    obj["metadata"]["resourceVersion"] = json!(old_kv.mod_revision.to_string());
    if obj == old {
        record
            .stages
            .push(stage("storage", "no change: nothing written"));
        let mut r = respond(200, old, req, res, query, s.now);
        r.warnings = warnings;
        return Ok(r);
    }
    let out = store_update(s, scope, &key, old_kv.mod_revision, obj, record)?;
    let mut r = respond(200, out, req, res, query, s.now);
    r.warnings = warnings;
    Ok(r)
}

/// Writes an updated object if its key is still at `old_revision` — or deletes it when its
/// last finalizer went — and returns what is stored (or would be, on a dry run).
fn store_update(
    s: &mut ApiServer,
    scope: &Scope,
    key: &str,
    old_revision: i64,
    obj: Value,
    record: &mut AuditEvent,
) -> Result<Value, ApiError> {
    let (res, name) = (scope.res, scope.name);
    // An object being deleted goes away when its last finalizer is removed.
    let finalizers_done = apimachinery::api::meta::is_being_deleted(&obj)
        && no_finalizers(&obj, "/metadata/finalizers")
        && (res.kind != "Namespace" || no_finalizers(&obj, "/spec/finalizers"));
    let op = if finalizers_done {
        Op::Delete {
            key: key.to_string(),
        }
    } else {
        Op::Put {
            key: key.to_string(),
            value: store_object(&obj)?,
        }
    };
    let Some(revision) = write_if_unmodified(s, key, old_revision, op) else {
        return Err(conflict(res, name));
    };
    Ok(if s.dry_run {
        record
            .stages
            .push(stage("storage", &format!("dry run: {key} not updated")));
        obj
    } else if finalizers_done {
        record.resource_version = Some(revision);
        record.stages.push(stage(
            "storage",
            &format!(
                "last finalizer removed: deleted {key} at revision {}",
                revision
            ),
        ));
        obj
    } else {
        record.resource_version = Some(revision);
        record.stages.push(stage(
            "storage",
            &format!("updated {key} at revision {}", revision),
        ));
        ApiServer::decode(
            s.store
                .get(key)
                .ok_or_else(|| ApiError::internal("updated object vanished"))?,
        )?
    })
}

pub(super) fn conflict(res: &Resource, name: &str) -> ApiError {
    ApiError::Conflict {
        group: res.group.into(),
        resource: res.qualified_name(),
        name: name.into(),
        detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
    }
}
