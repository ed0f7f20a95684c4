//! The bridge panel: the URL and token of a bridge the user runs, the connection's state, and
//! the real machines behind it; connected, the machine joins the cluster as a node
//! ([`crate::bridge`] holds the connection).

use std::rc::Rc;

use kubeplay_core::node_protocol::memory;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::bridge::{connect, Conn, Connection, DEFAULT_URL};
use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    /// Called when the cluster changed: the bridge's machine joined it, or was lost.
    pub on_change: Callback<()>,
}

#[function_component(BridgePanel)]
pub fn bridge_panel(props: &Props) -> Html {
    let url = use_state(|| DEFAULT_URL.to_string());
    let token = use_state(String::new);
    let conn = use_mut_ref(Conn::default);
    let socket = use_mut_ref(|| None::<Connection>);
    let redraw = use_force_update();
    let state = conn.borrow().clone();

    let on_submit = {
        let (url, token, conn, socket) = (url.clone(), token.clone(), conn.clone(), socket.clone());
        let (redraw, cluster, on_change) = (
            redraw.clone(),
            props.cluster.clone(),
            props.on_change.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let was_open = conn.borrow().open();
            // Dropping the connection closes it (a joined node loses its machine); its
            // handlers go with it.
            socket.borrow_mut().take();
            if was_open {
                *conn.borrow_mut() = Conn::Idle;
                redraw.force_update();
                on_change.emit(());
                return;
            }
            let (again, on_change) = (redraw.clone(), on_change.clone());
            let changed: Rc<dyn Fn()> = Rc::new(move || {
                again.force_update();
                on_change.emit(());
            });
            *socket.borrow_mut() = connect(
                &url,
                (*token).clone(),
                conn.clone(),
                cluster.clone(),
                changed,
            );
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
        Conn::Refused(_) | Conn::Failed(_) | Conn::Lost(_) => "status error",
        _ => "status",
    };
    html! {
        <section class="bridge" aria-labelledby="bridge-title">
            <h2 id="bridge-title">{"Bridge"}</h2>
            <p class="hint">{"A bridge is kubeplay's native side, on a Linux machine of yours: the door real kubectl talks to, and a node agent. Start one with "}<code>{"./dev play --bridge"}</code>{" and enter the URL and token it prints; connected, the panel lists the machines behind it. Connected, the machine joins this page's cluster as a node: its kubelet runs here, in the tab, and each CRI, CNI and CSI call it makes is carried out there against containerd — the gallery's real-node example runs on it. Disconnecting stops and removes everything it started. This page connects to no one else."}</p>
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
