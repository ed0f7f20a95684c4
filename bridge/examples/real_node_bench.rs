//! The real node's numbers (`./dev bench`): create → Running for one pod and for ten, the
//! time each CRI call takes in containerd and what the bridge adds around it, and the time to
//! reap ten running pods. A control plane in this process (no simulated nodes), this machine
//! joined as a real node with its own containerd, pods created through the API server as a
//! client would, their status read through it.

use std::time::{Duration, Instant};

use kubeplay_bridge::kube_api::{wall_clock, Clock, Door};
use kubeplay_bridge::real_node::{RealNode, RealNodeSettings};
use kubeplay_core::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use kubeplay_core::cluster::Cluster;
use serde_json::{json, Value};

const RUNS: usize = 11;

fn send(door: &Door, method: Method, path: &str, body: Option<Value>) -> Value {
    door.with_cluster(|c| {
        let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.body("application/json", b.to_string());
        }
        c.world.api().handle(&req).value()
    })
}

fn pod(name: &str) -> Value {
    pod_on(name, "kubeplay.io/real-node", "true")
}

fn pod_on(name: &str, label: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "nodeSelector": {label: value},
            "tolerations": [{"key": "kubeplay.io/real-node", "operator": "Exists"}],
            "containers": [{"name": "app", "image": "localhost/kubeplay/busybox:1",
                            "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]
        }
    })
}

const PODS: &str = "/api/v1/namespaces/default/pods";

/// Polls (every 2 ms) until every pod named is Running; the time it took.
async fn until_running(door: &Door, names: &[String], since: Instant) -> Duration {
    loop {
        let running = names.iter().all(|n| {
            send(door, Method::Get, &format!("{PODS}/{n}"), None)["status"]["phase"] == "Running"
        });
        if running {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "pods did not run in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn until_gone(door: &Door) {
    let since = Instant::now();
    while send(door, Method::Get, PODS, None)["items"]
        .as_array()
        .is_some_and(|i| !i.is_empty())
    {
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "pods did not go in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_and_wait(door: &Door, prefix: &str, n: usize) -> Duration {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let started = Instant::now();
    for name in &names {
        send(door, Method::Post, PODS, Some(pod(name)));
    }
    let took = until_running(door, &names, started).await;
    for name in &names {
        send(door, Method::Delete, &format!("{PODS}/{name}"), None);
    }
    until_gone(door).await;
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Ten pods on a machine lent by another bridge (a second containerd of its own); the
/// borrower goes and the time until the lender has no sandbox left is measured.
async fn reap_after_disconnect(
    door: &Door,
    dir: &std::path::Path,
) -> anyhow::Result<(std::sync::Arc<RealNode>, Duration)> {
    let lender = std::sync::Arc::new(
        RealNode::start(RealNodeSettings::new(
            "bench-b",
            &dir.join("lender"),
            "10.89.251.0/24",
            "kpbench2",
        ))
        .await?,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/node-agent", listener.local_addr()?);
    let agent = tokio::spawn(kubeplay_bridge::node_agent::serve_lending(
        listener,
        kubeplay_bridge::node_agent::AgentConfig {
            token: "bench".into(),
            allowed_origins: Vec::new(),
        },
        Some(lender.clone()),
        std::future::pending(),
    ));
    let (_, borrowed) = kubeplay_bridge::real_node::borrowed::borrow(door, &url, "bench").await?;
    let lent: Vec<String> = (0..10).map(|i| format!("lent-{i}")).collect();
    for name in &lent {
        let pod = pod_on(name, "kubernetes.io/hostname", "bench-b");
        send(door, Method::Post, PODS, Some(pod));
    }
    until_running(door, &lent, Instant::now()).await;
    borrowed.abort();
    let gone_started = Instant::now();
    while !lender
        .runtime
        .list_sandboxes()
        .await
        .map_err(anyhow::Error::msg)?
        .is_empty()
    {
        anyhow::ensure!(
            gone_started.elapsed() < Duration::from_secs(60),
            "the lender did not reap"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = gone_started.elapsed();
    agent.abort();
    Ok((lender, took))
}

/// Each CRI method's count and medians: in containerd, and what the bridge added.
fn print_call_times(calls: &[kubeplay_bridge::real_node::CallTime]) {
    println!("  per CRI call (1-pod runs): method, calls, median in containerd, median added by the bridge");
    let mut methods: Vec<&str> = calls.iter().map(|c| c.method).collect();
    methods.sort();
    methods.dedup();
    for m in methods {
        let of: Vec<_> = calls.iter().filter(|c| c.method == m).collect();
        let mut rt: Vec<u64> = of.iter().map(|c| c.runtime_us).collect();
        let mut br: Vec<u64> = of.iter().map(|c| c.bridge_us).collect();
        rt.sort();
        br.sort();
        println!(
            "    {m:<18} {:>3}  {:>8.1} ms  {:>6.2} ms",
            of.len(),
            rt[rt.len() / 2] as f64 / 1000.0,
            br[br.len() / 2] as f64 / 1000.0
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("kubeplay-bench-{}", std::process::id()));
    let settings = RealNodeSettings::new("bench", &dir, "10.89.250.0/24", "kpbench");
    let node = RealNode::start(settings).await?;
    let start = wall_clock();
    let cluster = Cluster::new(Config {
        start,
        ..Config::default()
    });
    let door = Door::new(cluster, Clock::new(start, 1));
    let ticker = tokio::spawn(door.clone().tick());
    let task = node.join(&door).await?;
    // One pod to warm up (first use of the image's snapshot).
    create_and_wait(&door, "warm", 1).await;
    node.call_times.take();

    let mut one = Vec::new();
    for run in 0..RUNS {
        one.push(create_and_wait(&door, &format!("one-{run}"), 1).await);
    }
    let calls = node.call_times.take();
    let mut ten = Vec::new();
    for run in 0..RUNS {
        ten.push(create_and_wait(&door, &format!("ten-{run}"), 10).await);
    }
    // Reaping: ten running pods, the bridge goes.
    let names: Vec<String> = (0..10).map(|i| format!("reap-{i}")).collect();
    for name in &names {
        send(&door, Method::Post, PODS, Some(pod(name)));
    }
    until_running(&door, &names, Instant::now()).await;
    task.abort();
    let reap_started = Instant::now();
    let reaped = node.stop().await?;
    let reap = reap_started.elapsed();

    let (lender, disconnect_reap) = reap_after_disconnect(&door, &dir).await?;
    ticker.abort();

    println!("real node, {RUNS} runs each, medians (min … max):");
    let range = |v: &[Duration]| {
        format!(
            "{} ({} … {})",
            ms(median(v.to_vec())),
            ms(*v.iter().min().expect("runs")),
            ms(*v.iter().max().expect("runs"))
        )
    };
    println!("  create → Running, 1 pod:   {}", range(&one));
    println!("  create → Running, 10 pods: {}", range(&ten));
    println!(
        "  reap {reaped} running pods after the bridge stops: {}",
        ms(reap)
    );
    println!(
        "  reap 10 running pods on a lent machine after its borrower disconnects: {}",
        ms(disconnect_reap)
    );
    print_call_times(&calls);
    drop(node);
    drop(lender);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
