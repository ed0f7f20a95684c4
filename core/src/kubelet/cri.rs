//! The kubelet's requests to its runtime, as data (sans-IO): the CRI `RuntimeService` and
//! `ImageService` calls, the CNI calls the runtime makes for a sandbox, and their results.
//! The simulated node answers them on the virtual clock; a real node will answer them through
//! the bridge — the kubelet cannot tell the difference.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One request, with the id its result comes back under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriRequest {
    pub id: u64,
    pub call: CriCall,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CriCall {
    /// `RuntimeService.RunPodSandbox`: the pod's sandbox and its network (CNI ADD).
    RunPodSandbox {
        pod_uid: String,
        namespace: String,
        name: String,
    },
    /// `ImageService.PullImage`.
    PullImage { image: String },
    /// `RuntimeService.CreateContainer`.
    CreateContainer {
        sandbox_id: String,
        name: String,
        image: String,
        command: Vec<String>,
        /// `ContainerConfig.annotations`: the pod's `kubeplay.io/` annotations, which tell the
        /// simulated runtime how the container behaves.
        annotations: BTreeMap<String, String>,
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
    },
    /// CSI `Node.NodeUnpublishVolume`.
    NodeUnpublishVolume {
        driver: String,
        volume_id: String,
        target_path: String,
    },
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
        }
    }

    /// Which plugin interface the call belongs to: `CRI` or `CSI`.
    pub fn interface(&self) -> &'static str {
        match self {
            CriCall::NodePublishVolume { .. } | CriCall::NodeUnpublishVolume { .. } => "CSI",
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
    Sandbox { sandbox_id: String, ip: String },
    Image { image_ref: String, size_bytes: i64 },
    Container { container_id: String },
    Done,
}
