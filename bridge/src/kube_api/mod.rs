//! The kube-API door: core's API server over HTTP, so real kubectl and client libraries can
//! talk to the playground.
//!
//! Every request becomes a `kubeplay_core::apiserver::Request` and is served under one lock;
//! the server never awaits while holding it. Watches stream newline-delimited JSON events:
//! a watch task wakes whenever a write moves the store (a `tokio::sync::watch` of the
//! revision), takes its events, and sends bookmarks while idle.
//!
//! The server's clock follows the wall clock here: before each request, and on a short tick,
//! the door runs core's world up to now — controllers react to what happened meanwhile. This is
//! the only place wall time enters the control plane.

mod exec;
mod follow;
pub mod openapi;
pub mod protobuf;
pub mod schema;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response as HttpResponse;
use axum::Router;
use kubeplay_core::apiserver::{
    ApiServer, Delegated, Impersonation, Method, Request, Response, MAX_REQUEST_BODY_BYTES,
};
use kubeplay_core::cluster::Cluster;
use kubeplay_core::sim::Time;

/// What every handler shares.
#[derive(Clone)]
pub struct Door {
    cluster: Arc<Mutex<Cluster>>,
    /// The store revision after the last write; watch streams wait on changes to it.
    revision: tokio::sync::watch::Sender<i64>,
    openapi: Arc<openapi::Documents>,
    protobuf: Arc<protobuf::Schema>,
    /// How often an idle watch sends a bookmark (upstream: about a minute).
    bookmark_every: Duration,
    clock: Clock,
    /// Moves on whenever a real node's kubelet has calls waiting for the bridge (every real
    /// node's carrier watches it and takes its own node's calls).
    remote_work: tokio::sync::watch::Sender<u64>,
    /// How to read a container log file on each real node: on this machine, or through the
    /// bridge that lends the node.
    log_readers: Arc<Mutex<std::collections::HashMap<String, LogReader>>>,
}

/// Reads a CRI log file (by its path on the node) for `kubectl logs`.
pub type LogReader = Arc<
    dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>>
        + Send
        + Sync,
>;

/// The cluster's clock as the door drives it: the wall clock, run `speed` times faster from
/// the moment the door started (`speed` 1: real time) — unless the machine cannot keep that
/// pace. Then the clock slips: the lag is forgiven rather than caught up, so the cluster runs
/// as fast as the machine can and a request never waits on hours of virtual catch-up.
#[derive(Clone, Debug)]
pub struct Clock {
    started_wall: Time,
    started_virtual: Time,
    speed: i64,
    pace: Arc<Mutex<Pace>>,
}

/// What the clock has given up, and what it last reported.
#[derive(Debug, Default)]
struct Pace {
    /// Virtual milliseconds forgiven in all.
    slipped_ms: i64,
    /// The wall time and virtual time of the last report, and the slip then.
    reported: Option<(Time, Time, i64)>,
}

/// How long one catch-up may run before the clock slips (wall time).
const CATCH_UP_BUDGET: Duration = Duration::from_millis(100);
/// How often the door says at what pace the cluster really runs, when it falls short.
const PACE_REPORT_EVERY_MS: i64 = 10_000;

impl Clock {
    pub fn new(started: Time, speed: u32) -> Clock {
        Clock {
            started_wall: wall_clock(),
            started_virtual: started,
            speed: i64::from(speed.max(1)),
            pace: Arc::default(),
        }
    }

    fn pace(&self) -> MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Time {
        let elapsed = wall_clock().millis() - self.started_wall.millis();
        let slipped = self.pace().slipped_ms;
        self.started_virtual
            .plus_millis(elapsed * self.speed - slipped)
    }

    /// Forgives `ms` of virtual time the cluster could not run in time.
    fn slip(&self, ms: i64) {
        self.pace().slipped_ms += ms.max(0);
    }

    /// Once in a while, when the clock slipped since the last report: the pace the cluster
    /// really ran at, as "running at 240× of 1000×".
    pub fn pace_report(&self) -> Option<String> {
        let (wall, virt) = (wall_clock(), self.now());
        let mut pace = self.pace();
        let slipped = pace.slipped_ms;
        let Some((last_wall, last_virtual, last_slipped)) = pace.reported else {
            pace.reported = Some((wall, virt, slipped));
            return None;
        };
        let wall_ms = wall.millis() - last_wall.millis();
        if wall_ms < PACE_REPORT_EVERY_MS {
            return None;
        }
        pace.reported = Some((wall, virt, slipped));
        if slipped == last_slipped {
            return None;
        }
        let achieved = (virt.millis() - last_virtual.millis()) as f64 / wall_ms as f64;
        Some(format!(
            "the cluster is running at {achieved:.0}× of {}×: this machine cannot keep the chosen pace, so the clock slows to what it can do",
            self.speed
        ))
    }
}

impl Door {
    pub fn new(mut cluster: Cluster, clock: Clock) -> Door {
        let (revision, _) = tokio::sync::watch::channel(cluster.world.api().revision());
        Door {
            cluster: Arc::new(Mutex::new(cluster)),
            revision,
            openapi: Arc::new(openapi::documents()),
            protobuf: Arc::new(protobuf::Schema::load()),
            bookmark_every: Duration::from_secs(60),
            clock,
            remote_work: tokio::sync::watch::channel(0).0,
            log_readers: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cluster> {
        // A panic while holding the lock would be a bug in core; keep serving regardless.
        let mut guard = self.cluster.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up(&mut guard);
        if guard.has_remote_requests() {
            self.remote_work.send_modify(|n| *n += 1);
        }
        guard
    }

    /// Runs the cluster up to the clock, in slices, for at most `CATCH_UP_BUDGET` of wall
    /// time; what is left then is forgiven (the clock slips).
    fn catch_up(&self, cluster: &mut Cluster) {
        let target = self.clock.now();
        let started = std::time::Instant::now();
        // Slices of 100 ms of virtual time: a few milliseconds of work even at 5,000 nodes,
        // so the budget is kept to within a slice.
        let slice = 100;
        while cluster.world.now() < target {
            if started.elapsed() >= CATCH_UP_BUDGET {
                self.clock
                    .slip(target.millis() - cluster.world.now().millis());
                return;
            }
            let next = cluster.world.now().plus_millis(slice).min(target);
            cluster.world.run_until(next);
        }
    }

    /// Runs `f` on the whole cluster (the real node's way in), then wakes watch streams and
    /// the real node if anything is new for them.
    pub fn with_cluster<R>(&self, f: impl FnOnce(&mut Cluster) -> R) -> R {
        let mut guard = self.lock();
        let r = f(&mut guard);
        let rev = guard.world.api().revision();
        let pending = guard.has_remote_requests();
        drop(guard);
        if pending {
            self.remote_work.send_modify(|n| *n += 1);
        }
        self.notify(rev);
        r
    }

    /// Changes when a real node's kubelet has calls waiting.
    pub fn remote_work(&self) -> tokio::sync::watch::Receiver<u64> {
        self.remote_work.subscribe()
    }

    /// How `kubectl logs` reads container logs of the real node `node`.
    pub fn set_log_reader(&self, node: &str, reader: LogReader) {
        self.log_readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(node.to_string(), reader);
    }

    /// Serves a request (the kubelets answer what the API server hands them) and wakes
    /// watch streams if anything wrote.
    fn handle(&self, request: &Request) -> Response {
        let mut guard = self.lock();
        let response = guard.handle(request);
        let rev = guard.world.api().revision();
        drop(guard);
        self.notify(rev);
        response
    }

    /// Runs `f` on the API server and wakes watch streams if anything wrote.
    pub fn with_server<R>(&self, f: impl FnOnce(&mut ApiServer) -> R) -> R {
        let mut guard = self.lock();
        let r = f(guard.world.api());
        let rev = guard.world.api().revision();
        drop(guard);
        self.notify(rev);
        r
    }

    fn notify(&self, rev: i64) {
        self.revision
            .send_if_modified(|old| std::mem::replace(old, rev) != rev);
    }

    /// Runs the world up to now, for ever: the controllers' timers and watch deliveries fire
    /// even when no request comes in — each when it is due (a watch hop is 1 ms of the
    /// cluster's time, not a tick's 20), and at least every 20 ms.
    pub async fn tick(self) {
        loop {
            let (rev, next) = {
                let mut guard = self.lock();
                (guard.world.api().revision(), guard.world.next_event_at())
            };
            self.notify(rev);
            if let Some(report) = self.clock.pace_report() {
                eprintln!("{report}");
            }
            // Sleep until the next event is due in wall time, between 1 and 20 ms.
            let now = self.clock.now().millis();
            let wall_ms = next.map_or(20, |t| (t.millis() - now) / self.clock.speed);
            tokio::time::sleep(Duration::from_millis(wall_ms.clamp(1, 20) as u64)).await;
        }
    }
}

pub fn wall_clock() -> Time {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Time(ms)
}

/// The router: OpenAPI documents, and everything else to core's API server.
pub fn app(door: Door) -> Router {
    Router::new().fallback(serve).with_state(door)
}

async fn serve(State(door): State<Door>, req: HttpRequest) -> HttpResponse {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    // Read the body first, whatever the path: answering before the client has sent it breaks
    // its connection. One byte past the limit lets core answer 413 with a proper Status.
    let bytes = match to_bytes(body, MAX_REQUEST_BODY_BYTES + 1).await {
        Ok(b) => b.to_vec(),
        Err(_) => vec![b' '; MAX_REQUEST_BODY_BYTES + 1],
    };
    if path == "/openapi/v3" || path.starts_with("/openapi/v3/") || path == "/openapi/v2" {
        return serve_openapi(&door, &path);
    }
    if let Some(rest) = path.strip_prefix("/kubeplay/nodes/") {
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        return serve_power(&door, auth.as_deref(), parts.method.as_str(), rest);
    }
    if let Some(pod) = path.strip_prefix("/kubeplay/scheduler/decisions/") {
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        return serve_decision(&door, auth, pod);
    }
    let Some(method) = Method::parse(parts.method.as_str()) else {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    };
    let header_str = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut content_type = header_str(header::CONTENT_TYPE);
    let mut bytes = bytes;
    if content_type
        .as_deref()
        .is_some_and(|c| c.starts_with(protobuf::CONTENT_TYPE))
    {
        // Core speaks JSON: decode kubectl's protobuf bodies here, at the edge.
        match door.protobuf.decode_body(&bytes) {
            Ok(v) => {
                bytes = serde_json::to_vec(&v).unwrap_or_default();
                content_type = Some("application/json".into());
            }
            Err(e) => {
                let err = kubeplay_core::apiserver::ApiError::bad_request(format!(
                    "unable to decode protobuf body: {e}"
                ));
                return json_response(400, err.status().to_string());
            }
        }
    }
    let request = Request {
        method,
        path,
        query: parts.uri.query().unwrap_or_default().to_string(),
        authorization: header_str(header::AUTHORIZATION),
        content_type,
        accept: header_str(header::ACCEPT),
        body: bytes,
        value: None,
        impersonate: impersonation(&parts.headers),
        user_agent: header_str(header::USER_AGENT),
        trim_managed_fields: false,
    };
    if exec::is_exec(&request.path) {
        return exec::serve(&door, &mut parts, request).await;
    }
    let timeout = query_u64(&request.query, "timeoutSeconds");
    let mut response = door.handle(&request);
    if let Some(Delegated::RemoteLog { node, path }) = response.delegated.take() {
        response = read_remote_log(&door, &node, path).await;
    }
    if response.code == 200 {
        if let Some(target) = follow::followed(&request) {
            let first = response.bytes().into_owned();
            return HttpResponse::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "text/plain")
                .header(header::TRANSFER_ENCODING, "chunked")
                .body(Body::from_stream(follow::stream(door, target, first)))
                .unwrap_or_default();
        }
    }
    let mut http = HttpResponse::builder()
        .status(response.code)
        .header(header::CONTENT_TYPE, response.content_type);
    for w in &response.warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {w:?}")) {
            http = http.header("Warning", v);
        }
    }
    match response.watch {
        Some(id) => http
            .header(header::TRANSFER_ENCODING, "chunked")
            .body(Body::from_stream(watch_stream(door, id, timeout)))
            .unwrap_or_default(),
        None => http
            .body(Body::from(response.bytes().into_owned()))
            .unwrap_or_default(),
    }
}

/// The `Impersonate-User`, `-Group` (repeated) and `-Uid` headers, if any.
fn impersonation(headers: &header::HeaderMap) -> Option<Impersonation> {
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let user = all("impersonate-user").into_iter().next()?;
    // `Impersonate-Extra-<key>`: the key percent-encoded in the header's name.
    let mut extra: Vec<(String, Vec<String>)> = Vec::new();
    for name in headers.keys() {
        let Some(key) = name.as_str().strip_prefix("impersonate-extra-") else {
            continue;
        };
        let key = kubeplay_core::apiserver::request::percent_decode(key);
        if !extra.iter().any(|(k, _)| *k == key) {
            extra.push((key, all(name.as_str())));
        }
    }
    Some(Impersonation {
        user,
        groups: all("impersonate-group"),
        uid: all("impersonate-uid")
            .into_iter()
            .next()
            .unwrap_or_default(),
        extra,
    })
}

fn query_u64(query: &str, key: &str) -> Option<u64> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// A JSON answer (a Status, a decision, an OpenAPI document).
fn json_response(code: u16, body: impl Into<Body>) -> HttpResponse {
    HttpResponse::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap_or_default()
}

fn plain(code: StatusCode, text: &str) -> HttpResponse {
    HttpResponse::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(text.to_string()))
        .unwrap_or_default()
}

/// `GET /kubeplay/scheduler/decisions/<namespace>/<pod>`: the scheduler's latest decision
/// about a pod — every node, every plugin's verdict and score — for tools and the page.
fn serve_decision(door: &Door, authorization: Option<&str>, pod: &str) -> HttpResponse {
    // The pod's `schedulingdecision` subresource: authenticated, authorized (`get
    // pods/schedulingdecision`) and audited by the API server, answered by the scheduler.
    let Some((ns, name)) = pod.split_once('/') else {
        return plain(StatusCode::NOT_FOUND, "404 page not found");
    };
    let mut request = Request::new(
        Method::Get,
        &format!("/api/v1/namespaces/{ns}/pods/{name}/schedulingdecision"),
    );
    request.authorization = authorization.map(str::to_string);
    let response = door.handle(&request);
    json_response(response.code, response.bytes().into_owned())
}

/// A real node's container log, read where the node is (the API server and the kubelet
/// said which file): what kube-apiserver's proxy to that kubelet would answer.
pub(super) async fn read_remote_log(door: &Door, node: &str, path: String) -> Response {
    let reader = door
        .log_readers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(node)
        .cloned();
    let text = match reader {
        Some(read) => read(path).await,
        None => None,
    };
    match text {
        Some(text) => Response::raw(200, "text/plain", text.into_bytes()),
        None => Response::error(&kubeplay_core::apiserver::ApiError::bad_request(format!(
            "the container's log could not be read on node {node}"
        ))),
    }
}

/// `POST /kubeplay/nodes/<node>/power-off` and `…/power-on`: chaos for the simulated nodes.
/// Cutting power stops the node's kubelet (no heartbeats, no answers); restoring it restarts
/// the kubelet. Needs the right to create nodes/power.
fn serve_power(door: &Door, authorization: Option<&str>, method: &str, rest: &str) -> HttpResponse {
    let (node, on) = match rest.rsplit_once('/') {
        Some((node, "power-off")) => (node, false),
        Some((node, "power-on")) => (node, true),
        _ => return plain(StatusCode::NOT_FOUND, "404 page not found"),
    };
    if method != "POST" {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    // The node's `power` subresource: authenticated, authorized (`create nodes/power`) and
    // audited by the API server, switched by the cluster.
    let mut request = Request::new(Method::Post, &format!("/api/v1/nodes/{node}/power"))
        .json(&serde_json::json!({"on": on}));
    request.authorization = authorization.map(str::to_string);
    let response = door.handle(&request);
    json_response(response.code, response.bytes().into_owned())
}

fn serve_openapi(door: &Door, path: &str) -> HttpResponse {
    if path == "/openapi/v2" {
        // kubectl 1.27–1.28 insist on fetching v2 before apply and explain. An empty protobuf
        // document parses as "no schemas", which leaves validation to the server (v3 says it
        // does it) and explain to v3.
        return HttpResponse::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::empty())
            .unwrap_or_default();
    }
    let doc = if path == "/openapi/v3" {
        Some(door.openapi.index.clone())
    } else {
        path.strip_prefix("/openapi/v3/")
            .and_then(|gv| door.openapi.by_group_version.get(gv).cloned())
    };
    match doc {
        Some(bytes) => json_response(200, bytes),
        None => plain(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

/// Cancels the core watch when the HTTP stream is dropped (client gone or timed out).
struct WatchGuard {
    door: Door,
    id: kubeplay_core::apiserver::watch::WatchId,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.door.with_server(|s| s.cancel_watch(self.id));
    }
}

fn watch_stream(
    door: Door,
    id: kubeplay_core::apiserver::watch::WatchId,
    timeout: Option<u64>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(timeout.unwrap_or(1800).clamp(1, 3600));
    let rx = door.revision.subscribe();
    let guard = WatchGuard { door, id };
    futures_util::stream::unfold(
        (guard, rx, false),
        move |(guard, mut rx, done)| async move {
            if done {
                return None;
            }
            loop {
                // `None`: the watch is over (it delivered its error, or was cancelled).
                let events = guard.door.with_server(|s| s.poll_watch(guard.id))?;
                if !events.is_empty() {
                    let mut out = Vec::new();
                    for e in events {
                        out.extend(serde_json::to_vec(&e).unwrap_or_default());
                        out.push(b'\n');
                    }
                    return Some((Ok(out), (guard, rx, false)));
                }
                let idle = tokio::time::sleep(guard.door.bookmark_every);
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => return None,
                    changed = rx.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                    }
                    _ = idle => {
                        if let Some(b) = guard.door.with_server(|s| s.bookmark(guard.id)) {
                            let mut out = serde_json::to_vec(&b).unwrap_or_default();
                            out.push(b'\n');
                            return Some((Ok(out), (guard, rx, false)));
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use kubeplay_core::apiserver::Config;

    use super::*;

    /// A clock far faster than the machine: each catch-up runs what it can within its budget
    /// and forgives the rest, so the door answers and the cluster keeps moving.
    #[test]
    fn a_clock_the_cluster_cannot_follow_slips() {
        let start = wall_clock();
        let cluster = Cluster::with_nodes(
            Config {
                start,
                ..Config::default()
            },
            20,
        );
        let door = Door::new(cluster, Clock::new(start, 1_000_000));
        std::thread::sleep(Duration::from_millis(50));
        let first = door.with_cluster(|c| c.world.now());
        assert!(door.clock.pace().slipped_ms > 0, "the clock slipped");
        let second = door.with_cluster(|c| c.world.now());
        assert!(second > first, "the cluster runs on");
        // A clock the cluster can follow never slips.
        let start = wall_clock();
        let cluster = Cluster::new(Config {
            start,
            ..Config::default()
        });
        let door = Door::new(cluster, Clock::new(start, 1));
        std::thread::sleep(Duration::from_millis(20));
        let now = door.with_cluster(|c| c.world.now());
        assert_eq!(door.clock.pace().slipped_ms, 0);
        assert!(now > start);
    }
}
