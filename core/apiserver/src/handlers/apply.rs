//! Server-side apply (`PATCH` with `application/apply-patch+yaml`): the field manager merges
//! the configuration into the live object — or creates it — and the result takes the write
//! path every create or update takes (admission, validation, the store).

use super::write::{check_type, create_object, update, Fields};
use super::*;
use crate::fieldmanager;
use crate::status::FieldError;

/// `PatchOptions` that are not valid (`ValidatePatchOptions`): a 422 on the options.
fn invalid_options(cause: FieldError) -> ApiError {
    ApiError::Invalid {
        group: "meta.k8s.io".into(),
        kind: "PatchOptions.meta.k8s.io".into(),
        name: String::new(),
        causes: vec![cause],
    }
}

/// `force` is for apply only; an apply must name its manager.
pub(super) fn check_patch_options(query: &Query, apply: bool) -> Result<(), ApiError> {
    let has_force = query.get("force").is_some();
    if !apply && has_force {
        return Err(invalid_options(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        )));
    }
    if apply && query.get("fieldManager").unwrap_or_default().is_empty() {
        return Err(invalid_options(FieldError::required(
            "fieldManager",
            "is required for apply patch",
        )));
    }
    Ok(())
}

pub(super) fn apply_patch(
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
        query,
        ..
    } = *scope;
    check_patch_options(query, true)?;
    if sub.is_some() {
        return Err(ApiError::UnsupportedMediaType {
            message: format!(
                "server-side apply of the {} subresource is not supported here; apply the object itself",
                sub.unwrap_or_default()
            ),
        });
    }
    let manager = write::field_manager(scope)?;
    let force = match query.get("force").unwrap_or_default() {
        "" | "false" => false,
        "true" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid value for force: {other:?}"
            )))
        }
    };
    let text = String::from_utf8_lossy(&req.body);
    let mut config = apimachinery::yaml::from_str(&text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the applied configuration is not an object",
        ));
    }
    if meta::kind(&config).is_empty() {
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{text}'"
        )));
    }
    check_type(res, &mut config)?;
    match meta::name(&config) {
        "" => {
            meta::metadata_mut(&mut config).insert("name".into(), json!(name));
        }
        n if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )))
        }
        _ => {}
    }
    let live = match s.store.get(&res.key(ns, name)) {
        Some(kv) => Some(ApiServer::decode(kv)?),
        None => None,
    };
    let merged = fieldmanager::apply(res, live.as_ref(), &config, &manager, force, s.now)?;
    let forced = if force { ", forced" } else { "" };
    record.stages.push(stage(
        "apply",
        &format!("configuration of {manager}{forced} merged into the live object"),
    ));
    match live {
        None => create_object(s, scope, merged, Fields::Applied, record),
        Some(live) => update(s, scope, merged, Fields::Applied, Some(live), record),
    }
}
