//! get and list (limit and continue), and what both answer with.

use super::*;

pub(super) fn get_object(
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
pub(super) fn respond(
    code: u16,
    obj: Value,
    req: &Request,
    res: &Resource,
    query: &Query,
    now: apimachinery::clock::Time,
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

pub(super) fn list(s: &mut ApiServer, scope: &Scope) -> Result<Response, ApiError> {
    let Scope {
        res,
        ns,
        req,
        query,
        ..
    } = *scope;
    let (label, field) =
        crate::request::from_query(res.kind, query).map_err(ApiError::bad_request)?;
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
pub(super) fn encode_continue(rv: i64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

pub(super) fn decode_continue(token: &str, prefix: &str) -> Result<String, ApiError> {
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
