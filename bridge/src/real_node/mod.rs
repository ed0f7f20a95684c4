//! The real node: this machine joined to the cluster as a Node whose pods are containerd
//! containers. Core's kubelet — the same code that drives the simulated nodes — decides what
//! to do; its calls come out of the cluster as data, are carried out here against containerd
//! ([`runtime::RealRuntime`]) and their results go back in, with their real latency.
//!
//! ```text
//! cluster (core, under the door's lock)        this module (tokio)              containerd
//!   kubelet → outbox ── take_remote_requests ──▶ RealRuntime::handle ── CRI ──▶ RunPodSandbox…
//!   kubelet ◀─ on_result ◀──────── deliver ◀──── result, took_ms
//!   kubelet ◀─ on_container_exit ◀── relist every second (exited containers, as PLEG)
//! ```
//!
//! The node carries the taint `kubeplay.io/real-node=true:NoSchedule` and the label
//! `kubeplay.io/real-node=true`: only pods that tolerate the one and select the other land
//! here. When the bridge starts it reaps what an earlier bridge for this node left; when it
//! stops it reaps what it started.

pub mod borrowed;
pub mod policy;
pub mod runtime;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kubeplay_core::kubelet::cri::{CriCall, CriResponse, CriResult};
use kubeplay_core::kubelet::NodeConfig;
use kubeplay_core::node_protocol::JoinedNode;
use serde_json::json;

use crate::containerd::{Containerd, Settings};
use crate::cri::{csi, Cri};
use crate::csi_hostpath::HostPathPlugin;
use crate::kube_api::Door;
use policy::Policy;
use runtime::{RealRuntime, RuntimeSettings};

/// The taint and label that mark a real node.
pub const REAL_NODE_KEY: &str = "kubeplay.io/real-node";

/// How a real node is set up.
#[derive(Clone, Debug)]
pub struct RealNodeSettings {
    /// The Node's name.
    pub name: String,
    /// containerd, the kubelet's root and the pods' logs all live here.
    pub state_dir: PathBuf,
    /// The node's pod subnet (`10.89.0.0/24`), unique among real nodes on this machine.
    pub pod_cidr: String,
    /// The CNI bridge device (at most 15 characters), unique on this machine.
    pub bridge: String,
    /// The root `hostPath` volumes must stay under.
    pub host_path_root: PathBuf,
    /// Pull images from registries off this machine (off: `localhost/` images only).
    pub allow_registry_pulls: bool,
}

impl RealNodeSettings {
    /// The usual settings for a node named `name` under `state_dir`.
    pub fn new(name: &str, state_dir: &Path, pod_cidr: &str, bridge: &str) -> RealNodeSettings {
        RealNodeSettings {
            name: name.into(),
            state_dir: state_dir.into(),
            pod_cidr: pod_cidr.into(),
            bridge: bridge.into(),
            host_path_root: state_dir.join("host-paths"),
            allow_registry_pulls: false,
        }
    }
}

/// How long each call took in containerd (or the CSI plugin), and what the bridge added
/// around it: from taking the call out of the cluster to sending it, and from its answer
/// to the kubelet having it. Kept for the benchmark (`./dev bench`); a few bytes a call.
#[derive(Default)]
pub struct CallTimes {
    calls: std::sync::Mutex<Vec<CallTime>>,
}

#[derive(Clone, Debug)]
pub struct CallTime {
    pub method: &'static str,
    pub runtime_us: u64,
    pub bridge_us: u64,
}

impl CallTimes {
    fn record(&self, t: CallTime) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        // A bound, so a long-running bridge does not grow without end.
        if calls.len() < 100_000 {
            calls.push(t);
        }
    }

    /// The calls recorded since the last time.
    pub fn take(&self) -> Vec<CallTime> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// How long a runtime call may take before the kubelet hears it failed (upstream's
/// `--runtime-request-timeout`, 2 minutes).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Calls being carried out, counted so that the node is reaped only after they end (a
/// sandbox made after the reap listed sandboxes would outlive it).
#[derive(Clone, Default)]
pub struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

/// One call being carried out; it ends when this is dropped.
pub struct CallGuard(Arc<std::sync::atomic::AtomicUsize>);

impl InFlight {
    pub fn start(&self) -> CallGuard {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        CallGuard(self.0.clone())
    }

    fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Carries out one call within [`CALL_TIMEOUT`]: its result and how long it took.
pub async fn carry(runtime: &RealRuntime, call: CriCall) -> (Result<CriResult, String>, Duration) {
    let started = Instant::now();
    let result = match tokio::time::timeout(CALL_TIMEOUT, runtime.handle(call)).await {
        Ok(result) => result,
        Err(_) => Err("rpc error: code = DeadlineExceeded desc = context deadline exceeded".into()),
    };
    (result, started.elapsed())
}

/// A real node, ready to join a cluster.
pub struct RealNode {
    /// The calls being carried out for it (by a door's carrier or a lending session).
    pub in_flight: InFlight,
    pub settings: RealNodeSettings,
    pub runtime: Arc<RealRuntime>,
    pub call_times: Arc<CallTimes>,
    containerd: Containerd,
    /// The CSI plugin's server task.
    csi_plugin: tokio::task::JoinHandle<()>,
}

/// A pod CIDR as (network, prefix length).
fn pod_network(cidr: &str) -> anyhow::Result<(std::net::Ipv4Addr, u8)> {
    let (net, prefix) = cidr
        .split_once('/')
        .with_context(|| format!("pod CIDR {cidr:?} is not address/prefix"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .with_context(|| format!("pod CIDR {cidr:?}: bad prefix"))?;
    Ok((
        net.parse()
            .with_context(|| format!("pod CIDR {cidr:?}: bad address"))?,
        prefix,
    ))
}

/// The gateway of a pod CIDR (its first address), which the bridge device holds.
fn gateway(cidr: &str) -> String {
    let net = cidr.split('/').next().unwrap_or_default();
    let mut octets: Vec<u32> = net.split('.').filter_map(|o| o.parse().ok()).collect();
    if let Some(last) = octets.last_mut() {
        *last += 1;
    }
    octets
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

impl RealNode {
    /// Starts the node's own containerd (with its images), and reaps what an earlier bridge
    /// left on this node.
    pub async fn start(settings: RealNodeSettings) -> anyhow::Result<RealNode> {
        let containerd = Containerd::start(Settings {
            dir: settings.state_dir.join("containerd"),
            pod_cidr: settings.pod_cidr.clone(),
            bridge: settings.bridge.clone(),
        })
        .await?;
        let cri = Cri::connect(&containerd.socket)
            .await
            .context("connecting to containerd")?;
        let root_dir = settings.state_dir.join("kubelet");
        std::fs::create_dir_all(&root_dir)?;
        // The node's CSI plugin, served on its own socket as a node plugin is.
        let plugin = HostPathPlugin {
            node_id: settings.name.clone(),
            data_dir: settings.state_dir.join("csi/volumes"),
            target_root: root_dir.clone(),
            host_path_root: settings.host_path_root.clone(),
        };
        let csi_socket = settings.state_dir.join("csi/csi.sock");
        let csi_plugin = tokio::spawn({
            let socket = csi_socket.clone();
            async move {
                if let Err(e) = plugin.serve(socket).await {
                    eprintln!("CSI plugin {}: {e:#}", crate::csi_hostpath::DRIVER);
                }
            }
        });
        let csi = connect_csi(&csi_socket).await?;
        let machine = crate::host::this_machine();
        std::fs::create_dir_all(&settings.host_path_root)?;
        // The hostPath root must not hold the node's own state (containerd's socket).
        anyhow::ensure!(
            !settings.state_dir.starts_with(&settings.host_path_root),
            "the hostPath root {} contains the node's state directory {}",
            settings.host_path_root.display(),
            settings.state_dir.display()
        );
        let policy = Policy {
            kubelet_root: root_dir.clone(),
            machine_millicpu: i64::try_from(machine.cpus * 1000).unwrap_or(i64::MAX),
            machine_memory: i64::try_from(machine.memory_bytes).unwrap_or(i64::MAX),
        };
        let instance = crate::kubeconfig::random_token()?
            .chars()
            .take(12)
            .collect::<String>();
        let runtime = Arc::new(RealRuntime::new(
            cri,
            csi,
            RuntimeSettings {
                node: settings.name.clone(),
                instance,
                root_dir,
                policy,
                allow_registry_pulls: settings.allow_registry_pulls,
                pod_network: pod_network(&settings.pod_cidr)?,
                log_root: settings.state_dir.join("pods"),
                csi_data_dir: settings.state_dir.join("csi/volumes"),
            },
        ));
        let reaped = runtime.reap().await.map_err(anyhow::Error::msg)?;
        if reaped > 0 {
            eprintln!(
                "real node {}: reaped {reaped} pod sandboxes an earlier bridge left",
                settings.name
            );
        }
        Ok(RealNode {
            settings,
            runtime,
            containerd,
            csi_plugin,
            call_times: Arc::default(),
            in_flight: InFlight::default(),
        })
    }

    pub fn containerd_socket(&self) -> &Path {
        &self.containerd.socket
    }

    /// The Node as the kubelet registers it: this machine's CPUs and memory, the taint and
    /// label of a real node, containerd's version, the kubelet's directories here.
    pub async fn node_config(&self) -> anyhow::Result<NodeConfig> {
        let machine = crate::host::this_machine();
        let s = &self.settings;
        let mut labels = BTreeMap::new();
        for (k, v) in [
            ("kubernetes.io/hostname", s.name.as_str()),
            ("kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            (REAL_NODE_KEY, "true"),
        ] {
            labels.insert(k.to_string(), v.to_string());
        }
        let os_image = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            })
            .unwrap_or_else(|| "Linux".into());
        Ok(NodeConfig {
            labels,
            taints: vec![json!({"key": REAL_NODE_KEY, "value": "true", "effect": "NoSchedule"})],
            root_dir: s.state_dir.join("kubelet").display().to_string(),
            log_dir: s.state_dir.join("pods").display().to_string(),
            runtime_version: self.runtime.version().await.map_err(anyhow::Error::msg)?,
            os_image,
            kernel_version: machine.kernel.clone(),
            resolv_conf: std::fs::read_to_string("/etc/resolv.conf")
                .ok()
                .map(|text| resolv_conf(&text)),
            ..NodeConfig::simulated(
                &s.name,
                &machine.cpus.to_string(),
                &format!("{}Ki", machine.memory_bytes / 1024),
                &s.pod_cidr,
                &gateway(&s.pod_cidr),
            )
        })
    }

    /// Joins the door's cluster as a Node and carries out its kubelet's calls until the
    /// returned task is aborted (then [`RealNode::stop`] reaps).
    pub async fn join(&self, door: &Door) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let config = self.node_config().await?;
        let images = self.runtime.images().await.map_err(anyhow::Error::msg)?;
        door.with_cluster(|c| c.add_remote_node(config, &images))
            .map_err(anyhow::Error::msg)?;
        let logs = self.settings.state_dir.join("pods");
        door.set_log_reader(
            &self.settings.name,
            Arc::new(move |path| {
                let file = log_file(&logs, &path);
                Box::pin(async move { read_cri_log(&file?).ok() })
            }),
        );
        let (runtime, door, times, in_flight) = (
            self.runtime.clone(),
            door.clone(),
            self.call_times.clone(),
            self.in_flight.clone(),
        );
        Ok(tokio::spawn(async move {
            let exits = {
                let (door, node) = (door.clone(), runtime.settings.node.clone());
                relist(runtime.clone(), move |id, code, reason| {
                    door.with_cluster(|c| {
                        c.remote_container_exited(&node, &id, code, Some(&reason))
                    })
                })
            };
            let relist = tokio::spawn(exits);
            carry_out(runtime, door, times, in_flight).await;
            relist.abort();
        }))
    }

    /// The node as a bridge lends it to a client's cluster (`node_protocol`'s `joined`).
    pub async fn joined_node(&self) -> anyhow::Result<JoinedNode> {
        let config = self.node_config().await?;
        let images = self.runtime.images().await.map_err(anyhow::Error::msg)?;
        Ok(JoinedNode::from_config(
            &config,
            images.into_iter().collect(),
        ))
    }

    /// A container log file of this node, if `path` names one.
    pub fn log_file(&self, path: &str) -> Option<PathBuf> {
        log_file(&self.settings.state_dir.join("pods"), path)
    }

    /// Stops and removes everything this node runs, once the calls being carried out have
    /// ended (stop taking new ones first).
    pub async fn stop(&self) -> anyhow::Result<usize> {
        let deadline = Instant::now() + CALL_TIMEOUT;
        while self.in_flight.count() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.runtime.reap().await.map_err(anyhow::Error::msg)
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        self.csi_plugin.abort();
    }
}

/// Connects to the CSI plugin once its socket answers `Probe` (5 s at most).
async fn connect_csi(
    socket: &Path,
) -> anyhow::Result<csi::node_client::NodeClient<tonic::transport::Channel>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(channel) = crate::cri::unix_channel(socket).await {
            let mut identity = csi::identity_client::IdentityClient::new(channel.clone());
            let probe = identity.probe(csi::ProbeRequest {}).await;
            if probe.is_ok_and(|r| r.into_inner().ready.is_some_and(|b| b.value)) {
                return Ok(csi::node_client::NodeClient::new(channel));
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the CSI plugin did not answer on {}",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Takes the kubelet's calls as they come and carries each out in its own task. They run
/// side by side, as the kubelet sends them: a pod's steps one after another, but its
/// containers, volumes and probes, and different pods, at once.
async fn carry_out(
    runtime: Arc<RealRuntime>,
    door: Door,
    times: Arc<CallTimes>,
    in_flight: InFlight,
) {
    let mut work = door.remote_work();
    let node = runtime.settings.node.clone();
    loop {
        tokio::select! {
            _ = work.changed() => {}
            // A safety net: a wake-up missed is a call delayed, never lost.
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        let taken = Instant::now();
        for req in door.with_cluster(|c| c.take_remote_requests(&node)) {
            let (runtime, door, times) = (runtime.clone(), door.clone(), times.clone());
            let node = node.clone();
            let call = in_flight.start();
            tokio::spawn(async move {
                let _call = call;
                let method = req.call.method();
                let starts = match &req.call {
                    CriCall::StartContainer { container_id } => Some(container_id.clone()),
                    _ => None,
                };
                let started = Instant::now();
                let (result, took) = carry(&runtime, req.call).await;
                let answered = Instant::now();
                let took_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
                door.with_cluster(|c| {
                    c.deliver(&node, CriResponse { id: req.id, result }, took_ms)
                });
                if let Some(id) = starts {
                    runtime.start_delivered(&id);
                }
                let bridge = (started - taken) + answered.elapsed();
                times.record(CallTime {
                    method,
                    runtime_us: took.as_micros() as u64,
                    bridge_us: bridge.as_micros() as u64,
                });
            });
        }
    }
}

/// Every second, the containers that exited by themselves go to the kubelet (as the
/// kubelet's PLEG relists the runtime): `on_exit(container id, exit code, reason)`.
pub async fn relist(runtime: Arc<RealRuntime>, mut on_exit: impl FnMut(String, i64, String)) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        match runtime.exited().await {
            Ok(exits) => {
                for (id, code, reason) in exits {
                    on_exit(id, code, reason);
                }
            }
            Err(e) => eprintln!("real node {}: relist failed: {e}", runtime.settings.node),
        }
    }
}

/// `path` if it is a container log file under `root` (symlinks resolved).
fn log_file(root: &Path, path: &str) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    let real = Path::new(path).canonicalize().ok()?;
    (real.starts_with(&root) && real.extension().is_some_and(|e| e == "log")).then_some(real)
}

/// The most of a log `kubectl logs` gets here: its last 1 MiB.
const LOG_TAIL_BYTES: u64 = 1 << 20;

/// What a container wrote, from its CRI log file (`<time> <stream> <P|F> <text>` lines; `P`
/// is a partial line continued by the next).
pub fn read_cri_log(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > LOG_TAIL_BYTES {
        file.seek(SeekFrom::Start(len - LOG_TAIL_BYTES))?;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if len > LOG_TAIL_BYTES {
        // From the first whole line.
        text = text
            .split_once('\n')
            .map_or(String::new(), |(_, rest)| rest.to_string());
    }
    let mut out = String::new();
    for line in text.lines() {
        let mut parts = line.splitn(4, ' ');
        let (_time, _stream, tag) = (parts.next(), parts.next(), parts.next());
        let body = parts.next().unwrap_or_default();
        out.push_str(body);
        if tag != Some("P") {
            out.push('\n');
        }
    }
    Ok(out)
}

/// A resolv.conf as CRI's `DNSConfig` (`nameserver`, `search`/`domain`, `options` lines).
fn resolv_conf(text: &str) -> kubeplay_core::kubelet::cri::DnsConfig {
    let mut dns = kubeplay_core::kubelet::cri::DnsConfig::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let list = match words.next() {
            Some("nameserver") => &mut dns.servers,
            Some("search" | "domain") => &mut dns.searches,
            Some("options") => &mut dns.options,
            _ => continue,
        };
        list.extend(words.map(str::to_string));
    }
    dns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_log_lines_read_as_the_container_wrote_them() {
        let dir = std::env::temp_dir().join(format!("kubeplay-crilog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("0.log");
        std::fs::write(
            &path,
            "2026-12-07T16:00:00.1Z stdout F hello\n2026-12-07T16:00:00.2Z stderr P par\n2026-12-07T16:00:00.3Z stderr F tial\n2026-12-07T16:00:00.4Z stdout F \n",
        )
        .unwrap();
        assert_eq!(read_cri_log(&path).unwrap(), "hello\npartial\n\n");
        assert_eq!(gateway("10.89.3.0/24"), "10.89.3.1");
        let dns = resolv_conf("# generated\nnameserver 10.0.0.2\nnameserver ::1\nsearch lan corp\noptions edns0 ndots:2\n");
        assert_eq!(dns.servers, ["10.0.0.2", "::1"]);
        assert_eq!(dns.searches, ["lan", "corp"]);
        assert_eq!(dns.options, ["edns0", "ndots:2"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
