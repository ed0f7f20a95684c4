//! The simulated node's container runtime: answers the kubelet's CRI calls on the virtual
//! clock with the latencies a containerd node shows (notes/real-node.md medians), allocates
//! pod IPs from the node's pod CIDR as a CNI bridge with host-local IPAM would, and keeps the
//! images present on the node.

use std::collections::{BTreeMap, BTreeSet};

use super::cri::{ContainerStats, CriCall, CriRequest, CriResponse, CriResult};
use apimachinery::api::image::normalized_image;

/// Images every simulated registry knows, with their sizes; pulling anything else fails as an
/// unreachable registry would.
pub const KNOWN_IMAGES: &[(&str, i64)] = &[
    ("nginx", 67_000_000),
    ("busybox", 4_300_000),
    ("redis", 45_000_000),
    ("httpd", 58_000_000),
    ("postgres", 155_000_000),
    ("registry.k8s.io/pause", 320_000),
    ("envoyproxy/envoy", 62_000_000),
];

/// The CSI node plugin every simulated node runs (a hostpath driver, as the bridge ships).
pub const CSI_DRIVER: &str = "hostpath.csi.kubeplay.io";

pub struct SimRuntime {
    /// `10.244.<n>.` — the node's /24.
    subnet: String,
    next_ip: u8,
    next_id: u64,
    /// Image reference → size.
    pub images: BTreeMap<String, i64>,
    /// Container id → how it behaves.
    containers: BTreeMap<String, SimContainer>,
    /// Container id → image, and the lines it has written (what `kubectl logs` reads).
    images_of: BTreeMap<String, String>,
    logs: BTreeMap<String, Vec<String>>,
    /// Whether the registry answers pulls (chaos: `false` fails every pull).
    pub registry_reachable: bool,
    /// Containers started and not yet stopped or exited.
    running: BTreeSet<String>,
}

/// A simulated container: when it exits after starting (ms) and with which code, and what
/// it uses while it runs.
#[derive(Clone, Copy, Debug)]
struct SimContainer {
    exit: Option<(i64, i64)>,
    cpu_nano_cores: i64,
    memory_bytes: i64,
}

/// What a simulated container uses: a quarter of its CPU request (1m without one) and of its
/// memory limit (8 MiB without one) — an idle web server's share, steady.
fn usage_of(config: &super::cri::ContainerConfig) -> (i64, i64) {
    let cpu = (config.cpu_request_millis.max(4) / 4) * 1_000_000;
    let memory = if config.memory_limit_bytes > 0 {
        config.memory_limit_bytes / 4
    } else {
        8 << 20
    };
    (cpu, memory)
}

/// What a container of `image` writes when it starts: nginx's entrypoint, or nothing.
fn start_lines(image: &str) -> Vec<String> {
    if image.contains("nginx") {
        [
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
            "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    } else {
        Vec::new()
    }
}

/// How a simulated container behaves, from its command or the pod's annotations:
/// `kubeplay.io/exit-after: 5s` with `kubeplay.io/exit-code: 1` (default 1) override;
/// `sh -c "exit N"`, `false` and `true` exit at once; `sleep N` exits 0 after N seconds;
/// anything else runs until stopped.
pub fn exit_plan(command: &[String], annotations: &BTreeMap<String, String>) -> Option<(i64, i64)> {
    if let Some(after) = annotations.get("kubeplay.io/exit-after") {
        let code = annotations
            .get("kubeplay.io/exit-code")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        return apimachinery::clock::parse_duration(after)
            .ok()
            .map(|ms| (ms, code));
    }
    let words: Vec<&str> = command.iter().flat_map(|w| w.split_whitespace()).collect();
    match words.as_slice() {
        ["sh" | "/bin/sh", "-c", "exit", n] => n.parse().ok().map(|code| (100, code)),
        ["true" | "/bin/true"] => Some((100, 0)),
        ["false" | "/bin/false"] => Some((100, 1)),
        ["sleep", n] | ["sh" | "/bin/sh", "-c", "sleep", n] => {
            n.parse::<i64>().ok().map(|s| (s.saturating_mul(1000), 0))
        }
        _ => None,
    }
}

fn known(image: &str) -> Option<i64> {
    let repo = image
        .rsplit_once(':')
        .map_or(image, |(r, _)| r)
        .trim_start_matches("docker.io/library/")
        .trim_start_matches("docker.io/");
    KNOWN_IMAGES
        .iter()
        .find(|(name, _)| *name == repo)
        .map(|(_, size)| *size)
}

/// The first three octets of node `index`'s pod subnet: `10.244.<index>.0/24` as kind hands
/// them out for the first 255 nodes, then `10.<index / 256>.<index % 256>.0/24` (clear of the
/// service range 10.96.0.0/12 up to 24,575 nodes).
fn subnet(index: u32) -> String {
    if index < 256 {
        format!("10.244.{index}.")
    } else {
        format!("10.{}.{}.", index / 256, index % 256)
    }
}

impl SimRuntime {
    pub fn new(node_index: u32, preloaded: &[&str]) -> SimRuntime {
        let images = apimachinery::collections::map_from(
            preloaded
                .iter()
                .filter_map(|i| Some((normalized_image(i), known(&normalized_image(i))?))),
        );
        SimRuntime {
            subnet: subnet(node_index),
            next_ip: 2,
            next_id: 0,
            images,
            containers: BTreeMap::new(),
            images_of: BTreeMap::new(),
            logs: BTreeMap::new(),
            registry_reachable: true,
            running: BTreeSet::new(),
        }
    }

    pub fn pod_cidr(&self) -> String {
        format!("{}0/24", self.subnet)
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:012x}", self.next_id)
    }

    /// Carries out a call; returns the result and how long it took, in milliseconds.
    pub fn handle(&mut self, req: &CriRequest) -> (CriResponse, i64) {
        let (result, ms) = match &req.call {
            CriCall::RunPodSandbox { .. } => {
                let ip = format!("{}{}", self.subnet, self.next_ip);
                self.next_ip = self.next_ip.wrapping_add(1).max(2);
                (
                    Ok(CriResult::Sandbox {
                        sandbox_id: self.id("sandbox-"),
                        ip,
                    }),
                    110,
                )
            }
            CriCall::PullImage { image } => {
                let name = normalized_image(image);
                let registry = name
                    .split_once('/')
                    .map_or("registry-1.docker.io", |(r, _)| {
                        if r.contains('.') {
                            r
                        } else {
                            "registry-1.docker.io"
                        }
                    });
                match known(&name).filter(|_| self.registry_reachable) {
                    None if !self.registry_reachable => (Err(format!("failed to pull and unpack image \"{name}\": failed to resolve reference \"{name}\": failed to do request: Head \"https://{registry}/v2/\": dial tcp: lookup {registry}: i/o timeout")), 5_000),
                    // About 100 MB/s from the registry, at least half a second.
                    Some(size) => {
                        self.images.insert(name.clone(), size);
                        (Ok(CriResult::Image { image_ref: name, size_bytes: size }), 500 + size / 100_000)
                    }
                    None => (Err(format!("failed to pull and unpack image \"{name}\": failed to resolve reference \"{name}\": not found")), 800),
                }
            }
            CriCall::CreateContainer { config, .. } => {
                let id = self.id("container-");
                let (cpu_nano_cores, memory_bytes) = usage_of(config);
                let container = SimContainer {
                    exit: exit_plan(&config.argv(), &config.annotations),
                    cpu_nano_cores,
                    memory_bytes,
                };
                self.containers.insert(id.clone(), container);
                self.images_of.insert(id.clone(), config.image.clone());
                (Ok(CriResult::Container { container_id: id }), 10)
            }
            CriCall::StartContainer { container_id } => {
                self.running.insert(container_id.clone());
                let lines =
                    start_lines(self.images_of.get(container_id).map_or("", String::as_str));
                self.logs
                    .entry(container_id.clone())
                    .or_default()
                    .extend(lines);
                (Ok(CriResult::Done), 70)
            }
            CriCall::StopContainer { container_id, .. } => {
                self.running.remove(container_id);
                (Ok(CriResult::Done), 100)
            }
            CriCall::StopPodSandbox { .. } => (Ok(CriResult::Done), 150),
            CriCall::Probe {
                simulated_success, ..
            } => (
                Ok(CriResult::Probe {
                    success: *simulated_success,
                    message: String::new(),
                }),
                0,
            ),
            CriCall::RemovePodSandbox { .. } => (Ok(CriResult::Done), 30),
            CriCall::ListContainerStats {} => {
                let stats = self
                    .running
                    .iter()
                    .filter_map(|id| {
                        let c = self.containers.get(id)?;
                        Some(ContainerStats {
                            container_id: id.clone(),
                            cpu_usage_nano_cores: c.cpu_nano_cores,
                            memory_working_set_bytes: c.memory_bytes,
                        })
                    })
                    .collect();
                (Ok(CriResult::ContainerStats { stats }), 0)
            }
            CriCall::NodePublishVolume { driver, .. }
            | CriCall::NodeUnpublishVolume { driver, .. } => {
                if driver == CSI_DRIVER {
                    (Ok(CriResult::Done), 30)
                } else {
                    (Err(format!("kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver name {driver} not found in the list of registered CSI drivers")), 5)
                }
            }
        };
        (CriResponse { id: req.id, result }, ms)
    }

    /// When a started container will exit, if it will: `(after ms, exit code)`.
    pub fn exit_plan_of(&self, container_id: &str) -> Option<(i64, i64)> {
        self.containers.get(container_id).and_then(|c| c.exit)
    }

    /// What a container has written (its log file).
    pub fn logs(&self, container_id: &str) -> Option<&[String]> {
        self.logs.get(container_id).map(Vec::as_slice)
    }

    /// Forgets every container: the node lost power.
    pub fn power_loss(&mut self) {
        self.containers.clear();
        self.running.clear();
    }

    /// Whether a container is running (started, not stopped, not exited).
    pub fn is_running(&self, container_id: &str) -> bool {
        self.running.contains(container_id)
    }

    /// A container's process ended (by itself, or killed).
    pub fn exited(&mut self, container_id: &str) {
        self.running.remove(container_id);
    }
}
