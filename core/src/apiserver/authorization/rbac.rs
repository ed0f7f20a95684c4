//! The RBAC authorizer (`plugin/pkg/auth/authorizer/rbac`): a request is allowed when some
//! ClusterRoleBinding, or a RoleBinding in the request's namespace, binds one of the user's
//! identities to a role with a rule that covers the request. RBAC only ever allows.
//!
//! The authorizer works on an index of the RBAC objects decoded once; the API server rebuilds
//! it when one of them is written, not on every request.

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject,
};

use super::{Attributes, Decision};
use crate::apiserver::authentication::UserInfo;

#[derive(Clone, Debug, Default)]
pub struct RbacIndex {
    pub cluster_roles: Vec<ClusterRole>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
}

fn subject_matches(s: &Subject, user: &UserInfo, binding_namespace: &str) -> bool {
    match s.kind.as_str() {
        "User" => s.name == user.name,
        "Group" => user.groups.contains(&s.name),
        "ServiceAccount" => {
            let ns = s.namespace.as_deref().unwrap_or(binding_namespace);
            user.name == format!("system:serviceaccount:{ns}:{}", s.name)
        }
        _ => false,
    }
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == "*" || x == want)
}

/// `RuleAllows` upstream.
pub fn rule_allows(rule: &PolicyRule, a: &Attributes) -> bool {
    if !has(&rule.verbs, &a.verb) {
        return false;
    }
    if let Some(path) = &a.path {
        return rule
            .non_resource_urls
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|u| {
                u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
            });
    }
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let resources = rule.resources.as_deref().unwrap_or_default();
    let names = rule.resource_names.as_deref().unwrap_or_default();
    let combined = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let resource_ok = resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!a.subresource.is_empty() && *r == format!("*/{}", a.subresource))
    });
    has(groups, &a.group) && resource_ok && (names.is_empty() || names.contains(&a.name))
}

impl RbacIndex {
    fn cluster_role(&self, name: &str) -> Option<&ClusterRole> {
        self.cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
    }

    fn role(&self, namespace: &str, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| {
            r.metadata.name.as_deref() == Some(name)
                && r.metadata.namespace.as_deref() == Some(namespace)
        })
    }

    /// Every rule that applies to `user` in `namespace` (cluster-wide rules included), with a
    /// description of where each comes from.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<(String, PolicyRule)> {
        let mut out = Vec::new();
        for b in &self.cluster_role_bindings {
            if !b
                .subjects
                .iter()
                .flatten()
                .any(|s| subject_matches(s, user, ""))
            {
                continue;
            }
            if let Some(role) = self.cluster_role(&b.role_ref.name) {
                let why = format!(
                    "RBAC: allowed by ClusterRoleBinding \"{}\" of ClusterRole \"{}\" to {}",
                    b.metadata.name.as_deref().unwrap_or_default(),
                    b.role_ref.name,
                    describe_subjects(b.subjects.as_deref().unwrap_or_default(), user)
                );
                for r in role.rules.iter().flatten() {
                    out.push((why.clone(), r.clone()));
                }
            }
        }
        if namespace.is_empty() {
            return out;
        }
        for b in &self.role_bindings {
            if b.metadata.namespace.as_deref() != Some(namespace)
                || !b
                    .subjects
                    .iter()
                    .flatten()
                    .any(|s| subject_matches(s, user, namespace))
            {
                continue;
            }
            let rules = match b.role_ref.kind.as_str() {
                "ClusterRole" => self
                    .cluster_role(&b.role_ref.name)
                    .and_then(|r| r.rules.clone()),
                _ => self
                    .role(namespace, &b.role_ref.name)
                    .map(|r| r.rules.clone().unwrap_or_default()),
            };
            let why = format!(
                "RBAC: allowed by RoleBinding \"{}/{}\" of {} \"{}\" to {}",
                b.metadata.name.as_deref().unwrap_or_default(),
                namespace,
                b.role_ref.kind,
                b.role_ref.name,
                describe_subjects(b.subjects.as_deref().unwrap_or_default(), user)
            );
            for r in rules.into_iter().flatten() {
                out.push((why.clone(), r));
            }
        }
        out
    }

    pub fn authorize(&self, user: &UserInfo, a: &Attributes) -> Decision {
        match self
            .rules_for(user, &a.namespace)
            .into_iter()
            .find(|(_, r)| rule_allows(r, a))
        {
            Some((why, _)) => Decision::Allow { reason: why },
            None => Decision::Deny,
        }
    }
}

fn describe_subjects(subjects: &[Subject], user: &UserInfo) -> String {
    subjects
        .iter()
        .find(|s| subject_matches(s, user, ""))
        .map(|s| format!("{} \"{}\"", s.kind, s.name))
        .unwrap_or_default()
}

/// The message of a 403 (`forbiddenMessage` in `k8s.io/apiserver/pkg/endpoints/handlers/responsewriters`).
pub fn forbidden_message(user: &UserInfo, a: &Attributes) -> String {
    if let Some(path) = &a.path {
        return format!(
            "forbidden: User \"{}\" cannot {} path \"{}\"",
            user.name, a.verb, path
        );
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    let who = format!(
        "User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {}",
        user.name, a.verb, resource, a.group, scope
    );
    let qualified = if a.group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    if a.name.is_empty() {
        format!("{qualified} is forbidden: {who}")
    } else {
        format!("{qualified} \"{}\" is forbidden: {who}", a.name)
    }
}
