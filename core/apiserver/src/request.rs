//! Requests and responses, independent of any transport, and the parse of a request path into
//! what it asks for (`RequestInfoFactory` in `k8s.io/apiserver/pkg/endpoints/request`).

use serde_json::Value;

use super::status::ApiError;

/// A watch session of the API server, polled by its owner (`ApiServer::poll_watch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchId(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" | "HEAD" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
}

/// One API request as it arrives, from HTTP (the bridge) or from an in-page client.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: Method,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub body: Vec<u8>,
    /// A JSON body handed over as a value by an in-process client (the components, the
    /// page): the same document as `body` would hold, without printing and parsing it.
    pub value: Option<Value>,
    /// `Impersonate-User`, `-Group`, `-Uid` (kubectl `--as`, `--as-group`, `--as-uid`).
    pub impersonate: Option<Impersonation>,
    /// `User-Agent`: names the field manager of a write that names none (`kubectl/v1.32.0
    /// ...` → `kubectl`).
    pub user_agent: Option<String>,
    /// A watch for an in-process informer: objects without `managedFields`, which no
    /// controller reads (kube-controller-manager's and kube-scheduler's informers trim them
    /// too) and which would otherwise double what every informer holds.
    pub trim_managed_fields: bool,
}

/// Who the requester asks to act as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonation {
    pub user: String,
    pub groups: Vec<String>,
    pub uid: String,
    /// `Impersonate-Extra-<key>` (repeated per value), by key in order.
    pub extra: Vec<(String, Vec<String>)>,
}

impl Request {
    pub fn new(method: Method, target: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method,
            path: path.to_string(),
            query: query.to_string(),
            authorization: None,
            content_type: None,
            accept: None,
            body: Vec::new(),
            value: None,
            impersonate: None,
            user_agent: None,
            trim_managed_fields: false,
        }
    }

    /// Whether the request carries a body at all.
    pub fn has_body(&self) -> bool {
        !self.body.is_empty() || self.value.is_some()
    }

    pub fn bearer(mut self, token: &str) -> Request {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    pub fn json(mut self, body: &Value) -> Request {
        self.content_type = Some("application/json".into());
        self.body.clear();
        self.value = Some(body.clone());
        self
    }

    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
        self.content_type = Some(content_type.into());
        self.body = body.into();
        self.value = None;
        self
    }

    pub fn accept(mut self, accept: &str) -> Request {
        self.accept = Some(accept.into());
        self
    }
}

/// What the API server answers. A watch answers with `watch` set: its events are then taken
/// with `ApiServer::poll_watch`.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub code: u16,
    pub content_type: &'static str,
    /// The body as bytes — empty when it is held as `json` (see [`Response::bytes`]).
    pub body: Vec<u8>,
    /// A JSON answer, kept as a value until someone needs its bytes: in-process clients
    /// read it without a print-and-parse round trip.
    json: Option<Value>,
    /// `Warning` headers (`299 - "..."`), e.g. unknown fields under `fieldValidation=Warn`.
    pub warnings: Vec<String>,
    pub watch: Option<WatchId>,
    /// A read the pipeline let through that a component answers — a node's kubelet (which
    /// kube-apiserver proxies to), the scheduler: whoever owns the components fills the body
    /// in (`Cluster::handle`).
    pub delegated: Option<Delegated>,
}

/// What a component is asked, on behalf of a request the API server authorized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delegated {
    /// `pods/schedulingdecision`: the scheduler's latest decision about the pod (kubeplay's
    /// own subresource: every node and plugin's verdict, as the page's decision table shows).
    Decision { namespace: String, pod: String },
    /// `nodes/power` (kubeplay's own, the playground's chaos): cut or restore a simulated
    /// node's power.
    Power { node: String, on: bool },
    /// `pods/log`: the log of a pod's container on `node`.
    Logs {
        node: String,
        namespace: String,
        pod: String,
        container: String,
    },
    /// The same log, on a real machine: the CRI log file at `path` there, for the host to
    /// read (the answer's body is empty until it does).
    RemoteLog { node: String, path: String },
    /// `pods/exec`: a command in a pod's container on `node`.
    Exec {
        node: String,
        namespace: String,
        pod: String,
        container: String,
        command: Vec<String>,
    },
    /// `metrics.k8s.io`: what pods (`pods`) or nodes use, filtered as asked.
    Metrics {
        pods: bool,
        namespace: Option<String>,
        name: Option<String>,
        label_selector: String,
    },
}

impl Response {
    pub fn json(code: u16, body: &Value) -> Response {
        Response::json_value(code, body.clone())
    }

    pub fn json_value(code: u16, body: Value) -> Response {
        Response {
            code,
            content_type: "application/json",
            body: Vec::new(),
            json: Some(body),
            warnings: Vec::new(),
            watch: None,
            delegated: None,
        }
    }

    /// A body of bytes as it is (tables, logs, protobuf).
    pub fn raw(code: u16, content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            code,
            content_type,
            body,
            json: None,
            warnings: Vec::new(),
            watch: None,
            delegated: None,
        }
    }

    /// The body's bytes, as they go on the wire.
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.json {
            Some(v) => std::borrow::Cow::Owned(serde_json::to_vec(v).unwrap_or_default()),
            None => std::borrow::Cow::Borrowed(&self.body),
        }
    }

    pub fn error(err: &ApiError) -> Response {
        Response::json(err.code(), &err.status())
    }

    /// The body as JSON (tests and in-page clients).
    pub fn value(&self) -> Value {
        match &self.json {
            Some(v) => v.clone(),
            None => serde_json::from_slice(&self.body).unwrap_or(Value::Null),
        }
    }

    /// The body as JSON, taken.
    pub fn into_value(self) -> Value {
        match self.json {
            Some(v) => v,
            None => serde_json::from_slice(&self.body).unwrap_or(Value::Null),
        }
    }
}

/// Decoded query parameters, in order; later duplicates are ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    /// Every value of a repeated parameter (`command=ls&command=-l`), in order.
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }
}

/// `%XX` escapes (and `+`, as a query writes a space) decoded.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a resource request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: &'static str,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

/// A request is for a resource, or for a plain path (discovery, OpenAPI, health).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Resource(RequestInfo),
    NonResource { verb: &'static str, path: String },
}

pub fn parse_target(method: Method, path: &str, query: &Query) -> Result<Target, ApiError> {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => {
            let verb = match method {
                Method::Get => "get",
                Method::Post => "post",
                Method::Put => "put",
                Method::Patch => "patch",
                Method::Delete => "delete",
            };
            return Ok(Target::NonResource {
                verb,
                path: path.to_string(),
            });
        }
    };
    // `/namespaces/{ns}/{resource}...` is namespaced; `/namespaces/{name}` is the namespace.
    // `/namespaces/{name}/status` and `/finalize` are the namespace's own subresources
    // (`namespaceSubresources` upstream), not resources inside it.
    let (namespace, rest): (Option<&str>, &[&str]) = match rest {
        ["namespaces", _, "status" | "finalize"] => (None, rest),
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(*ns), tail),
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [r] => (*r, None, None),
        [r, n] => (*r, Some(*n), None),
        [r, n, s] => (*r, Some(*n), Some(*s)),
        _ => return Err(ApiError::NoRoute),
    };
    let verb = match (method, name.is_some()) {
        // A stream into a pod is a `create` whichever method opens it (a WebSocket is a GET),
        // as kube-apiserver authorizes it.
        (Method::Get | Method::Post, true)
            if matches!(subresource, Some("exec" | "attach" | "portforward")) =>
        {
            "create"
        }
        (Method::Get, _) if query.flag("watch") => "watch",
        (Method::Get, true) => "get",
        (Method::Get, false) => "list",
        (Method::Post, _) => "create",
        (Method::Put, _) => "update",
        (Method::Patch, _) => "patch",
        (Method::Delete, true) => "delete",
        (Method::Delete, false) => "deletecollection",
    };
    Ok(Target::Resource(RequestInfo {
        verb,
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        subresource: subresource.map(str::to_string),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
    }))
}

/// The `labelSelector` and `fieldSelector` of a list, watch or deletecollection of `kind`,
/// parsed and checked (a field selector names only fields the kind supports).
pub fn from_query(
    kind: &str,
    query: &Query,
) -> Result<
    (
        apimachinery::selectors::Selector,
        apimachinery::selectors::FieldSelector,
    ),
    String,
> {
    let label =
        apimachinery::selectors::Selector::parse(query.get("labelSelector").unwrap_or_default())?;
    let field = apimachinery::selectors::FieldSelector::parse(
        query.get("fieldSelector").unwrap_or_default(),
    )?;
    field.check_supported(kind)?;
    Ok((label, field))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: Method, target: &str) -> Target {
        let (path, q) = target.split_once('?').unwrap_or((target, ""));
        parse_target(method, path, &Query::parse(q)).unwrap()
    }

    #[test]
    fn parses_paths_like_the_request_info_factory() {
        let Target::Resource(i) = info(
            Method::Get,
            "/apis/apps/v1/namespaces/default/deployments/web/scale",
        ) else {
            panic!()
        };
        assert_eq!(
            (
                i.verb,
                i.group.as_str(),
                i.resource.as_str(),
                i.namespace.as_deref(),
                i.name.as_deref(),
                i.subresource.as_deref()
            ),
            (
                "get",
                "apps",
                "deployments",
                Some("default"),
                Some("web"),
                Some("scale")
            )
        );
        let Target::Resource(i) = info(Method::Get, "/api/v1/namespaces/kube-system") else {
            panic!()
        };
        assert_eq!(
            (i.verb, i.resource.as_str(), i.name.as_deref()),
            ("get", "namespaces", Some("kube-system"))
        );
        let Target::Resource(i) = info(Method::Get, "/api/v1/pods?watch=true") else {
            panic!()
        };
        assert_eq!((i.verb, i.namespace), ("watch", None));
        let Target::Resource(i) = info(Method::Delete, "/api/v1/namespaces/a/pods") else {
            panic!()
        };
        assert_eq!(i.verb, "deletecollection");
        assert!(matches!(
            info(Method::Get, "/apis"),
            Target::NonResource { .. }
        ));
    }

    #[test]
    fn decodes_query_strings() {
        let q = Query::parse("labelSelector=app%3Dweb%2Ctier+in+%28a%29&limit=5&bad=%zz");
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.get("bad"), Some("%zz"));
    }
}
