//! The bridge panel: the URL and token of a bridge the user runs, the connection's state, and
//! the real machines behind it (`node_protocol`). The page opens no connection but this one,
//! and only when asked.

use std::cell::RefCell;
use std::rc::Rc;

use kubeplay_core::node_protocol::{memory, FromBridge, RealNode, ToBridge, VERSION};
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, HtmlInputElement, MessageEvent, WebSocket};
use yew::prelude::*;

/// Where `./dev play --bridge` listens.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:6444/node-agent";

#[derive(Clone, Debug, Default, PartialEq)]
enum Conn {
    #[default]
    Idle,
    /// To this URL.
    Connecting(String),
    Connected {
        version: u64,
        nodes: Vec<RealNode>,
    },
    Refused(String),
    Failed(String),
    /// Was connected; the bridge went away.
    Lost,
}

impl Conn {
    fn describe(&self) -> String {
        match self {
            Conn::Idle => "Not connected.".into(),
            Conn::Connecting(url) => format!("Connecting to {url}…"),
            Conn::Connected { version, nodes } => format!(
                "Connected (node protocol v{version}): {} machine{} behind this bridge.",
                nodes.len(),
                if nodes.len() == 1 { "" } else { "s" }
            ),
            Conn::Refused(reason) => format!("Refused by the bridge: {reason}."),
            Conn::Failed(reason) => format!("Could not connect: {reason}."),
            Conn::Lost => "The bridge closed the connection.".into(),
        }
    }

    fn open(&self) -> bool {
        matches!(self, Conn::Connecting(_) | Conn::Connected { .. })
    }
}

/// An open socket and the handlers that must live as long as it.
struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

fn connect(
    url: &str,
    token: String,
    conn: Rc<RefCell<Conn>>,
    redraw: Callback<()>,
) -> Option<Socket> {
    let set = {
        let (conn, redraw) = (conn.clone(), redraw.clone());
        move |c: Conn| {
            *conn.borrow_mut() = c;
            redraw.emit(());
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
        let (set, ws) = (set.clone(), ws.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let text = e.data().as_string().unwrap_or_default();
            let next = match FromBridge::from_json(&text) {
                Ok(FromBridge::Welcome { version, nodes }) if version == VERSION => {
                    Conn::Connected { version, nodes }
                }
                Ok(FromBridge::Welcome { version, .. }) => Conn::Failed(format!(
                    "the bridge speaks node protocol version {version}, this page version {VERSION}"
                )),
                Ok(FromBridge::Refused { reason }) => Conn::Refused(reason),
                Err(e) => Conn::Failed(format!(
                    "the bridge said something this page does not understand ({e})"
                )),
            };
            // Nothing more to hear on a connection that did not end in a welcome.
            if !matches!(next, Conn::Connected { .. }) {
                let _ = ws.close();
            }
            set(next);
        })
    };
    let on_close = {
        let url = url.to_string();
        Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
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
                Conn::Connected { .. } => Conn::Lost,
                other => other.clone(),
            };
            set(next);
        })
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(Socket {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    })
}

#[function_component(BridgePanel)]
pub fn bridge_panel() -> Html {
    let url = use_state(|| DEFAULT_URL.to_string());
    let token = use_state(String::new);
    let conn = use_mut_ref(Conn::default);
    let socket = use_mut_ref(|| None::<Socket>);
    let redraw = use_force_update();
    let state = conn.borrow().clone();

    let on_submit = {
        let (url, token, conn, socket) = (url.clone(), token.clone(), conn.clone(), socket.clone());
        let redraw = redraw.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let was_open = conn.borrow().open();
            // Dropping the socket closes it; its handlers go with it.
            socket.borrow_mut().take();
            if was_open {
                *conn.borrow_mut() = Conn::Idle;
                redraw.force_update();
                return;
            }
            let again = redraw.clone();
            let redraw_cb = Callback::from(move |_| again.force_update());
            *socket.borrow_mut() = connect(&url, (*token).clone(), conn.clone(), redraw_cb);
        })
    };
    let on_url = {
        let url = url.clone();
        Callback::from(move |e: InputEvent| {
            url.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_token = {
        let token = token.clone();
        Callback::from(move |e: InputEvent| {
            token.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let status_class = match &state {
        Conn::Connected { .. } => "status ok",
        Conn::Refused(_) | Conn::Failed(_) | Conn::Lost => "status error",
        _ => "status",
    };
    html! {
        <section class="bridge" aria-labelledby="bridge-title">
            <h2 id="bridge-title">{"Bridge"}</h2>
            <p class="hint">{"A bridge is kubeplay's native side, on a Linux machine of yours: the door real kubectl talks to, and a node agent. Start one with "}<code>{"./dev play --bridge"}</code>{" and enter the URL and token it prints; connected, the panel lists the machines behind it. The bridge's own kubectl door already runs pods there as real containers (containerd, CNI, CSI); lending the machine to this page's cluster comes next. This page connects to no one else."}</p>
            <form onsubmit={on_submit}>
                <label>{"URL "}<input id="bridge-url" value={(*url).clone()} oninput={on_url} spellcheck="false" /></label>
                <label>{"Token "}<input id="bridge-token" type="password" autocomplete="off" value={(*token).clone()} oninput={on_token} /></label>
                <button id="bridge-connect" type="submit">{ if state.open() { "Disconnect" } else { "Connect" } }</button>
            </form>
            <p id="bridge-state" class={status_class} role="status">{state.describe()}</p>
            if let Conn::Connected { nodes, .. } = &state {
                <table id="bridge-nodes">
                    <thead><tr><th>{"Machine"}</th><th>{"OS / arch"}</th><th>{"Kernel"}</th><th>{"CPUs"}</th><th>{"Memory"}</th><th>{"Container runtime"}</th></tr></thead>
                    <tbody>
                        { for nodes.iter().map(|n| html! {
                            <tr>
                                <td>{&n.name}</td><td>{format!("{}/{}", n.os, n.arch)}</td><td>{&n.kernel}</td>
                                <td>{n.cpus}</td><td>{memory(n.memory_bytes)}</td><td>{&n.runtime}</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </section>
    }
}
