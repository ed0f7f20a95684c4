//! The scale harness (`./dev bench`, or `cargo bench --bench scale -- [run…]`): whole
//! clusters driven as a user drives them — Deployments applied through kubectl's apply, the
//! clock run until every replica is Ready — with the wall time, the virtual time, the peak
//! memory and the share of wall time each component's handlers took. One JSON line per run.
//!
//! Each run is a child process of its own, so its peak RSS is its own.
//!
//! Runs (issue #13): `e` 50 nodes / 1,000 pods; `e10k`, `e100k` the same shape at 10× and 100×
//! (20 pods a node); `a` 5,000 nodes / 150,000 pods; `b` as `a`, spread over 3 zones; `c` a
//! rolling update of 10,000 replicas; `d` 1,000 of 5,000 nodes powered off and healed.
//! With no run named: `e`, `e10k`, `c`. Under `cargo test`, one small run that must settle.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubeplay_core::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use kubeplay_core::cluster::Cluster;
use kubeplay_core::kubelet::node::NodeSpec;
use serde_json::{json, Value};

/// No run waits longer than this for the cluster to settle, in wall time.
const WALL_LIMIT: Duration = Duration::from_secs(900);
/// Nor longer than this in virtual time.
const VIRTUAL_LIMIT_MS: i64 = 3_600_000;

struct Shape {
    name: &'static str,
    nodes: u32,
    deployments: u32,
    replicas: u32,
    zones: u32,
    what: Scenario,
}

#[derive(Clone, Copy)]
enum Scenario {
    /// Apply, then wait until every replica is Ready.
    Apply,
    /// Apply and settle (not measured), then change the image and wait for the rollout.
    RollingUpdate,
    /// Apply and settle (not measured), then power off a fifth of the nodes and wait until
    /// every replica is Ready again on the nodes left.
    NodeLoss,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "e",
        nodes: 50,
        deployments: 1,
        replicas: 1_000,
        zones: 0,
        what: Scenario::Apply,
    },
    Shape {
        name: "e10k",
        nodes: 500,
        deployments: 1,
        replicas: 10_000,
        zones: 0,
        what: Scenario::Apply,
    },
    Shape {
        name: "e100k",
        nodes: 5_000,
        deployments: 1,
        replicas: 100_000,
        zones: 0,
        what: Scenario::Apply,
    },
    Shape {
        name: "a",
        nodes: 5_000,
        deployments: 15,
        replicas: 10_000,
        zones: 0,
        what: Scenario::Apply,
    },
    Shape {
        name: "b",
        nodes: 5_000,
        deployments: 15,
        replicas: 10_000,
        zones: 3,
        what: Scenario::Apply,
    },
    Shape {
        name: "c",
        nodes: 500,
        deployments: 1,
        replicas: 10_000,
        zones: 0,
        what: Scenario::RollingUpdate,
    },
    Shape {
        name: "d",
        nodes: 5_000,
        deployments: 10,
        replicas: 2_000,
        zones: 0,
        what: Scenario::NodeLoss,
    },
];

fn main() {
    // Under `cargo test` (no `--bench`): one small run in-process, which must settle.
    if !std::env::args().any(|a| a == "--bench" || a == "one") {
        let smoke = Shape {
            name: "smoke",
            nodes: 5,
            deployments: 2,
            replicas: 50,
            zones: 3,
            what: Scenario::Apply,
        };
        let line = run(&smoke);
        println!("{line}");
        assert_eq!(line["done"], true, "the smoke run did not settle");
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Some(name) = args
        .iter()
        .position(|a| a == "one")
        .and_then(|i| args.get(i + 1))
    {
        let shape = SHAPES.iter().find(|s| s.name == name).expect("a known run");
        println!("{}", run(shape));
        return;
    }
    let names: Vec<&str> = if args.is_empty() {
        vec!["e", "e10k", "c"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let exe = std::env::current_exe().expect("the harness' own path");
    for name in names {
        if !SHAPES.iter().any(|s| s.name == name) {
            eprintln!("unknown run {name:?}; runs: e e10k e100k a b c d");
            std::process::exit(2);
        }
        let out = Command::new(&exe)
            .args(["one", name])
            .output()
            .expect("running one shape");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprintln!(
                "run {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn run(shape: &Shape) -> Value {
    let mut cluster = Cluster::new(Config::default());
    for i in 0..shape.nodes {
        let zone = (shape.zones > 0).then(|| format!("zone-{}", i % shape.zones));
        cluster.add_node(&NodeSpec {
            zone,
            ..NodeSpec::default()
        });
    }
    // Registered, leases held: the cluster a user finds.
    cluster.world.advance(20_000);
    let pods = shape.deployments * shape.replicas;
    let shares = Arc::new(Mutex::new(Shares::default()));
    let mut virtual_start = cluster.world.now().millis();
    let mut started = Instant::now();
    if !matches!(shape.what, Scenario::Apply) {
        apply(&mut cluster, shape, "registry.k8s.io/pause:3.10");
        settle(&mut cluster, shape, started);
        virtual_start = cluster.world.now().millis();
        started = Instant::now();
    }
    profile(&mut cluster, &shares);
    match shape.what {
        Scenario::Apply => apply(&mut cluster, shape, "registry.k8s.io/pause:3.10"),
        // Another tag of the same small image: pulled in half a second, so what is measured
        // is the control plane's rollout.
        Scenario::RollingUpdate => apply(&mut cluster, shape, "registry.k8s.io/pause:3.9"),
        Scenario::NodeLoss => {
            for i in 0..shape.nodes / 5 {
                cluster.set_node_power(&format!("node-{}", i * 5 + 1), false);
            }
            // Until the node lifecycle controller has seen the silence (40 s) and marked the
            // pods there not Ready, every replica still counts as Ready: settle from then.
            cluster.world.advance(60_000);
        }
    }
    let done = settle(&mut cluster, shape, started);
    let wall = started.elapsed();
    cluster.world.set_profiler(None);
    let virtual_ms = cluster.world.now().millis() - virtual_start;
    let shares = shares.lock().expect("shares").fractions(wall);
    json!({
        "run": shape.name,
        "nodes": shape.nodes,
        "pods": pods,
        "done": done,
        "wall_ms": wall.as_millis() as u64,
        "virtual_ms": virtual_ms,
        "pods_per_s": (f64::from(pods) / wall.as_secs_f64()).round(),
        "peak_rss_mb": peak_rss_mb(),
        "share": shares,
    })
}

fn manifest(shape: &Shape, index: u32, image: &str) -> String {
    let spread = if shape.zones > 0 {
        format!(
            "      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n        whenUnsatisfiable: DoNotSchedule\n        labelSelector:\n          matchLabels:\n            app: load-{index}\n"
        )
    } else {
        String::new()
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: load-{index}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: load-{index}\n  template:\n    metadata:\n      labels:\n        app: load-{index}\n    spec:\n{spread}      containers:\n      - name: pause\n        image: {image}\n",
        replicas = shape.replicas
    )
}

fn apply(cluster: &mut Cluster, shape: &Shape, image: &str) {
    for i in 0..shape.deployments {
        for result in kubeplay_core::kubectl::apply::apply_manifest(
            cluster,
            &manifest(shape, i, image),
            "default",
        ) {
            if let Err(e) = result {
                panic!("apply refused: {}", e.message);
            }
        }
    }
}

/// Runs the clock until every Deployment has all its replicas updated and Ready; whether it
/// got there within the limits.
fn settle(cluster: &mut Cluster, shape: &Shape, started: Instant) -> bool {
    let limit = cluster.world.now().millis() + VIRTUAL_LIMIT_MS;
    let want = u64::from(shape.deployments) * u64::from(shape.replicas);
    while cluster.world.now().millis() < limit && started.elapsed() < WALL_LIMIT {
        cluster.world.advance(500);
        let list = cluster
            .world
            .api()
            .handle(
                &Request::new(Method::Get, "/apis/apps/v1/namespaces/default/deployments")
                    .bearer(ADMIN_TOKEN),
            )
            .value();
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let count = |field: &str| {
            items
                .iter()
                .map(|d| d["status"][field].as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        let settled = items
            .iter()
            .all(|d| d["status"]["observedGeneration"] == d["metadata"]["generation"]);
        if settled
            && count("readyReplicas") == want
            && count("updatedReplicas") == want
            && count("replicas") == want
        {
            return true;
        }
    }
    false
}

/// Wall time per component (kubelets together), and outside any handler ("world": the
/// harness' own requests, the event loop's polling).
#[derive(Default)]
struct Shares {
    current: Option<(String, Instant)>,
    since: Option<Instant>,
    totals: BTreeMap<String, Duration>,
}

impl Shares {
    fn fractions(&self, wall: Duration) -> BTreeMap<String, f64> {
        let handlers: Duration = self.totals.values().sum();
        let mut out: BTreeMap<String, f64> = self
            .totals
            .iter()
            .map(|(k, v)| (k.clone(), share(*v, wall)))
            .collect();
        out.insert("world".into(), share(wall.saturating_sub(handlers), wall));
        out
    }
}

fn share(part: Duration, whole: Duration) -> f64 {
    (part.as_secs_f64() / whole.as_secs_f64().max(1e-9) * 1000.0).round() / 1000.0
}

fn profile(cluster: &mut Cluster, shares: &Arc<Mutex<Shares>>) {
    let shares = Arc::clone(shares);
    cluster
        .world
        .set_profiler(Some(Box::new(move |who: Option<&str>| {
            let mut s = shares.lock().expect("shares");
            let now = Instant::now();
            s.since.get_or_insert(now);
            match who {
                Some(name) => {
                    let bucket = if name.ends_with("controller") || name.ends_with("scheduler") {
                        name.to_string()
                    } else {
                        "kubelet".to_string()
                    };
                    s.current = Some((bucket, now));
                }
                None => {
                    if let Some((bucket, at)) = s.current.take() {
                        *s.totals.entry(bucket).or_default() += now - at;
                    }
                }
            }
        })));
}

/// The process' peak resident memory, in MB (`VmHWM`).
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}
