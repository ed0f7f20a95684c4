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
//! It also opens the node agent's door for the page's bridge panel (`--agent-listen`, a
//! WebSocket at `/node-agent`; `--agent-token`, random unless given; pages from
//! `--allow-origin`, repeatable, by default the page `./dev play` serves).

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
}

const USAGE: &str =
    "usage: kubeplay-bridge serve [--listen ADDR] [--kubeconfig PATH] [--seed N] [--nodes N] [--speed X] [--scheduler-config PATH] [--agent-listen ADDR] [--agent-token TOKEN] [--allow-origin ORIGIN]...";

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
    };
    let mut it = std::env::args().skip(1);
    match it.next().as_deref() {
        Some("serve") => {}
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
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown flag {other:?}\n{USAGE}"),
        }
    }
    Ok(args)
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
    // The node agent's port is bound before the kube-API door's, so a port in use stops the
    // bridge before it writes a kubeconfig.
    let agent = tokio::net::TcpListener::bind(&args.agent_listen)
        .await
        .with_context(|| format!("binding {}", args.agent_listen))?;
    let token = match args.agent_token {
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
        args.allowed_origins
    };
    eprintln!(
        "node agent: ws://{}/node-agent  token {token}  (pages from {})",
        agent.local_addr()?,
        allowed_origins.join(", ")
    );
    let door =
        HeadlessDoor::bind_scheduling(&args.listen, config, args.nodes, args.speed, scheduler)
            .await?;
    if let Some(path) = &args.kubeconfig {
        std::fs::write(path, &door.kubeconfig).with_context(|| format!("writing {path}"))?;
        eprintln!("kubeconfig written to {path}");
    }
    eprintln!("kube-API door listening on {}", door.url);
    let config = node_agent::AgentConfig {
        token,
        allowed_origins,
    };
    let agent = tokio::spawn(node_agent::serve(agent, config, async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    let served = door
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    agent.abort();
    served
}
