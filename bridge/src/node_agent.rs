//! The node agent's door: the page connects over a WebSocket (`/node-agent`), proves it holds
//! this bridge's token and learns the machine behind it (`node_protocol` version 1). The CRI,
//! CNI and CSI calls of a browser kubelet come with the real node.
//!
//! Browsers cannot put a bearer token on a WebSocket, so the token is the first message; and
//! any page may open a socket to loopback, so the `Origin` a browser sends must be one the
//! bridge was told to trust (`--allow-origin`). Clients that send no `Origin` (not browsers)
//! still need the token.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kubeplay_core::node_protocol::{FromBridge, RealNode, ToBridge, VERSION};

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

pub fn app(config: AgentConfig) -> Router {
    Router::new()
        .route("/node-agent", get(upgrade))
        .with_state(Arc::new(config))
}

/// Serves the node agent on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: AgentConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(config))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn upgrade(
    State(config): State<Arc<AgentConfig>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !config.allowed_origins.iter().any(|o| o == origin) {
            let message = format!(
                "origin {origin:?} is not allowed: start the bridge with --allow-origin {origin}"
            );
            return (StatusCode::FORBIDDEN, message).into_response();
        }
    }
    ws.on_upgrade(move |socket| session(socket, config))
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
            nodes: vec![this_machine()],
        },
        Err(e) => refused(format!("the first message must be a hello: {e}")),
    }
}

async fn session(mut socket: WebSocket, config: Arc<AgentConfig>) {
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => ToBridge::from_json(text.as_str()),
        Ok(Some(Ok(_))) => Err("not a text message".into()),
        // Gone, broken or silent: nothing to answer.
        _ => return,
    };
    let reply = answer(hello, &config);
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
    // Version 1 has nothing more to say: the connection stays open (the page shows the
    // bridge connected) until the page closes it.
    while let Some(Ok(message)) = socket.recv().await {
        if let Message::Close(_) = message {
            break;
        }
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// This machine, as its kernel describes it.
pub fn this_machine() -> RealNode {
    let memory_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or_default();
    let socket = "/run/containerd/containerd.sock";
    let runtime = if std::path::Path::new(socket).exists() {
        format!("containerd ({socket})")
    } else {
        format!("no containerd socket at {socket}")
    };
    RealNode {
        name: read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into()),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        memory_bytes: memory_kib * 1024,
        runtime,
    }
}
