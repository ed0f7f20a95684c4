//! The resources the API server serves: one row per resource, as its discovery documents and
//! storage keys describe it (`pkg/registry/<group>/<resource>` upstream).
//!
//! Each row also names the kind's type in the API server's schema (`apiserver::schema`), which
//! decodes bodies: it rejects wrongly typed fields, drops unknown ones (reported by field
//! validation), and gives every stored object the same canonical shape.

#[derive(Debug)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    /// The plural, lower-case name used in paths (`deployments`).
    pub name: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [&'static str],
    /// `metadata.generation` counts spec changes (workload kinds).
    pub has_generation: bool,
    /// `status` is written only through the `status` subresource.
    pub has_status_subresource: bool,
    /// The kind's definition in `apiserver::schema` (`api.apps.v1.Deployment`).
    pub schema: &'static str,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, `pods` — how error messages name a resource.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.name.to_string()
        } else {
            format!("{}.{}", self.name, self.group)
        }
    }

    /// `Deployment.apps`, `Pod` — how "is invalid" messages name a kind.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Where objects of this resource live in the store: `/registry/pods/default/web-0`.
    pub fn key_prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("/registry/{}/{}/", self.name, ns),
            _ => format!("/registry/{}/", self.name),
        }
    }

    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}{}", self.key_prefix(namespace), name)
    }

    pub fn serves(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

const ALL: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const CREATE_ONLY: &[&str] = &["create"];

macro_rules! resource {
    ($group:expr, $name:expr, $singular:expr, $kind:expr, $schema:expr, namespaced: $ns:expr,
     short: $short:expr, categories: $cat:expr, verbs: $verbs:expr, sub: $sub:expr,
     generation: $gen:expr, status: $status:expr) => {
        Resource {
            group: $group,
            version: "v1",
            name: $name,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
            verbs: $verbs,
            subresources: $sub,
            has_generation: $gen,
            has_status_subresource: $status,
            schema: $schema,
        }
    };
}

const RBAC: &str = "rbac.authorization.k8s.io";

/// Every resource served, in discovery order.
pub static RESOURCES: &[Resource] = &[
    resource!("", "bindings", "binding", "Binding", "api.core.v1.Binding", namespaced: true,
        short: &[], categories: &[], verbs: CREATE_ONLY, sub: &[], generation: false, status: false),
    resource!("", "configmaps", "configmap", "ConfigMap", "api.core.v1.ConfigMap", namespaced: true,
        short: &["cm"], categories: &[], verbs: ALL, sub: &[], generation: false, status: false),
    resource!("", "events", "event", "Event", "api.core.v1.Event", namespaced: true,
        short: &["ev"], categories: &[], verbs: ALL, sub: &[], generation: false, status: false),
    resource!("", "namespaces", "namespace", "Namespace", "api.core.v1.Namespace", namespaced: false,
        short: &["ns"], categories: &[], verbs: ALL, sub: &["status", "finalize"],
        generation: false, status: true),
    resource!("", "nodes", "node", "Node", "api.core.v1.Node", namespaced: false,
        short: &["no"], categories: &[], verbs: ALL, sub: &["power", "status"], generation: false,
        status: true),
    resource!("", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim",
        "api.core.v1.PersistentVolumeClaim", namespaced: true, short: &["pvc"], categories: &[],
        verbs: ALL, sub: &["status"], generation: false, status: true),
    resource!("", "persistentvolumes", "persistentvolume", "PersistentVolume",
        "api.core.v1.PersistentVolume", namespaced: false, short: &["pv"], categories: &[],
        verbs: ALL, sub: &["status"], generation: false, status: true),
    resource!("", "pods", "pod", "Pod", "api.core.v1.Pod", namespaced: true,
        short: &["po"], categories: &["all"], verbs: ALL,
        sub: &["binding", "eviction", "exec", "log", "schedulingdecision", "status"], generation: false,
        status: true),
    resource!("", "secrets", "secret", "Secret", "api.core.v1.Secret", namespaced: true,
        short: &[], categories: &[], verbs: ALL, sub: &[], generation: false, status: false),
    resource!("", "serviceaccounts", "serviceaccount", "ServiceAccount",
        "api.core.v1.ServiceAccount", namespaced: true, short: &["sa"], categories: &[], verbs: ALL,
        sub: &[], generation: false, status: false),
    resource!("", "services", "service", "Service", "api.core.v1.Service", namespaced: true,
        short: &["svc"], categories: &["all"], verbs: ALL, sub: &["status"], generation: false,
        status: true),
    resource!("apps", "daemonsets", "daemonset", "DaemonSet", "api.apps.v1.DaemonSet",
        namespaced: true, short: &["ds"], categories: &["all"], verbs: ALL, sub: &["status"],
        generation: true, status: true),
    resource!("apps", "deployments", "deployment", "Deployment", "api.apps.v1.Deployment",
        namespaced: true, short: &["deploy"], categories: &["all"], verbs: ALL,
        sub: &["scale", "status"], generation: true, status: true),
    resource!("apps", "replicasets", "replicaset", "ReplicaSet", "api.apps.v1.ReplicaSet",
        namespaced: true, short: &["rs"], categories: &["all"], verbs: ALL,
        sub: &["scale", "status"], generation: true, status: true),
    resource!("apps", "statefulsets", "statefulset", "StatefulSet", "api.apps.v1.StatefulSet",
        namespaced: true, short: &["sts"], categories: &["all"], verbs: ALL,
        sub: &["scale", "status"], generation: true, status: true),
    resource!("authentication.k8s.io", "selfsubjectreviews", "selfsubjectreview",
        "SelfSubjectReview", "api.authentication.v1.SelfSubjectReview",
        namespaced: false, short: &[], categories: &[], verbs: CREATE_ONLY, sub: &[],
        generation: false, status: false),
    resource!("authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectaccessreview",
        "SelfSubjectAccessReview", "api.authorization.v1.SelfSubjectAccessReview",
        namespaced: false, short: &[], categories: &[], verbs: CREATE_ONLY, sub: &[],
        generation: false, status: false),
    resource!("authorization.k8s.io", "selfsubjectrulesreviews", "selfsubjectrulesreview",
        "SelfSubjectRulesReview", "api.authorization.v1.SelfSubjectRulesReview",
        namespaced: false, short: &[], categories: &[], verbs: CREATE_ONLY, sub: &[],
        generation: false, status: false),
    resource!("coordination.k8s.io", "leases", "lease", "Lease", "api.coordination.v1.Lease",
        namespaced: true, short: &[], categories: &[], verbs: ALL, sub: &[], generation: false,
        status: false),
    resource!("policy", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget",
        "api.policy.v1.PodDisruptionBudget", namespaced: true, short: &["pdb"], categories: &[],
        verbs: ALL, sub: &["status"], generation: true, status: true),
    resource!(RBAC, "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
        "api.rbac.v1.ClusterRoleBinding", namespaced: false, short: &[], categories: &[],
        verbs: ALL, sub: &[], generation: false, status: false),
    resource!(RBAC, "clusterroles", "clusterrole", "ClusterRole", "api.rbac.v1.ClusterRole",
        namespaced: false, short: &[], categories: &[], verbs: ALL, sub: &[], generation: false,
        status: false),
    resource!(RBAC, "rolebindings", "rolebinding", "RoleBinding", "api.rbac.v1.RoleBinding",
        namespaced: true, short: &[], categories: &[], verbs: ALL, sub: &[], generation: false,
        status: false),
    resource!(RBAC, "roles", "role", "Role", "api.rbac.v1.Role", namespaced: true, short: &[],
        categories: &[], verbs: ALL, sub: &[], generation: false, status: false),
    resource!("scheduling.k8s.io", "priorityclasses", "priorityclass", "PriorityClass",
        "api.scheduling.v1.PriorityClass", namespaced: false, short: &["pc"], categories: &[],
        verbs: ALL, sub: &[], generation: false, status: false),
    resource!("storage.k8s.io", "storageclasses", "storageclass", "StorageClass",
        "api.storage.v1.StorageClass", namespaced: false, short: &["sc"], categories: &[],
        verbs: ALL, sub: &[], generation: false, status: false),
];

/// The API groups served, in the order discovery lists them (the legacy core group aside).
pub const GROUPS: &[&str] = &[
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "coordination.k8s.io",
    "policy",
    RBAC,
    "scheduling.k8s.io",
    "storage.k8s.io",
];

pub fn find(group: &str, version: &str, name: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.name == name)
}

pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

pub fn in_group_version(group: &str, version: &str) -> impl Iterator<Item = &'static Resource> {
    let (group, version) = (group.to_string(), version.to_string());
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// The type of a subresource's body, when it is not the parent kind.
pub fn subresource_kind(parent: &Resource, sub: &str) -> Option<(&'static str, &'static str)> {
    match sub {
        "scale" => Some(("autoscaling/v1", "Scale")),
        "binding" => Some(("v1", "Binding")),
        "eviction" if parent.name == "pods" => Some(("policy/v1", "Eviction")),
        _ => None,
    }
}
