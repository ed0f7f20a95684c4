//! The trace: the record the page draws. Every API request (who, what, each pipeline stage,
//! the outcome and the revision it wrote), every watch delivery and to whom, and every CRI
//! call and result — each with the virtual time and the component it belongs to, and sorted
//! into the numbered steps of the flow a learner follows.
//!
//! The trace is built from what happened, not from a script: the world
//! records deliveries and CRI calls as it dispatches them, and collects the API server's audit
//! events after each handler, attributing each request to the component that made it.

use std::collections::VecDeque;

use serde::Serialize;

use apimachinery::clock::Time;

/// The steps of the flow, in the order the seeds give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum FlowStep {
    UserSubmits = 1,
    ApiServerChecks = 2,
    EtcdWrite = 3,
    DeploymentController = 4,
    ReplicaSetController = 5,
    Scheduler = 6,
    Kubelet = 7,
    Runtime = 8,
    Heartbeats = 9,
    Healing = 10,
    Other = 11,
}

impl FlowStep {
    pub fn title(self) -> &'static str {
        match self {
            FlowStep::UserSubmits => "The user submits a manifest",
            FlowStep::ApiServerChecks => "The API server checks the request",
            FlowStep::EtcdWrite => "etcd stores the object",
            FlowStep::DeploymentController => "The deployment controller manages ReplicaSets",
            FlowStep::ReplicaSetController => "The replicaset controller creates Pods",
            FlowStep::Scheduler => "The scheduler picks a node",
            FlowStep::Kubelet => "The kubelet starts the Pod",
            FlowStep::Runtime => "The container runtime (CRI, CNI) does the work",
            FlowStep::Heartbeats => "Heartbeats: leases and node status",
            FlowStep::Healing => "Healing: the control loops repair the cluster",
            FlowStep::Other => "Other control-plane activity",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TraceKind {
    /// An API request, by a component (or `kubectl` for requests from outside).
    Request {
        user: String,
        verb: String,
        resource: String,
        namespace: String,
        name: String,
        code: u16,
        stages: Vec<apiserver::audit::Stage>,
        revision: Option<i64>,
    },
    /// A watch event delivered to a component.
    Delivery {
        event: String,
        kind: String,
        namespace: String,
        name: String,
        revision: String,
    },
    /// A CRI or CSI call from a kubelet (`method` is `CRI RunPodSandbox`, `CSI NodePublishVolume`).
    Cri {
        node: String,
        method: String,
        pod: String,
        outcome: String,
        /// How long the runtime took: a simulated one's latency, a real one's as measured.
        took_ms: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    pub seq: u64,
    pub time: Time,
    /// The component that made the request, received the event, or called the runtime.
    pub component: String,
    pub step: FlowStep,
    pub kind: TraceKind,
}

/// The most recent `capacity` events.
#[derive(Debug)]
pub struct Trace {
    events: VecDeque<TraceEvent>,
    capacity: usize,
    next_seq: u64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            events: VecDeque::new(),
            capacity: 100_000,
            next_seq: 1,
        }
    }
}

/// Which step of the flow an event belongs to, from who did it and to what.
pub fn classify(component: &str, kind: &TraceKind) -> FlowStep {
    match (component, kind) {
        ("kubectl", _) => FlowStep::UserSubmits,
        ("deployment-controller", _) => FlowStep::DeploymentController,
        ("replicaset-controller", _) => FlowStep::ReplicaSetController,
        ("default-scheduler", _) => FlowStep::Scheduler,
        ("node-lifecycle-controller" | "garbage-collector-controller", _) => FlowStep::Healing,
        (_, TraceKind::Cri { .. }) => FlowStep::Runtime,
        (_, TraceKind::Request { resource, .. }) if resource.starts_with("leases") => {
            FlowStep::Heartbeats
        }
        (c, _) if c.starts_with("node-") => FlowStep::Kubelet,
        _ => FlowStep::Other,
    }
}

impl Trace {
    pub fn record(&mut self, time: Time, component: &str, kind: TraceKind) {
        let step = classify(component, &kind);
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(TraceEvent {
            seq: self.next_seq,
            time,
            component: component.to_string(),
            step,
            kind,
        });
        self.next_seq += 1;
    }

    pub fn events(&self) -> impl Iterator<Item = &TraceEvent> {
        self.events.iter()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// One line per event, for snapshots and the terminal:
/// `+1.234s [4] deployment-controller → create replicasets default/web-5d8b 201 rv=27`.
/// One event in words: `default-scheduler → create pods/binding default/web-1 201 rv=42`,
/// `node-1 ← ADDED Pod default/web-1 rv=41`, `node-1 ⇄ CRI RunPodSandbox default/web-1 ok`.
pub fn line(e: &TraceEvent) -> String {
    match &e.kind {
        TraceKind::Request {
            verb,
            resource,
            namespace,
            name,
            code,
            revision,
            ..
        } => {
            let target = match (namespace.is_empty(), name.is_empty()) {
                (_, true) => String::new(),
                (true, false) => format!(" {name}"),
                (false, false) => format!(" {namespace}/{name}"),
            };
            let rv = revision.map(|r| format!(" rv={r}")).unwrap_or_default();
            format!("{} → {verb} {resource}{target} {code}{rv}", e.component)
        }
        TraceKind::Delivery {
            event,
            kind,
            namespace,
            name,
            revision,
        } => {
            let target = if namespace.is_empty() {
                name.clone()
            } else {
                format!("{namespace}/{name}")
            };
            format!("{} ← {event} {kind} {target} rv={revision}", e.component)
        }
        TraceKind::Cri {
            node,
            method,
            pod,
            outcome,
            ..
        } => format!("{node} ⇄ {method} {pod} {outcome}"),
    }
}

pub fn render(events: &[&TraceEvent], start: Time) -> String {
    let mut out = String::new();
    for e in events {
        let t = apimachinery::clock::seconds(e.time.millis() - start.millis());
        let line = line(e);
        out.push_str(&format!("+{t}s [{}] {line}\n", e.step as u8));
    }
    out
}
