//! `kubeplay-bridge serve` runs the control plane headless, in this process, behind the
//! kube-API door on loopback, with `--nodes` simulated nodes (3 by default), and writes a
//! kubeconfig for it (`--scheduler-config` takes a KubeSchedulerConfiguration, as
//! kube-scheduler's `--config`):
//!
//! ```text
//! kubeplay-bridge serve --listen 127.0.0.1:6443 --kubeconfig ./kubeconfig
//! kubectl --kubeconfig ./kubeconfig get namespaces
//! ```
//!
//! With `--real-node`, this machine joins the cluster as a Node whose pods are real
//! containers: the bridge starts its own containerd under `--state-dir` (default
//! `.state/real-node`), with CNI networking over `--pod-cidr` (default `10.89.0.0/24`) on the
//! bridge device `--cni-bridge`, imports its pause and busybox images, and reaps everything
//! it started when it stops (Ctrl-C). `kubeplay-bridge images import --containerd SOCKET
//! FILE.tar` imports an image tarball of your own.
//!
//! It also opens the node agent's door for the page's bridge panel (`--agent-listen`, a
//! WebSocket at `/node-agent`; `--agent-token`, random unless given; pages from
//! `--allow-origin`, repeatable, by default the page `./dev play` serves). With
//! `--real-node` the door lends the machine to the page as well: a second containerd under
//! `<state dir>/page`, pods on the next /24, so the page's cluster has a real node of its own.

use anyhow::Context;
use kubeplay_bridge::{node_agent, HeadlessDoor};
use kubeplay_core::apiserver::Config;
use kubeplay_core::scheduler::profile::SchedulerConfig;

struct Args {
    listen: String,
    kubeconfig: Option<String>,
    seed: u64,
    nodes: u32,
    speed: u32,
    scheduler_config: Option<String>,
    agent_listen: String,
    agent_token: Option<String>,
    allowed_origins: Vec<String>,
    real_node: bool,
    node_name: Option<String>,
    state_dir: String,
    pod_cidr: String,
    cni_bridge: String,
    host_path_root: Option<String>,
    allow_registry_pulls: bool,
    /// `lend`: no door, the real node lent through the agent's door.
    lend: bool,
    /// Bridges whose machines join this door's cluster: (URL, token).
    borrow: Vec<(String, String)>,
}

const USAGE: &str = "usage: kubeplay-bridge serve [--listen ADDR] [--kubeconfig PATH] [--seed N] [--nodes N] [--speed X] [--scheduler-config PATH] [--agent-listen ADDR] [--agent-token TOKEN] [--allow-origin ORIGIN]...
                             [--real-node REAL-NODE-FLAGS] [--borrow-node URL#TOKEN]...
       kubeplay-bridge lend [--agent-listen ADDR] [--agent-token TOKEN] [--allow-origin ORIGIN]... REAL-NODE-FLAGS
       kubeplay-bridge images import --containerd SOCKET FILE.tar
REAL-NODE-FLAGS: [--node-name NAME] [--state-dir DIR] [--pod-cidr CIDR] [--cni-bridge DEVICE] [--host-path-root DIR] [--allow-registry-pulls]";

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: "127.0.0.1:6443".into(),
        kubeconfig: None,
        seed: 1,
        nodes: 3,
        speed: 1,
        scheduler_config: None,
        agent_listen: "127.0.0.1:6444".into(),
        agent_token: None,
        allowed_origins: Vec::new(),
        real_node: false,
        node_name: None,
        state_dir: ".state/real-node".into(),
        pod_cidr: "10.89.0.0/24".into(),
        cni_bridge: "kubeplay0".into(),
        host_path_root: None,
        allow_registry_pulls: false,
        lend: false,
        borrow: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    match it.next().as_deref() {
        Some("serve") => {}
        Some("lend") => {
            args.lend = true;
            args.real_node = true;
        }
        Some("images") => {
            images_command(it.collect())?;
            std::process::exit(0);
        }
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            std::process::exit(0);
        }
        Some(other) => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--kubeconfig" => args.kubeconfig = Some(value()?),
            "--seed" => args.seed = value()?.parse().context("--seed takes a number")?,
            "--nodes" => {
                let max = kubeplay_core::scenario::MAX_NODES;
                args.nodes = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n <= max)
                    .with_context(|| format!("--nodes takes a number up to {max}"))?
            }
            "--speed" => {
                args.speed = value()?
                    .parse()
                    .context("--speed takes a whole number (times the wall clock)")?
            }
            "--scheduler-config" => args.scheduler_config = Some(value()?),
            "--agent-listen" => args.agent_listen = value()?,
            "--agent-token" => args.agent_token = Some(value()?),
            "--allow-origin" => args.allowed_origins.push(value()?),
            "--real-node" => args.real_node = true,
            "--node-name" => args.node_name = Some(value()?),
            "--state-dir" => args.state_dir = value()?,
            "--pod-cidr" => args.pod_cidr = value()?,
            "--cni-bridge" => args.cni_bridge = value()?,
            "--host-path-root" => args.host_path_root = Some(value()?),
            "--allow-registry-pulls" => args.allow_registry_pulls = true,
            "--borrow-node" => {
                let spec = value()?;
                let (url, token) = spec
                    .rsplit_once('#')
                    .context("--borrow-node takes URL#TOKEN (ws://host:6444/node-agent#token)")?;
                args.borrow.push((url.to_string(), token.to_string()));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown flag {other:?}\n{USAGE}"),
        }
    }
    Ok(args)
}

/// `images import --containerd SOCKET FILE…`: a user's own image tarballs, into the
/// namespace CRI reads.
fn images_command(args: Vec<String>) -> anyhow::Result<()> {
    let mut socket = None;
    let mut files = Vec::new();
    let mut it = args.into_iter();
    match it.next().as_deref() {
        Some("import") => {}
        _ => anyhow::bail!("{USAGE}"),
    }
    while let Some(a) = it.next() {
        match a.as_str() {
            "--containerd" => socket = Some(it.next().context("--containerd needs a socket")?),
            _ => files.push(a),
        }
    }
    let socket = socket.unwrap_or_else(|| ".state/real-node/containerd/containerd.sock".into());
    anyhow::ensure!(!files.is_empty(), "images import needs a tarball\n{USAGE}");
    for f in files {
        kubeplay_bridge::images::import(std::path::Path::new(&socket), std::path::Path::new(&f))?;
        eprintln!("imported {f}");
    }
    Ok(())
}

/// Starts this machine's real node as the flags describe it.
async fn start_real_node(args: &Args) -> anyhow::Result<kubeplay_bridge::real_node::RealNode> {
    start_node(args, &args.state_dir, &args.pod_cidr, &args.cni_bridge).await
}

/// The machine again, as the node the agent's door lends to a page (`serve --real-node`):
/// a second containerd under `<state dir>/page`, on the next /24 and its own bridge device,
/// so the page's cluster and the door's never share a runtime.
async fn start_page_node(args: &Args) -> anyhow::Result<kubeplay_bridge::real_node::RealNode> {
    let cidr = next_subnet(&args.pod_cidr).with_context(|| {
        format!(
            "--pod-cidr {}: the page's node takes the next /24",
            args.pod_cidr
        )
    })?;
    let dir = std::path::Path::new(&args.state_dir).join("page");
    let device = format!("{}p", args.cni_bridge);
    start_node(args, &dir.to_string_lossy(), &cidr, &device).await
}

/// `10.89.0.0/24` → `10.89.1.0/24`.
fn next_subnet(cidr: &str) -> Option<String> {
    let (ip, bits) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    if bits != "24" {
        return None;
    }
    let next = u32::from(ip).checked_add(1 << 8)?;
    Some(format!("{}/24", std::net::Ipv4Addr::from(next)))
}

async fn start_node(
    args: &Args,
    state_dir: &str,
    pod_cidr: &str,
    bridge: &str,
) -> anyhow::Result<kubeplay_bridge::real_node::RealNode> {
    let name = args
        .node_name
        .clone()
        .unwrap_or_else(|| kubeplay_bridge::host::this_machine().name);
    let state_dir = std::path::absolute(state_dir)?;
    let mut settings =
        kubeplay_bridge::real_node::RealNodeSettings::new(&name, &state_dir, pod_cidr, bridge);
    if let Some(root) = &args.host_path_root {
        settings.host_path_root = std::path::absolute(root)?;
    }
    settings.allow_registry_pulls = args.allow_registry_pulls;
    let node = kubeplay_bridge::real_node::RealNode::start(settings).await?;
    eprintln!(
        "real node {name}: containerd at {}, pods on {pod_cidr}",
        node.containerd_socket().display(),
    );
    Ok(node)
}

/// Resolves on Ctrl-C or SIGTERM (what `./dev play` sends); every clone of the receiver sees
/// it.
fn stop_signal() -> tokio::sync::watch::Receiver<bool> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = stop_tx.send(true);
    });
    stop_rx
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn reap(node: &kubeplay_bridge::real_node::RealNode) {
    match node.stop().await {
        Ok(n) => eprintln!("real node: stopped and removed {n} pod sandboxes"),
        Err(e) => eprintln!("real node: reaping failed: {e}"),
    }
}

/// The node agent's door: its listener (bound first, so a port in use stops the bridge before
/// it writes a kubeconfig) and its token and allowed origins.
async fn agent_door(
    args: &Args,
) -> anyhow::Result<(tokio::net::TcpListener, node_agent::AgentConfig)> {
    // The agent's door speaks plain ws:// (its token would cross the network in clear): it
    // listens on loopback only until it has TLS.
    let agent_addr: std::net::SocketAddr = args
        .agent_listen
        .parse()
        .with_context(|| format!("--agent-listen {:?} is not ADDRESS:PORT", args.agent_listen))?;
    anyhow::ensure!(
        agent_addr.ip().is_loopback(),
        "--agent-listen {agent_addr}: the node agent's door has no TLS yet, so it listens on loopback only"
    );
    // The node agent's port is bound before the kube-API door's, so a port in use stops the
    // bridge before it writes a kubeconfig.
    let agent = tokio::net::TcpListener::bind(&args.agent_listen)
        .await
        .with_context(|| format!("binding {}", args.agent_listen))?;
    let token = match args.agent_token.clone() {
        Some(t) if t.is_empty() => anyhow::bail!("--agent-token must not be empty"),
        Some(t) => t,
        None => kubeplay_bridge::kubeconfig::random_token()?,
    };
    let allowed_origins = if args.allowed_origins.is_empty() {
        node_agent::DEFAULT_ORIGINS
            .iter()
            .map(|o| o.to_string())
            .collect()
    } else {
        args.allowed_origins.clone()
    };
    eprintln!(
        "node agent: ws://{}/node-agent  token {token}  (pages from {})",
        agent.local_addr()?,
        allowed_origins.join(", ")
    );
    let config = node_agent::AgentConfig {
        token,
        allowed_origins,
    };
    Ok((agent, config))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    // A KubeSchedulerConfiguration, as kube-scheduler's `--config`.
    let scheduler = match &args.scheduler_config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            SchedulerConfig::parse(&text)
                .map_err(|e| anyhow::anyhow!("{path}: invalid KubeSchedulerConfiguration: {e}"))?
        }
        None => SchedulerConfig::default(),
    };
    let config = Config {
        seed: args.seed,
        ..Config::default()
    };
    let (agent, agent_config) = agent_door(&args).await?;
    let stop = stop_signal();
    if args.lend {
        // No door: the machine waits for a client's cluster to borrow it.
        let node = std::sync::Arc::new(start_real_node(&args).await?);
        let served =
            node_agent::serve_lending(agent, agent_config, Some(node.clone()), stopped(stop)).await;
        reap(&node).await;
        return Ok(served?);
    }
    let door =
        HeadlessDoor::bind_scheduling(&args.listen, config, args.nodes, args.speed, scheduler)
            .await?;
    if let Some(path) = &args.kubeconfig {
        // It holds the admin's token: readable by its owner only.
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| {
                // An older file keeps its mode through `open`: set it.
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                f.write_all(door.kubeconfig.as_bytes())
            })
            .with_context(|| format!("writing {path}"))?;
        eprintln!("kubeconfig written to {path}");
    }
    eprintln!("kube-API door listening on {}", door.url);
    let real_node = if args.real_node {
        let node = start_real_node(&args).await?;
        let task = node.join(&door.door()).await?;
        Some((node, task))
    } else {
        None
    };
    let mut borrowed = Vec::new();
    for (url, token) in &args.borrow {
        let (name, task) =
            kubeplay_bridge::real_node::borrowed::borrow(&door.door(), url, token).await?;
        eprintln!("borrowed node {name} from {url}");
        borrowed.push(task);
    }
    // The page's bridge panel borrows the machine too, as a node of the page's own cluster.
    let page_node = match &real_node {
        Some((node, task)) => match start_page_node(&args).await {
            Ok(page) => Some(std::sync::Arc::new(page)),
            Err(e) => {
                task.abort();
                reap(node).await;
                return Err(e);
            }
        },
        None => None,
    };
    let agent = tokio::spawn(node_agent::serve_lending(
        agent,
        agent_config,
        page_node.clone(),
        stopped(stop.clone()),
    ));
    let served = door.serve(stopped(stop)).await;
    agent.abort();
    for task in borrowed {
        // The lenders reap when the connection goes.
        task.abort();
    }
    if let Some((node, task)) = real_node {
        task.abort();
        reap(&node).await;
    }
    if let Some(node) = page_node {
        reap(&node).await;
    }
    served
}
