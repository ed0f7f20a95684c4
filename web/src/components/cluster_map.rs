//! The cluster map: each node with its readiness, taints, CPU requested against allocatable,
//! and its pods coloured by status; a machine a bridge lends is marked real, as are its pods.
//! Chaos: a power switch and a network cut per node, the image registry's switch, and for the
//! selected pod — clicking a pod also opens the scheduler's decision about it — crashing its
//! container or deleting it.

use kubeplay_core::api::pod::PodHealth;
use yew::prelude::*;

use crate::cluster::{Cluster, PodChip};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    /// The store revision this view shows; a new one re-renders it.
    pub revision: i64,
    pub on_select: Callback<String>,
    pub on_change: Callback<()>,
    /// The pod last clicked (`namespace/name`).
    #[prop_or_default]
    pub selected: Option<String>,
}

/// A CSS class for a pod's status, as people read colours: running green, waiting amber,
/// failing red, going grey.
fn status_class(health: PodHealth) -> &'static str {
    match health {
        PodHealth::Running | PodHealth::Completed => "running",
        PodHealth::Pending => "pending",
        PodHealth::Terminating => "terminating",
        PodHealth::Failing => "failing",
    }
}

fn chip(p: &PodChip, real: bool, on_select: &Callback<String>) -> Html {
    let key = format!("{}/{}", p.namespace, p.name);
    let onclick = {
        let (key, on_select) = (key.clone(), on_select.clone());
        Callback::from(move |_| on_select.emit(key.clone()))
    };
    let ip = if p.ip.is_empty() {
        String::new()
    } else {
        format!(", IP {}", p.ip)
    };
    let what = if real { ", a real container" } else { "" };
    html! {
        <li>
            <button class={classes!("pod", status_class(p.health), real.then_some("real"))} data-status={p.status.clone()}
                data-ip={p.ip.clone()} title={format!("{key}: {}{ip}{what}", p.status)} {onclick}>
                <span class="pod-name">{&p.name}</span>
                <span class="pod-status">{&p.status}</span>
            </button>
        </li>
    }
}

#[function_component(ClusterMap)]
pub fn cluster_map(props: &Props) -> Html {
    let nodes = props.cluster.nodes();
    let pending = props.cluster.pending_pods();
    let registry_up = props.cluster.registry_up();
    let toggle_registry = {
        let (cluster, on_change) = (props.cluster.clone(), props.on_change.clone());
        Callback::from(move |_| {
            cluster.set_registry(!registry_up);
            on_change.emit(());
        })
    };
    let pod_actions = props.selected.as_ref().and_then(|key| {
        let (ns, name) = key.split_once('/')?;
        let crash = {
            let (cluster, on_change) = (props.cluster.clone(), props.on_change.clone());
            let (ns, name) = (ns.to_string(), name.to_string());
            Callback::from(move |_| {
                cluster.crash(&ns, &name);
                on_change.emit(());
            })
        };
        let delete = {
            let (cluster, on_change) = (props.cluster.clone(), props.on_change.clone());
            let line = format!("delete pod {name} -n {ns}");
            Callback::from(move |_| {
                cluster.kubectl(&line);
                on_change.emit(());
            })
        };
        Some(html! {
            <div class="pod-actions" role="group" aria-label="Chaos on the selected pod">
                <span>{key.clone()}</span>
                <button id="crash-pod" onclick={crash} title="Kill its container (exit 137): the kubelet restarts it">{"Crash its container"}</button>
                <button id="delete-pod" onclick={delete} title="kubectl delete pod: its controller replaces it">{"Delete it"}</button>
            </div>
        })
    });
    html! {
        <section class="map" aria-label="Cluster map">
            <div class="map-head">
                <h2>{format!("Nodes ({})", nodes.len())}</h2>
                <button id="registry" aria-pressed={(!registry_up).to_string()} onclick={toggle_registry}
                    title="Chaos: while the registry is down every image pull fails (ErrImagePull, then ImagePullBackOff)">
                    { if registry_up { "Registry up — take it down" } else { "Registry down — bring it back" } }
                </button>
            </div>
            <div class="pod-actions-slot">{ for pod_actions }</div>
            <div class="nodes">
                { for nodes.iter().map(|n| {
                    let pct = if n.milli_cpu_allocatable > 0 {
                        (n.milli_cpu_requested * 100 / n.milli_cpu_allocatable).clamp(0, 100)
                    } else { 0 };
                    let toggle = {
                        let (cluster, name, on, on_change) = (props.cluster.clone(), n.name.clone(), n.powered, props.on_change.clone());
                        Callback::from(move |_| { cluster.set_power(&name, !on); on_change.emit(()); })
                    };
                    let cut = {
                        let (cluster, name, partitioned, on_change) = (props.cluster.clone(), n.name.clone(), n.partitioned, props.on_change.clone());
                        Callback::from(move |_| { cluster.set_partition(&name, !partitioned); on_change.emit(()); })
                    };
                    let state = if n.unschedulable { format!("{},SchedulingDisabled", n.status) } else { n.status.clone() };
                    html! {
                        <article class={classes!("node", (n.status != "Ready").then_some("down"), n.real.then_some("real"))} data-node={n.name.clone()} aria-label={format!("node {}", n.name)}>
                            <header>
                                <h3>{&n.name}</h3>
                                <span class="node-status">{state}</span>
                                if n.real {
                                    // Its power is the bridge's connection: the bridge panel's Disconnect.
                                    <span class="real-badge" title="A real machine lent by a bridge: its pods are containerd containers, its CRI calls take real time">{"real machine"}</span>
                                } else {
                                    <button class="power" aria-pressed={(!n.powered).to_string()} onclick={toggle}
                                        title={if n.powered { "Cut this node's power: its kubelet stops, heartbeats stop" } else { "Restore power" }}>
                                        { if n.powered { "Power off" } else { "Power on" } }
                                    </button>
                                }
                                <button class="partition" aria-pressed={n.partitioned.to_string()} onclick={cut}
                                    title={if n.partitioned { "Heal the network: the kubelet reaches the API server again" } else { "Cut the network to the API server: containers run on, heartbeats stop arriving" }}>
                                    { if n.partitioned { "Heal" } else { "Partition" } }
                                </button>
                            </header>
                            { for n.taints.iter().map(|t| html! { <span class="taint">{t}</span> }) }
                            <div class="bar" role="meter" aria-label="CPU requested" aria-valuemin="0" aria-valuemax="100" aria-valuenow={pct.to_string()}>
                                <div class="fill" style={format!("width: {pct}%")}></div>
                                <span>{format!("cpu {}m / {}m", n.milli_cpu_requested, n.milli_cpu_allocatable)}</span>
                            </div>
                            <ul class="pods">{ for n.pods.iter().map(|p| chip(p, n.real, &props.on_select)) }</ul>
                        </article>
                    }
                }) }
            </div>
            if !pending.is_empty() {
                <div class="pending-pods">
                    <h3>{format!("Waiting for a node ({})", pending.len())}</h3>
                    <ul class="pods">{ for pending.iter().map(|p| chip(p, false, &props.on_select)) }</ul>
                </div>
            }
        </section>
    }
}
