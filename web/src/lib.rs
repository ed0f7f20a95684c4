//! The kubeplay page: the control plane, compiled to wasm, running in the tab.
//!
//! - [`bridge`]: the connection to a bridge, whose machine joins the cluster as a node.
//! - [`cluster`]: the one place the in-page cluster lives, and the actions on it.
//! - [`components`]: one component per file; they render snapshots and dispatch actions, and
//!   hold no control-plane logic.
//! - [`large`] and [`worker`]: large clusters, run in a Web Worker and drawn on a canvas.
//!
//! Architecture invariant: the page talks to the control plane only through the API server's
//! requests (`ApiServer::handle`), as any client would.

pub mod bridge;
pub mod cluster;
pub mod components;
pub mod large;
pub mod worker;

use components::app::App;

/// Mounts the app on `<body>`.
pub fn start() {
    yew::Renderer::<App>::new().render();
}
