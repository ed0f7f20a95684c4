//! The RBAC authorizer (`plugin/pkg/auth/authorizer/rbac`): a request is allowed when some
//! ClusterRoleBinding, or a RoleBinding in the request's namespace, binds one of the user's
//! identities to a role with a rule that covers the request. RBAC only ever allows.
//!
//! The authorizer works on an index of the RBAC objects decoded once; the API server rebuilds
//! it when one of them is written, not on every request.

use serde_json::Value;

use super::{Attributes, Decision};
use crate::authentication::UserInfo;

// The few fields the authorizer reads, taken from the stored objects (which the API server's
// schema has already checked) by hand: derived decoders would cost the page more than these.

/// What the authorizer reads of an RBAC object's metadata.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub name: Option<String>,
    pub namespace: Option<String>,
}

/// `rbac/v1.PolicyRule`.
#[derive(Clone, Debug, Default)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
    pub resource_names: Option<Vec<String>>,
    pub non_resource_urls: Option<Vec<String>>,
}

/// `rbac/v1.Subject`.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// `rbac/v1.RoleRef`.
#[derive(Clone, Debug, Default)]
pub struct RoleRef {
    pub kind: String,
    pub name: String,
}

/// A ClusterRole or a Role: its rules.
#[derive(Clone, Debug, Default)]
pub struct Role {
    pub metadata: Meta,
    pub rules: Option<Vec<PolicyRule>>,
}

/// A ClusterRoleBinding or a RoleBinding: who gets which role.
#[derive(Clone, Debug, Default)]
pub struct RoleBinding {
    pub metadata: Meta,
    pub subjects: Option<Vec<Subject>>,
    pub role_ref: RoleRef,
}

fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn optional(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|items| items.iter().map(string).collect())
}

impl Meta {
    fn from_value(v: &Value) -> Meta {
        Meta {
            name: optional(&v["name"]),
            namespace: optional(&v["namespace"]),
        }
    }
}

impl PolicyRule {
    fn from_value(v: &Value) -> PolicyRule {
        PolicyRule {
            verbs: strings(&v["verbs"]).unwrap_or_default(),
            api_groups: strings(&v["apiGroups"]),
            resources: strings(&v["resources"]),
            resource_names: strings(&v["resourceNames"]),
            non_resource_urls: strings(&v["nonResourceURLs"]),
        }
    }
}

impl Role {
    pub fn from_value(v: &Value) -> Role {
        Role {
            metadata: Meta::from_value(&v["metadata"]),
            rules: v["rules"]
                .as_array()
                .map(|rules| rules.iter().map(PolicyRule::from_value).collect()),
        }
    }
}

impl RoleBinding {
    pub fn from_value(v: &Value) -> RoleBinding {
        let subject = |s: &Value| Subject {
            kind: string(&s["kind"]),
            name: string(&s["name"]),
            namespace: optional(&s["namespace"]),
        };
        RoleBinding {
            metadata: Meta::from_value(&v["metadata"]),
            subjects: v["subjects"]
                .as_array()
                .map(|subjects| subjects.iter().map(subject).collect()),
            role_ref: RoleRef {
                kind: string(&v["roleRef"]["kind"]),
                name: string(&v["roleRef"]["name"]),
            },
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RbacIndex {
    pub cluster_roles: Vec<Role>,
    pub cluster_role_bindings: Vec<RoleBinding>,
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
    fn cluster_role(&self, name: &str) -> Option<&Role> {
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
    /// Every rule that applies to `user` in `namespace` (cluster-wide ones, then the
    /// namespace's), with why it applies.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<(String, PolicyRule)> {
        let mut out = Vec::new();
        self.visit_rules(user, namespace, |why, rules| {
            let why = why();
            out.extend(rules.iter().map(|r| (why.clone(), r.clone())));
            false
        });
        out
    }

    /// Walks the bindings of `user` in order, handing each one's rules and a way to word why
    /// they apply; stops when `f` says so. Nothing is copied unless `f` asks.
    fn visit_rules(
        &self,
        user: &UserInfo,
        namespace: &str,
        mut f: impl FnMut(&dyn Fn() -> String, &[PolicyRule]) -> bool,
    ) {
        for b in &self.cluster_role_bindings {
            let subjects = b.subjects.as_deref().unwrap_or_default();
            if !subjects.iter().any(|s| subject_matches(s, user, "")) {
                continue;
            }
            if let Some(role) = self.cluster_role(&b.role_ref.name) {
                let why = || {
                    format!(
                        "RBAC: allowed by ClusterRoleBinding \"{}\" of ClusterRole \"{}\" to {}",
                        b.metadata.name.as_deref().unwrap_or_default(),
                        b.role_ref.name,
                        describe_subjects(subjects, user)
                    )
                };
                if f(&why, role.rules.as_deref().unwrap_or_default()) {
                    return;
                }
            }
        }
        if namespace.is_empty() {
            return;
        }
        for b in &self.role_bindings {
            let subjects = b.subjects.as_deref().unwrap_or_default();
            if b.metadata.namespace.as_deref() != Some(namespace)
                || !subjects.iter().any(|s| subject_matches(s, user, namespace))
            {
                continue;
            }
            let rules = match b.role_ref.kind.as_str() {
                "ClusterRole" => self
                    .cluster_role(&b.role_ref.name)
                    .and_then(|r| r.rules.as_deref()),
                _ => self
                    .role(namespace, &b.role_ref.name)
                    .map(|r| r.rules.as_deref().unwrap_or_default()),
            };
            let why = || {
                format!(
                    "RBAC: allowed by RoleBinding \"{}/{}\" of {} \"{}\" to {}",
                    b.metadata.name.as_deref().unwrap_or_default(),
                    namespace,
                    b.role_ref.kind,
                    b.role_ref.name,
                    describe_subjects(subjects, user)
                )
            };
            if f(&why, rules.unwrap_or_default()) {
                return;
            }
        }
    }

    pub fn authorize(&self, user: &UserInfo, a: &Attributes) -> Decision {
        let mut decision = Decision::Deny;
        self.visit_rules(user, &a.namespace, |why, rules| {
            if rules.iter().any(|r| rule_allows(r, a)) {
                decision = Decision::Allow { reason: why() };
                return true;
            }
            false
        });
        decision
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
