//! The node agent's door: a client (the page, or another bridge's door) connects over a
//! WebSocket (`/node-agent`), proves it holds this bridge's token and learns the machine
//! behind it (`node_protocol`'s handshake). Then, if the bridge runs a real node, the client
//! may borrow it: its kubelet's CRI and CSI calls are carried out here, results and container
//! exits go back, and when the client goes — the connection closes, or nothing is heard for
//! [`LEASE`] — everything it started is stopped and removed. One client at a time.
//!
//! Browsers cannot put a bearer token on a WebSocket, so the token is the first message; and
//! any page may open a socket to loopback, so the `Origin` a browser sends must be one the
//! bridge was told to trust (`--allow-origin`). Clients that send no `Origin` (not browsers)
//! still need the token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kubeplay_core::kubelet::cri::CriCall;
use kubeplay_core::node_protocol::{
    read_call, FromBridge, SessionCall, SessionEvent, ToBridge, VERSION,
};

use crate::real_node;

/// Who may connect.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub token: String,
    /// Page origins (`http://127.0.0.1:8080`) whose sockets are accepted.
    pub allowed_origins: Vec<String>,
}

/// The page `./dev play` serves.
pub const DEFAULT_ORIGINS: &[&str] = &["http://127.0.0.1:8080", "http://localhost:8080"];

/// How long a connected page has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client that borrowed the node may stay silent (it renews every 10 s).
pub const LEASE: Duration = Duration::from_secs(30);
/// The largest message a client may send, before and after its hello: calls are a few
/// hundred bytes (axum's default would take 64 MiB from anyone who connects).
pub use kubeplay_core::node_protocol::MAX_MESSAGE_BYTES;

/// More messages than this in a second end the session (the kubelet sends a few a second
/// per pod; a burst of hundreds is a client gone wrong).
const MAX_MESSAGES_PER_SECOND: u32 = 500;

/// What every connection shares.
struct Agent {
    config: AgentConfig,
    /// The real node this bridge may lend, and whether a client has it now.
    node: Option<Arc<real_node::RealNode>>,
    lent: AtomicBool,
}

pub fn app(config: AgentConfig) -> Router {
    lending(config, None)
}

/// The agent's door, lending `node` to one client at a time.
pub fn lending(config: AgentConfig, node: Option<Arc<real_node::RealNode>>) -> Router {
    Router::new()
        .route("/node-agent", get(upgrade))
        .with_state(Arc::new(Agent {
            config,
            node,
            lent: AtomicBool::new(false),
        }))
}

/// Serves the node agent on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: AgentConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_lending(listener, config, None, shutdown).await
}

/// Like [`serve`], lending `node`.
pub async fn serve_lending(
    listener: tokio::net::TcpListener,
    config: AgentConfig,
    node: Option<Arc<real_node::RealNode>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, lending(config, node))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn upgrade(
    State(agent): State<Arc<Agent>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let config = &agent.config;
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !config.allowed_origins.iter().any(|o| o == origin) {
            let message = format!(
                "origin {origin:?} is not allowed: start the bridge with --allow-origin {origin}"
            );
            return (StatusCode::FORBIDDEN, message).into_response();
        }
    }
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(socket, agent))
}

/// Compares without stopping at the first difference (the time taken says nothing).
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

fn answer(hello: Result<ToBridge, String>, config: &AgentConfig) -> FromBridge {
    let refused = |reason: String| FromBridge::Refused { reason };
    match hello {
        Ok(ToBridge::Hello { version, .. }) if version != VERSION => refused(format!(
            "this bridge speaks node protocol version {VERSION}, the page version {version}"
        )),
        Ok(ToBridge::Hello { token, .. }) if !same_token(&token, &config.token) => {
            refused("wrong token".into())
        }
        Ok(ToBridge::Hello { .. }) => FromBridge::Welcome {
            version: VERSION,
            nodes: vec![crate::host::this_machine()],
        },
        Err(e) => refused(format!("the first message must be a hello: {e}")),
    }
}

async fn session(mut socket: WebSocket, agent: Arc<Agent>) {
    let config = &agent.config;
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => ToBridge::from_json(text.as_str()),
        Ok(Some(Ok(_))) => Err("not a text message".into()),
        // Gone, broken or silent: nothing to answer.
        _ => return,
    };
    let reply = answer(hello, config);
    let welcomed = matches!(reply, FromBridge::Welcome { .. });
    if socket
        .send(Message::Text(reply.to_json().into()))
        .await
        .is_err()
        || !welcomed
    {
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    lend(socket, &agent).await;
}

/// A node lent to a client: the session after the welcome.
struct Lent {
    node: Arc<real_node::RealNode>,
    relist: tokio::task::JoinHandle<()>,
}

async fn send(socket: &mut WebSocket, event: &SessionEvent) -> bool {
    let text = serde_json::to_string(event).unwrap_or_default();
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// Serves the session: calls of the client's kubelet carried out here, their results, the
/// node's container exits; until the client goes or its lease runs out.
async fn lend(mut socket: WebSocket, agent: &Agent) {
    let (events, mut pending) = tokio::sync::mpsc::unbounded_channel::<SessionEvent>();
    let mut lent: Option<Lent> = None;
    // The lease: renewed by each message from the client (not by what the bridge sends).
    let mut deadline = tokio::time::Instant::now() + LEASE;
    let (mut window, mut in_window) = (Instant::now(), 0u32);
    loop {
        let message = tokio::select! {
            m = tokio::time::timeout_at(deadline, socket.recv()) => m,
            Some(event) = pending.recv() => {
                if send(&mut socket, &event).await { continue } else { break }
            }
        };
        let text = match message {
            Err(_) => {
                let message = format!("nothing heard for {} s: the lease ran out", LEASE.as_secs());
                let _ = send(&mut socket, &SessionEvent::Error { message }).await;
                break;
            }
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
        };
        deadline = tokio::time::Instant::now() + LEASE;
        if window.elapsed() >= Duration::from_secs(1) {
            (window, in_window) = (Instant::now(), 0);
        }
        in_window += 1;
        if in_window > MAX_MESSAGES_PER_SECOND {
            let message = format!(
                "more than {MAX_MESSAGES_PER_SECOND} messages in a second: the session ends"
            );
            let _ = send(&mut socket, &SessionEvent::Error { message }).await;
            break;
        }
        let reply = match read_call(text.as_str()) {
            Err(e) => Some(format!("not a message of node protocol {VERSION}: {e}")),
            Ok(call) => take(call, agent, &mut lent, &events).await,
        };
        if let Some(message) = reply {
            if !send(&mut socket, &SessionEvent::Error { message }).await {
                break;
            }
        }
    }
    if let Some(Lent { node, relist }) = lent {
        relist.abort();
        let started = Instant::now();
        match node.stop().await {
            Ok(n) => eprintln!(
                "real node {}: the client went; reaped {n} pod sandboxes in {} ms",
                node.settings.name,
                started.elapsed().as_millis()
            ),
            Err(e) => eprintln!("real node {}: reaping failed: {e}", node.settings.name),
        }
        agent.lent.store(false, Ordering::SeqCst);
    }
}

/// Takes one message of the session; `Some(why)` when it is refused (nothing is started).
async fn take(
    call: SessionCall,
    agent: &Agent,
    lent: &mut Option<Lent>,
    events: &tokio::sync::mpsc::UnboundedSender<SessionEvent>,
) -> Option<String> {
    match call {
        SessionCall::Renew {} => None,
        SessionCall::Join {} => {
            let Some(node) = agent.node.clone() else {
                return Some("this bridge lends no node: start it with --real-node".into());
            };
            if lent.is_some() || agent.lent.swap(true, Ordering::SeqCst) {
                return Some(format!(
                    "{} is already a node of another client's cluster",
                    node.settings.name
                ));
            }
            match node.joined_node().await {
                Ok(joined) => {
                    let _ = events.send(SessionEvent::Joined {
                        node: Box::new(joined),
                    });
                }
                Err(e) => {
                    agent.lent.store(false, Ordering::SeqCst);
                    return Some(format!("{e:#}"));
                }
            }
            let exits = events.clone();
            let relist = tokio::spawn(real_node::relist(
                node.runtime.clone(),
                move |container_id, exit_code, reason| {
                    let _ = exits.send(SessionEvent::Exited {
                        container_id,
                        exit_code,
                        reason,
                    });
                },
            ));
            *lent = Some(Lent { node, relist });
            None
        }
        SessionCall::Call { id, call } => {
            let Some(Lent { node, .. }) = lent else {
                return Some("join first: no node is lent to this session".into());
            };
            let (runtime, events) = (node.runtime.clone(), events.clone());
            let guard = node.in_flight.start();
            tokio::spawn(async move {
                let _call = guard;
                let starts = match &call {
                    CriCall::StartContainer { container_id } => Some(container_id.clone()),
                    _ => None,
                };
                let (result, took) = real_node::carry(&runtime, call).await;
                let took_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
                let _ = events.send(SessionEvent::Result {
                    id,
                    result,
                    took_ms,
                });
                // The result goes out before any exit the relist sees from now on.
                if let Some(id) = starts {
                    runtime.start_delivered(&id);
                }
            });
            None
        }
        SessionCall::Logs { id, path } => {
            let Some(Lent { node, .. }) = lent else {
                return Some("join first: no node is lent to this session".into());
            };
            let text = node
                .log_file(&path)
                .and_then(|p| real_node::read_cri_log(&p).ok());
            let _ = events.send(SessionEvent::Log { id, text });
            None
        }
    }
}
