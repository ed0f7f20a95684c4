//! The kubelet's requests to its runtime, as data (sans-IO): the CRI `RuntimeService` and
//! `ImageService` calls, the CSI `Node` calls for a pod's volumes, and their results.
//! The simulated node answers them on the virtual clock; a real node answers them through
//! the bridge (containerd over CRI, the bridge's CSI plugin) — the kubelet cannot tell the
//! difference. The fields are what upstream's kubelet puts in `PodSandboxConfig` and
//! `ContainerConfig` (`kuberuntime_sandbox.go`, `kuberuntime_container.go`), reduced to what
//! a runtime here acts on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One request, with the id its result comes back under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriRequest {
    pub id: u64,
    pub call: CriCall,
}

/// `PodSandboxConfig`: what the pod's sandbox (its network namespace, hostname and log
/// directory) is made of.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub hostname: String,
    /// `<log dir>/<namespace>_<name>_<uid>`: where the containers' CRI log files go.
    pub log_directory: String,
    /// `hostPort`s of the pod's containers (CNI `portmap`).
    pub port_mappings: Vec<PortMapping>,
    /// `spec.hostNetwork` / `hostPID` / `hostIPC`: the node's namespaces instead of the pod's.
    pub host_network: bool,
    pub host_pid: bool,
    pub host_ipc: bool,
    /// The pod's resolver (`/etc/resolv.conf`); `None`: the runtime's default, the node's.
    pub dns: Option<DnsConfig>,
}

/// CRI's `DNSConfig`: what the sandbox's `/etc/resolv.conf` says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    /// `name` or `name:value` (`ndots:5`).
    pub options: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    pub container_port: i32,
    pub host_port: i32,
    pub host_ip: String,
}

/// A bind mount into a container (`Mount`): a volume's directory on the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub container_path: String,
    pub host_path: String,
    pub readonly: bool,
}

/// `ContainerConfig` (with its `LinuxContainerConfig`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerConfig {
    pub name: String,
    /// Which incarnation of the container this is (its restart count).
    pub attempt: u32,
    pub image: String,
    /// `command` (the image's entrypoint when empty) and `args`.
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub working_dir: String,
    pub envs: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    /// Relative to the sandbox's log directory: `<container>/<attempt>.log`.
    pub log_path: String,
    /// `resources.limits` (0: none) and `resources.requests.cpu`, as cgroups take them.
    pub cpu_limit_millis: i64,
    pub cpu_request_millis: i64,
    pub memory_limit_bytes: i64,
    pub security: SecurityContext,
    /// The pod's `kubeplay.io/` annotations, which tell the simulated runtime how the
    /// container behaves.
    pub annotations: BTreeMap<String, String>,
}

impl ContainerConfig {
    /// What the container runs: command then args.
    pub fn argv(&self) -> Vec<String> {
        self.command.iter().chain(&self.args).cloned().collect()
    }
}

/// The container's `securityContext`, as the kubelet hands it to the runtime (a real node's
/// bridge refuses what it does not allow).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityContext {
    pub privileged: bool,
    pub add_capabilities: Vec<String>,
    pub drop_capabilities: Vec<String>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub read_only_root_filesystem: bool,
    pub allow_privilege_escalation: Option<bool>,
}

/// What a probe checks, as the kubelet's prober runs it: a command in the container (CRI
/// `ExecSync`), or an HTTP GET or a TCP connection to the pod from the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeAction {
    Exec {
        command: Vec<String>,
    },
    HttpGet {
        scheme: String,
        host: String,
        port: i32,
        path: String,
    },
    TcpSocket {
        host: String,
        port: i32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CriCall {
    /// `RuntimeService.RunPodSandbox`: the pod's sandbox and its network (CNI ADD).
    RunPodSandbox {
        pod_uid: String,
        namespace: String,
        name: String,
        /// The pod's restart of its sandbox (0 for the first).
        attempt: u32,
        config: Box<SandboxConfig>,
    },
    /// `ImageService.PullImage`.
    PullImage { image: String },
    /// `RuntimeService.CreateContainer`.
    CreateContainer {
        sandbox_id: String,
        config: Box<ContainerConfig>,
    },
    /// `RuntimeService.StartContainer`.
    StartContainer { container_id: String },
    /// `RuntimeService.StopContainer`, SIGTERM then SIGKILL after `timeout_seconds`.
    StopContainer {
        container_id: String,
        timeout_seconds: i64,
    },
    /// `RuntimeService.StopPodSandbox` (CNI DEL).
    StopPodSandbox { sandbox_id: String },
    /// `RuntimeService.RemovePodSandbox`.
    RemovePodSandbox { sandbox_id: String },
    /// CSI `Node.NodePublishVolume`: mount a volume where the pod's containers will see it.
    NodePublishVolume {
        driver: String,
        volume_id: String,
        target_path: String,
        readonly: bool,
        /// `volumeAttributes`, and for an inline volume the pod's identity and
        /// `csi.storage.k8s.io/ephemeral: "true"`, as the kubelet passes them.
        volume_context: BTreeMap<String, String>,
    },
    /// CSI `Node.NodeUnpublishVolume`.
    NodeUnpublishVolume {
        driver: String,
        volume_id: String,
        target_path: String,
    },
    /// One run of a probe of a running container (`prober.runProbe`), carried out on the
    /// node. `simulated_success` is what a simulated node answers (from the pod's
    /// `kubeplay.io/fail-*` annotations); a real node runs the probe.
    Probe {
        container_id: String,
        action: ProbeAction,
        timeout_seconds: i64,
        simulated_success: bool,
    },
    /// What the node's running containers use (`ListContainerStats`): the kubelet's
    /// housekeeping, read by the metrics API.
    ListContainerStats {},
}

impl CriCall {
    /// The CRI method name, for the trace.
    pub fn method(&self) -> &'static str {
        match self {
            CriCall::RunPodSandbox { .. } => "RunPodSandbox",
            CriCall::PullImage { .. } => "PullImage",
            CriCall::CreateContainer { .. } => "CreateContainer",
            CriCall::StartContainer { .. } => "StartContainer",
            CriCall::StopContainer { .. } => "StopContainer",
            CriCall::StopPodSandbox { .. } => "StopPodSandbox",
            CriCall::RemovePodSandbox { .. } => "RemovePodSandbox",
            CriCall::NodePublishVolume { .. } => "NodePublishVolume",
            CriCall::NodeUnpublishVolume { .. } => "NodeUnpublishVolume",
            CriCall::ListContainerStats {} => "ListContainerStats",
            CriCall::Probe { action, .. } => match action {
                ProbeAction::Exec { .. } => "ExecSync",
                ProbeAction::HttpGet { .. } => "HTTPGet",
                ProbeAction::TcpSocket { .. } => "TCPSocket",
            },
        }
    }

    /// Which plugin interface the call belongs to: `CRI` or `CSI`.
    pub fn interface(&self) -> &'static str {
        match self {
            CriCall::NodePublishVolume { .. } | CriCall::NodeUnpublishVolume { .. } => "CSI",
            CriCall::Probe {
                action: ProbeAction::HttpGet { .. } | ProbeAction::TcpSocket { .. },
                ..
            } => "prober",
            _ => "CRI",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriResponse {
    pub id: u64,
    pub result: Result<CriResult, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CriResult {
    Sandbox {
        sandbox_id: String,
        ip: String,
    },
    Image {
        image_ref: String,
        size_bytes: i64,
    },
    Container {
        container_id: String,
    },
    /// A probe's verdict; `message` says why it failed (empty: the kubelet words it).
    Probe {
        success: bool,
        message: String,
    },
    ContainerStats {
        stats: Vec<ContainerStats>,
    },
    Done,
}

/// CRI's `ContainerStats`, as much as the metrics API reads: CPU in nanocores (a rate over
/// the runtime's last interval) and the memory working set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStats {
    pub container_id: String,
    pub cpu_usage_nano_cores: i64,
    pub memory_working_set_bytes: i64,
}
