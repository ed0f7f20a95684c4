//! The step narrator: which step of the flow the control plane is at, in words — what
//! happens, why it matters, the technical detail — beside the real object involved. Step
//! back and forth through the moments recorded so far, or follow live.

use kubeplay_core::trace::{FlowStep, TraceEvent, TraceKind};
use yew::prelude::*;

use super::flow::describe;
use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    pub revision: i64,
}

/// The steps narrated, in the order of the flow.
const STEPS: usize = 10;

/// `(what happens, why it matters, technical detail)` for each step.
fn words(step: FlowStep) -> (&'static str, &'static str, &'static str) {
    match step {
        FlowStep::UserSubmits => (
            "You sent a manifest to the API server: the desired state, not a command.",
            "Kubernetes is declarative. From here on nobody is told what to do; every component sees the change and works to make reality match it.",
            "kubectl GETs the object, then POSTs (create) or PATCHes (apply) it over HTTPS with a bearer token.",
        ),
        FlowStep::ApiServerChecks => (
            "The API server checks who you are, whether you may do this, and whether the object is valid.",
            "It is the only door to the cluster's state: every component goes through the same checks.",
            "Authentication → RBAC authorization → mutating admission → schema validation → validating admission.",
        ),
        FlowStep::EtcdWrite => (
            "The object is written to etcd, and the store's revision moves on.",
            "etcd is the single source of truth; its revision orders every change in the cluster.",
            "A transaction compares the key's mod revision (optimistic concurrency), then watchers of the key's prefix get the event.",
        ),
        FlowStep::DeploymentController => (
            "The deployment controller sees the Deployment and makes sure a ReplicaSet for its template exists.",
            "Deployments do not run pods; they manage ReplicaSets, which makes rolling updates and rollbacks possible.",
            "The ReplicaSet is named after a hash of the pod template (pod-template-hash) and owned by the Deployment (ownerReferences).",
        ),
        FlowStep::ReplicaSetController => (
            "The replicaset controller counts the pods that match its selector and creates the missing ones.",
            "This loop — observe, compare, act — is how Kubernetes keeps the number of replicas true, whatever happens to pods.",
            "Pods are created in slow-start batches (1, 2, 4, …) and tracked with expectations until their watch events arrive.",
        ),
        FlowStep::Scheduler => (
            "The scheduler picks a node for each pod that has none: it filters out nodes that cannot run it and scores the rest.",
            "Placement decides resilience and cost: spreading, affinity, taints and resources all meet here.",
            "Filter plugins (resources, taints, affinity, spreading…), Score plugins weighted and normalized, then a Binding sets spec.nodeName. Click a pod on the map to see the table.",
        ),
        FlowStep::Kubelet => (
            "The kubelet on the chosen node sees a pod bound to it and starts bringing it to life.",
            "Nodes pull their work: the kubelet watches for pods with its node's name, nothing is pushed to it.",
            "Admission against the node's allocatable, volumes (CSI), then the pod's sandbox and containers through CRI; status is reported back to the API server.",
        ),
        FlowStep::Runtime => (
            "The container runtime does the work: a sandbox with its network, the image, the containers.",
            "Kubernetes never runs containers itself; it asks a runtime through a standard interface (CRI), and networks through CNI.",
            "RunPodSandbox (CNI gives the pod its IP) → PullImage → CreateContainer → StartContainer.",
        ),
        FlowStep::Heartbeats => (
            "Nodes renew their leases and report their status.",
            "Heartbeats are how the control plane knows a node is alive; silence is how it learns one is gone.",
            "Each kubelet renews a Lease in kube-node-lease every 10 s; after 50 s without one the node becomes Unknown.",
        ),
        FlowStep::Healing => (
            "The control loops repair the cluster: an unreachable node is tainted and its pods are evicted and replaced elsewhere.",
            "Self-healing is not a feature bolted on; it is the same reconciliation every controller does all the time.",
            "node-lifecycle-controller: Ready=Unknown, node.kubernetes.io/unreachable taints, eviction after tolerationSeconds (300 s); the ReplicaSet then creates replacements.",
        ),
        FlowStep::Other => ("Other control-plane activity.", "", ""),
    }
}

/// A moment of the run: where the flow moved to a new step, and the event that did it.
#[derive(Clone, PartialEq)]
struct Moment {
    step: FlowStep,
    event: TraceEvent,
}

/// The moments in the recent events: each time the narrated step changes. Only actions
/// count — requests and runtime calls, not the watch events that prompt them — and
/// heartbeats and watch set-up are left aside: they go on all the time.
fn moments(events: &[TraceEvent]) -> Vec<Moment> {
    let mut out: Vec<Moment> = Vec::new();
    for e in events {
        let step = match (&e.kind, e.step) {
            (_, FlowStep::Heartbeats | FlowStep::Other) | (TraceKind::Delivery { .. }, _) => {
                continue
            }
            (TraceKind::Request { verb, .. }, _) if verb == "watch" || verb == "list" => continue,
            // The user's write passes the API server's checks and lands in etcd: narrate
            // those two steps for it too.
            (
                TraceKind::Request {
                    revision: Some(_), ..
                },
                FlowStep::UserSubmits,
            ) => {
                for step in [
                    FlowStep::UserSubmits,
                    FlowStep::ApiServerChecks,
                    FlowStep::EtcdWrite,
                ] {
                    out.push(Moment {
                        step,
                        event: e.clone(),
                    });
                }
                continue;
            }
            (_, step) => step,
        };
        if out.last().map(|m| m.step) != Some(step) {
            out.push(Moment {
                step,
                event: e.clone(),
            });
        }
    }
    out
}

fn object_of(cluster: &Cluster, e: &TraceEvent) -> Option<String> {
    match &e.kind {
        TraceKind::Request {
            resource,
            namespace,
            name,
            ..
        } => cluster.object_yaml(resource, namespace, name),
        TraceKind::Delivery {
            kind,
            namespace,
            name,
            ..
        } => cluster.object_yaml(kind, namespace, name),
        TraceKind::Cri { pod, .. } => {
            let (ns, name) = pod.split_once('/').unwrap_or(("default", pod));
            cluster.object_yaml("pods", ns, name)
        }
    }
}

#[function_component(Narrator)]
pub fn narrator(props: &Props) -> Html {
    // `None`: follow the latest moment.
    let position = use_state(|| None::<usize>);
    let events = props.cluster.recent_events(5_000);
    let moments = moments(&events);
    if moments.is_empty() {
        return html! {
            <section class="narrator" aria-label="Step narrator">
                <h2>{"Step by step"}</h2>
                <p class="hint">{"Apply a manifest to start: every step the control plane takes will be told here."}</p>
            </section>
        };
    }
    let last = moments.len() - 1;
    let at = position.map_or(last, |p| p.min(last));
    let moment = &moments[at];
    let (what, why, detail) = words(moment.step);
    let go = |to: Option<usize>| {
        let position = position.clone();
        Callback::from(move |_| position.set(to))
    };
    let object = object_of(&props.cluster, &moment.event);
    html! {
        <section class="narrator" aria-label="Step narrator">
            <h2 id="step-title">{format!("Step {} / {STEPS} — {}", moment.step as u8, moment.step.title())}</h2>
            <div class="narrator-nav" role="group" aria-label="Moments of the run">
                <button id="step-back" onclick={go(Some(at.saturating_sub(1)))} disabled={at == 0}>{"◀ Previous"}</button>
                <span class="moment">{format!("moment {} of {}", at + 1, moments.len())}</span>
                <button id="step-next" onclick={go(Some(at + 1))} disabled={at == last}>{"Next ▶"}</button>
                <button id="step-live" onclick={go(None)} aria-pressed={position.is_none().to_string()}>{"Live"}</button>
            </div>
            <div class="narration">
                <div>
                    <h3>{"What happens"}</h3><p class="what">{what}</p>
                    <h3>{"Why it matters"}</h3><p>{why}</p>
                    <h3>{"Technical detail"}</h3><p>{detail}</p>
                    <p class="event">{describe(&moment.event)}</p>
                </div>
                if let Some(yaml) = object {
                    <pre class="object" aria-label="The object involved">{yaml}</pre>
                }
            </div>
        </section>
    }
}
