//! The kubelet (`pkg/kubelet` upstream), sans-IO: one per node. It registers its Node,
//! renews its Lease every 10 s, watches the pods bound to it (`spec.nodeName`), and drives
//! each through the container runtime by emitting CRI calls as data ([`cri::CriRequest`]) and
//! taking their results back ([`Kubelet::on_result`]). It reports what it sees in the pod's
//! status — phase, conditions, container states, IP — and in events, as Kubernetes words them.
//!
//! A pod's life here: `RunPodSandbox` (network set up, IP assigned) → per container
//! `PullImage` (unless present and allowed) → `CreateContainer` → `StartContainer` → Running.
//! On deletion: `StopContainer` (grace period) → `StopPodSandbox` → `RemovePodSandbox` → the
//! pod object is removed.
//!
//! The same code drives a simulated node and, through the bridge, a real one
//! ([`node::Node`] with either runtime).
//!
//! Laid out as upstream's kubelet is: `pod_workers.rs` (each pod's steps and what a result
//! leads to), `prober.rs` (probes), `status.rs` (the status manager), `volumes.rs` (the
//! volume manager's CSI publish and unpublish), `node_status.rs` (the Node and its Lease),
//! `kuberuntime.rs` (what the runtime is asked for), and this file: the kubelet's state,
//! its watch of pods, its timers.

pub mod cri;
pub mod exec;
pub mod kuberuntime;
pub mod node;
pub mod node_protocol;
mod node_status;
mod pod_workers;
mod prober;
pub mod sim_runtime;
mod status;
pub mod volumes;

use apimachinery::api::pod::Pod;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use apiserver::watch::{EventType, WatchEvent};
use client::events::Recorder;
use client::Ctx;
use client::{self, Client};
use cri::{CriCall, CriRequest};
use prober::Probe;
pub use prober::ProbeKind;

/// How often the node Lease is renewed (`nodeLeaseRenewIntervalFraction` × 40 s).
pub const LEASE_RENEW_MS: i64 = 10_000;
pub const LEASE_DURATION_SECONDS: i64 = 40;
pub const KUBELET_VERSION: &str = "v1.32.0";

/// What a node is made of.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub name: String,
    pub cpu: String,
    pub memory: String,
    pub max_pods: i64,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Value>,
    pub internal_ip: String,
    pub pod_cidr: String,
    /// The kubelet's root directory (`--root-dir`, volumes live under `pods/<uid>/`) and
    /// where pods' container logs go (`/var/log/pods`).
    pub root_dir: String,
    pub log_dir: String,
    /// `status.nodeInfo` as the node reports it.
    pub runtime_version: String,
    pub os_image: String,
    pub kernel_version: String,
    /// The node's own resolver (`--resolv-conf`): what `dnsPolicy: Default` pods get, and
    /// `ClusterFirst` ones while the cluster has no DNS. `None`: the runtime's default.
    pub resolv_conf: Option<cri::DnsConfig>,
}

impl NodeConfig {
    /// A simulated node: the kubelet's usual directories and a runtime that says it is one.
    pub fn simulated(
        name: &str,
        cpu: &str,
        memory: &str,
        pod_cidr: &str,
        internal_ip: &str,
    ) -> NodeConfig {
        NodeConfig {
            name: name.into(),
            cpu: cpu.into(),
            memory: memory.into(),
            max_pods: 110,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            internal_ip: internal_ip.into(),
            pod_cidr: pod_cidr.into(),
            root_dir: "/var/lib/kubelet".into(),
            log_dir: "/var/log/pods".into(),
            runtime_version: "kubeplay-sim://1.0".into(),
            os_image: "kubeplay simulated node".into(),
            kernel_version: "6.1.0-kubeplay".into(),
            resolv_conf: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Waiting(String),
    Running {
        started_at: String,
    },
    Terminated {
        exit_code: i64,
        reason: String,
        finished_at: String,
    },
}

#[derive(Clone, Debug)]
struct Container {
    name: String,
    image: String,
    pull_policy: String,
    id: Option<String>,
    image_ref: String,
    state: State,
    pull_started: Option<apimachinery::clock::Time>,
    restart_count: i64,
    last_state: Option<State>,
    /// Consecutive crashes (restart back-off) and failed pulls (pull back-off).
    crashes: u32,
    pull_failures: u32,
    probes: Vec<Probe>,
    /// The readiness probe's verdict (true without a readiness probe).
    ready: bool,
    started_at: Option<apimachinery::clock::Time>,
}

/// Back-off of pulls: 10 s doubling to 5 minutes (`MaxContainerBackOff`).
pub fn back_off_ms(failures: u32) -> i64 {
    (10_000i64 << failures.saturating_sub(1).min(5)).min(300_000)
}

/// Back-off of restarts (`doBackOff`): the first crash restarts at once; then 10 s, 20 s,
/// 40 s … up to 5 minutes.
pub fn restart_back_off_ms(crashes: u32) -> i64 {
    if crashes <= 1 {
        0
    } else {
        back_off_ms(crashes - 1)
    }
}

/// Wake-ups the kubelet asks its host for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeletTimer {
    /// Restart a crashed container when its back-off ends.
    Restart { uid: String, index: usize },
    /// Show `ImagePullBackOff` (a moment after `ErrImagePull`).
    PullBackOff { uid: String, index: usize },
    /// Pull (or create) again when the back-off ends.
    RetryPull { uid: String, index: usize },
    /// Make the pod's sandbox again after the runtime failed to.
    RetrySandbox { uid: String },
    /// Publish the pod's volume (its index among them) again after it failed.
    RetryMount { uid: String, index: usize },
    /// Run a probe of a container (this incarnation of it: `container_id`).
    Probe {
        uid: String,
        index: usize,
        kind: ProbeKind,
        container_id: String,
    },
}

#[derive(Clone, Debug)]
struct PodState {
    namespace: String,
    name: String,
    uid: String,
    /// The pod as last seen: the watch event's object (shared with every other watcher) or
    /// the server's answer to a status write.
    pod: std::sync::Arc<Value>,
    /// What the pod requests (admission counts what the node's pods use from it).
    requests: scheduler::framework::Resources,
    sandbox: Option<String>,
    ip: Option<String>,
    containers: Vec<Container>,
    start_time: String,
    /// Where the pod's worker stands.
    worker: Worker,
    /// The pod's volumes, as the volume manager publishes them.
    volumes: Vec<volumes::PodVolume>,
    /// Sandboxes the runtime failed to make in a row, and volume publications (their
    /// back-offs).
    sandbox_failures: u32,
    mount_failures: u32,
}

/// Where a pod's worker stands (upstream's `podSyncStatus`: syncing, then terminating, then
/// terminated — the worker gone with the pod), and what it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Worker {
    /// Publishing the pod's volumes (`left` to come back), then the sandbox.
    Mounting {
        left: usize,
    },
    /// The sandbox on its way, then its containers, driven until the pod is to go.
    Syncing,
    /// To go, but a volume or the sandbox is on its way: its result takes the pod down.
    Draining,
    /// Stopping the containers (`left` to stop), each with the grace period.
    StoppingContainers {
        left: usize,
    },
    StoppingSandbox,
    /// Unpublishing the volumes (`left` to come back).
    UnpublishingVolumes {
        left: usize,
    },
    RemovingSandbox,
}

impl Worker {
    /// Whether the pod is on its way out.
    fn terminating(self) -> bool {
        !matches!(self, Worker::Mounting { .. } | Worker::Syncing)
    }

    /// Whether its teardown has begun (the containers or sandbox being stopped, or after).
    fn tearing_down(self) -> bool {
        self.terminating() && self != Worker::Draining
    }
}

/// What an outstanding request was for.
#[derive(Clone, Copy, Debug)]
enum Step {
    Sandbox,
    Pull(usize),
    Create(usize),
    Start(usize),
    Stop(usize),
    /// Stopping a container that failed its liveness probe, to restart it: the incarnation
    /// (restart count) it was.
    LivenessKill(usize, i64),
    /// A probe of a container, of the incarnation with this restart count.
    Probe(usize, ProbeKind, i64),
    /// Publishing (mounting) the pod's volume (its index among them) before its sandbox
    /// starts.
    Mount(usize),
    /// Unpublishing them after the sandbox stopped.
    Unmount,
    StopSandbox,
    RemoveSandbox,
    /// The node's housekeeping: what its running containers use.
    Stats,
}

pub struct Kubelet {
    pub node: NodeConfig,
    pub(crate) client: Client,
    recorder: Recorder,
    pods: BTreeMap<String, PodState>,
    /// CRI calls sent and not answered yet: request id (increasing), pod uid, step. A list
    /// in id order: a node has few calls in flight.
    inflight: Vec<(u64, String, Step)>,
    next_request: u64,
    outbox: Vec<CriRequest>,
    /// Images present on the node (normalized names).
    images: BTreeSet<String>,
    timers: Vec<(i64, KubeletTimer)>,
    /// The runtime's latest `ListContainerStats`, and when it came.
    stats: Vec<cri::ContainerStats>,
    stats_at: Option<apimachinery::clock::Time>,
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

impl Kubelet {
    pub fn new(node: NodeConfig, images: BTreeSet<String>) -> Kubelet {
        let client = Client::new(&format!("system:node:{}", node.name), &["system:nodes"]);
        Kubelet {
            recorder: Recorder::new(client.clone(), "kubelet"),
            client,
            node,
            pods: BTreeMap::new(),
            inflight: Vec::new(),
            next_request: 0,
            outbox: Vec::new(),
            images,
            timers: Vec::new(),
            stats: Vec::new(),
            stats_at: None,
        }
    }

    /// `namespace/name` of the pod a request is for (for the trace).
    pub fn pod_of(&self, request: u64) -> String {
        self.inflight_index(request)
            .and_then(|i| self.inflight.get(i))
            .and_then(|(_, uid, _)| self.pods.get(uid))
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .unwrap_or_default()
    }

    /// CRI calls waiting to be carried out.
    pub fn take_outbox(&mut self) -> Vec<CriRequest> {
        std::mem::take(&mut self.outbox)
    }

    fn inflight_index(&self, request: u64) -> Option<usize> {
        self.inflight
            .binary_search_by_key(&request, |(id, ..)| *id)
            .ok()
    }

    fn call(&mut self, uid: &str, step: Step, call: CriCall) {
        self.next_request += 1;
        self.inflight
            .push((self.next_request, uid.to_string(), step));
        self.outbox.push(CriRequest {
            id: self.next_request,
            call,
        });
    }

    /// The images the node's runtime holds (a real machine that joins again).
    pub fn set_images(&mut self, images: BTreeSet<String>) {
        self.images = images;
    }

    /// Forgets everything about pods, as a kubelet that restarts after its node lost power.
    pub fn reset(&mut self) {
        self.pods.clear();
        self.inflight.clear();
        self.outbox.clear();
        self.stats.clear();
        self.stats_at = None;
    }

    /// Housekeeping, every lease renewal (10 s): what the running containers use, from the
    /// runtime (CRI `ListContainerStats`), for the metrics API. A node running nothing asks
    /// nothing.
    pub fn collect_stats(&mut self) {
        let running = self.pods.values().any(|p| {
            p.containers
                .iter()
                .any(|c| matches!(c.state, State::Running { .. }))
        });
        let asked = self
            .inflight
            .iter()
            .any(|(_, _, s)| matches!(s, Step::Stats));
        if !running {
            self.stats.clear();
        } else if !asked {
            self.call("", Step::Stats, CriCall::ListContainerStats {});
        }
    }

    /// What the pods here use, as the runtime last said, and when: pods whose containers
    /// have figures, each with them.
    pub fn usage(
        &self,
    ) -> (
        Option<apimachinery::clock::Time>,
        Vec<apiserver::metrics::PodUsage>,
    ) {
        let mut pods = Vec::new();
        for ps in self.pods.values().filter(|p| !p.worker.terminating()) {
            let containers: Vec<(String, i64, i64)> = ps
                .containers
                .iter()
                .filter_map(|c| {
                    let id = c.id.as_deref()?;
                    let s = self.stats.iter().find(|s| s.container_id == id)?;
                    Some((
                        c.name.clone(),
                        s.cpu_usage_nano_cores,
                        s.memory_working_set_bytes,
                    ))
                })
                .collect();
            if !containers.is_empty() {
                pods.push(apiserver::metrics::PodUsage {
                    namespace: ps.namespace.clone(),
                    name: ps.name.clone(),
                    labels: ps.pod["metadata"]["labels"].clone(),
                    containers,
                });
            }
        }
        (self.stats_at, pods)
    }

    /// Lists this node's pods and handles each as if it had just been seen (after a restart).
    pub fn resync(&mut self, ctx: &mut Ctx) {
        let path = format!(
            "{}?fieldSelector=spec.nodeName%3D{}",
            client::collection_path(client::resource("", "pods"), None),
            self.node.name
        );
        let list = self
            .client
            .send(ctx, apiserver::Request::new(apiserver::Method::Get, &path))
            .value();
        let pods = list["items"].as_array().cloned().unwrap_or_default();
        // Pods this kubelet runs that the server no longer has (removed while it could not
        // hear of it): torn down, as the kubelet's pod cleanup does.
        let listed: BTreeSet<String> = pods.iter().map(|p| str_of(&p["metadata"]["uid"])).collect();
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|uid| !listed.contains(*uid))
            .cloned()
            .collect();
        for uid in gone {
            let gone = json!({"metadata": {"uid": uid}});
            self.on_pod_event(ctx, &WatchEvent::new(EventType::Deleted, gone));
        }
        for pod in pods {
            self.on_pod_event(ctx, &WatchEvent::new(EventType::Modified, pod));
        }
    }

    /// Cuts or restores the kubelet's way to the API server (a network partition).
    pub fn set_reachable(&mut self, on: bool) {
        self.client.reachable = on;
        self.recorder.set_reachable(on);
    }

    fn event(&mut self, ctx: &mut Ctx, uid: &str, type_: &str, reason: &str, message: String) {
        let Some(ps) = self.pods.get(uid) else { return };
        let obj = json!({"metadata": {"name": ps.name, "namespace": ps.namespace, "uid": ps.uid}});
        if type_ == "Warning" {
            self.recorder
                .warning(ctx, &obj, "v1", "Pod", reason, message);
        } else {
            self.recorder
                .normal(ctx, &obj, "v1", "Pod", reason, message);
        }
    }

    /// One event of the watch on this node's pods.
    pub fn on_pod_event(&mut self, ctx: &mut Ctx, event: &WatchEvent) {
        let pod = &*event.object;
        let uid = str_of(&pod["metadata"]["uid"]);
        if event.is_deleted() {
            // Removed without us (a force delete): tear down what is still running.
            let Some(ps) = self.pods.get(&uid) else {
                return;
            };
            if ps.worker.terminating() {
                return;
            }
            match ps.sandbox.clone() {
                Some(sb) => {
                    self.set_worker(&uid, Worker::StoppingSandbox);
                    self.call(
                        &uid,
                        Step::StopSandbox,
                        CriCall::StopPodSandbox { sandbox_id: sb },
                    )
                }
                // A sandbox or volume on its way: its result finds the pod terminating and
                // takes it down (the pod object is gone already).
                None if self.in_flight(&uid) => self.set_worker(&uid, Worker::Draining),
                None => {
                    self.pods.remove(&uid);
                }
            }
            return;
        }
        if Pod(pod).node_name() != Some(self.node.name.as_str()) {
            return;
        }
        let deleting = apimachinery::api::meta::is_being_deleted(pod);
        if !self.pods.contains_key(&uid) {
            let phase = pod["status"]["phase"].as_str().unwrap_or_default();
            if deleting {
                // Nothing of it runs here (say, after a restart): confirm the deletion.
                let (ns, name) = (
                    str_of(&pod["metadata"]["namespace"]),
                    str_of(&pod["metadata"]["name"]),
                );
                let options = json!({"gracePeriodSeconds": 0, "preconditions": {"uid": uid}});
                let _ = self.client.delete(
                    ctx,
                    client::resource("", "pods"),
                    Some(&ns),
                    &name,
                    &options,
                );
                return;
            }
            if phase == "Succeeded" || phase == "Failed" {
                return;
            }
            self.admit(ctx, &event.object);
            return;
        }
        if let Some(ps) = self.pods.get_mut(&uid) {
            ps.pod = std::sync::Arc::clone(&event.object);
        }
        if deleting {
            self.kill(ctx, &uid);
        }
    }

    /// A pod's container here (`namespace/name`, container name or the first).
    fn container_of(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
    ) -> Option<(&PodState, &Container)> {
        let ps = self
            .pods
            .values()
            .find(|p| p.namespace == namespace && p.name == name)?;
        let c = match container {
            Some(cn) => ps.containers.iter().find(|c| c.name == cn)?,
            None => ps.containers.first()?,
        };
        Some((ps, c))
    }

    /// Whether a pod's container (or its first) runs here now: a followed log goes on while
    /// it does.
    pub fn container_running(&self, namespace: &str, name: &str, container: Option<&str>) -> bool {
        self.container_of(namespace, name, container)
            .is_some_and(|(_, c)| matches!(c.state, State::Running { .. }))
    }

    /// What an exec in a pod's container sees; `None` unless the container runs here.
    pub fn exec_target(
        &self,
        namespace: &str,
        name: &str,
        container: &str,
    ) -> Option<exec::Target<'_>> {
        let (ps, c) = self.container_of(namespace, name, Some(container))?;
        if !matches!(c.state, State::Running { .. }) {
            return None;
        }
        Some(exec::Target {
            pod: &ps.pod,
            container: &c.name,
            pod_ip: ps.ip.as_deref(),
            dns: kuberuntime::pod_dns(&self.node, &ps.pod["spec"]),
        })
    }

    /// The runtime id of a pod's container (`namespace/name`, container name or the first).
    pub fn container_id(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
    ) -> Option<String> {
        self.container_of(namespace, name, container)?.1.id.clone()
    }

    /// The CRI log file of a pod's container (its current incarnation), if it runs here.
    pub fn container_log_path(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
    ) -> Option<String> {
        let (ps, c) = self.container_of(namespace, name, container)?;
        c.id.as_ref()?;
        Some(format!(
            "{}/{}/{}.log",
            kuberuntime::pod_log_directory(&self.node, &ps.pod),
            c.name,
            c.restart_count
        ))
    }

    /// Wake-ups wanted since the last call, as `(after ms, what)`.
    pub fn take_timers(&mut self) -> Vec<(i64, KubeletTimer)> {
        std::mem::take(&mut self.timers)
    }

    /// The container with this runtime id: `(pod uid, index)`.
    pub fn container_by_id(&self, id: &str) -> Option<(String, usize)> {
        self.pods.iter().find_map(|(uid, ps)| {
            ps.containers
                .iter()
                .position(|c| c.id.as_deref() == Some(id))
                .map(|i| (uid.clone(), i))
        })
    }

    /// A wake-up this kubelet asked for.
    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: KubeletTimer) {
        match timer {
            KubeletTimer::Probe {
                uid,
                index,
                kind,
                container_id,
            } => self.probe(ctx, &uid, index, kind, &container_id),
            KubeletTimer::Restart { uid, index } => {
                if self.pods.get(&uid).is_none_or(|p| p.worker.terminating()) {
                    return;
                }
                if let Some(c) = self
                    .pods
                    .get_mut(&uid)
                    .and_then(|p| p.containers.get_mut(index))
                {
                    c.restart_count += 1;
                }
                let call = self.create_call(&uid, index);
                self.call(&uid, Step::Create(index), call);
            }
            KubeletTimer::PullBackOff { uid, index } => {
                let Some(c) = self.pods.get(&uid).and_then(|p| p.containers.get(index)) else {
                    return;
                };
                if c.state != State::Waiting("ErrImagePull".into()) {
                    return;
                }
                let image = c.image.clone();
                self.set_state(&uid, index, State::Waiting("ImagePullBackOff".into()));
                self.event(
                    ctx,
                    &uid,
                    "Normal",
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                );
                self.write_status(ctx, &uid);
            }
            KubeletTimer::RetryPull { uid, index } => {
                if self.pods.get(&uid).is_none_or(|p| p.worker.terminating()) {
                    return;
                }
                self.next_container_step(ctx, &uid, index);
            }
            KubeletTimer::RetrySandbox { uid } => {
                let Some(ps) = self.pods.get(&uid) else {
                    return;
                };
                if ps.worker.terminating() {
                    self.kill(ctx, &uid);
                    return;
                }
                if ps.sandbox.is_some() {
                    return;
                }
                let call = self.sandbox_call(ps);
                self.call(&uid, Step::Sandbox, call);
            }
            KubeletTimer::RetryMount { uid, index } => {
                let Some(ps) = self.pods.get(&uid) else {
                    return;
                };
                if ps.worker.terminating() {
                    self.kill(ctx, &uid);
                    return;
                }
                self.retry_volume(ctx, &uid, index);
            }
        }
    }

    /// Whether the pod's sandbox or a volume of it is on its way (its result will find the
    /// pod and take the next step).
    fn in_flight(&self, uid: &str) -> bool {
        self.inflight
            .iter()
            .any(|(_, u, s)| u == uid && matches!(s, Step::Sandbox | Step::Mount(_)))
    }

    fn set_worker(&mut self, uid: &str, worker: Worker) {
        if let Some(ps) = self.pods.get_mut(uid) {
            ps.worker = worker;
        }
    }

    fn set_state(&mut self, uid: &str, i: usize, state: State) {
        if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
            c.state = state;
        }
    }
}
