//! A node: the kubelet wired to a container runtime, renewing its lease every 10 s.
//!
//! The runtime is either simulated — each CRI call the kubelet emits is answered after the
//! runtime's latency, as a timer of this component, and stopping the node (power loss) stops
//! both — or remote: the calls wait in an outbox until the host (the bridge, which speaks CRI
//! to containerd) takes them, and their results and the containers' exits come back through
//! [`Node::deliver`] and [`Node::container_exited`]. The kubelet is the same either way.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cri::{CriCall, CriRequest, CriResponse, CriResult};
use super::sim_runtime::SimRuntime;
use super::{Kubelet, KubeletTimer, NodeConfig, LEASE_RENEW_MS};
use apiserver::watch::{WatchEvent, WatchId};
use client::trace::TraceKind;
use client::{Component, Ctx};

/// Images every simulated node starts with.
pub const PRELOADED_IMAGES: &[&str] = &["registry.k8s.io/pause:3.10"];

/// A simulated node as configuration describes it (scenarios, the page).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSpec {
    pub name: Option<String>,
    pub cpu: String,
    pub memory: String,
    pub max_pods: i64,
    pub zone: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Taints as the API writes them (`{key, value, effect}`).
    pub taints: Vec<Value>,
    /// Images already on the node (pre-pulled).
    pub images: Vec<String>,
}

impl Default for NodeSpec {
    fn default() -> Self {
        NodeSpec {
            name: None,
            cpu: "4".into(),
            memory: "8Gi".into(),
            max_pods: 110,
            zone: None,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            images: PRELOADED_IMAGES.iter().map(|i| i.to_string()).collect(),
        }
    }
}

/// The lease renewal's timer token; every other timer of the node is a [`Pending`] under a
/// token of its own (`Node::schedule`).
const HEARTBEAT: u64 = 0;

/// What a timer of the node stands for.
enum Pending {
    /// A CRI call's result, due when the runtime said the call takes.
    Result(CriCall, CriResponse),
    /// A kubelet wake-up (probes, back-off, status sync).
    Timer(KubeletTimer),
    /// A container exiting by itself (or killed): its id and exit code.
    Exit(String, i64),
}

/// Who carries out the kubelet's calls.
pub enum Runtime {
    /// Answered here, on the virtual clock.
    Simulated(SimRuntime),
    /// Answered by the host, from a real machine.
    Remote(RemoteRuntime),
}

/// A real node's runtime as core sees it: calls waiting for the host to take them, and calls
/// taken and not answered yet.
#[derive(Default)]
pub struct RemoteRuntime {
    outbox: Vec<CriRequest>,
    sent: BTreeMap<u64, CriCall>,
}

pub struct Node {
    pub kubelet: Kubelet,
    runtime: Runtime,
    /// Images on the node when it starts (name → size), for `status.images`.
    images: BTreeMap<String, i64>,
    pod_watch: Option<WatchId>,
    pending: BTreeMap<u64, Pending>,
    next_token: u64,
    /// A node that lost power answers nothing and renews nothing.
    pub powered: bool,
    /// A partitioned node runs on (its containers, probes, restarts) but neither hears
    /// from nor reaches the API server.
    pub partitioned: bool,
}

impl Node {
    /// Node `index` (1-based) of a cluster: `node-<index>` in zone `zone-<a|b|c>`.
    pub fn new(index: u32, cpu: &str, memory: &str, images: &[&str]) -> Node {
        let spec = NodeSpec {
            cpu: cpu.into(),
            memory: memory.into(),
            images: images.iter().map(|i| i.to_string()).collect(),
            ..NodeSpec::default()
        };
        Node::from_spec(index, &spec)
    }

    /// A real machine's node, whose runtime is the host's: `images` are those its runtime
    /// holds (name → size).
    pub fn remote(config: NodeConfig, images: &BTreeMap<String, i64>) -> Node {
        Node {
            kubelet: Kubelet::new(config, images.keys().cloned().collect()),
            runtime: Runtime::Remote(RemoteRuntime::default()),
            images: images.clone(),
            pod_watch: None,
            pending: BTreeMap::new(),
            next_token: 0,
            powered: true,
            partitioned: false,
        }
    }

    /// What the node's runtime holds (name → size), as a machine that comes back reports.
    pub fn set_images(&mut self, images: &BTreeMap<String, i64>) {
        self.images = images.clone();
        self.kubelet.set_images(images.keys().cloned().collect());
    }

    /// Whether the host runs this node's containers.
    pub fn is_remote(&self) -> bool {
        matches!(self.runtime, Runtime::Remote(_))
    }

    fn sim(&mut self) -> Option<&mut SimRuntime> {
        match &mut self.runtime {
            Runtime::Simulated(r) => Some(r),
            Runtime::Remote(_) => None,
        }
    }

    /// The calls waiting for the host (a remote node's; none for a simulated one).
    pub fn take_requests(&mut self) -> Vec<CriRequest> {
        match &mut self.runtime {
            Runtime::Remote(r) => {
                let out = std::mem::take(&mut r.outbox);
                for req in &out {
                    r.sent.insert(req.id, req.call.clone());
                }
                out
            }
            Runtime::Simulated(_) => Vec::new(),
        }
    }

    pub fn has_requests(&self) -> bool {
        matches!(&self.runtime, Runtime::Remote(r) if !r.outbox.is_empty())
    }

    /// The host's answer to a call it took, which took `took_ms` of real time.
    pub fn deliver(&mut self, ctx: &mut Ctx, resp: CriResponse, took_ms: i64) {
        let Runtime::Remote(r) = &mut self.runtime else {
            return;
        };
        let Some(call) = r.sent.remove(&resp.id) else {
            return;
        };
        // Probes run every few seconds per container: the trace keeps the failures; the
        // housekeeping's stats are not the pods' story.
        let traced = match &call {
            CriCall::ListContainerStats {} => false,
            CriCall::Probe { .. } => resp
                .result
                .as_ref()
                .is_ok_and(|r| matches!(r, CriResult::Probe { success: false, .. })),
            _ => true,
        };
        if traced {
            self.trace_call(ctx, resp.id, &call, &resp, took_ms);
        }
        self.kubelet.on_result(ctx, resp);
        self.pump(ctx);
    }

    /// The host saw a container of this node exit by itself, with `exit_code` and the
    /// runtime's reason (`OOMKilled`, `Error`).
    pub fn container_exited(
        &mut self,
        ctx: &mut Ctx,
        container_id: &str,
        exit_code: i64,
        reason: Option<&str>,
    ) {
        self.kubelet
            .on_container_exit(ctx, container_id, exit_code, reason);
        self.pump(ctx);
    }

    /// Node `index` as a scenario describes it: capacity, zone, labels, taints, images.
    pub fn from_spec(index: u32, spec: &NodeSpec) -> Node {
        let name = spec.name.clone().unwrap_or_else(|| format!("node-{index}"));
        let zone = spec.zone.clone().unwrap_or_else(|| {
            format!(
                "zone-{}",
                ["a", "b", "c"][index.saturating_sub(1) as usize % 3]
            )
        });
        let images: Vec<&str> = spec.images.iter().map(String::as_str).collect();
        let runtime = SimRuntime::new(index, &images);
        let mut labels: BTreeMap<String, String> = apimachinery::collections::map_from(
            [
                ("kubernetes.io/hostname", name.as_str()),
                ("kubernetes.io/os", "linux"),
                ("kubernetes.io/arch", "amd64"),
                ("topology.kubernetes.io/zone", zone.as_str()),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        labels.extend(spec.labels.clone());
        let internal_ip = format!("172.18.{}.{}", (index + 1) / 256, (index + 1) % 256);
        let config = NodeConfig {
            max_pods: spec.max_pods,
            labels,
            taints: spec.taints.clone(),
            ..NodeConfig::simulated(
                &name,
                &spec.cpu,
                &spec.memory,
                &runtime.pod_cidr(),
                &internal_ip,
            )
        };
        let present = runtime.images.keys().cloned().collect();
        Node {
            kubelet: Kubelet::new(config, present),
            images: runtime.images.clone(),
            runtime: Runtime::Simulated(runtime),
            pod_watch: None,
            pending: BTreeMap::new(),
            next_token: 0,
            powered: true,
            partitioned: false,
        }
    }

    /// Cuts or restores the node's power. Off: the kubelet stops (no heartbeats, no answers)
    /// and, on a simulated node, its containers are gone. On: the kubelet starts afresh,
    /// renews its lease and re-lists its pods. A remote node is powered off for good when
    /// its host goes (its calls are forgotten; the host reaps its containers).
    pub fn set_power(&mut self, ctx: &mut Ctx, on: bool) {
        if on == self.powered {
            return;
        }
        self.powered = on;
        self.pending.clear();
        match &mut self.runtime {
            Runtime::Simulated(r) => r.power_loss(),
            Runtime::Remote(r) => *r = RemoteRuntime::default(),
        }
        self.kubelet.reset();
        if on {
            self.kubelet.renew_lease(ctx);
            ctx.after(LEASE_RENEW_MS, HEARTBEAT);
            self.kubelet.resync(ctx);
            self.pump(ctx);
        }
    }

    /// Cuts (`true`) or heals the network between the node and the API server. Cut: the
    /// lease goes stale and the node lifecycle controller takes over, while the containers
    /// keep running. Healed: the kubelet renews its lease, re-lists its pods (tearing down
    /// those deleted meanwhile) and writes the statuses the server missed.
    pub fn set_partitioned(&mut self, ctx: &mut Ctx, on: bool) {
        if on == self.partitioned {
            return;
        }
        self.partitioned = on;
        self.kubelet.set_reachable(!on);
        if !on && self.powered {
            self.kubelet.renew_lease(ctx);
            self.kubelet.resync(ctx);
            self.kubelet.sync_statuses(ctx);
            self.pump(ctx);
        }
    }

    /// Kills a running container of a pod here, as the kernel's OOM killer or a stray
    /// `kill -9` would: it exits with 137 and the kubelet handles it per `restartPolicy`.
    /// `false` if no such container runs here.
    pub fn crash(
        &mut self,
        ctx: &mut Ctx,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> bool {
        let Some(id) = self.kubelet.container_id(namespace, pod, container) else {
            return false;
        };
        if !self.powered || !self.sim().is_some_and(|r| r.is_running(&id)) {
            return false;
        }
        self.schedule(ctx, 0, Pending::Exit(id, 137));
        true
    }

    /// Makes image pulls of images not on the node fail (`false`) or work again: the
    /// registry is unreachable.
    pub fn set_registry_reachable(&mut self, on: bool) {
        if let Some(r) = self.sim() {
            r.registry_reachable = on;
        }
    }

    pub fn registry_reachable(&self) -> bool {
        match &self.runtime {
            Runtime::Simulated(r) => r.registry_reachable,
            Runtime::Remote(_) => true,
        }
    }

    /// What a pod's container has written, if it runs here (`kubectl logs`, served by the
    /// kubelet upstream).
    pub fn logs(&self, namespace: &str, name: &str, container: Option<&str>) -> Option<String> {
        let id = self.kubelet.container_id(namespace, name, container)?;
        let Runtime::Simulated(runtime) = &self.runtime else {
            return None;
        };
        let lines = runtime.logs(&id).unwrap_or_default();
        Some(lines.iter().map(|l| format!("{l}\n")).collect())
    }

    /// `kubectl exec` in a simulated container here: the built-in command set
    /// ([`crate::exec`]); `None` if the container does not run here, or runs on a real
    /// machine (whose runtime the host asks).
    pub fn exec(
        &self,
        namespace: &str,
        name: &str,
        container: &str,
        command: &[String],
    ) -> Option<crate::exec::Output> {
        let Runtime::Simulated(_) = &self.runtime else {
            return None;
        };
        let target = self.kubelet.exec_target(namespace, name, container)?;
        Some(crate::exec::run(&target, command))
    }

    /// Arms a timer for `what`, `ms` from now.
    fn schedule(&mut self, ctx: &mut Ctx, ms: i64, what: Pending) {
        self.next_token += 1;
        self.pending.insert(self.next_token, what);
        ctx.after(ms, self.next_token);
    }

    /// Records a call and its outcome in the trace.
    fn trace_call(&self, ctx: &mut Ctx, id: u64, call: &CriCall, resp: &CriResponse, ms: i64) {
        let outcome = match &resp.result {
            Ok(r) => format!(
                "ok in {ms} ms{}",
                match r {
                    CriResult::Sandbox { ip, .. } => format!(" (CNI ADD: {ip})"),
                    _ => String::new(),
                }
            ),
            Err(e) => format!("failed in {ms} ms: {e}"),
        };
        ctx.trace(TraceKind::Cri {
            node: self.kubelet.node.name.clone(),
            method: format!("{} {}", call.interface(), call.method()),
            pod: self.kubelet.pod_of(id),
            outcome,
            took_ms: ms,
        });
    }

    /// Hands the kubelet's pending calls to the runtime (a simulated one answers at once and
    /// its results are scheduled; a remote one's wait for the host).
    fn pump(&mut self, ctx: &mut Ctx) {
        // A simulated probe's verdict is known at once and taken at once (it may ask for
        // more calls: a liveness failure stops the container), so the outbox is drained
        // until empty.
        loop {
            let outbox = self.kubelet.take_outbox();
            if outbox.is_empty() {
                break;
            }
            for req in outbox {
                let (resp, ms) = match &mut self.runtime {
                    Runtime::Simulated(r) => r.handle(&req),
                    Runtime::Remote(r) => {
                        r.outbox.push(req);
                        continue;
                    }
                };
                // Probes and housekeeping are answered at once and not traced (the flow
                // shows what a pod goes through, not the node's bookkeeping).
                if matches!(
                    req.call,
                    CriCall::Probe { .. } | CriCall::ListContainerStats {}
                ) {
                    self.kubelet.on_result(ctx, resp);
                    continue;
                }
                self.trace_call(ctx, req.id, &req.call, &resp, ms);
                self.schedule(ctx, ms, Pending::Result(req.call, resp));
            }
        }
        for (ms, timer) in self.kubelet.take_timers() {
            self.schedule(ctx, ms, Pending::Timer(timer));
        }
    }

    /// A started container that will exit by itself gets a wake-up then (the runtime's event,
    /// which a real kubelet's PLEG would notice).
    fn plan_exit(&mut self, ctx: &mut Ctx, container_id: &str) {
        let plan = match &self.runtime {
            Runtime::Simulated(r) => r.exit_plan_of(container_id),
            Runtime::Remote(_) => None,
        };
        if let Some((ms, code)) = plan {
            self.schedule(ctx, ms, Pending::Exit(container_id.to_string(), code));
        }
    }
}

impl Component for Node {
    fn name(&self) -> &str {
        &self.kubelet.node.name
    }

    fn start(&mut self, ctx: &mut Ctx) {
        let images = self.images.clone();
        self.kubelet.register(ctx, &images);
        let query = format!("fieldSelector=spec.nodeName%3D{}", self.kubelet.node.name);
        if let Ok(w) = self
            .kubelet
            .client
            .watch(ctx, client::resource("", "pods"), &query)
        {
            self.pod_watch = Some(w);
            ctx.own_watch(w);
        }
        ctx.after(LEASE_RENEW_MS, HEARTBEAT);
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        if Some(watch) == self.pod_watch && self.powered && !self.partitioned {
            self.kubelet.on_pod_event(ctx, event);
            self.pump(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        if !self.powered {
            return;
        }
        if token == HEARTBEAT {
            self.kubelet.renew_lease(ctx);
            self.kubelet.collect_stats();
            self.pump(ctx);
            ctx.after(LEASE_RENEW_MS, HEARTBEAT);
            return;
        }
        match self.pending.remove(&token) {
            // A container exits once: a crash and its own planned exit may both be due.
            Some(Pending::Exit(id, code)) if self.sim().is_some_and(|r| r.is_running(&id)) => {
                if let Some(r) = self.sim() {
                    r.exited(&id);
                }
                self.kubelet.on_container_exit(ctx, &id, code, None);
                self.pump(ctx);
            }
            Some(Pending::Timer(timer)) => {
                self.kubelet.on_timer(ctx, timer);
                self.pump(ctx);
            }
            Some(Pending::Result(call, resp)) => {
                let started = match (&call, &resp.result) {
                    (CriCall::StartContainer { container_id }, Ok(_)) => Some(container_id.clone()),
                    _ => None,
                };
                self.kubelet.on_result(ctx, resp);
                self.pump(ctx);
                if let Some(id) = started {
                    self.plan_exit(ctx, &id);
                }
            }
            Some(Pending::Exit(..)) | None => {}
        }
    }
}
