//! The verbs of a resource request: get, list, watch, create, update, patch, delete and
//! deletecollection, with the `status`, `scale` and `binding` subresources
//! (`k8s.io/apiserver/pkg/endpoints/handlers` and `pkg/registry/generic/registry/store.go`).
//! This file routes a request to its verb; `read.rs` (get, list), `write.rs` (create, update,
//! patch), `apply.rs` (server-side apply), `delete.rs`, `subresources.rs` (scale, binding,
//! eviction, log, exec) and `reviews.rs`
//! (self-subject reviews) carry them out, sharing this file's imports.

use base64::Engine;
use serde_json::{json, Value};

use super::admission::{self, Operation};
use super::audit::{AuditEvent, Stage};
use super::authentication::UserInfo;
use super::patch::{self, PatchType};
use super::registry::{self, Resource};
use super::request::{Query, Request, RequestInfo, Response};
use super::selectors::Selector;
use super::status::{success_status, ApiError};
use super::{defaults, fieldmanager, printers, schema, stage, strategy, validation, ApiServer};
use apimachinery::api::meta;
use store::{Compare, Op, Txn};

mod apply;
mod delete;
mod read;
mod reviews;
mod subresources;
mod write;

use delete::{delete, delete_collection, delete_one, DeleteOptions};
use read::{get_object, list, respond};
use reviews::{self_subject_access_review, self_subject_review, self_subject_rules_review};
use subresources::{bind, evict, pod_exec, pod_log, scale_of, update_scale};
use write::{conflict, create, no_finalizers, store_object, update, write_if_unmodified, Fields};

/// What every handler of one request reads: the resource and object it names, who asks, and
/// the request itself.
#[derive(Clone, Copy)]
pub(super) struct Scope<'a> {
    pub res: &'static registry::Resource,
    pub ns: Option<&'a str>,
    /// The object named, or empty for a collection.
    pub name: &'a str,
    pub sub: Option<&'a str>,
    pub user: &'a UserInfo,
    pub req: &'a Request,
    pub query: &'a Query,
}

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
    let res = route(info)?;
    let sub = info.subresource.as_deref();
    let ns = info.namespace.as_deref();
    let name = info.name.as_deref().unwrap_or_default();
    let scope = &Scope {
        res,
        ns,
        name,
        sub,
        user,
        req,
        query,
    };
    match (info.verb, sub) {
        ("get", Some("log")) => pod_log(s, res, ns, name, query),
        ("get", Some("schedulingdecision")) => {
            get_object(s, res, ns, name)?;
            let mut answer = Response::raw(200, "application/json", Vec::new());
            answer.delegated = Some(super::Delegated::Decision {
                namespace: ns.unwrap_or_default().to_string(),
                pod: name.to_string(),
            });
            Ok(answer)
        }
        ("get", Some("scale")) => {
            let obj = get_object(s, res, ns, name)?;
            Ok(Response::json(200, &scale_of(res, &obj)))
        }
        ("get", _) => {
            let obj = get_object(s, res, ns, name)?;
            Ok(respond(200, obj, req, res, query, s.now))
        }
        ("list", _) => list(s, scope),
        ("watch", _) => super::watch::start(s, res, ns, info.name.as_deref(), req, query),
        ("create", Some("binding")) => {
            let body = decode_body(req)?;
            bind(s, user, ns.unwrap_or_default(), name, &body, record)
        }
        ("create", Some("power")) => power(s, scope),
        ("create", Some("exec")) => pod_exec(s, scope),
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
            "selfsubjectreviews" => Ok(self_subject_review(user)),
            _ => create(s, scope, record),
        },
        ("update", Some("scale")) => {
            let scale = decode_body(req)?;
            update_scale(s, scope, &scale, record)
        }
        ("update", _) => {
            let obj = decode_body(req)?;
            update(s, scope, obj, Fields::Update, None, record)
        }
        ("patch", _) => patch_object(s, scope, record),
        ("delete", _) => delete(s, scope, record),
        ("deletecollection", _) => delete_collection(s, scope, record),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// The resource a request names, if it serves the request's verb on the subresource named,
/// with or without a namespace as it must.
fn route(info: &RequestInfo) -> Result<&'static registry::Resource, ApiError> {
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
        Some("binding") | Some("eviction") | Some("power") | Some("exec") => info.verb == "create",
        Some("finalize") => info.verb == "update",
        Some("log" | "schedulingdecision") => info.verb == "get",
        Some(_) => false,
        None => res.serves(info.verb),
    };
    if !verb_ok {
        return Err(ApiError::MethodNotAllowed);
    }
    Ok(res)
}

/// `nodes/power` (kubeplay's chaos switch): answered by the cluster, which owns the node.
fn power(s: &mut ApiServer, scope: &Scope) -> Result<Response, ApiError> {
    let Scope {
        res, ns, name, req, ..
    } = *scope;
    get_object(s, res, ns, name)?;
    let on = decode_body(req)?["on"]
        .as_bool()
        .ok_or_else(|| ApiError::bad_request("power: `on` must be true or false"))?;
    let mut answer = Response::json(200, &json!({"node": name, "powered": on}));
    // A dry run switches nothing.
    if !s.dry_run {
        answer.delegated = Some(super::Delegated::Power {
            node: name.to_string(),
            on,
        });
    }
    Ok(answer)
}

/// A patch of an object or its `scale`; server-side apply is `apply.rs`'s.
fn patch_object(
    s: &mut ApiServer,
    scope: &Scope,
    record: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let Scope {
        res,
        ns,
        name,
        sub,
        req,
        ..
    } = *scope;
    let ct = req.content_type.as_deref().unwrap_or_default();
    let pt = PatchType::from_content_type(ct).ok_or_else(|| ApiError::UnsupportedMediaType {
        message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json".to_string(),
    })?;
    if pt == PatchType::Apply {
        return apply::apply_patch(s, scope, record);
    }
    apply::check_patch_options(scope.query, false)?;
    let current = get_object(s, res, ns, name)?;
    if sub == Some("scale") {
        let scale = scale_of(res, &current);
        let patched =
            patch::apply(&scale, &req.body, pt, "Scale").map_err(ApiError::bad_request)?;
        return update_scale(s, scope, &patched, record);
    }
    let patched = patch::apply(&current, &req.body, pt, res.kind).map_err(ApiError::bad_request)?;
    record.stages.push(stage(
        "patch",
        &format!("{pt:?} patch applied to the current object"),
    ));
    update(s, scope, patched, Fields::Update, Some(current), record)
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
        apimachinery::yaml::from_str(&text).map_err(|e| {
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
