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

/// `kubeplay-bridge`: the kube-API door for real kubectl, a real node, and the node agent's
/// door for the page.
#[derive(clap::Parser)]
#[command(name = "kubeplay-bridge", version, about)]
enum Cli {
    /// Run the control plane headless behind the kube-API door (HTTPS), with simulated
    /// nodes and, with --real-node, this machine as a real one.
    Serve(ServeArgs),
    /// Lend this machine as a real node through the node agent's door only (no kube-API
    /// door of its own).
    Lend {
        #[command(flatten)]
        agent: AgentArgs,
        #[command(flatten)]
        node: RealNodeArgs,
    },
    /// Container images for the real node.
    #[command(subcommand)]
    Images(ImagesCommand),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Where the kube-API door listens.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: String,
    /// Where to write a kubeconfig for the door (admin and viewer contexts).
    #[arg(long)]
    kubeconfig: Option<String>,
    /// The cluster's seed (UIDs, tie-breaks).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated nodes.
    #[arg(long, default_value_t = 3, value_parser = node_count)]
    nodes: u32,
    /// How many times the wall clock the virtual clock runs.
    #[arg(long, default_value_t = 1)]
    speed: u32,
    /// A KubeSchedulerConfiguration, as kube-scheduler's --config.
    #[arg(long)]
    scheduler_config: Option<String>,
    #[command(flatten)]
    agent: AgentArgs,
    /// This machine joins the cluster as a node whose pods are real containers.
    #[arg(long)]
    real_node: bool,
    #[command(flatten)]
    node: RealNodeArgs,
    /// Another bridge's lent machine to join as a node (ws://host:6444/node-agent#token);
    /// repeatable.
    #[arg(long = "borrow-node", value_name = "URL#TOKEN", value_parser = borrow_spec)]
    borrow: Vec<(String, String)>,
}

/// The node agent's door (the page's bridge panel, lending).
#[derive(clap::Args)]
struct AgentArgs {
    /// Where the node agent's WebSocket door listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:6444")]
    agent_listen: String,
    /// The token a client must send first; random unless given.
    #[arg(long)]
    agent_token: Option<String>,
    /// A page origin allowed to connect; repeatable (default: the page `./dev play` serves).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
}

/// This machine as a real node.
#[derive(clap::Args)]
struct RealNodeArgs {
    /// The node's name (default: the hostname).
    #[arg(long)]
    node_name: Option<String>,
    /// Where the bridge's own containerd and everything it starts live.
    #[arg(long, default_value = ".state/real-node")]
    state_dir: String,
    /// The node's pod network.
    #[arg(long, default_value = "10.89.0.0/24")]
    pod_cidr: String,
    /// The CNI bridge device.
    #[arg(long, default_value = "kubeplay0")]
    cni_bridge: String,
    /// The only directory hostPath volumes may come from (default: under the state dir).
    #[arg(long)]
    host_path_root: Option<String>,
    /// Let the node pull images from registries (otherwise only `localhost/` images).
    #[arg(long)]
    allow_registry_pulls: bool,
}

#[derive(clap::Subcommand)]
enum ImagesCommand {
    /// Import image tarballs into the namespace CRI reads.
    Import {
        /// containerd's socket.
        #[arg(long, default_value = ".state/real-node/containerd/containerd.sock")]
        containerd: String,
        #[arg(required = true, value_name = "FILE.tar")]
        files: Vec<String>,
    },
}

fn node_count(s: &str) -> Result<u32, String> {
    let max = kubeplay_core::scenario::MAX_NODES;
    s.parse()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| format!("takes a number up to {max}"))
}

fn borrow_spec(s: &str) -> Result<(String, String), String> {
    s.rsplit_once('#')
        .map(|(url, token)| (url.to_string(), token.to_string()))
        .ok_or_else(|| "takes URL#TOKEN (ws://host:6444/node-agent#token)".to_string())
}

fn parse_args() -> anyhow::Result<Args> {
    Ok(match <Cli as clap::Parser>::parse() {
        Cli::Serve(s) => Args {
            listen: s.listen,
            kubeconfig: s.kubeconfig,
            seed: s.seed,
            nodes: s.nodes,
            speed: s.speed,
            scheduler_config: s.scheduler_config,
            real_node: s.real_node,
            borrow: s.borrow,
            ..Args::new(s.agent, s.node)
        },
        Cli::Lend { agent, node } => Args {
            real_node: true,
            lend: true,
            ..Args::new(agent, node)
        },
        Cli::Images(ImagesCommand::Import { containerd, files }) => {
            for f in files {
                kubeplay_bridge::images::import(
                    std::path::Path::new(&containerd),
                    std::path::Path::new(&f),
                )?;
                eprintln!("imported {f}");
            }
            std::process::exit(0);
        }
    })
}

impl Args {
    /// The node agent's and the real node's flags, with serve's defaults for the rest.
    fn new(agent: AgentArgs, node: RealNodeArgs) -> Args {
        Args {
            listen: "127.0.0.1:6443".into(),
            kubeconfig: None,
            seed: 1,
            nodes: 3,
            speed: 1,
            scheduler_config: None,
            agent_listen: agent.agent_listen,
            agent_token: agent.agent_token,
            allowed_origins: agent.allowed_origins,
            real_node: false,
            node_name: node.node_name,
            state_dir: node.state_dir,
            pod_cidr: node.pod_cidr,
            cni_bridge: node.cni_bridge,
            host_path_root: node.host_path_root,
            allow_registry_pulls: node.allow_registry_pulls,
            lend: false,
            borrow: Vec::new(),
        }
    }
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
