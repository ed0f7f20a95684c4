//! The RBAC objects every cluster starts with (`bootstrappolicy` upstream): the user-facing
//! roles `cluster-admin`, `admin`, `edit`, `view`, the discovery and self-review roles every
//! authenticated user holds, and the roles of the control-plane components.

use serde_json::{json, Value};

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!({"verbs": verbs, "apiGroups": groups, "resources": resources})
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const RW: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn view_rules() -> Vec<Value> {
    vec![
        // system:aggregated-metrics-reader, aggregated into view upstream.
        rule(READ, &["metrics.k8s.io"], &["pods", "nodes"]),
        rule(
            READ,
            &[""],
            &[
                "configmaps",
                "endpoints",
                "events",
                "persistentvolumeclaims",
                "pods",
                "pods/log",
                "pods/schedulingdecision",
                "pods/status",
                "replicationcontrollers",
                "services",
                "services/status",
                "serviceaccounts",
                "namespaces",
                "namespaces/status",
                "resourcequotas",
                "limitranges",
            ],
        ),
        rule(
            READ,
            &["apps"],
            &[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
        ),
        rule(
            READ,
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        ),
        rule(READ, &["coordination.k8s.io"], &["leases"]),
    ]
}

fn edit_rules() -> Vec<Value> {
    let mut rules = view_rules();
    rules.push(rule(
        WRITE,
        &[""],
        &[
            "configmaps",
            "events",
            "pods",
            "secrets",
            "services",
            "serviceaccounts",
            "persistentvolumeclaims",
        ],
    ));
    rules.push(rule(
        &["create"],
        &[""],
        &[
            "pods/eviction",
            "pods/exec",
            "pods/attach",
            "pods/portforward",
        ],
    ));
    rules.push(rule(READ, &[""], &["secrets"]));
    rules.push(rule(
        WRITE,
        &["apps"],
        &[
            "daemonsets",
            "deployments",
            "deployments/scale",
            "deployments/rollback",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
    ));
    rules.push(rule(WRITE, &["policy"], &["poddisruptionbudgets"]));
    rules
}

fn admin_rules() -> Vec<Value> {
    let mut rules = edit_rules();
    rules.push(rule(
        RW,
        &["rbac.authorization.k8s.io"],
        &["roles", "rolebindings"],
    ));
    rules
}

fn cluster_role(name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "rules": rules,
    })
}

fn cluster_role_binding(name: &str, role: &str, subjects: Value) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    })
}

fn group(name: &str) -> Value {
    json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}])
}

fn user(name: &str) -> Value {
    json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}])
}

/// What kube-scheduler may do (`system:kube-scheduler`).
fn scheduler_rules() -> Vec<Value> {
    vec![
        rule(
            READ,
            &[""],
            &[
                "nodes",
                "pods",
                "namespaces",
                "persistentvolumeclaims",
                "persistentvolumes",
                "services",
            ],
        ),
        rule(&["create"], &[""], &["pods/binding", "bindings"]),
        rule(&["patch", "update"], &[""], &["pods/status"]),
        rule(&["delete"], &[""], &["pods"]),
        rule(
            &["create", "patch", "update"],
            &["", "events.k8s.io"],
            &["events"],
        ),
        rule(READ, &["apps"], &["replicasets", "statefulsets"]),
        rule(READ, &["policy"], &["poddisruptionbudgets"]),
        rule(READ, &["scheduling.k8s.io"], &["priorityclasses"]),
        rule(READ, &["storage.k8s.io"], &["storageclasses", "csinodes"]),
        rule(
            &["patch", "update"],
            &[""],
            &["persistentvolumeclaims", "persistentvolumes"],
        ),
        rule(
            &["create", "get", "list", "update", "watch"],
            &["coordination.k8s.io"],
            &["leases"],
        ),
    ]
}

/// What a kubelet may do (`system:node`, with the node authorizer's scope left out).
fn node_rules() -> Vec<Value> {
    vec![
        rule(
            READ,
            &[""],
            &[
                "pods",
                "nodes",
                "services",
                "configmaps",
                "secrets",
                "persistentvolumeclaims",
            ],
        ),
        // The volumes its pods' claims are bound to (upstream's rule: get only).
        rule(&["get"], &[""], &["persistentvolumes"]),
        rule(
            &["create", "update", "patch", "delete"],
            &[""],
            &["nodes", "nodes/status", "pods", "pods/status"],
        ),
        rule(
            &["create", "patch", "update"],
            &["", "events.k8s.io"],
            &["events"],
        ),
        rule(
            &["create", "delete", "get", "patch", "update"],
            &["coordination.k8s.io"],
            &["leases"],
        ),
    ]
}

/// Cluster roles, then their bindings, in the order they are created at start.
pub fn policy() -> Vec<Value> {
    let everything = json!([
        {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
        {"verbs": ["*"], "nonResourceURLs": ["*"]}
    ]);
    let discovery = json!([{"verbs": ["get"], "nonResourceURLs": [
        "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version",
        "/version/", "/openapi", "/openapi/*"]}]);
    let self_review = vec![
        rule(
            &["create"],
            &["authorization.k8s.io"],
            &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        ),
        rule(
            &["create"],
            &["authentication.k8s.io"],
            &["selfsubjectreviews"],
        ),
    ];
    vec![
        cluster_role(
            "cluster-admin",
            serde_json::from_value(everything).unwrap_or_default(),
        ),
        cluster_role("admin", admin_rules()),
        cluster_role("edit", edit_rules()),
        cluster_role("view", view_rules()),
        cluster_role(
            "system:discovery",
            serde_json::from_value(discovery.clone()).unwrap_or_default(),
        ),
        cluster_role(
            "system:public-info-viewer",
            serde_json::from_value(discovery).unwrap_or_default(),
        ),
        cluster_role("system:basic-user", self_review),
        cluster_role("system:kube-scheduler", scheduler_rules()),
        cluster_role(
            "system:kube-controller-manager",
            vec![rule(&["*"], &["*"], &["*"])],
        ),
        cluster_role("system:node", node_rules()),
        cluster_role_binding("cluster-admin", "cluster-admin", group("system:masters")),
        cluster_role_binding(
            "system:discovery",
            "system:discovery",
            group("system:authenticated"),
        ),
        cluster_role_binding(
            "system:basic-user",
            "system:basic-user",
            group("system:authenticated"),
        ),
        cluster_role_binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            group("system:authenticated"),
        ),
        cluster_role_binding(
            "system:kube-scheduler",
            "system:kube-scheduler",
            user("system:kube-scheduler"),
        ),
        cluster_role_binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            user("system:kube-controller-manager"),
        ),
        cluster_role_binding("system:node", "system:node", group("system:nodes")),
    ]
}
