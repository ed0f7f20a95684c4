//! The real node's runtime: carries out core's kubelet calls ([`CriCall`]) against
//! containerd's CRI over tonic, and answers with the same results the simulated runtime
//! gives. Every sandbox and container it makes is labelled with the node and this bridge's
//! instance, so what one bridge started can be found — and reaped — by the next.
//! `prober.rs` runs probes on the node; `reaper.rs` cleans up after pods and the node.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kubeplay_core::kubelet::cri::{
    ContainerConfig, ContainerStats, CriCall, CriResult, SandboxConfig,
};
use tonic::Status;

use super::policy::{self, Policy};

mod prober;
mod reaper;
use crate::cri::{csi, v1, Cri};
use crate::csi_hostpath;

/// The label naming the node a sandbox or container belongs to.
pub const NODE_LABEL: &str = "kubeplay.io/node";
/// The label naming the bridge run that made it.
pub const INSTANCE_LABEL: &str = "kubeplay.io/bridge-instance";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How grpc-go prints a status, which is how the kubelet's messages quote runtime errors.
fn rpc(e: Status) -> String {
    format!("rpc error: code = {:?} desc = {}", e.code(), e.message())
}

pub struct RealRuntime {
    cri: Cri,
    /// The node's CSI plugin (`hostpath.csi.kubeplay.io`), over its gRPC socket.
    csi: csi::node_client::NodeClient<tonic::transport::Channel>,
    pub settings: RuntimeSettings,
    /// Sandbox id → the config it was made with (CreateContainer needs it again) and the
    /// pod's uid.
    sandboxes: Mutex<HashMap<String, (v1::PodSandboxConfig, String)>>,
    /// Containers the kubelet stopped one by one: their exit is not news to report (those
    /// stopped with their sandbox are not listed once it is removed).
    stopping: Mutex<HashSet<String>>,
    /// Containers started whose start the kubelet has not heard of yet: an exit seen before
    /// that waits for the next relist, so the kubelet hears start, then exit.
    starting: Mutex<HashSet<String>>,
    /// Exits already reported.
    reported: Mutex<HashSet<String>>,
}

/// The pod's own network and IPC namespaces, a PID namespace per container (as the
/// kubelet asks when the pod shares none of the host's).
fn pod_namespaces() -> Option<v1::NamespaceOption> {
    Some(v1::NamespaceOption {
        network: v1::NamespaceMode::Pod as i32,
        pid: v1::NamespaceMode::Container as i32,
        ipc: v1::NamespaceMode::Pod as i32,
        target_id: String::new(),
    })
}

fn protocol(p: &str) -> i32 {
    match p {
        "UDP" => v1::Protocol::Udp as i32,
        "SCTP" => v1::Protocol::Sctp as i32,
        _ => v1::Protocol::Tcp as i32,
    }
}

/// Who a runtime works for and what it allows.
pub struct RuntimeSettings {
    pub node: String,
    /// This bridge run's id (the instance label).
    pub instance: String,
    /// The kubelet's root directory on this machine (pod volumes under `pods/<uid>`).
    pub root_dir: PathBuf,
    pub policy: Policy,
    /// Pull from registries off this machine (off: only `localhost/` images, imported).
    pub allow_registry_pulls: bool,
    /// The node's pod network (address, prefix length): HTTP and TCP probes go there only.
    pub pod_network: (Ipv4Addr, u8),
    /// Where the pods' log directories are (`<ns>_<name>_<uid>`), and the CSI plugin's
    /// volumes (inline ones, `csi-<uid>-<name>`, go with their pod).
    pub log_root: PathBuf,
    pub csi_data_dir: PathBuf,
}

impl RealRuntime {
    pub fn new(
        cri: Cri,
        csi: csi::node_client::NodeClient<tonic::transport::Channel>,
        s: RuntimeSettings,
    ) -> RealRuntime {
        RealRuntime {
            cri,
            csi,
            settings: s,
            sandboxes: Mutex::default(),
            stopping: Mutex::default(),
            starting: Mutex::default(),
            reported: Mutex::default(),
        }
    }

    fn labels(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut l: HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        l.insert(NODE_LABEL.into(), self.settings.node.clone());
        l.insert(INSTANCE_LABEL.into(), self.settings.instance.clone());
        l
    }

    /// The pod's cgroup, under the bridge's own tree (`cgroupfs` paths).
    fn cgroup_parent(&self, uid: &str) -> String {
        format!("/kubeplay/{}/pod{uid}", self.settings.node)
    }

    /// What this bridge's running containers use (CRI `ListContainerStats`): CPU in
    /// nanocores over containerd's last interval (0 at its first sample), the memory working
    /// set.
    async fn container_stats(&self) -> Result<CriResult, String> {
        let mut rt = self.cri.runtime.clone();
        let filter = v1::ContainerStatsFilter {
            label_selector: [(INSTANCE_LABEL.to_string(), self.settings.instance.clone())].into(),
            ..Default::default()
        };
        let listed = rt
            .list_container_stats(v1::ListContainerStatsRequest {
                filter: Some(filter),
            })
            .await
            .map_err(rpc)?
            .into_inner();
        let value = |v: Option<v1::UInt64Value>| {
            v.map_or(0, |v| i64::try_from(v.value).unwrap_or(i64::MAX))
        };
        let stats = listed
            .stats
            .into_iter()
            .map(|s| ContainerStats {
                container_id: s.attributes.map(|a| a.id).unwrap_or_default(),
                cpu_usage_nano_cores: value(s.cpu.and_then(|c| c.usage_nano_cores)),
                memory_working_set_bytes: value(s.memory.and_then(|m| m.working_set_bytes)),
            })
            .collect();
        Ok(CriResult::ContainerStats { stats })
    }

    /// Carries out one call.
    pub async fn handle(&self, call: CriCall) -> Result<CriResult, String> {
        let mut rt = self.cri.runtime.clone();
        match call {
            CriCall::RunPodSandbox {
                pod_uid,
                namespace,
                name,
                attempt,
                config,
            } => {
                self.run_sandbox(&pod_uid, &namespace, &name, attempt, &config)
                    .await
            }
            CriCall::PullImage { image } => self.pull(&image).await,
            CriCall::CreateContainer { sandbox_id, config } => {
                self.create(&sandbox_id, &config).await
            }
            CriCall::StartContainer { container_id } => {
                lock(&self.starting).insert(container_id.clone());
                rt.start_container(v1::StartContainerRequest { container_id })
                    .await
                    .map_err(rpc)?;
                Ok(CriResult::Done)
            }
            CriCall::StopContainer {
                container_id,
                timeout_seconds,
            } => {
                self.lock_stopping().insert(container_id.clone());
                rt.stop_container(v1::StopContainerRequest {
                    container_id,
                    timeout: timeout_seconds,
                })
                .await
                .map_err(rpc)?;
                Ok(CriResult::Done)
            }
            CriCall::StopPodSandbox { sandbox_id } => {
                rt.stop_pod_sandbox(v1::StopPodSandboxRequest {
                    pod_sandbox_id: sandbox_id,
                })
                .await
                .map_err(rpc)?;
                Ok(CriResult::Done)
            }
            CriCall::RemovePodSandbox { sandbox_id } => {
                self.remove_sandbox(&sandbox_id).await?;
                Ok(CriResult::Done)
            }
            CriCall::ListContainerStats {} => self.container_stats().await,
            CriCall::Probe {
                container_id,
                action,
                timeout_seconds,
                ..
            } => Ok(self.probe(&container_id, action, timeout_seconds).await),
            CriCall::NodePublishVolume { driver, .. } | CriCall::NodeUnpublishVolume { driver, .. }
                if driver != csi_hostpath::DRIVER =>
            {
                Err(format!("kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver name {driver} not found in the list of registered CSI drivers"))
            }
            CriCall::NodePublishVolume {
                volume_id,
                target_path,
                readonly,
                volume_context,
                ..
            } => {
                self.csi
                    .clone()
                    .node_publish_volume(csi::NodePublishVolumeRequest {
                        volume_id,
                        target_path,
                        volume_capability: Some(csi::VolumeCapability {
                            access_type: Some(csi::volume_capability::AccessType::Mount(
                                csi::volume_capability::MountVolume::default(),
                            )),
                            access_mode: Some(csi::volume_capability::AccessMode {
                                mode: csi::volume_capability::access_mode::Mode::SingleNodeWriter
                                    as i32,
                            }),
                        }),
                        readonly,
                        volume_context: volume_context.into_iter().collect(),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| format!("kubernetes.io/csi: mounter.SetupAt failed: {}", rpc(e)))?;
                Ok(CriResult::Done)
            }
            CriCall::NodeUnpublishVolume {
                volume_id,
                target_path,
                ..
            } => {
                self.csi
                    .clone()
                    .node_unpublish_volume(csi::NodeUnpublishVolumeRequest {
                        volume_id,
                        target_path,
                    })
                    .await
                    .map_err(|e| format!("kubernetes.io/csi: Unmounter.TearDownAt failed: {}", rpc(e)))?;
                Ok(CriResult::Done)
            }
        }
    }

    fn lock_stopping(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        lock(&self.stopping)
    }

    fn lock_sandboxes(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (v1::PodSandboxConfig, String)>> {
        lock(&self.sandboxes)
    }

    /// The kubelet now knows a container started (its StartContainer result was delivered);
    /// its exit, if any, may be reported.
    pub fn start_delivered(&self, container_id: &str) {
        lock(&self.starting).remove(container_id);
    }

    /// `<log root>/<namespace>_<name>_<uid>`: the only log directory a pod may have here.
    fn log_directory(&self, namespace: &str, name: &str, uid: &str) -> PathBuf {
        self.settings
            .log_root
            .join(format!("{namespace}_{name}_{uid}"))
    }

    async fn run_sandbox(
        &self,
        uid: &str,
        namespace: &str,
        name: &str,
        attempt: u32,
        c: &SandboxConfig,
    ) -> Result<CriResult, String> {
        // Names become paths and labels here: only names the API server would accept.
        if !(policy::is_uid(uid) && policy::is_subdomain(namespace) && policy::is_subdomain(name)) {
            return Err(format!(
                "pod {namespace:?}/{name:?} (uid {uid:?}) has a name no Kubernetes object has"
            ));
        }
        let log_directory = self.log_directory(namespace, name, uid);
        if Path::new(&c.log_directory) != log_directory {
            return Err(format!(
                "log directory {} is not this node's: pods log under {}",
                c.log_directory,
                log_directory.display()
            ));
        }
        self.settings.policy.check_sandbox(c)?;
        // The kubelet makes the pod's log directory before the sandbox.
        std::fs::create_dir_all(&log_directory)
            .map_err(|e| format!("creating {}: {e}", log_directory.display()))?;
        let config = v1::PodSandboxConfig {
            metadata: Some(v1::PodSandboxMetadata {
                name: name.into(),
                uid: uid.into(),
                namespace: namespace.into(),
                attempt,
            }),
            hostname: c.hostname.clone(),
            log_directory: c.log_directory.clone(),
            dns_config: c.dns.as_ref().map(|d| v1::DnsConfig {
                servers: d.servers.clone(),
                searches: d.searches.clone(),
                options: d.options.clone(),
            }),
            port_mappings: c
                .port_mappings
                .iter()
                .map(|p| v1::PortMapping {
                    protocol: protocol(&p.protocol),
                    container_port: p.container_port,
                    host_port: p.host_port,
                    host_ip: p.host_ip.clone(),
                })
                .collect(),
            labels: self.labels(&[
                ("io.kubernetes.pod.name", name),
                ("io.kubernetes.pod.namespace", namespace),
                ("io.kubernetes.pod.uid", uid),
            ]),
            annotations: HashMap::new(),
            linux: Some(v1::LinuxPodSandboxConfig {
                cgroup_parent: self.cgroup_parent(uid),
                security_context: Some(v1::LinuxSandboxSecurityContext {
                    namespace_options: pod_namespaces(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let mut rt = self.cri.runtime.clone();
        let id = rt
            .run_pod_sandbox(v1::RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .pod_sandbox_id;
        self.lock_sandboxes()
            .insert(id.clone(), (config, uid.to_string()));
        let status = rt
            .pod_sandbox_status(v1::PodSandboxStatusRequest {
                pod_sandbox_id: id.clone(),
                verbose: false,
            })
            .await
            .map_err(rpc)?
            .into_inner();
        let ip = status
            .status
            .and_then(|s| s.network)
            .map(|n| n.ip)
            .unwrap_or_default();
        Ok(CriResult::Sandbox { sandbox_id: id, ip })
    }

    async fn pull(&self, image: &str) -> Result<CriResult, String> {
        let local = image.starts_with("localhost/") || image.starts_with("localhost:");
        if !local && !self.settings.allow_registry_pulls {
            return Err(format!("rpc error: code = Unavailable desc = failed to pull and unpack image \"{image}\": this kubeplay real node pulls only from registries on this machine (localhost/…); import the image with `kubeplay-bridge images import`, or start the bridge with --allow-registry-pulls"));
        }
        let spec = || {
            Some(v1::ImageSpec {
                image: image.into(),
                annotations: HashMap::new(),
            })
        };
        let mut images = self.cri.images.clone();
        let image_ref = images
            .pull_image(v1::PullImageRequest {
                image: spec(),
                sandbox_config: None,
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .image_ref;
        let size = images
            .image_status(v1::ImageStatusRequest {
                image: spec(),
                verbose: false,
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .image
            .map_or(0, |i| i64::try_from(i.size).unwrap_or(i64::MAX));
        Ok(CriResult::Image {
            image_ref,
            size_bytes: size,
        })
    }

    async fn create(&self, sandbox_id: &str, c: &ContainerConfig) -> Result<CriResult, String> {
        let (sandbox_config, uid) = self
            .lock_sandboxes()
            .get(sandbox_id)
            .cloned()
            .ok_or_else(|| format!("rpc error: code = NotFound desc = sandbox {sandbox_id} is not one this bridge runs"))?;
        // `<container>/<attempt>.log`, inside the pod's log directory.
        let log_ok = c.log_path.split_once('/').is_some_and(|(dir, file)| {
            dir == c.name
                && policy::is_label(dir)
                && file
                    .strip_suffix(".log")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if !log_ok {
            return Err(format!(
                "container {:?}: log path {:?} is not <container>/<attempt>.log",
                c.name, c.log_path
            ));
        }
        let host_paths = self.settings.policy.check_container(c, &uid)?;
        let (cpu_quota, memory) = self.settings.policy.limits(c);
        let meta = sandbox_config.metadata.clone().unwrap_or_default();
        let s = &c.security;
        let config = v1::ContainerConfig {
            metadata: Some(v1::ContainerMetadata {
                name: c.name.clone(),
                attempt: c.attempt,
            }),
            image: Some(v1::ImageSpec {
                image: c.image.clone(),
                annotations: HashMap::new(),
            }),
            command: c.command.clone(),
            args: c.args.clone(),
            working_dir: c.working_dir.clone(),
            envs: c
                .envs
                .iter()
                .map(|(k, v)| v1::KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            mounts: c
                .mounts
                .iter()
                .zip(host_paths)
                .map(|(m, host)| v1::Mount {
                    container_path: m.container_path.clone(),
                    host_path: host.display().to_string(),
                    readonly: m.readonly,
                    ..Default::default()
                })
                .collect(),
            labels: self.labels(&[
                ("io.kubernetes.pod.name", &meta.name),
                ("io.kubernetes.pod.namespace", &meta.namespace),
                ("io.kubernetes.pod.uid", &meta.uid),
                ("io.kubernetes.container.name", &c.name),
            ]),
            log_path: c.log_path.clone(),
            linux: Some(v1::LinuxContainerConfig {
                resources: Some(v1::LinuxContainerResources {
                    cpu_period: 100_000,
                    cpu_quota,
                    // As the kubelet turns a CPU request into shares (`MilliCPUToShares`).
                    cpu_shares: (c.cpu_request_millis.saturating_mul(1024) / 1000).max(2),
                    memory_limit_in_bytes: memory,
                    ..Default::default()
                }),
                security_context: Some(v1::LinuxContainerSecurityContext {
                    capabilities: Some(v1::Capability {
                        add_capabilities: s.add_capabilities.clone(),
                        drop_capabilities: s.drop_capabilities.clone(),
                        add_ambient_capabilities: Vec::new(),
                    }),
                    privileged: false,
                    namespace_options: pod_namespaces(),
                    run_as_user: s.run_as_user.map(|value| v1::Int64Value { value }),
                    run_as_group: s.run_as_group.map(|value| v1::Int64Value { value }),
                    readonly_rootfs: s.read_only_root_filesystem,
                    no_new_privs: s.allow_privilege_escalation == Some(false),
                    // Docker's default seccomp profile (containerd 1.6 runs unconfined when
                    // none is named).
                    seccomp: Some(v1::SecurityProfile {
                        profile_type: v1::security_profile::ProfileType::RuntimeDefault as i32,
                        localhost_ref: String::new(),
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        let mut rt = self.cri.runtime.clone();
        let id = rt
            .create_container(v1::CreateContainerRequest {
                pod_sandbox_id: sandbox_id.into(),
                config: Some(config),
                sandbox_config: Some(sandbox_config),
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .container_id;
        // The container GC: dead containers of earlier attempts go, but the one before this
        // (`kubectl logs --previous`), as the kubelet keeps one per container.
        if c.attempt >= 2 {
            self.remove_dead(sandbox_id, &c.name, c.attempt - 1).await;
        }
        Ok(CriResult::Container { container_id: id })
    }

    /// Images containerd holds, for the Node's status.
    pub async fn images(&self) -> Result<BTreeMap<String, i64>, String> {
        self.cri.clone().images().await.map_err(rpc)
    }

    pub async fn version(&self) -> Result<String, String> {
        self.cri.clone().version().await.map_err(rpc)
    }
}
