//! The verbs of a resource request: get, list, watch, create, update, patch, delete and
//! deletecollection, with the `status`, `scale` and `binding` subresources
//! (`k8s.io/apiserver/pkg/endpoints/handlers` and `pkg/registry/generic/registry/store.go`).

use base64::Engine;
use serde_json::{json, Value};

use super::admission::{self, Operation};
use super::audit::{AuditEvent, Stage};
use super::authentication::UserInfo;
use super::patch::{self, PatchType};
use super::registry::{self, Resource};
use super::request::{Query, Request, RequestInfo, Response};
use super::selectors::{FieldSelector, Selector};
use super::status::{success_status, ApiError};
use super::{defaults, printers, schema, stage, strategy, validation, ApiServer};
use crate::api::meta;
use crate::store::{Compare, Op, Txn};

/// How unknown fields in a body are treated (`fieldValidation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

pub fn serve(
    s: &mut ApiServer,
    user: &UserInfo,
    info: &RequestInfo,
    req: &Request,
    query: &Query,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let res =
        registry::find(&info.group, &info.version, &info.resource).ok_or(ApiError::NoRoute)?;
    if res.namespaced != info.namespace.is_some()
        && !(matches!(info.verb, "list" | "watch") && info.name.is_none())
    {
        // A namespaced resource needs a namespace to be named; a cluster one must have none.
        if !(res.name == "namespaces" && info.namespace.is_none()) {
            return Err(ApiError::NoRoute);
        }
    }
    let sub = info.subresource.as_deref();
    if let Some(sub) = sub {
        if !res.subresources.contains(&sub) {
            return Err(ApiError::NoRoute);
        }
    }
    let verb_ok = match sub {
        Some("status") => matches!(info.verb, "get" | "update" | "patch"),
        Some("scale") => matches!(info.verb, "get" | "update" | "patch"),
        Some("binding") | Some("eviction") => info.verb == "create",
        Some("finalize") => info.verb == "update",
        Some(_) => false,
        None => res.serves(info.verb),
    };
    if !verb_ok {
        return Err(ApiError::MethodNotAllowed);
    }
    let ns = info.namespace.as_deref();
    let name = info.name.as_deref().unwrap_or_default();
    match (info.verb, sub) {
        ("get", Some("scale")) => {
            let obj = get_object(s, res, ns, name)?;
            Ok(Response::json(200, &scale_of(res, &obj)))
        }
        ("get", _) => {
            let obj = get_object(s, res, ns, name)?;
            Ok(respond(200, obj, req, res, query, s.now))
        }
        ("list", _) => list(s, res, ns, req, query),
        ("watch", _) => super::watch::start(s, res, ns, info.name.as_deref(), req, query),
        ("create", Some("binding")) => {
            let body = decode_body(req)?;
            bind(s, user, ns.unwrap_or_default(), name, &body, record)
        }
        ("create", Some("eviction")) => {
            let body = decode_body(req)?;
            evict(s, ns.unwrap_or_default(), name, &body, record)
        }
        ("create", None) => match res.name {
            "bindings" => {
                let body = decode_body(req)?;
                let pod = body
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                bind(s, user, ns.unwrap_or_default(), &pod, &body, record)
            }
            "selfsubjectaccessreviews" => self_subject_access_review(s, user, req),
            "selfsubjectrulesreviews" => self_subject_rules_review(s, user, req),
            _ => create(s, res, ns, user, req, query, record),
        },
        ("update", Some("scale")) => {
            let scale = decode_body(req)?;
            update_scale(s, res, ns, name, &scale, user, req, query, record)
        }
        ("update", _) => {
            let obj = decode_body(req)?;
            update(s, res, ns, name, obj, sub, user, req, query, record)
        }
        ("patch", _) => {
            let ct = req.content_type.as_deref().unwrap_or_default();
            let pt = PatchType::from_content_type(ct).ok_or_else(|| ApiError::UnsupportedMediaType {
                message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json".to_string(),
            })?;
            if pt == PatchType::Apply {
                return Err(ApiError::UnsupportedMediaType {
                    message: "server-side apply (application/apply-patch+yaml) is not supported yet; use client-side kubectl apply".into(),
                });
            }
            let current = get_object(s, res, ns, name)?;
            if sub == Some("scale") {
                let scale = scale_of(res, &current);
                let patched =
                    patch::apply(&scale, &req.body, pt, "Scale").map_err(ApiError::bad_request)?;
                return update_scale(s, res, ns, name, &patched, user, req, query, record);
            }
            let patched =
                patch::apply(&current, &req.body, pt, res.kind).map_err(ApiError::bad_request)?;
            record.stages.push(stage(
                "patch",
                &format!("{pt:?} patch applied to the current object"),
            ));
            update(s, res, ns, name, patched, sub, user, req, query, record)
        }
        ("delete", _) => delete(s, res, ns, name, req, query, record),
        ("deletecollection", _) => delete_collection(s, res, ns, req, query, record),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Parses a request body as JSON (or YAML, which kubectl never sends but people do).
pub fn decode_body(req: &Request) -> Result<Value, ApiError> {
    let ct = req.content_type.as_deref().unwrap_or("application/json");
    if !(ct.starts_with("application/json") || ct.contains("yaml") || ct.is_empty()) {
        return Err(ApiError::UnsupportedMediaType {
            message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml".to_string(),
        });
    }
    let v: Value = if let Some(v) = &req.value {
        v.clone()
    } else if ct.contains("yaml") {
        let text = String::from_utf8_lossy(&req.body);
        crate::yaml::from_str(&text).map_err(|e| {
            ApiError::bad_request(format!("error converting YAML to JSON: yaml: {e}"))
        })?
    } else {
        serde_json::from_slice(&req.body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?
    };
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "couldn't get version/kind; json parse error: the body is not a JSON object",
        ));
    }
    Ok(v)
}

fn field_validation(query: &Query) -> Result<FieldValidation, ApiError> {
    match query.get("fieldValidation").unwrap_or("Warn") {
        "Ignore" => Ok(FieldValidation::Ignore),
        "Warn" | "" => Ok(FieldValidation::Warn),
        "Strict" => Ok(FieldValidation::Strict),
        other => Err(ApiError::bad_request(format!(
            "fieldValidation parameter unsupported: {other}"
        ))),
    }
}

/// Decodes through the kind's type: wrong types are a 400, unknown fields are dropped and
/// reported per `fieldValidation`.
fn normalize(
    res: &Resource,
    obj: Value,
    mode: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let cannot = |detail: String| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {detail}",
            res.kind, res.version, res.kind
        ))
    };
    let types = schema::schema();
    let def = types
        .def(res.schema)
        .ok_or_else(|| ApiError::internal(format!("no schema for {}", res.schema)))?;
    let Value::Object(fields) = obj else {
        return Err(cannot("the body is not a JSON object".into()));
    };
    let decoded =
        schema::decode(types, def, &res.api_version(), res.kind, fields).map_err(cannot)?;
    if !decoded.unknown.is_empty() {
        let list: Vec<String> = decoded
            .unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        match mode {
            FieldValidation::Strict => {
                return Err(cannot(format!(
                    "strict decoding error: {}",
                    list.join(", ")
                )))
            }
            FieldValidation::Warn => warnings.extend(list),
            FieldValidation::Ignore => {}
        }
    }
    Ok(decoded.value)
}

fn not_found(res: &Resource, name: &str) -> ApiError {
    ApiError::NotFound {
        group: res.group.into(),
        resource: res.qualified_name(),
        name: name.into(),
    }
}

fn get_object(
    s: &ApiServer,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
) -> Result<Value, ApiError> {
    let kv = s
        .store
        .get(&res.key(ns, name))
        .ok_or_else(|| not_found(res, name))?;
    ApiServer::decode(kv)
}

/// Answers with the object, or with it as a Table when the client asked for one.
fn respond(
    code: u16,
    obj: Value,
    req: &Request,
    res: &Resource,
    query: &Query,
    now: crate::sim::Time,
) -> Response {
    if printers::wants_table(req.accept.as_deref()) {
        let table = printers::table(
            res.kind,
            std::slice::from_ref(&obj),
            query.get("includeObject"),
            now,
        );
        return Response::json_value(code, table);
    }
    Response::json_value(code, obj)
}

fn list(
    s: &mut ApiServer,
    res: &Resource,
    ns: Option<&str>,
    req: &Request,
    query: &Query,
) -> Result<Response, ApiError> {
    let label = Selector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let field = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    field
        .check_supported(res.kind)
        .map_err(ApiError::bad_request)?;
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
    let prefix = res.key_prefix(ns);
    let start_after = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => Some(decode_continue(token, &prefix)?),
        None => None,
    };
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    // Page through the store until `limit` matching items are found.
    let mut cursor = start_after;
    'scan: loop {
        let page = s.store.range(&prefix, cursor.as_deref(), 500);
        for kv in &page.kvs {
            let obj = ApiServer::decode(kv)?;
            if !label.matches(&obj) || !field.matches(res.kind, &obj) {
                continue;
            }
            if limit != 0 && items.len() == limit {
                next = cursor.clone();
                break 'scan;
            }
            items.push(obj);
            cursor = Some(kv.key.to_string());
        }
        if !page.more {
            break;
        }
        cursor = page.kvs.last().map(|kv| kv.key.to_string());
    }
    let rv = s.store.revision();
    let mut list_meta = json!({"resourceVersion": rv.to_string()});
    if let Some(last) = next {
        list_meta["continue"] = json!(encode_continue(rv, &last[prefix.len()..]));
    }
    if printers::wants_table(req.accept.as_deref()) {
        let mut table = printers::table(res.kind, &items, query.get("includeObject"), s.now);
        table["metadata"] = list_meta;
        return Ok(Response::json(200, &table));
    }
    for item in &mut items {
        if let Some(o) = item.as_object_mut() {
            o.remove("kind");
            o.remove("apiVersion");
        }
    }
    Ok(Response::json(
        200,
        &json!({"kind": format!("{}List", res.kind), "apiVersion": res.api_version(), "metadata": list_meta, "items": items}),
    ))
}

/// The continue token: the revision of the first page and the last key returned, relative to
/// the listed prefix, as `storage/etcd3` encodes it.
fn encode_continue(rv: i64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str, prefix: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_request("continue key is not valid: invalid continue token");
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let start = v["start"].as_str().ok_or_else(bad)?;
    let start = start.strip_suffix('\u{0}').unwrap_or(start);
    if start.contains("..") || start.starts_with('/') {
        return Err(bad());
    }
    Ok(format!("{prefix}{start}"))
}

#[allow(clippy::too_many_arguments)]
fn create(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    user: &UserInfo,
    req: &Request,
    query: &Query,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let mut obj = decode_body(req)?;
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
    record.resource_version = Some(revision);
    record.stages.push(stage(
        "storage",
        &format!("created {key} at revision {}", revision),
    ));
    let created = ApiServer::decode(
        s.store
            .get(&key)
            .ok_or_else(|| ApiError::internal("created object vanished"))?,
    )?;
    let mut r = respond(201, created, req, res, query, s.now);
    r.warnings = warnings;
    Ok(r)
}

/// Mutating admission, validation, validating admission — in that order.
fn admit_and_validate(
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

fn no_finalizers(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .is_none_or(|f| f.is_empty())
}

/// Writes `op` on `key` only if the key is still at `mod_revision` (0: absent) — the
/// compare-and-swap every write is. Returns the new store revision, or `None` when the key
/// has moved (the caller answers Conflict or AlreadyExists).
fn write_if_unmodified(s: &mut ApiServer, key: &str, mod_revision: i64, op: Op) -> Option<i64> {
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
fn store_object(obj: &Value) -> Result<std::sync::Arc<[u8]>, ApiError> {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&o)
        .map(Into::into)
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn check_type(res: &Resource, obj: &mut Value) -> Result<(), ApiError> {
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

fn allocate_cluster_ip(s: &mut ApiServer, svc: &mut Value) {
    let spec = &mut svc["spec"];
    if spec["type"] == "ExternalName" || spec["clusterIP"].as_str().is_some_and(|ip| !ip.is_empty())
    {
        return;
    }
    // 10.96.0.0/12, handed out in order; .1 is the `kubernetes` Service as upstream.
    let n = s.next_cluster_ip;
    s.next_cluster_ip += 1;
    let ip = format!("10.{}.{}.{}", 96 + (n >> 16), (n >> 8) & 0xFF, n & 0xFF);
    spec["clusterIP"] = json!(ip);
    spec["clusterIPs"] = json!([ip]);
    spec["ipFamilies"] = json!(["IPv4"]);
    spec["ipFamilyPolicy"] = json!("SingleStack");
}

#[allow(clippy::too_many_arguments)]
fn update(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    name: &str,
    mut obj: Value,
    sub: Option<&str>,
    user: &UserInfo,
    req: &Request,
    query: &Query,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
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
    let old = ApiServer::decode(&old_kv)?;
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
    // An object being deleted goes away when its last finalizer is removed.
    let finalizers_done = obj.pointer("/metadata/deletionTimestamp").is_some()
        && no_finalizers(&obj, "/metadata/finalizers")
        && (res.kind != "Namespace" || no_finalizers(&obj, "/spec/finalizers"));
    let op = if finalizers_done {
        Op::Delete { key: key.clone() }
    } else {
        Op::Put {
            key: key.clone(),
            value: store_object(&obj)?,
        }
    };
    let Some(revision) = write_if_unmodified(s, &key, old_kv.mod_revision, op) else {
        return Err(conflict(res, name));
    };
    record.resource_version = Some(revision);
    let out = if finalizers_done {
        record.stages.push(stage(
            "storage",
            &format!(
                "last finalizer removed: deleted {key} at revision {}",
                revision
            ),
        ));
        obj
    } else {
        record.stages.push(stage(
            "storage",
            &format!("updated {key} at revision {}", revision),
        ));
        ApiServer::decode(
            s.store
                .get(&key)
                .ok_or_else(|| ApiError::internal("updated object vanished"))?,
        )?
    };
    let mut r = respond(200, out, req, res, query, s.now);
    r.warnings = warnings;
    Ok(r)
}

fn conflict(res: &Resource, name: &str) -> ApiError {
    ApiError::Conflict {
        group: res.group.into(),
        resource: res.qualified_name(),
        name: name.into(),
        detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
    }
}

/// The `autoscaling/v1` Scale view of a workload.
fn scale_of(res: &Resource, obj: &Value) -> Value {
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

#[allow(clippy::too_many_arguments)]
fn update_scale(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    name: &str,
    scale: &Value,
    user: &UserInfo,
    req: &Request,
    query: &Query,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
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
            causes: vec![super::status::FieldError::invalid(
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
    let updated = update(s, res, ns, name, obj, None, user, &plain, query, record)?;
    let scale = scale_of(res, &updated.value());
    Ok(Response::json(200, &scale))
}

/// `pods/binding`: the scheduler's decision. Sets `spec.nodeName` once, and the
/// `PodScheduled` condition.
fn bind(
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
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
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
    record.resource_version = Some(revision);
    record.stages.push(stage(
        "storage",
        &format!("bound {ns}/{pod_name} to {node} at revision {}", revision),
    ));
    Ok(Response::json(
        201,
        &success_status(json!({"name": pod_name, "kind": "pods"})),
    ))
}

/// `pods/eviction` (policy/v1 `Eviction`): a delete that respects PodDisruptionBudgets —
/// refused with 429 while a budget that selects the pod allows no disruption.
fn evict(
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

/// The options of a delete, from the body (`DeleteOptions`) and the query.
struct DeleteOptions {
    grace: Option<i64>,
    propagation: String,
    uid: Option<String>,
    resource_version: Option<String>,
}

fn delete_options(req: &Request, query: &Query) -> Result<DeleteOptions, ApiError> {
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
            causes: vec![super::status::FieldError::not_supported(
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

fn delete(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    name: &str,
    req: &Request,
    query: &Query,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let opts = delete_options(req, query)?;
    delete_one(s, res, ns, name, &opts, record)
}

fn delete_one(
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
    let mut obj = ApiServer::decode(&kv)?;
    if let Some(uid) = &opts.uid {
        if uid != meta::uid(&obj) {
            return Err(ApiError::Conflict {
                group: res.group.into(),
                resource: res.qualified_name(),
                name: name.into(),
                detail: format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta::uid(&obj)
                ),
            });
        }
    }
    if let Some(rv) = &opts.resource_version {
        if *rv != kv.mod_revision.to_string() {
            return Err(ApiError::Conflict { group: res.group.into(), resource: res.qualified_name(), name: name.into(), detail: format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", kv.mod_revision) });
        }
    }
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
    // A bound, running pod is deleted gracefully: the kubelet stops it, then removes it.
    let pod_grace = if res.kind == "Pod" {
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
    } else {
        None
    };
    // A namespace waits for the namespace controller to empty it (`spec.finalizers`).
    let namespace_finalizers = res.kind == "Namespace" && !no_finalizers(&obj, "/spec/finalizers");
    let graceful = !finalizers.is_empty() || pod_grace.is_some() || namespace_finalizers;
    let response_object;
    if graceful {
        if obj.pointer("/metadata/deletionTimestamp").is_none() {
            let grace = pod_grace.unwrap_or(0);
            let m = meta::metadata_mut(&mut obj);
            m.insert(
                "deletionTimestamp".into(),
                json!(s.now.plus_secs(grace).rfc3339()),
            );
            m.insert("deletionGracePeriodSeconds".into(), json!(grace));
            if !finalizers.is_empty() {
                m.insert("finalizers".into(), Value::Array(finalizers));
            }
            if namespace_finalizers {
                obj["status"]["phase"] = json!("Terminating");
            }
            let put = Op::Put {
                key: key.clone(),
                value: store_object(&obj)?,
            };
            let Some(revision) = write_if_unmodified(s, &key, kv.mod_revision, put) else {
                return Err(conflict(res, name));
            };
            record.resource_version = Some(revision);
            record.stages.push(stage("storage", &format!("marked {key} for deletion (propagationPolicy={}, grace {grace}s) at revision {}", opts.propagation, revision)));
            obj = ApiServer::decode(
                s.store
                    .get(&key)
                    .ok_or_else(|| ApiError::internal("object vanished"))?,
            )?;
        } else {
            record
                .stages
                .push(stage("storage", "already being deleted"));
        }
        response_object = obj;
    } else {
        let Some(revision) =
            write_if_unmodified(s, &key, kv.mod_revision, Op::Delete { key: key.clone() })
        else {
            return Err(conflict(res, name));
        };
        record.resource_version = Some(revision);
        record.stages.push(stage(
            "storage",
            &format!(
                "deleted {key} (propagationPolicy={}) at revision {}",
                opts.propagation, revision
            ),
        ));
        response_object = obj;
    }
    if res.kind == "Pod" || graceful {
        return Ok(Response::json(200, &response_object));
    }
    let mut details = json!({"name": name, "kind": res.name, "uid": meta::uid(&response_object)});
    if !res.group.is_empty() {
        details["group"] = json!(res.group);
    }
    Ok(Response::json(200, &success_status(details)))
}

fn delete_collection(
    s: &mut ApiServer,
    res: &'static Resource,
    ns: Option<&str>,
    req: &Request,
    query: &Query,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let opts = delete_options(req, query)?;
    let label = Selector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let field = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    field
        .check_supported(res.kind)
        .map_err(ApiError::bad_request)?;
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

fn self_subject_access_review(
    s: &mut ApiServer,
    user: &UserInfo,
    req: &Request,
) -> Result<Response, ApiError> {
    let mut review = decode_body(req)?;
    let ra = &review["spec"]["resourceAttributes"];
    let nra = &review["spec"]["nonResourceAttributes"];
    let get = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let attrs = if nra.is_object() {
        super::authorization::Attributes {
            verb: get(nra, "verb"),
            group: String::new(),
            resource: String::new(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
            path: Some(get(nra, "path")),
        }
    } else {
        super::authorization::Attributes {
            verb: get(ra, "verb"),
            group: get(ra, "group"),
            resource: get(ra, "resource"),
            subresource: get(ra, "subresource"),
            namespace: get(ra, "namespace"),
            name: get(ra, "name"),
            path: None,
        }
    };
    let status = match s.authorize(user, &attrs) {
        super::authorization::Decision::Allow { reason } => {
            json!({"allowed": true, "reason": reason})
        }
        super::authorization::Decision::Deny => json!({"allowed": false}),
    };
    review["status"] = status;
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    meta::metadata_mut(&mut review).insert("creationTimestamp".into(), Value::Null);
    Ok(Response::json(201, &review))
}

fn self_subject_rules_review(
    s: &mut ApiServer,
    user: &UserInfo,
    req: &Request,
) -> Result<Response, ApiError> {
    let mut review = decode_body(req)?;
    let ns = review["spec"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rules = s.rules_for(user, &ns);
    let resource_rules: Vec<Value> = rules
        .iter()
        .filter(|r| r.resources.as_ref().is_some_and(|v| !v.is_empty()))
        .map(|r| json!({"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources, "resourceNames": r.resource_names}))
        .collect();
    let non_resource_rules: Vec<Value> = rules
        .iter()
        .filter(|r| r.non_resource_urls.as_ref().is_some_and(|v| !v.is_empty()))
        .map(|r| json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}))
        .collect();
    review["status"] = json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false});
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectRulesReview");
    Ok(Response::json(201, &review))
}
