//! The API client of in-process components (client-go's role): requests to the API server
//! made as a component's own identity, and informers that keep a component's view of the
//! cluster from watches.
//!
//! Architecture invariant: components see the world only through this client — requests and
//! watches, recorded by the API server like anyone else's — never through the store.

mod component;
pub mod events;
mod informer;
pub mod trace;

pub use component::{Component, ComponentId, Ctx, Effects};
pub use informer::{key_of, Informer, InformerEvent};

use serde_json::Value;

use apiserver::authentication::UserInfo;
use apiserver::registry::{self, Resource};
use apiserver::{Method, Request, Response};

/// The path of a resource's collection (`namespace: None` = all namespaces or cluster scope).
pub fn collection_path(res: &Resource, namespace: Option<&str>) -> String {
    let root = if res.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{}", res.group, res.version)
    };
    match namespace {
        Some(ns) if res.namespaced => format!("{root}/namespaces/{ns}/{}", res.name),
        _ => format!("{root}/{}", res.name),
    }
}

pub fn object_path(res: &Resource, namespace: Option<&str>, name: &str) -> String {
    format!("{}/{name}", collection_path(res, namespace))
}

/// The resource named by a `(group, plural)` pair; every caller names a served resource.
pub fn resource(group: &str, name: &str) -> &'static Resource {
    match registry::find(group, "v1", name) {
        Some(r) => r,
        // Invariant: callers in core only name resources of the registry.
        None => unreachable!("unknown resource {group}/{name}"),
    }
}

/// A failed request, as the client sees it: the Status' reason, code and message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ClientError {
    pub code: u16,
    pub reason: String,
    pub message: String,
}

impl ClientError {
    pub fn is_not_found(&self) -> bool {
        self.code == 404
    }

    pub fn is_conflict(&self) -> bool {
        self.code == 409
    }
}

/// A component's identity, through which it makes requests.
#[derive(Clone, Debug)]
pub struct Client {
    pub user: UserInfo,
    /// `false` while the network between the component and the API server is cut (a
    /// partitioned node): requests fail as a timed-out connection does, never reaching the
    /// server — so they are not in its audit log either.
    pub reachable: bool,
}

impl Client {
    pub fn new(name: &str, groups: &[&str]) -> Client {
        let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        groups.push("system:authenticated".into());
        Client {
            user: UserInfo {
                name: name.to_string(),
                uid: name.to_string(),
                groups,
                extra: Vec::new(),
            },
            reachable: true,
        }
    }

    pub fn send(&self, ctx: &mut Ctx, req: Request) -> Response {
        if !self.reachable {
            return Response::json_value(
                503,
                serde_json::json!({
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "reason": "ServiceUnavailable", "code": 503,
                    "message": "dial tcp 10.96.0.1:443: i/o timeout",
                }),
            );
        }
        ctx.server().handle_as(self.user.clone(), &req)
    }

    fn expect(resp: Response, ok: &[u16]) -> Result<Value, ClientError> {
        let body = resp.value();
        if ok.contains(&resp.code) {
            return Ok(body);
        }
        Err(ClientError {
            code: resp.code,
            reason: body["reason"].as_str().unwrap_or_default().to_string(),
            message: body["message"].as_str().unwrap_or_default().to_string(),
        })
    }

    pub fn create(
        &self,
        ctx: &mut Ctx,
        res: &Resource,
        namespace: Option<&str>,
        obj: &Value,
    ) -> Result<Value, ClientError> {
        let req = Request::new(Method::Post, &collection_path(res, namespace)).json(obj);
        Self::expect(self.send(ctx, req), &[200, 201])
    }

    pub fn update(&self, ctx: &mut Ctx, res: &Resource, obj: &Value) -> Result<Value, ClientError> {
        let (ns, name) = (
            apimachinery::api::meta::namespace(obj),
            apimachinery::api::meta::name(obj),
        );
        let ns = (!ns.is_empty()).then_some(ns);
        let req = Request::new(Method::Put, &object_path(res, ns, name)).json(obj);
        Self::expect(self.send(ctx, req), &[200])
    }

    /// `PUT …/status`.
    pub fn update_status(
        &self,
        ctx: &mut Ctx,
        res: &Resource,
        obj: &Value,
    ) -> Result<Value, ClientError> {
        let (ns, name) = (
            apimachinery::api::meta::namespace(obj),
            apimachinery::api::meta::name(obj),
        );
        let ns = (!ns.is_empty()).then_some(ns);
        let req = Request::new(
            Method::Put,
            &format!("{}/status", object_path(res, ns, name)),
        )
        .json(obj);
        Self::expect(self.send(ctx, req), &[200])
    }

    /// A JSON merge patch.
    pub fn patch(
        &self,
        ctx: &mut Ctx,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ClientError> {
        let req = Request::new(Method::Patch, &object_path(res, namespace, name))
            .body("application/merge-patch+json", patch.to_string());
        Self::expect(self.send(ctx, req), &[200])
    }

    /// Replaces `status` wholesale through `PATCH …/status` (a JSON patch), which needs no
    /// resourceVersion: the controller owns the status it computes.
    pub fn replace_status(
        &self,
        ctx: &mut Ctx,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
        status: &Value,
    ) -> Result<Value, ClientError> {
        let patch = serde_json::json!([{"op": "add", "path": "/status", "value": status}]);
        let req = Request::new(
            Method::Patch,
            &format!("{}/status", object_path(res, namespace, name)),
        )
        .body("application/json-patch+json", patch.to_string());
        Self::expect(self.send(ctx, req), &[200])
    }

    pub fn delete(
        &self,
        ctx: &mut Ctx,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
        options: &Value,
    ) -> Result<Value, ClientError> {
        let req = Request::new(Method::Delete, &object_path(res, namespace, name)).json(options);
        Self::expect(self.send(ctx, req), &[200, 202])
    }

    /// Opens a watch on every object of a resource for a component and routes its events to
    /// it (the start of an informer); `None` if the server refused.
    pub fn open_watch(
        &self,
        ctx: &mut Ctx,
        group: &str,
        name: &str,
    ) -> Option<apiserver::watch::WatchId> {
        let w = self.watch(ctx, resource(group, name), "").ok()?;
        ctx.own_watch(w);
        Some(w)
    }

    /// Starts a watch with the initial state as `ADDED` events (resourceVersion unset), as an
    /// informer's list-then-watch amounts to; its objects come without `managedFields`, as
    /// upstream's controller and scheduler informers trim them.
    pub fn watch(
        &self,
        ctx: &mut Ctx,
        res: &Resource,
        query: &str,
    ) -> Result<apiserver::watch::WatchId, ClientError> {
        let sep = if query.is_empty() { "" } else { "&" };
        let mut req = Request::new(
            Method::Get,
            &format!("{}?watch=true{sep}{query}", collection_path(res, None)),
        );
        req.trim_managed_fields = true;
        let resp = self.send(ctx, req);
        match resp.watch {
            Some(id) => Ok(id),
            None => Err(Self::expect(resp, &[]).err().unwrap_or(ClientError {
                code: 500,
                reason: "InternalError".into(),
                message: "no watch".into(),
            })),
        }
    }
}
