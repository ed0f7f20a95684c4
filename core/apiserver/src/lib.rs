//! The API server: the one door to the store (`k8s.io/apiserver` and `kube-apiserver`).
//!
//! Every request runs the pipeline in Kubernetes' order:
//! authentication → authorization → decoding and defaulting → mutating admission → validation
//! → validating admission → storage (a compare-and-swap transaction in [`store`]) →
//! watch fan-out. Each stage is recorded in the [`audit`] log.
//!
//! The server is transport-free: [`ApiServer::handle`] takes a [`Request`] and returns a
//! [`Response`]. The bridge maps HTTP onto it; in-page clients call it directly.
//!
//! Invariants: nothing but this module touches the store; every failure is an [`ApiError`]
//! that becomes a `metav1.Status`; a failed request changes nothing stored.

pub mod admission;
pub mod audit;
pub mod authentication;
pub mod authorization;
pub mod defaults;
pub mod discovery;
pub mod fieldmanager;
mod handlers;
pub mod metrics;
pub mod patch;
pub mod printers;
pub mod registry;
pub mod request;
pub mod schema;
mod strategy;
pub mod validation;
pub mod watch;
mod watch_index;

pub use apimachinery::{selectors, status};

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use apimachinery::clock::{Time, EPOCH};
use apimachinery::rng::Rng;
use audit::{AuditEvent, AuditLog, Stage};
use authentication::{TokenAuthenticator, UserInfo};
use authorization::rbac::{forbidden_message, RbacIndex, Role, RoleBinding};
use authorization::{Attributes, Decision};
use request::{parse_target, Query, Target};
pub use request::{Delegated, Impersonation, Method, Request, Response};
pub use status::ApiError;
use store::{KeyValue, Store};

/// Bodies over this size are refused with 413, as kube-apiserver's 3 MiB limit does.
pub const MAX_REQUEST_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The token of the bootstrap administrator (`system:masters`).
pub const ADMIN_TOKEN: &str = "kubeplay-admin-token";
/// The token of a read-only user bound to the `view` ClusterRole.
pub const VIEWER_TOKEN: &str = "kubeplay-viewer-token";
/// The page's own eyes: what the views read to draw the cluster. Its requests are audited
/// but left out of the trace, which tells what the cluster and its users did.
pub const OBSERVER_TOKEN: &str = "kubeplay-observer-token";
pub const OBSERVER_USER: &str = "system:kubeplay:observer";

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub history_limit: usize,
    pub start: Time,
    /// Bearer tokens: (token, user, groups).
    pub tokens: Vec<(String, String, Vec<String>)>,
}

impl Default for Config {
    /// The in-page cluster: the well-known admin and viewer tokens.
    fn default() -> Self {
        Config {
            seed: 1,
            history_limit: store::DEFAULT_HISTORY_LIMIT,
            start: EPOCH,
            tokens: vec![
                (
                    ADMIN_TOKEN.into(),
                    "kubernetes-admin".into(),
                    vec!["system:masters".into()],
                ),
                (VIEWER_TOKEN.into(), "viewer".into(), vec![]),
                (
                    OBSERVER_TOKEN.into(),
                    OBSERVER_USER.into(),
                    vec!["system:masters".into()],
                ),
            ],
        }
    }
}

pub struct ApiServer {
    store: Store,
    now: Time,
    rng: Rng,
    authn: TokenAuthenticator,
    /// Decoded RBAC objects; `None` after a write to one of them, rebuilt on next use.
    rbac: Option<RbacIndex>,
    watches: BTreeMap<watch::WatchId, watch::WatchSession>,
    /// The session each store watch feeds.
    session_of: BTreeMap<store::WatchId, watch::WatchId>,
    /// Sessions given events outside the store (their initial state, an error).
    ready: BTreeSet<watch::WatchId>,
    /// Every kubelet's pod watch, fed from one store watch.
    node_index: Option<watch_index::NodeIndex>,
    /// Objects decoded for watches, shared by the watchers of each write.
    decoded: watch::DecodeCache,
    /// Whether the audit log keeps what each mutating admission plugin changed (a diff per
    /// plugin costs a copy of the object; the page's request inspector wants it).
    admission_patches: bool,
    next_watch: u64,
    audit: AuditLog,
    /// The next ClusterIP to hand out, as an offset into 10.96.0.0/12.
    next_cluster_ip: u32,
    /// The request being served is a dry run (`dryRun=All`): everything runs but the write.
    dry_run: bool,
}

impl ApiServer {
    pub fn new(config: Config) -> ApiServer {
        let mut authn = TokenAuthenticator::default();
        for (token, user, groups) in &config.tokens {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            authn.add(token, user, &groups);
        }
        let mut server = ApiServer {
            store: Store::with_history_limit(config.history_limit),
            now: config.start,
            rng: Rng::new(config.seed),
            authn,
            rbac: None,
            watches: BTreeMap::new(),
            session_of: BTreeMap::new(),
            ready: BTreeSet::new(),
            node_index: None,
            decoded: watch::DecodeCache::default(),
            admission_patches: false,
            next_watch: 0,
            audit: AuditLog::new(10_000),
            next_cluster_ip: 1,
            dry_run: false,
        };
        server.bootstrap();
        server
    }

    /// Creates what every cluster starts with: the system namespaces, the bootstrap RBAC
    /// policy, the binding of the viewer user, and the `kubernetes` Service.
    fn bootstrap(&mut self) {
        let mut objects: Vec<Value> = ["default", "kube-system", "kube-public", "kube-node-lease"]
            .iter()
            .map(|ns| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            .collect();
        objects.extend(authorization::bootstrap::policy());
        objects.push(serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "viewer-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}]
        }));
        objects.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443}]}
        }));
        for obj in objects {
            let r = self.create_as_system(&obj);
            debug_assert!(
                r.code == 201,
                "bootstrap object refused: {:?}",
                String::from_utf8_lossy(&r.bytes())
            );
        }
    }

    /// Creates an object as the bootstrap administrator (start-up and tests).
    pub fn create_as_system(&mut self, obj: &Value) -> Response {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let Some(res) = registry::find_kind(api_version, kind) else {
            return Response::error(&ApiError::bad_request(format!(
                "no kind {kind:?} in {api_version:?}"
            )));
        };
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
        let base = if res.group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{}", res.api_version())
        };
        let path = match ns {
            Some(ns) if res.namespaced => format!("{base}/namespaces/{ns}/{}", res.name),
            _ => format!("{base}/{}", res.name),
        };
        let system = UserInfo {
            name: "system:apiserver".into(),
            uid: "system:apiserver".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            extra: Vec::new(),
        };
        self.handle_as(system, &Request::new(Method::Post, &path).json(obj))
    }

    pub fn now(&self) -> Time {
        self.now
    }

    /// Moves the server's clock (never backwards): timestamps and ages read it.
    pub fn set_time(&mut self, t: Time) {
        self.now = self.now.max(t);
    }

    /// The user behind an `Authorization` header (for endpoints beside the API).
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<UserInfo> {
        self.authn.authenticate(authorization)
    }

    /// Keep (or stop keeping) each mutating admission plugin's change in the audit log.
    pub fn record_admission_patches(&mut self, on: bool) {
        self.admission_patches = on;
    }

    pub fn revision(&self) -> i64 {
        self.store.revision()
    }

    /// Read-only view of the store, for the etcd browser and tests. Writes go through
    /// [`ApiServer::handle`] only.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Compacts the store's history to `rev` (what kube-apiserver asks etcd every 5 minutes).
    pub fn compact(&mut self, rev: i64) -> Result<(), store::StoreError> {
        self.store.compact(rev)
    }

    /// Serves one request, authenticating its bearer token.
    pub fn handle(&mut self, req: &Request) -> Response {
        self.handle_with(None, req)
    }

    /// Serves one request of an already authenticated user: the in-process components
    /// (controllers, scheduler, kubelets) and the API server's own bootstrap.
    pub fn handle_as(&mut self, user: UserInfo, req: &Request) -> Response {
        self.handle_with(Some(user), req)
    }

    fn handle_with(&mut self, user: Option<UserInfo>, req: &Request) -> Response {
        let mut record = AuditEvent {
            seq: 0,
            time: self.now,
            user: String::new(),
            verb: String::new(),
            resource: req.path.clone(),
            namespace: String::new(),
            name: String::new(),
            code: 0,
            stages: Vec::new(),
            resource_version: None,
        };
        let response = match self.serve(user, req, &mut record) {
            Ok(r) => r,
            Err(e) => Response::error(&e),
        };
        self.dry_run = false;
        record.code = response.code;
        // Reads are frequent and say little; the log keeps writes, watches and every failure.
        if !matches!(record.verb.as_str(), "get" | "list") || response.code >= 400 {
            self.audit.push(record);
        }
        response
    }

    fn serve(
        &mut self,
        user: Option<UserInfo>,
        req: &Request,
        record: &mut AuditEvent,
    ) -> Result<Response, ApiError> {
        let user = user.or_else(|| self.authn.authenticate(req.authorization.as_deref()));
        let Some(user) = user else {
            record.stages.push(stage(
                "authentication",
                "no valid bearer token: anonymous requests are rejected",
            ));
            return Err(ApiError::Unauthorized);
        };
        record.user = user.name.clone();
        record.stages.push(stage(
            "authentication",
            &format!("user {:?} groups {:?}", user.name, user.groups),
        ));
        let user = match &req.impersonate {
            Some(wanted) => self.impersonate(user, wanted, record)?,
            None => user,
        };
        if req.body.len() > MAX_REQUEST_BODY_BYTES {
            return Err(ApiError::TooLarge {
                limit: MAX_REQUEST_BODY_BYTES,
            });
        }
        let query = Query::parse(&req.query);
        let target = parse_target(req.method, &req.path, &query)?;
        let attrs = match &target {
            Target::NonResource { verb, path } => Attributes {
                verb: verb.to_string(),
                group: String::new(),
                resource: String::new(),
                subresource: String::new(),
                namespace: String::new(),
                name: String::new(),
                path: Some(path.clone()),
            },
            Target::Resource(info) => Attributes {
                verb: info.verb.to_string(),
                group: info.group.clone(),
                resource: info.resource.clone(),
                subresource: info.subresource.clone().unwrap_or_default(),
                namespace: info.namespace.clone().unwrap_or_default(),
                name: info.name.clone().unwrap_or_default(),
                path: None,
            },
        };
        record.verb = attrs.verb.clone();
        if attrs.path.is_none() {
            record.resource = if attrs.subresource.is_empty() {
                attrs.resource.clone()
            } else {
                format!("{}/{}", attrs.resource, attrs.subresource)
            };
            record.namespace = attrs.namespace.clone();
            record.name = attrs.name.clone();
        }
        match self.authorize(&user, &attrs) {
            Decision::Allow { reason } => record.stages.push(stage("authorization", &reason)),
            Decision::Deny => return Err(denied(&user, attrs, "authorization", record)),
        }
        if let Target::Resource(info) = &target {
            let writes = matches!(
                info.verb,
                "create" | "update" | "patch" | "delete" | "deletecollection"
            );
            if writes && dry_run_requested(&query, req)? {
                self.dry_run = true;
                record
                    .stages
                    .push(stage("dryRun", "All: every stage runs, nothing is stored"));
            }
        }
        match target {
            Target::NonResource { path, .. } => discovery::serve(&path, req),
            Target::Resource(info) if info.group == metrics::GROUP => metrics::serve(&info, &query),
            Target::Resource(info) => handlers::serve(self, &user, &info, req, &query, record),
        }
    }

    /// The user a request acts as (`Impersonate-*`), once RBAC allows the requester to
    /// `impersonate` each of it — the user (or service account), every group, the uid — as
    /// kube-apiserver's impersonation filter checks; the audit record names both.
    fn impersonate(
        &mut self,
        requester: UserInfo,
        wanted: &request::Impersonation,
        record: &mut AuditEvent,
    ) -> Result<UserInfo, ApiError> {
        let check = |resource: &str, group: &str, namespace: &str, name: &str| Attributes {
            verb: "impersonate".into(),
            group: group.into(),
            resource: resource.into(),
            subresource: String::new(),
            namespace: namespace.into(),
            name: name.into(),
            path: None,
        };
        let service_account = wanted
            .user
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'));
        let mut checks = vec![match service_account {
            Some((ns, name)) => check("serviceaccounts", "", ns, name),
            None => check("users", "", "", &wanted.user),
        }];
        checks.extend(wanted.groups.iter().map(|g| check("groups", "", "", g)));
        if !wanted.uid.is_empty() {
            checks.push(check("uids", "authentication.k8s.io", "", &wanted.uid));
        }
        // Each extra value is a `userextras/<key>` named by the value.
        for (key, values) in &wanted.extra {
            for value in values {
                checks.push(Attributes {
                    subresource: key.clone(),
                    ..check("userextras", "authentication.k8s.io", "", value)
                });
            }
        }
        for attrs in checks {
            if self.authorize(&requester, &attrs) == Decision::Deny {
                return Err(denied(&requester, attrs, "impersonation", record));
            }
        }
        let mut groups = wanted.groups.clone();
        if let Some((ns, _)) = service_account {
            for g in [
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{ns}"),
            ] {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
        }
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        let user = UserInfo {
            name: wanted.user.clone(),
            uid: wanted.uid.clone(),
            groups,
            extra: wanted.extra.clone(),
        };
        record.user = format!("{} (as {})", requester.name, user.name);
        record.stages.push(stage(
            "impersonation",
            &format!(
                "{:?} acts as user {:?} groups {:?}",
                requester.name, user.name, user.groups
            ),
        ));
        Ok(user)
    }

    fn rbac_index(&mut self) -> &RbacIndex {
        if self.rbac.is_none() {
            let decode_all = |store: &Store, res: &str| -> Vec<Value> {
                store
                    .range(&format!("/registry/{res}/"), None, 0)
                    .kvs
                    .iter()
                    .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
                    .collect()
            };
            let roles = |store: &Store, res: &str| -> Vec<Role> {
                decode_all(store, res)
                    .iter()
                    .map(Role::from_value)
                    .collect()
            };
            let bindings = |store: &Store, res: &str| -> Vec<RoleBinding> {
                decode_all(store, res)
                    .iter()
                    .map(RoleBinding::from_value)
                    .collect()
            };
            self.rbac = Some(RbacIndex {
                cluster_roles: roles(&self.store, "clusterroles"),
                cluster_role_bindings: bindings(&self.store, "clusterrolebindings"),
                roles: roles(&self.store, "roles"),
                role_bindings: bindings(&self.store, "rolebindings"),
            });
        }
        self.rbac.get_or_insert_with(RbacIndex::default)
    }

    /// The authorizer chain of kube-apiserver: members of `system:masters` are allowed
    /// everything before RBAC is asked (so the bootstrap policy itself can be written).
    pub fn authorize(&mut self, user: &UserInfo, attrs: &Attributes) -> Decision {
        if user.groups.iter().any(|g| g == "system:masters") {
            return Decision::Allow {
                reason: "allowed: member of the privileged group \"system:masters\"".into(),
            };
        }
        self.rbac_index().authorize(user, attrs)
    }

    /// Every RBAC rule that applies to `user` in `namespace` (for `auth can-i --list`).
    pub fn rules_for(
        &mut self,
        user: &UserInfo,
        namespace: &str,
    ) -> Vec<authorization::rbac::PolicyRule> {
        self.rbac_index()
            .rules_for(user, namespace)
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    /// Decodes a stored value, filling in `resourceVersion` from the key's mod revision (the
    /// store never holds it inside the value, as etcd3 storage upstream).
    fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
        let mut obj: Value = serde_json::from_slice(&kv.value)
            .map_err(|e| ApiError::internal(format!("decoding stored object {}: {e}", kv.key)))?;
        apimachinery::api::meta::metadata_mut(&mut obj).insert(
            "resourceVersion".into(),
            Value::String(kv.mod_revision.to_string()),
        );
        Ok(obj)
    }

    fn note_write(&mut self, key: &str) {
        if [
            "clusterroles",
            "clusterrolebindings",
            "roles",
            "rolebindings",
        ]
        .iter()
        .any(|r| key.starts_with(&format!("/registry/{r}/")))
        {
            self.rbac = None;
        }
    }
}

/// `dryRun`: absent, or `All` (the one value kube-apiserver supports).
/// A delete says it in its `DeleteOptions` body (`"dryRun": ["All"]`), as kubectl sends it.
fn dry_run_requested(query: &Query, req: &Request) -> Result<bool, ApiError> {
    let mut asked: Vec<String> = query
        .get("dryRun")
        .map(str::to_string)
        .into_iter()
        .collect();
    if req.method == Method::Delete && req.has_body() {
        if let Ok(options) = handlers::decode_body(req) {
            asked.extend(
                options["dryRun"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| v.as_str().unwrap_or_default().to_string()),
            );
        }
    }
    let mut dry = false;
    for value in asked.iter().filter(|v| !v.is_empty()) {
        if value != "All" {
            return Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: \"{value}\": supported values: \"All\""
            )));
        }
        dry = true;
    }
    Ok(dry)
}

/// RBAC said no: the audit stage says so, and the client gets kube-apiserver's Forbidden.
fn denied(user: &UserInfo, attrs: Attributes, at: &str, record: &mut AuditEvent) -> ApiError {
    let message = forbidden_message(user, &attrs);
    record.stages.push(stage(at, &format!("denied: {message}")));
    ApiError::Forbidden {
        message,
        name: attrs.name,
        group: attrs.group,
        resource: attrs.resource,
    }
}

fn stage(name: &str, outcome: &str) -> Stage {
    Stage {
        name: name.to_string(),
        outcome: outcome.to_string(),
        patch: Vec::new(),
    }
}

impl admission::Lookup for Store {
    fn get_object(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = match namespace {
            Some(ns) => format!("/registry/{resource}/{ns}/{name}"),
            None => format!("/registry/{resource}/{name}"),
        };
        self.get(&key).and_then(|kv| ApiServer::decode(kv).ok())
    }
}

#[cfg(test)]
mod dry_run_tests;
#[cfg(test)]
mod tests;
