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
//! The same code drives the simulated node ([`node::SimulatedNode`]) and, through the bridge,
//! a real one.

pub mod cri;
pub mod kuberuntime;
pub mod node;
pub mod sim_runtime;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::client::{self, Client};
use crate::controllers::events::Recorder;
use crate::sim::Ctx;
use cri::{CriCall, CriRequest, CriResponse, CriResult, ProbeAction};

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
    pull_started: Option<crate::sim::Time>,
    restart_count: i64,
    last_state: Option<State>,
    /// Consecutive crashes (restart back-off) and failed pulls (pull back-off).
    crashes: u32,
    pull_failures: u32,
    probes: Vec<Probe>,
    /// The readiness probe's verdict (true without a readiness probe).
    ready: bool,
    started_at: Option<crate::sim::Time>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
}

/// A probe of a container spec, with its counters.
#[derive(Clone, Debug)]
struct Probe {
    kind: ProbeKind,
    initial_delay_ms: i64,
    period_ms: i64,
    failure_threshold: u32,
    success_threshold: u32,
    failures: u32,
    successes: u32,
    /// How a failure reads in the `Unhealthy` event when the runtime gives no reason.
    failure_message: String,
    /// What the probe checks; an HTTP or TCP probe's host is the pod's IP unless it names
    /// one.
    action: ProbeAction,
    timeout_seconds: i64,
}

/// A probe's port: a number, or the name of one of the container's ports.
fn probe_port(c: &Value, port: &Value) -> i32 {
    match port {
        Value::String(name) => c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name.as_str())
            .and_then(|p| p["containerPort"].as_i64())
            .unwrap_or(0) as i32,
        other => other.as_i64().unwrap_or(0) as i32,
    }
}

fn probe_action(c: &Value, p: &Value) -> ProbeAction {
    if p["httpGet"].is_object() {
        let h = &p["httpGet"];
        ProbeAction::HttpGet {
            scheme: h["scheme"].as_str().unwrap_or("HTTP").to_string(),
            host: str_of(&h["host"]),
            port: probe_port(c, &h["port"]),
            path: h["path"].as_str().unwrap_or("/").to_string(),
        }
    } else if p["tcpSocket"].is_object() {
        ProbeAction::TcpSocket {
            host: str_of(&p["tcpSocket"]["host"]),
            port: probe_port(c, &p["tcpSocket"]["port"]),
        }
    } else {
        ProbeAction::Exec {
            command: p["exec"]["command"]
                .as_array()
                .into_iter()
                .flatten()
                .map(str_of)
                .collect(),
        }
    }
}

fn probes_of(c: &Value) -> Vec<Probe> {
    [
        ("startupProbe", ProbeKind::Startup),
        ("livenessProbe", ProbeKind::Liveness),
        ("readinessProbe", ProbeKind::Readiness),
    ]
    .iter()
    .filter(|(key, _)| c[*key].is_object())
    .map(|(key, kind)| {
        let p = &c[*key];
        let failure_message = if p["httpGet"].is_object() {
            "HTTP probe failed with statuscode: 500".to_string()
        } else if p["tcpSocket"].is_object() {
            format!(
                "dial tcp: connect: connection refused (port {})",
                p["tcpSocket"]["port"]
            )
        } else {
            "command exited with non-zero code 1".to_string()
        };
        Probe {
            kind: *kind,
            initial_delay_ms: p["initialDelaySeconds"].as_i64().unwrap_or(0) * 1000,
            period_ms: p["periodSeconds"].as_i64().unwrap_or(10).max(1) * 1000,
            failure_threshold: p["failureThreshold"].as_u64().unwrap_or(3).max(1) as u32,
            success_threshold: p["successThreshold"].as_u64().unwrap_or(1).max(1) as u32,
            failures: 0,
            successes: 0,
            failure_message,
            action: probe_action(c, p),
            timeout_seconds: p["timeoutSeconds"].as_i64().unwrap_or(1).max(1),
        }
    })
    .collect()
}

/// Whether a simulated probe succeeds: `kubeplay.io/fail-liveness-after: 30s` makes liveness
/// fail from 30 s after the container started; `kubeplay.io/fail-readiness: "true"` makes
/// readiness fail. Everything else succeeds.
fn probe_succeeds(pod: &Value, kind: ProbeKind, running_ms: i64) -> bool {
    let annotation = |k: &str| {
        pod["metadata"]["annotations"][k]
            .as_str()
            .map(str::to_string)
    };
    match kind {
        ProbeKind::Liveness => annotation("kubeplay.io/fail-liveness-after")
            .and_then(|d| crate::scenario::parse_duration(&d).ok())
            .is_none_or(|after| running_ms < after),
        ProbeKind::Readiness => annotation("kubeplay.io/fail-readiness").as_deref() != Some("true"),
        ProbeKind::Startup => true,
    }
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
    pod: Value,
    sandbox: Option<String>,
    ip: Option<String>,
    containers: Vec<Container>,
    start_time: String,
    terminating: bool,
    stops_outstanding: usize,
    mounts_outstanding: usize,
    /// Sandboxes the runtime failed to make in a row (their back-off).
    sandbox_failures: u32,
}

/// The CSI publish calls for a pod's inline CSI volumes.
fn csi_volumes(node: &NodeConfig, pod: &Value, uid: &str) -> Vec<CriCall> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["csi"].is_object())
        .map(|v| {
            let name = str_of(&v["name"]);
            let driver = str_of(&v["csi"]["driver"]);
            let mut volume_context: BTreeMap<String, String> = crate::collections::map_from(
                v["csi"]["volumeAttributes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), str_of(v))),
            );
            for (k, field) in [
                ("csi.storage.k8s.io/pod.name", "name"),
                ("csi.storage.k8s.io/pod.namespace", "namespace"),
                ("csi.storage.k8s.io/pod.uid", "uid"),
            ] {
                volume_context.insert(k.into(), str_of(&pod["metadata"][field]));
            }
            volume_context.insert("csi.storage.k8s.io/ephemeral".into(), "true".into());
            CriCall::NodePublishVolume {
                target_path: kuberuntime::volume_host_path(node, uid, v).unwrap_or_default(),
                volume_id: format!("csi-{uid}-{name}"),
                readonly: v["csi"]["readOnly"] == true,
                volume_context,
                driver,
            }
        })
        .collect()
}

/// What an outstanding request was for.
#[derive(Clone, Copy, Debug)]
enum Step {
    Sandbox,
    Pull(usize),
    Create(usize),
    Start(usize),
    Stop(usize),
    /// Stopping a container that failed its liveness probe, to restart it.
    LivenessKill(usize),
    /// A probe of a container, of the incarnation with this restart count.
    Probe(usize, ProbeKind, i64),
    /// Publishing (mounting) the pod's CSI volumes before its sandbox starts.
    Mount,
    /// Unpublishing them after the sandbox stopped.
    Unmount,
    StopSandbox,
    RemoveSandbox,
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

    /// The Node object this kubelet registers (`registerWithAPIServer`).
    pub fn node_object(&self, images: &BTreeMap<String, i64>, now: &str) -> Value {
        let n = &self.node;
        let resources = json!({"cpu": n.cpu, "memory": n.memory, "pods": n.max_pods.to_string(), "ephemeral-storage": "100Gi"});
        let condition = |t: &str, status: &str, reason: &str, message: &str| json!({"type": t, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": now, "lastTransitionTime": now});
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": n.name, "labels": n.labels},
            "spec": {"podCIDR": n.pod_cidr, "podCIDRs": [n.pod_cidr]},
            "status": {
                "capacity": resources, "allocatable": resources,
                "conditions": [
                    condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                ],
                "addresses": [{"type": "InternalIP", "address": n.internal_ip}, {"type": "Hostname", "address": n.name}],
                "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION, "containerRuntimeVersion": n.runtime_version,
                             "osImage": n.os_image, "kernelVersion": n.kernel_version, "operatingSystem": "linux", "architecture": "amd64",
                             "machineID": "", "systemUUID": "", "bootID": ""},
                "images": images.iter().map(|(name, size)| json!({"names": [name], "sizeBytes": size})).collect::<Vec<_>>(),
            }
        })
    }

    /// Registers the node and its Lease; called once at start.
    pub fn register(&mut self, ctx: &mut Ctx, images: &BTreeMap<String, i64>) {
        let mut node = self.node_object(images, &ctx.now.rfc3339());
        if !self.node.taints.is_empty() {
            node["spec"]["taints"] = Value::Array(self.node.taints.clone());
        }
        let nodes = client::resource("", "nodes");
        if let Err(e) = self.client.create(ctx.api, nodes, None, &node) {
            if e.code == 409 {
                let _ = self.client.patch(
                    ctx.api,
                    nodes,
                    None,
                    &self.node.name,
                    &json!({"status": node["status"]}),
                );
            }
        }
        self.renew_lease(ctx);
    }

    /// Forgets everything about pods, as a kubelet that restarts after its node lost power.
    pub fn reset(&mut self) {
        self.pods.clear();
        self.inflight.clear();
        self.outbox.clear();
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
            .send(
                ctx.api,
                crate::apiserver::Request::new(crate::apiserver::Method::Get, &path),
            )
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
            let event = json!({"type": "DELETED", "object": {"metadata": {"uid": uid}}});
            self.on_pod_event(ctx, &event);
        }
        for pod in pods {
            self.on_pod_event(ctx, &json!({"type": "MODIFIED", "object": pod}));
        }
    }

    /// Cuts or restores the kubelet's way to the API server (a network partition).
    pub fn set_reachable(&mut self, on: bool) {
        self.client.reachable = on;
        self.recorder.set_reachable(on);
    }

    /// Writes every pod's status where the server's copy differs (the status manager's
    /// periodic sync; after a partition, what happened meanwhile).
    pub fn sync_statuses(&mut self, ctx: &mut Ctx) {
        let uids: Vec<String> = self.pods.keys().cloned().collect();
        for uid in uids {
            self.write_status(ctx, &uid);
        }
    }

    /// Posts `Ready` again when the node's status says otherwise (the node lifecycle
    /// controller marked it `Unknown` while this kubelet was silent).
    fn ensure_ready(&mut self, ctx: &mut Ctx) {
        let nodes = client::resource("", "nodes");
        let path = client::object_path(nodes, None, &self.node.name);
        let node = self
            .client
            .send(
                ctx.api,
                crate::apiserver::Request::new(crate::apiserver::Method::Get, &path),
            )
            .value();
        let ready = node["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        if ready || node.get("status").is_none() {
            return;
        }
        let fresh = self.node_object(&BTreeMap::new(), &ctx.now.rfc3339());
        let patch = json!({"status": {"conditions": fresh["status"]["conditions"]}});
        let req = crate::apiserver::Request::new(
            crate::apiserver::Method::Patch,
            &format!("{path}/status"),
        )
        .body("application/strategic-merge-patch+json", patch.to_string());
        self.client.send(ctx.api, req);
    }

    /// Renews the node Lease (`kube-node-lease/<node>`): the heartbeat the node lifecycle
    /// controller watches.
    pub fn renew_lease(&mut self, ctx: &mut Ctx) {
        self.ensure_ready(ctx);
        let leases = client::resource("coordination.k8s.io", "leases");
        let now = ctx.now.rfc3339();
        let patch = json!({"spec": {"renewTime": now}});
        if self
            .client
            .patch(
                ctx.api,
                leases,
                Some("kube-node-lease"),
                &self.node.name,
                &patch,
            )
            .is_err()
        {
            let lease = json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.node.name, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": self.node.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": now}
            });
            let _ = self
                .client
                .create(ctx.api, leases, Some("kube-node-lease"), &lease);
        }
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
    pub fn on_pod_event(&mut self, ctx: &mut Ctx, event: &Value) {
        let pod = &event["object"];
        let uid = str_of(&pod["metadata"]["uid"]);
        if event["type"] == "DELETED" {
            // Removed without us (a force delete): tear down what is still running.
            if let Some(ps) = self.pods.get_mut(&uid) {
                if ps.terminating {
                    return;
                }
                ps.terminating = true;
                match ps.sandbox.clone() {
                    Some(sb) => self.call(
                        &uid,
                        Step::StopSandbox,
                        CriCall::StopPodSandbox { sandbox_id: sb },
                    ),
                    None => {
                        self.pods.remove(&uid);
                    }
                }
            }
            return;
        }
        if pod["spec"]["nodeName"].as_str() != Some(self.node.name.as_str()) {
            return;
        }
        let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
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
                    ctx.api,
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
            self.admit(ctx, pod);
            return;
        }
        if let Some(ps) = self.pods.get_mut(&uid) {
            ps.pod = pod.clone();
        }
        if deleting {
            self.kill(ctx, &uid);
        }
    }

    /// Whether the pod fits in what the node has left (`canAdmitPod`'s resource check):
    /// `Err((reason, message))` as the kubelet words a rejection.
    fn admission_check(&self, pod: &Value) -> Result<(), (String, String)> {
        use crate::scheduler::framework::{PodInfo, Resources};
        let allocatable =
            Resources::from_list(&json!({"cpu": self.node.cpu, "memory": self.node.memory}));
        let mut used = Resources::default();
        for ps in self.pods.values().filter(|p| !p.terminating) {
            used.add(&PodInfo::from_pod(&ps.pod).requests);
        }
        let want = PodInfo::from_pod(pod).requests;
        let checks = [
            ("cpu", want.milli_cpu, used.milli_cpu, allocatable.milli_cpu),
            ("memory", want.memory, used.memory, allocatable.memory),
        ];
        for (name, requested, used, capacity) in checks {
            if requested > 0 && requested + used > capacity {
                let reason = format!("OutOf{name}");
                let message = format!("Pod was rejected: Node didn't have enough resource: {name}, requested: {requested}, used: {used}, capacity: {capacity}");
                return Err((reason, message));
            }
        }
        Ok(())
    }

    fn admit(&mut self, ctx: &mut Ctx, pod: &Value) {
        let uid = str_of(&pod["metadata"]["uid"]);
        if let Err((reason, message)) = self.admission_check(pod) {
            // Rejected pods fail at once; their controller makes others.
            let status = json!({"phase": "Failed", "reason": reason, "message": message, "qosClass": pod["status"]["qosClass"]});
            let (ns, name) = (
                str_of(&pod["metadata"]["namespace"]),
                str_of(&pod["metadata"]["name"]),
            );
            let obj = json!({"metadata": {"name": name, "namespace": ns, "uid": uid}});
            self.recorder
                .warning(ctx, &obj, "v1", "Pod", &reason, message);
            let _ = self.client.replace_status(
                ctx.api,
                client::resource("", "pods"),
                Some(&ns),
                &name,
                &status,
            );
            return;
        }
        let containers = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Container {
                name: str_of(&c["name"]),
                image: str_of(&c["image"]),
                pull_policy: c["imagePullPolicy"]
                    .as_str()
                    .unwrap_or("IfNotPresent")
                    .to_string(),
                id: None,
                image_ref: String::new(),
                state: State::Waiting("ContainerCreating".into()),
                pull_started: None,
                restart_count: 0,
                last_state: None,
                crashes: 0,
                pull_failures: 0,
                probes: probes_of(c),
                ready: c["readinessProbe"].is_null(),
                started_at: None,
            })
            .collect();
        let ps = PodState {
            namespace: str_of(&pod["metadata"]["namespace"]),
            name: str_of(&pod["metadata"]["name"]),
            uid: uid.clone(),
            pod: pod.clone(),
            sandbox: None,
            ip: None,
            containers,
            start_time: ctx.now.rfc3339(),
            terminating: false,
            stops_outstanding: 0,
            mounts_outstanding: 0,
            sandbox_failures: 0,
        };
        let call = self.sandbox_call(&ps);
        let volumes = csi_volumes(&self.node, pod, &uid);
        self.pods.insert(uid.clone(), ps);
        self.write_status(ctx, &uid);
        // Volumes first (`WaitForAttachAndMount`), then the sandbox.
        if volumes.is_empty() {
            self.call(&uid, Step::Sandbox, call);
        } else {
            if let Some(ps) = self.pods.get_mut(&uid) {
                ps.mounts_outstanding = volumes.len();
            }
            for v in volumes {
                self.call(&uid, Step::Mount, v);
            }
        }
    }

    fn next_container_step(&mut self, ctx: &mut Ctx, uid: &str, i: usize) {
        let Some(ps) = self.pods.get(uid) else { return };
        let Some(c) = ps.containers.get(i) else {
            return;
        };
        let (image, sandbox) = (c.image.clone(), ps.sandbox.clone().unwrap_or_default());
        let normalized = crate::scheduler::plugins::image_locality::normalized_image(&image);
        let present = self.images.contains(&normalized);
        let must_pull = c.pull_policy == "Always" || (c.pull_policy != "Never" && !present);
        if must_pull {
            if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
                c.pull_started = Some(ctx.now);
            }
            self.event(
                ctx,
                uid,
                "Normal",
                "Pulling",
                format!("Pulling image \"{image}\""),
            );
            self.call(uid, Step::Pull(i), CriCall::PullImage { image });
        } else if !present {
            self.set_state(uid, i, State::Waiting("ErrImageNeverPull".into()));
            self.event(
                ctx,
                uid,
                "Warning",
                "ErrImageNeverPull",
                format!("Container image \"{image}\" is not present with pull policy of Never"),
            );
            self.write_status(ctx, uid);
        } else {
            self.event(
                ctx,
                uid,
                "Normal",
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
            let _ = sandbox;
            let call = self.create_call(uid, i);
            self.call(uid, Step::Create(i), call);
        }
    }

    fn sandbox_call(&self, ps: &PodState) -> CriCall {
        CriCall::RunPodSandbox {
            pod_uid: ps.uid.clone(),
            namespace: ps.namespace.clone(),
            name: ps.name.clone(),
            attempt: 0,
            config: Box::new(kuberuntime::sandbox_config(&self.node, &ps.pod)),
        }
    }

    fn create_call(&self, uid: &str, i: usize) -> CriCall {
        let ps = &self.pods[uid];
        let c = &ps.containers[i];
        let spec = &ps.pod["spec"]["containers"][i];
        let attempt = u32::try_from(c.restart_count).unwrap_or(u32::MAX);
        let ip = ps.ip.as_deref().unwrap_or_default();
        CriCall::CreateContainer {
            sandbox_id: ps.sandbox.clone().unwrap_or_default(),
            config: Box::new(kuberuntime::container_config(
                &self.node, &ps.pod, spec, attempt, ip,
            )),
        }
    }

    /// The runtime id of a pod's container (`namespace/name`, container name or the first).
    pub fn container_id(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
    ) -> Option<String> {
        let ps = self
            .pods
            .values()
            .find(|p| p.namespace == namespace && p.name == name)?;
        let c = match container {
            Some(cn) => ps.containers.iter().find(|c| c.name == cn)?,
            None => ps.containers.first()?,
        };
        c.id.clone()
    }

    /// The CRI log file of a pod's container (its current incarnation), if it runs here.
    pub fn container_log_path(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
    ) -> Option<String> {
        let ps = self
            .pods
            .values()
            .find(|p| p.namespace == namespace && p.name == name)?;
        let c = match container {
            Some(cn) => ps.containers.iter().find(|c| c.name == cn)?,
            None => ps.containers.first()?,
        };
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

    /// A container exited by itself (what PLEG reports): record it, then restart it after a
    /// back-off or let the pod finish, as its `restartPolicy` says.
    pub fn on_container_exit(&mut self, ctx: &mut Ctx, container_id: &str, exit_code: i64) {
        let Some((uid, i)) = self.container_by_id(container_id) else {
            return;
        };
        if self.pods[&uid].terminating {
            return;
        }
        let reason = if exit_code == 0 { "Completed" } else { "Error" };
        let terminated = State::Terminated {
            exit_code,
            reason: reason.into(),
            finished_at: ctx.now.rfc3339(),
        };
        let policy = self.pods[&uid].pod["spec"]["restartPolicy"]
            .as_str()
            .unwrap_or("Always")
            .to_string();
        let restart = policy == "Always" || (policy == "OnFailure" && exit_code != 0);
        let (name, pod_name, ns) = {
            let ps = &self.pods[&uid];
            (
                ps.containers[i].name.clone(),
                ps.name.clone(),
                ps.namespace.clone(),
            )
        };
        if !restart {
            self.set_state(&uid, i, terminated);
            self.write_status(ctx, &uid);
            return;
        }
        let crashes = {
            let c = &mut self
                .pods
                .get_mut(&uid)
                .expect("pod of a known container")
                .containers[i];
            c.crashes += 1;
            c.last_state = Some(terminated);
            c.crashes
        };
        let wait = restart_back_off_ms(crashes);
        if wait > 0 {
            self.set_state(&uid, i, State::Waiting("CrashLoopBackOff".into()));
            self.event(
                ctx,
                &uid,
                "Warning",
                "BackOff",
                format!(
                    "Back-off restarting failed container {name} in pod {pod_name}_{ns}({uid})"
                ),
            );
        } else {
            self.set_state(
                &uid,
                i,
                self.pods[&uid].containers[i]
                    .last_state
                    .clone()
                    .unwrap_or(State::Waiting("Error".into())),
            );
        }
        self.write_status(ctx, &uid);
        self.timers
            .push((wait, KubeletTimer::Restart { uid, index: i }));
    }

    /// A (re)started container: its probes start counting, readiness starts false.
    fn start_probes(&mut self, ctx: &mut Ctx, uid: &str, i: usize) {
        let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) else {
            return;
        };
        c.started_at = Some(ctx.now);
        c.ready = !c.probes.iter().any(|p| p.kind == ProbeKind::Readiness);
        let id = c.id.clone().unwrap_or_default();
        let mut wakeups = Vec::new();
        for p in c.probes.iter_mut() {
            p.failures = 0;
            p.successes = 0;
            wakeups.push((p.initial_delay_ms.max(p.period_ms.min(1_000)), p.kind));
        }
        for (ms, kind) in wakeups {
            self.timers.push((
                ms,
                KubeletTimer::Probe {
                    uid: uid.to_string(),
                    index: i,
                    kind,
                    container_id: id.clone(),
                },
            ));
        }
    }

    /// One probe run (`prober.runProbe`): the runtime carries it out on the node (a simulated
    /// node decides it from the pod's annotations); [`Kubelet::on_probe_result`] takes it on.
    fn probe(&mut self, ctx: &mut Ctx, uid: &str, i: usize, kind: ProbeKind, container_id: &str) {
        let Some(ps) = self.pods.get(uid) else { return };
        let Some(c) = ps.containers.get(i) else {
            return;
        };
        if ps.terminating
            || c.id.as_deref() != Some(container_id)
            || !matches!(c.state, State::Running { .. })
        {
            return;
        }
        let Some(probe) = c.probes.iter().find(|p| p.kind == kind) else {
            return;
        };
        let running_ms = ctx.now.millis() - c.started_at.map_or(ctx.now.millis(), |t| t.millis());
        let pod_ip = ps.ip.clone().unwrap_or_default();
        let mut action = probe.action.clone();
        if let ProbeAction::HttpGet { host, .. } | ProbeAction::TcpSocket { host, .. } = &mut action
        {
            if host.is_empty() {
                *host = pod_ip;
            }
        }
        let call = CriCall::Probe {
            container_id: container_id.to_string(),
            action,
            timeout_seconds: probe.timeout_seconds,
            simulated_success: probe_succeeds(&ps.pod, kind, running_ms),
        };
        let incarnation = c.restart_count;
        self.call(uid, Step::Probe(i, kind, incarnation), call);
    }

    /// A probe's verdict: counted against its thresholds; readiness flips Ready, a liveness or
    /// startup failure past its threshold restarts the container; the next run a period later.
    fn on_probe_result(
        &mut self,
        ctx: &mut Ctx,
        uid: &str,
        (i, kind, incarnation): (usize, ProbeKind, i64),
        ok: bool,
        reason: String,
    ) {
        let Some(ps) = self.pods.get(uid) else { return };
        let Some(c) = ps.containers.get(i) else {
            return;
        };
        // The container may have been restarted or stopped while the probe ran.
        if ps.terminating
            || c.restart_count != incarnation
            || !matches!(c.state, State::Running { .. })
        {
            return;
        }
        let Some(container_id) = c.id.clone() else {
            return;
        };
        let name = c.name.clone();
        let Some(probe) = self
            .pods
            .get_mut(uid)
            .and_then(|p| p.containers.get_mut(i))
            .and_then(|c| c.probes.iter_mut().find(|p| p.kind == kind))
        else {
            return;
        };
        let period = probe.period_ms;
        let message = if reason.is_empty() {
            probe.failure_message.clone()
        } else {
            reason
        };
        let (mut became_ready, mut became_unready, mut kill) = (false, false, false);
        if ok {
            probe.failures = 0;
            probe.successes += 1;
            became_ready =
                kind == ProbeKind::Readiness && probe.successes >= probe.success_threshold;
        } else {
            probe.successes = 0;
            probe.failures += 1;
            let over = probe.failures >= probe.failure_threshold;
            became_unready = kind == ProbeKind::Readiness && over;
            kill = kind != ProbeKind::Readiness && over;
        }
        if !ok {
            self.event(
                ctx,
                uid,
                "Warning",
                "Unhealthy",
                format!("{} probe failed: {message}", kind.title()),
            );
        }
        if became_ready || became_unready {
            let was = self.pods[uid].containers[i].ready;
            if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
                c.ready = became_ready;
            }
            if was != became_ready {
                self.write_status(ctx, uid);
            }
        }
        if kill {
            self.event(
                ctx,
                uid,
                "Normal",
                "Killing",
                format!(
                    "Container {name} failed {} probe, will be restarted",
                    kind.title().to_ascii_lowercase()
                ),
            );
            let grace = self.pods[uid].pod["spec"]["terminationGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(30);
            self.call(
                uid,
                Step::LivenessKill(i),
                CriCall::StopContainer {
                    container_id,
                    timeout_seconds: grace,
                },
            );
            return;
        }
        self.timers.push((
            period,
            KubeletTimer::Probe {
                uid: uid.to_string(),
                index: i,
                kind,
                container_id,
            },
        ));
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
                if self.pods.get(&uid).is_none_or(|p| p.terminating) {
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
                if self.pods.get(&uid).is_none_or(|p| p.terminating) {
                    return;
                }
                self.next_container_step(ctx, &uid, index);
            }
            KubeletTimer::RetrySandbox { uid } => {
                let Some(ps) = self.pods.get(&uid) else {
                    return;
                };
                if ps.terminating || ps.sandbox.is_some() {
                    return;
                }
                let call = self.sandbox_call(ps);
                self.call(&uid, Step::Sandbox, call);
            }
        }
    }

    fn set_state(&mut self, uid: &str, i: usize, state: State) {
        if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
            c.state = state;
        }
    }

    /// The result of a CRI call.
    pub fn on_result(&mut self, ctx: &mut Ctx, resp: CriResponse) {
        let Some((_, uid, step)) = self
            .inflight_index(resp.id)
            .map(|i| self.inflight.remove(i))
        else {
            return;
        };
        if !self.pods.contains_key(&uid) {
            return;
        }
        let terminating = self.pods[&uid].terminating;
        match (step, resp.result) {
            (Step::Sandbox, Ok(CriResult::Sandbox { sandbox_id, ip })) => {
                if let Some(ps) = self.pods.get_mut(&uid) {
                    ps.sandbox = Some(sandbox_id);
                    ps.ip = Some(ip);
                }
                if terminating {
                    self.kill(ctx, &uid);
                    return;
                }
                self.write_status(ctx, &uid);
                let n = self.pods[&uid].containers.len();
                for i in 0..n {
                    self.next_container_step(ctx, &uid, i);
                }
            }
            (
                Step::Pull(i),
                Ok(CriResult::Image {
                    image_ref,
                    size_bytes,
                }),
            ) => {
                self.images.insert(image_ref.clone());
                let c = &self.pods[&uid].containers[i];
                let took =
                    ctx.now.millis() - c.pull_started.map_or(ctx.now.millis(), |t| t.millis());
                let secs = format!("{}s", crate::sim::seconds(took));
                let message = format!("Successfully pulled image \"{}\" in {secs} ({secs} including waiting). Image size: {size_bytes} bytes.", c.image);
                let call = self.create_call(&uid, i);
                if let Some(c) = self
                    .pods
                    .get_mut(&uid)
                    .and_then(|p| p.containers.get_mut(i))
                {
                    c.image_ref = image_ref;
                }
                self.event(ctx, &uid, "Normal", "Pulled", message);
                if !terminating {
                    self.call(&uid, Step::Create(i), call);
                }
            }
            (Step::Pull(i), Err(message)) => {
                let image = self.pods[&uid].containers[i].image.clone();
                self.set_state(&uid, i, State::Waiting("ErrImagePull".into()));
                self.event(
                    ctx,
                    &uid,
                    "Warning",
                    "Failed",
                    format!("Failed to pull image \"{image}\": {message}"),
                );
                self.event(ctx, &uid, "Warning", "Failed", "Error: ErrImagePull".into());
                self.write_status(ctx, &uid);
                let failures = self.pods.get_mut(&uid).map_or(1, |p| {
                    p.containers[i].pull_failures += 1;
                    p.containers[i].pull_failures
                });
                self.timers.push((
                    1_000,
                    KubeletTimer::PullBackOff {
                        uid: uid.clone(),
                        index: i,
                    },
                ));
                self.timers.push((
                    back_off_ms(failures),
                    KubeletTimer::RetryPull {
                        uid: uid.clone(),
                        index: i,
                    },
                ));
            }
            (Step::Create(i), Ok(CriResult::Container { container_id })) => {
                let name = self.pods[&uid].containers[i].name.clone();
                if let Some(c) = self
                    .pods
                    .get_mut(&uid)
                    .and_then(|p| p.containers.get_mut(i))
                {
                    c.id = Some(container_id.clone());
                }
                self.event(
                    ctx,
                    &uid,
                    "Normal",
                    "Created",
                    format!("Created container: {name}"),
                );
                if terminating {
                    self.kill(ctx, &uid);
                } else {
                    self.call(
                        &uid,
                        Step::Start(i),
                        CriCall::StartContainer { container_id },
                    );
                }
            }
            (Step::Start(i), Ok(_)) => {
                let name = self.pods[&uid].containers[i].name.clone();
                self.start_probes(ctx, &uid, i);
                self.set_state(
                    &uid,
                    i,
                    State::Running {
                        started_at: ctx.now.rfc3339(),
                    },
                );
                self.event(
                    ctx,
                    &uid,
                    "Normal",
                    "Started",
                    format!("Started container {name}"),
                );
                self.write_status(ctx, &uid);
            }
            (Step::Stop(i), _) => {
                self.set_state(
                    &uid,
                    i,
                    State::Terminated {
                        exit_code: 0,
                        reason: "Completed".into(),
                        finished_at: ctx.now.rfc3339(),
                    },
                );
                let done = self.pods.get_mut(&uid).map(|p| {
                    p.stops_outstanding = p.stops_outstanding.saturating_sub(1);
                    p.stops_outstanding == 0
                });
                if done == Some(true) {
                    self.write_status(ctx, &uid);
                    let sandbox = self.pods[&uid].sandbox.clone().unwrap_or_default();
                    self.call(
                        &uid,
                        Step::StopSandbox,
                        CriCall::StopPodSandbox {
                            sandbox_id: sandbox,
                        },
                    );
                }
            }
            (Step::Mount, Ok(_)) => {
                let ps = self.pods.get_mut(&uid).expect("checked above");
                ps.mounts_outstanding = ps.mounts_outstanding.saturating_sub(1);
                if ps.mounts_outstanding == 0 {
                    let call = self.sandbox_call(&self.pods[&uid]);
                    self.call(&uid, Step::Sandbox, call);
                }
            }
            (Step::Mount, Err(message)) => {
                let volume = self.pods[&uid].pod["spec"]["volumes"][0]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.event(
                    ctx,
                    &uid,
                    "Warning",
                    "FailedMount",
                    format!("MountVolume.SetUp failed for volume \"{volume}\" : {message}"),
                );
            }
            (Step::Unmount, _) => {
                let ps = self.pods.get_mut(&uid).expect("checked above");
                ps.mounts_outstanding = ps.mounts_outstanding.saturating_sub(1);
                if ps.mounts_outstanding == 0 {
                    let sandbox = ps.sandbox.clone().unwrap_or_default();
                    self.call(
                        &uid,
                        Step::RemoveSandbox,
                        CriCall::RemovePodSandbox {
                            sandbox_id: sandbox,
                        },
                    );
                }
            }
            (Step::LivenessKill(i), _) => {
                let id = self.pods[&uid].containers[i].id.clone().unwrap_or_default();
                self.on_container_exit(ctx, &id, 137);
            }
            (Step::StopSandbox, _) => {
                // Unpublish the CSI volumes, then remove the sandbox.
                let volumes: Vec<CriCall> = csi_volumes(&self.node, &self.pods[&uid].pod, &uid)
                    .into_iter()
                    .map(|c| match c {
                        CriCall::NodePublishVolume {
                            driver,
                            volume_id,
                            target_path,
                            ..
                        } => CriCall::NodeUnpublishVolume {
                            driver,
                            volume_id,
                            target_path,
                        },
                        other => other,
                    })
                    .collect();
                if !volumes.is_empty() {
                    if let Some(ps) = self.pods.get_mut(&uid) {
                        ps.mounts_outstanding = volumes.len();
                    }
                    for v in volumes {
                        self.call(&uid, Step::Unmount, v);
                    }
                    return;
                }
                let sandbox = self.pods[&uid].sandbox.clone().unwrap_or_default();
                self.call(
                    &uid,
                    Step::RemoveSandbox,
                    CriCall::RemovePodSandbox {
                        sandbox_id: sandbox,
                    },
                );
            }
            (Step::RemoveSandbox, _) => self.finish_deletion(ctx, &uid),
            (Step::Probe(i, kind, incarnation), result) => {
                // A probe the node could not run counts as a failure, with the reason.
                let (ok, reason) = match result {
                    Ok(CriResult::Probe { success, message }) => (success, message),
                    Ok(_) => (false, String::new()),
                    Err(e) => (false, e),
                };
                self.on_probe_result(ctx, &uid, (i, kind, incarnation), ok, reason);
            }
            (Step::Sandbox, Err(message)) => {
                // `FailedCreatePodSandBox`, then again after a back-off (the pod worker's
                // next sync upstream).
                self.event(
                    ctx,
                    &uid,
                    "Warning",
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {message}"),
                );
                let failures = self.pods.get_mut(&uid).map_or(1, |p| {
                    p.sandbox_failures += 1;
                    p.sandbox_failures
                });
                self.timers
                    .push((back_off_ms(failures), KubeletTimer::RetrySandbox { uid }));
            }
            (Step::Create(i), Err(message)) => {
                // `CreateContainerError`, and another try after the container's back-off.
                self.set_state(&uid, i, State::Waiting("CreateContainerError".into()));
                self.event(ctx, &uid, "Warning", "Failed", format!("Error: {message}"));
                self.write_status(ctx, &uid);
                let failures = self.pods.get_mut(&uid).map_or(1, |p| {
                    p.containers[i].pull_failures += 1;
                    p.containers[i].pull_failures
                });
                self.timers.push((
                    back_off_ms(failures),
                    KubeletTimer::RetryPull { uid, index: i },
                ));
            }
            (_, Err(message)) => {
                self.event(ctx, &uid, "Warning", "Failed", message);
            }
            _ => {}
        }
    }

    /// Stops a pod being deleted (`killPod`), honouring its grace period.
    fn kill(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        if ps.terminating && ps.stops_outstanding > 0 {
            return;
        }
        ps.terminating = true;
        if ps.sandbox.is_none() {
            // Nothing started yet (the sandbox result will come back and find it terminating).
            if !self
                .inflight
                .iter()
                .any(|(_, u, s)| u == uid && matches!(s, Step::Sandbox))
            {
                self.finish_deletion(ctx, uid);
            }
            return;
        }
        let grace = ps.pod["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30);
        let running: Vec<(usize, String, String)> = ps
            .containers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.id.clone().map(|id| (i, c.name.clone(), id)))
            .collect();
        ps.stops_outstanding = running.len();
        if running.is_empty() {
            let sandbox = ps.sandbox.clone().unwrap_or_default();
            self.call(
                uid,
                Step::StopSandbox,
                CriCall::StopPodSandbox {
                    sandbox_id: sandbox,
                },
            );
            return;
        }
        for (i, name, id) in running {
            self.event(
                ctx,
                uid,
                "Normal",
                "Killing",
                format!("Stopping container {name}"),
            );
            self.call(
                uid,
                Step::Stop(i),
                CriCall::StopContainer {
                    container_id: id,
                    timeout_seconds: grace,
                },
            );
        }
    }

    fn finish_deletion(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.remove(uid) else {
            return;
        };
        let pods = client::resource("", "pods");
        let options = json!({"gracePeriodSeconds": 0, "preconditions": {"uid": uid}});
        let _ = self
            .client
            .delete(ctx.api, pods, Some(&ps.namespace), &ps.name, &options);
    }

    /// The pod's status as the kubelet sees it (`generateAPIPodStatus`).
    fn status(&self, ps: &PodState, now: &str) -> Value {
        let statuses: Vec<Value> = ps
            .containers
            .iter()
            .map(|c| {
                let state = match &c.state {
                    State::Waiting(reason) => json!({"waiting": {"reason": reason}}),
                    State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
                    State::Terminated { exit_code, reason, finished_at } => json!({"terminated": {"exitCode": exit_code, "reason": reason, "finishedAt": finished_at}}),
                };
                let running = matches!(c.state, State::Running { .. });
                let mut s = json!({"name": c.name, "image": c.image, "imageID": c.image_ref, "ready": running && c.ready, "restartCount": c.restart_count, "started": running, "state": state});
                if let Some(State::Terminated { exit_code, reason, finished_at }) = &c.last_state {
                    s["lastState"] = json!({"terminated": {"exitCode": exit_code, "reason": reason, "finishedAt": finished_at}});
                }
                if let Some(id) = &c.id {
                    s["containerID"] = json!(format!("containerd://{id}"));
                }
                s
            })
            .collect();
        let all_running = ps
            .containers
            .iter()
            .all(|c| matches!(c.state, State::Running { .. }));
        let names_not_ready: Vec<&str> = ps
            .containers
            .iter()
            .filter(|c| !(matches!(c.state, State::Running { .. }) && c.ready))
            .map(|c| c.name.as_str())
            .collect();
        let old = ps.pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let cond = |t: &str, ok: bool, reason: Option<String>| {
            let status = if ok { "True" } else { "False" };
            let prev = old.iter().find(|c| c["type"] == t && c["status"] == status);
            let mut c = json!({"type": t, "status": status, "lastProbeTime": null, "lastTransitionTime": prev.map_or(json!(now), |p| p["lastTransitionTime"].clone())});
            if let Some(r) = reason.filter(|_| !ok) {
                c["reason"] = json!("ContainersNotReady");
                c["message"] = json!(r);
            }
            c
        };
        let not_ready = format!(
            "containers with unready status: [{}]",
            names_not_ready.join(" ")
        );
        let conditions = vec![
            cond("PodReadyToStartContainers", ps.sandbox.is_some(), None),
            cond("Initialized", true, None),
            cond("Ready", names_not_ready.is_empty(), Some(not_ready.clone())),
            cond(
                "ContainersReady",
                names_not_ready.is_empty(),
                Some(not_ready),
            ),
            cond("PodScheduled", true, None),
        ];
        // Running while a container runs or is restarted; done when all have exited.
        let terminated: Vec<i64> = ps
            .containers
            .iter()
            .filter_map(|c| match c.state {
                State::Terminated { exit_code, .. } => Some(exit_code),
                _ => None,
            })
            .collect();
        let restarting = ps.containers.iter().any(|c| c.last_state.is_some());
        let phase = if terminated.len() == ps.containers.len() && !ps.containers.is_empty() {
            if terminated.iter().all(|c| *c == 0) {
                "Succeeded"
            } else {
                "Failed"
            }
        } else if all_running
            || restarting
            || ps
                .containers
                .iter()
                .any(|c| matches!(c.state, State::Running { .. }))
        {
            "Running"
        } else {
            "Pending"
        };
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": self.node.internal_ip,
            "hostIPs": [{"ip": self.node.internal_ip}],
            "startTime": ps.start_time,
            "containerStatuses": statuses,
            "qosClass": ps.pod["status"]["qosClass"],
        });
        if let Some(ip) = &ps.ip {
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{"ip": ip}]);
        }
        status
    }

    fn write_status(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get(uid) else { return };
        let status = self.status(ps, &ctx.now.rfc3339());
        if ps.pod["status"] == status {
            return;
        }
        let pods = client::resource("", "pods");
        let (ns, name) = (ps.namespace.clone(), ps.name.clone());
        if let Ok(updated) = self
            .client
            .replace_status(ctx.api, pods, Some(&ns), &name, &status)
        {
            if let Some(ps) = self.pods.get_mut(uid) {
                ps.pod = updated;
            }
        }
    }
}

#[cfg(test)]
mod tests;
