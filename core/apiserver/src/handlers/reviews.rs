//! SelfSubjectAccessReview and SelfSubjectRulesReview: what the requester may do;
//! SelfSubjectReview (`kubectl auth whoami`): who the requester is, impersonation applied.

use super::*;

pub(super) fn self_subject_access_review(
    s: &mut ApiServer,
    user: &UserInfo,
    req: &Request,
) -> Result<Response, ApiError> {
    let mut review = decode_body(req)?;
    let ra = &review["spec"]["resourceAttributes"];
    let nra = &review["spec"]["nonResourceAttributes"];
    let get = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let attrs = if nra.is_object() {
        crate::authorization::Attributes {
            verb: get(nra, "verb"),
            group: String::new(),
            resource: String::new(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
            path: Some(get(nra, "path")),
        }
    } else {
        crate::authorization::Attributes {
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
        crate::authorization::Decision::Allow { reason } => {
            json!({"allowed": true, "reason": reason})
        }
        crate::authorization::Decision::Deny => json!({"allowed": false}),
    };
    review["status"] = status;
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    meta::metadata_mut(&mut review).insert("creationTimestamp".into(), Value::Null);
    Ok(Response::json(201, &review))
}

pub(super) fn self_subject_rules_review(
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

/// `authentication.k8s.io/v1` SelfSubjectReview: the user the request was served as.
pub(super) fn self_subject_review(user: &UserInfo) -> Response {
    let mut info = json!({"username": user.name, "groups": user.groups});
    if !user.uid.is_empty() {
        info["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        info["extra"] = user
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
    }
    Response::json(
        201,
        &json!({
            "kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "status": {"userInfo": info},
        }),
    )
}
