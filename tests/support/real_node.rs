//! A door whose cluster has this machine as a real node: its own containerd (under a fresh
//! directory, with its own pod subnet and bridge device), the pause and busybox images
//! imported, joined beside `nodes` simulated nodes. Stopping it reaps every pod sandbox and
//! stops containerd.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;

use kubeplay_bridge::cri::{v1, Cri};
use kubeplay_bridge::real_node::{RealNode, RealNodeSettings};

use crate::{temp_dir, Door};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct RealNodeDoor {
    pub door: Door,
    pub node: String,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub pod_cidr: String,
    pub bridge: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: mpsc::Receiver<Result<usize, String>>,
}

/// A real node's settings, distinct from every other of this test run (name, subnet, bridge
/// device, directory).
fn fresh_settings() -> RealNodeSettings {
    let n = 100 + NEXT.fetch_add(1, Ordering::SeqCst) + (std::process::id() % 50) * 3;
    let state_dir = temp_dir("real-node");
    RealNodeSettings::new(
        &format!("real-{n}"),
        &state_dir,
        &format!("10.89.{n}.0/24"),
        &format!("kpt{n}"),
    )
}

/// A bridge that lends its machine (`kubeplay-bridge lend`): its own containerd, and the node
/// agent's door on a loopback port. Stopping it reaps what its client left.
pub struct Lender {
    pub url: String,
    pub token: String,
    pub node: String,
    pub socket: PathBuf,
    pub pod_cidr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: mpsc::Receiver<()>,
}

impl Lender {
    /// A lender for clients without an Origin (another bridge).
    pub fn start() -> Lender {
        Lender::start_for(Vec::new())
    }

    /// A lender for pages served from `allowed_origins` too.
    pub fn start_for(allowed_origins: Vec<String>) -> Lender {
        let settings = fresh_settings();
        let node = settings.name.clone();
        let pod_cidr = settings.pod_cidr.clone();
        let token = format!("lend-{}", settings.bridge);
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stopped_tx, stopped_rx) = mpsc::channel();
        let agent_token = token.clone();
        std::thread::spawn(move || {
            let rt = crate::runtime();
            rt.block_on(async move {
                let real = match RealNode::start(settings).await {
                    Ok(real) => std::sync::Arc::new(real),
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                let url = format!("ws://{}/node-agent", listener.local_addr().expect("addr"));
                let socket = real.containerd_socket().to_path_buf();
                let _ = ready_tx.send(Ok((url, socket)));
                let config = kubeplay_bridge::node_agent::AgentConfig {
                    token: agent_token,
                    allowed_origins,
                };
                let _ = kubeplay_bridge::node_agent::serve_lending(
                    listener,
                    config,
                    Some(real.clone()),
                    async {
                        let _ = stop_rx.await;
                    },
                )
                .await;
                let _ = real.stop().await;
                drop(real);
                let _ = stopped_tx.send(());
            });
        });
        let (url, socket) = match ready_rx.recv() {
            Ok(Ok(parts)) => parts,
            Ok(Err(e)) => panic!("the lending bridge's real node could not start here: {e}"),
            Err(_) => panic!("the lending bridge's thread ended before it started"),
        };
        Lender {
            url,
            token,
            node,
            socket,
            pod_cidr,
            stop: Some(stop_tx),
            stopped: stopped_rx,
        }
    }

    /// The lender's containers, as its containerd lists them.
    pub fn containers(&self) -> Vec<v1::Container> {
        containers_at(&self.socket)
    }

    /// The lender's pod sandboxes.
    pub fn sandboxes(&self) -> Vec<v1::PodSandbox> {
        sandboxes_at(&self.socket)
    }
}

impl Drop for Lender {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            let _ = self
                .stopped
                .recv_timeout(std::time::Duration::from_secs(60));
        }
    }
}

/// The containers of the containerd at `socket` (of any state), as CRI lists them.
fn containers_at(socket: &std::path::Path) -> Vec<v1::Container> {
    cri_at(socket, async |mut cri| {
        cri.runtime
            .list_containers(v1::ListContainersRequest { filter: None })
            .await
            .expect("ListContainers")
            .into_inner()
            .containers
    })
}

/// The pod sandboxes of the containerd at `socket` (of any state).
fn sandboxes_at(socket: &std::path::Path) -> Vec<v1::PodSandbox> {
    cri_at(socket, async |mut cri| {
        cri.runtime
            .list_pod_sandbox(v1::ListPodSandboxRequest { filter: None })
            .await
            .expect("ListPodSandbox")
            .into_inner()
            .items
    })
}

/// Runs `f` with a CRI client of the containerd at `socket`.
fn cri_at<R>(socket: &std::path::Path, f: impl AsyncFnOnce(Cri) -> R) -> R {
    let rt = crate::runtime();
    rt.block_on(async {
        let cri = Cri::connect(socket)
            .await
            .expect("connecting to containerd");
        f(cri).await
    })
}

impl RealNodeDoor {
    /// Starts it; panics with the reason when containerd cannot start here.
    pub fn start(nodes: u32) -> RealNodeDoor {
        RealNodeDoor::start_borrowing(nodes, &[])
    }

    /// Like [`RealNodeDoor::start`], the machines of `lenders` joined as well.
    pub fn start_borrowing(nodes: u32, lenders: &[&Lender]) -> RealNodeDoor {
        let settings = fresh_settings();
        let (node, pod_cidr, bridge, state_dir) = (
            settings.name.clone(),
            settings.pod_cidr.clone(),
            settings.bridge.clone(),
            settings.state_dir.clone(),
        );
        let lenders: Vec<(String, String)> = lenders
            .iter()
            .map(|l| (l.url.clone(), l.token.clone()))
            .collect();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stopped_tx, stopped_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let rt = crate::runtime();
            rt.block_on(async move {
                let started = async {
                    let door = kubeplay_bridge::HeadlessDoor::bind("127.0.0.1:0", 1, nodes, 1)
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    let real = RealNode::start(settings)
                        .await
                        .map_err(|e| format!("starting the real node's containerd: {e:#}"))?;
                    let task = real
                        .join(&door.door())
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    let mut borrowed = Vec::new();
                    for (url, token) in &lenders {
                        let (_, task) =
                            kubeplay_bridge::real_node::borrowed::borrow(&door.door(), url, token)
                                .await
                                .map_err(|e| format!("borrowing {url}: {e:#}"))?;
                        borrowed.push(task);
                    }
                    Ok::<_, String>((door, real, (task, borrowed)))
                };
                let (door, real, task) = match started.await {
                    Ok(parts) => parts,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let socket = real.containerd_socket().to_path_buf();
                let _ = ready_tx.send(Ok((door.url.clone(), door.kubeconfig.clone(), socket)));
                let serving = tokio::spawn(door.serve(async {
                    let _ = stop_rx.await;
                }));
                let _ = serving.await;
                let (task, borrowed) = task;
                task.abort();
                for b in borrowed {
                    b.abort();
                }
                let reaped = real.stop().await.map_err(|e| format!("{e:#}"));
                // containerd stops (and its bridge device goes) before the test hears of
                // it: a test process may end right after.
                drop(real);
                let _ = stopped_tx.send(reaped);
            });
        });
        let (url, kubeconfig_text, socket) = match ready_rx.recv() {
            Ok(Ok(parts)) => parts,
            Ok(Err(e)) => panic!("the real node could not start on this machine: {e}"),
            Err(_) => panic!("the real node's thread ended before it started"),
        };
        let dir = temp_dir("real-node-door");
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text).expect("writing kubeconfig");
        RealNodeDoor {
            door: Door {
                url,
                dir,
                kubeconfig,
            },
            node,
            socket,
            state_dir,
            pod_cidr,
            bridge,
            stop: Some(stop_tx),
            stopped: stopped_rx,
        }
    }

    /// Runs `f` with a CRI client of the node's containerd.
    pub fn cri<R>(&self, f: impl AsyncFnOnce(Cri) -> R) -> R {
        cri_at(&self.socket, f)
    }

    /// The node's containers (of any state), as CRI lists them.
    pub fn containers(&self) -> Vec<v1::Container> {
        containers_at(&self.socket)
    }

    pub fn sandboxes(&self) -> Vec<v1::PodSandbox> {
        sandboxes_at(&self.socket)
    }

    /// What a finished pod leaves on the machine, if anything: mounts under the node's
    /// directory, network namespaces, veths on its bridge, allocated IPs, pod cgroups.
    pub fn leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        let state = self.state_dir.display().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        out.extend(
            mounts
                .lines()
                .filter(|l| l.contains(&state))
                .map(|l| format!("mount: {l}")),
        );
        let netns = self
            .state_dir
            .join("containerd/state/io.containerd.grpc.v1.cri/netns");
        out.extend(
            std::fs::read_dir(netns)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| format!("netns: {}", e.path().display())),
        );
        let veths = std::process::Command::new("ip")
            .args(["-o", "link", "show", "master", &self.bridge])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.extend(veths.lines().map(|l| format!("veth: {l}")));
        let ipam = self.state_dir.join("containerd/ipam");
        for net in std::fs::read_dir(ipam).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(net.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = f.file_name().to_string_lossy().into_owned();
                if name.parse::<std::net::Ipv4Addr>().is_ok() {
                    out.push(format!("ip allocated: {name}"));
                }
            }
        }
        // cgroup v1: each controller's hierarchy; v2: the unified one.
        let cgroups = std::path::Path::new("/sys/fs/cgroup");
        let mut dirs = vec![cgroups.join("kubeplay").join(&self.node)];
        for controller in std::fs::read_dir(cgroups).into_iter().flatten().flatten() {
            dirs.push(controller.path().join("kubeplay").join(&self.node));
        }
        for dir in dirs {
            for pod in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if pod.file_name().to_string_lossy().starts_with("pod") {
                    out.push(format!("cgroup: {}", pod.path().display()));
                }
            }
        }
        out
    }

    /// Stops the door and reaps the node; how many sandboxes were still there.
    pub fn stop(&mut self) -> Result<usize, String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.stopped
            .recv_timeout(std::time::Duration::from_secs(60))
            .map_err(|e| format!("the real node did not stop: {e}"))?
    }
}

impl Drop for RealNodeDoor {
    fn drop(&mut self) {
        if self.stop.is_some() {
            let _ = self.stop();
        }
    }
}
