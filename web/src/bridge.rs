//! The page's end of a connection to a bridge's node agent (`node_protocol`): the handshake,
//! then the session in which the bridge's machine joins the in-tab cluster as a Node. Its
//! kubelet runs here, in the tab, with the rest of the control plane; each call it makes (CRI,
//! CNI through the sandbox, CSI, probes) crosses the socket, is carried out against the
//! bridge's containerd, and comes back with the time it really took.
//!
//! The page opens no connection but this one, and only when the user asks.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::{Interval, Timeout};
use kubeplay_core::node_protocol::{
    call_message, read_event, FromBridge, RealNode, SessionCall, SessionEvent, ToBridge, VERSION,
};
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::cluster::{Cluster, LogDone, LogReader};

/// Where `./dev play --bridge` listens.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:6444/node-agent";

/// How often the page takes its real node's kubelet's calls to the bridge, in real
/// milliseconds (a result's follow-up call goes at once).
const FLUSH_MS: u32 = 50;
/// How often the lease is renewed (the bridge's lease is 30 s).
const RENEW_MS: u32 = 10_000;
/// How long a log read may take on the machine.
const LOG_TIMEOUT_MS: u32 = 5_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Conn {
    #[default]
    Idle,
    /// To this URL.
    Connecting(String),
    Connected {
        version: u64,
        nodes: Vec<RealNode>,
        lent: Lent,
        /// The last thing the bridge refused during the session.
        said: Option<String>,
    },
    Refused(String),
    Failed(String),
    /// Was connected; the bridge went away (with the node it lent, if any).
    Lost(Option<String>),
}

/// Where the session stands with the bridge's machine.
#[derive(Clone, Debug, PartialEq)]
pub enum Lent {
    /// Asked for it.
    Joining,
    /// It is this cluster's node of that name.
    Joined(String),
    /// The bridge lends no machine, for this reason.
    Not(String),
}

impl Conn {
    pub fn describe(&self) -> String {
        match self {
            Conn::Idle => "Not connected.".into(),
            Conn::Connecting(url) => format!("Connecting to {url}…"),
            Conn::Connected {
                version,
                nodes,
                lent,
                said,
            } => {
                let machines = format!(
                    "Connected (node protocol v{version}): {} machine{} behind this bridge.",
                    nodes.len(),
                    if nodes.len() == 1 { "" } else { "s" }
                );
                let lent = match lent {
                    Lent::Joining => " Joining it to this cluster…".to_string(),
                    Lent::Joined(node) => format!(
                        " It joined this cluster as node {node}: pods that tolerate kubeplay.io/real-node run there as real containers."
                    ),
                    Lent::Not(why) => format!(" Not joined: {why}."),
                };
                let said = said
                    .as_ref()
                    .map(|s| format!(" The bridge said: {s}."))
                    .unwrap_or_default();
                format!("{machines}{lent}{said}")
            }
            Conn::Refused(reason) => format!("Refused by the bridge: {reason}."),
            Conn::Failed(reason) => format!("Could not connect: {reason}."),
            Conn::Lost(None) => "The bridge closed the connection.".into(),
            Conn::Lost(Some(node)) => format!(
                "The bridge closed the connection: node {node} lost its machine (its containers are removed there)."
            ),
        }
    }

    pub fn open(&self) -> bool {
        matches!(self, Conn::Connecting(_) | Conn::Connected { .. })
    }

    /// The node the bridge's machine is, while joined.
    pub fn joined(&self) -> Option<&str> {
        match self {
            Conn::Connected {
                lent: Lent::Joined(node),
                ..
            } => Some(node),
            _ => None,
        }
    }
}

/// Log reads asked of the machine and not answered yet.
#[derive(Default)]
struct Logs {
    next: u64,
    waiting: Vec<(u64, LogDone)>,
}

/// What a connection's handlers share: the socket, the cluster, the session's timers and the
/// log reads waiting for the machine.
#[derive(Clone)]
struct Session {
    ws: WebSocket,
    cluster: Cluster,
    timers: Rc<RefCell<Vec<Interval>>>,
    logs: Rc<RefCell<Logs>>,
}

impl Session {
    /// The session ends (the socket closed, or the user disconnected): its timers stop, log
    /// reads waiting hear nothing, and a joined node loses its machine.
    fn end(&self, joined: Option<&str>) {
        self.timers.borrow_mut().clear();
        self.cluster.set_real_log_reader(None);
        let waiting = std::mem::take(&mut self.logs.borrow_mut().waiting);
        for (_, done) in waiting {
            done(None);
        }
        if let Some(node) = joined {
            self.cluster.lose_real_node(node);
        }
    }

    /// Reads log files on the machine for the terminal's `kubectl logs`.
    fn log_reader(&self) -> LogReader {
        let session = self.clone();
        Rc::new(move |path, done| {
            let id = {
                let mut logs = session.logs.borrow_mut();
                logs.next += 1;
                let id = logs.next;
                logs.waiting.push((id, done));
                id
            };
            say(&session.ws, &SessionCall::Logs { id, path });
            // A machine that does not answer within 5 s: the reader hears nothing.
            let session = session.clone();
            Timeout::new(LOG_TIMEOUT_MS, move || session.answer_log(id, None)).forget();
        })
    }

    fn answer_log(&self, id: u64, text: Option<String>) {
        let done = {
            let mut logs = self.logs.borrow_mut();
            let at = logs.waiting.iter().position(|(i, _)| *i == id);
            at.map(|at| logs.waiting.remove(at).1)
        };
        if let Some(done) = done {
            done(text);
        }
    }
}

/// An open connection: the socket's handlers and the session, which live as long as it.
/// Dropping it closes the socket; a joined node loses its machine.
pub struct Connection {
    session: Session,
    conn: Rc<RefCell<Conn>>,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let ws = &self.session.ws;
        ws.set_onopen(None);
        ws.set_onmessage(None);
        ws.set_onclose(None);
        let _ = ws.close();
        let joined = self.conn.borrow().joined().map(str::to_string);
        self.session.end(joined.as_deref());
    }
}

/// Sends the calls `node`'s kubelet made since the last time; one too big for the bridge
/// fails alone.
fn flush(ws: &WebSocket, cluster: &Cluster, node: &str) {
    for req in cluster.real_node_calls(node) {
        match call_message(req) {
            Ok(text) => {
                let _ = ws.send_with_str(&text);
            }
            Err(failed) => cluster.deliver(node, failed, 0),
        }
    }
}

fn say(ws: &WebSocket, call: &SessionCall) {
    let _ = ws.send_with_str(&call.to_value().to_string());
}

/// What the page does with one message of a session: `Some` is the connection's next state.
fn on_session_event(text: &str, state: &Conn, session: &Session) -> Option<Conn> {
    let (ws, cluster) = (&session.ws, &session.cluster);
    let Conn::Connected {
        version,
        nodes,
        lent,
        ..
    } = state
    else {
        return None;
    };
    let with = |lent: Lent, said: Option<String>| Conn::Connected {
        version: *version,
        nodes: nodes.clone(),
        lent,
        said,
    };
    let event = match read_event(text) {
        Ok(event) => event,
        Err(e) => {
            let said = format!("something this page does not understand ({e})");
            return Some(with(lent.clone(), Some(said)));
        }
    };
    let node = match lent {
        Lent::Joined(node) => node.as_str(),
        _ => "",
    };
    match event {
        SessionEvent::Joined { node } if *lent == Lent::Joining => {
            if let Err(e) = cluster.join_real_node(&node) {
                return Some(with(Lent::Not(e), None));
            }
            let name = node.name.clone();
            cluster.set_real_log_reader(Some(session.log_reader()));
            let (flusher, renewer) = (ws.clone(), ws.clone());
            let (cluster, node) = (cluster.clone(), name.clone());
            session.timers.borrow_mut().extend([
                Interval::new(FLUSH_MS, move || flush(&flusher, &cluster, &node)),
                Interval::new(RENEW_MS, move || say(&renewer, &SessionCall::Renew {})),
            ]);
            Some(with(Lent::Joined(name), None))
        }
        SessionEvent::Result {
            id,
            result,
            took_ms,
        } if !node.is_empty() => {
            let resp = kubeplay_core::kubelet::cri::CriResponse { id, result };
            cluster.deliver(node, resp, took_ms);
            // What the kubelet does next (the sandbox's container, after it) goes at once.
            flush(ws, cluster, node);
            None
        }
        SessionEvent::Exited {
            container_id,
            exit_code,
            reason,
        } if !node.is_empty() => {
            cluster.real_container_exited(node, &container_id, exit_code, &reason);
            flush(ws, cluster, node);
            None
        }
        SessionEvent::Log { id, text } => {
            session.answer_log(id, text);
            None
        }
        SessionEvent::Error { message } if *lent == Lent::Joining => {
            Some(with(Lent::Not(message), None))
        }
        SessionEvent::Error { message } => Some(with(lent.clone(), Some(message))),
        // Results before the join: nothing to do.
        _ => None,
    }
}

/// The bridge's answer to the hello: welcomed (then the page asks for the machine), refused,
/// or not understood.
fn handshake(text: &str, ws: &WebSocket) -> Conn {
    match FromBridge::from_json(text) {
        Ok(FromBridge::Welcome { version, nodes }) if version == VERSION => {
            say(ws, &SessionCall::Join {});
            Conn::Connected {
                version,
                nodes,
                lent: Lent::Joining,
                said: None,
            }
        }
        Ok(FromBridge::Welcome { version, .. }) => Conn::Failed(format!(
            "the bridge speaks node protocol version {version}, this page version {VERSION}"
        )),
        Ok(FromBridge::Refused { reason }) => Conn::Refused(reason),
        Err(e) => Conn::Failed(format!(
            "the bridge said something this page does not understand ({e})"
        )),
    }
}

/// Opens a connection to the bridge at `url`; `changed` is called whenever its state moves
/// (and with it, possibly, the cluster: a node joined or lost).
pub fn connect(
    url: &str,
    token: String,
    conn: Rc<RefCell<Conn>>,
    cluster: Cluster,
    changed: Rc<dyn Fn()>,
) -> Option<Connection> {
    let set = {
        let (conn, changed) = (conn.clone(), changed.clone());
        move |c: Conn| {
            *conn.borrow_mut() = c;
            changed();
        }
    };
    // A relative URL would be resolved against the page's own server: only what the user
    // names, and only a WebSocket.
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        set(Conn::Failed(format!(
            "{url:?} is not a bridge's URL, which starts with ws:// or wss:// ({DEFAULT_URL})"
        )));
        return None;
    }
    let ws = match WebSocket::new(url) {
        Ok(ws) => ws,
        Err(e) => {
            let why = e.dyn_ref::<js_sys::Error>().map_or_else(
                || "not a WebSocket URL".to_string(),
                |e| String::from(e.message()),
            );
            set(Conn::Failed(why));
            return None;
        }
    };
    set(Conn::Connecting(url.to_string()));
    let session = Session {
        ws: ws.clone(),
        cluster,
        timers: Rc::default(),
        logs: Rc::default(),
    };
    let on_open = {
        let ws = ws.clone();
        Closure::<dyn FnMut()>::new(move || {
            let hello = ToBridge::Hello {
                version: VERSION,
                token: token.clone(),
            };
            let _ = ws.send_with_str(&hello.to_json());
        })
    };
    let on_message = {
        let (set, ws, conn, session) = (set.clone(), ws.clone(), conn.clone(), session.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let text = e.data().as_string().unwrap_or_default();
            let state = conn.borrow().clone();
            if let Conn::Connected { .. } = state {
                if let Some(next) = on_session_event(&text, &state, &session) {
                    set(next);
                }
                return;
            }
            let next = handshake(&text, &ws);
            // Nothing more to hear on a connection that did not end in a welcome.
            if !matches!(next, Conn::Connected { .. }) {
                let _ = ws.close();
            }
            set(next);
        })
    };
    let on_close = {
        let (url, conn, session) = (url.to_string(), conn.clone(), session.clone());
        Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let joined = conn.borrow().joined().map(str::to_string);
            session.end(joined.as_deref());
            let next = match &*conn.borrow() {
                Conn::Connecting(_) => {
                    // 1006: the connection never opened (nothing listening, or the bridge
                    // turned this page's origin away).
                    let code = if e.code() == 1006 {
                        String::new()
                    } else {
                        format!(", closed with code {}", e.code())
                    };
                    Conn::Failed(format!(
                        "no bridge answered at {url} (is it running, and does it allow this page's origin?{code})"
                    ))
                }
                Conn::Connected { .. } => Conn::Lost(joined),
                other => other.clone(),
            };
            set(next);
        })
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(Connection {
        session,
        conn,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    })
}
