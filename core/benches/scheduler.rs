//! Scheduling throughput on 5,000 nodes, as Kubernetes' scheduler_perf measures it: pods
//! created through the API server, scheduled and bound, with the watches and the snapshot in
//! the loop (the API server and the scheduler; no controllers, no kubelets).
//!
//! Four workloads: basic pods (5,000 placed first, then 50,000 measured), pods with required
//! anti-affinity (one per host), pods spread over zones (maxSkew 1), and high-priority pods
//! that must preempt. Under `cargo test` (no `--bench`) each runs once on a small cluster, so
//! the code paths stay tested without the wait.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubeplay_core::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use kubeplay_core::scheduler::Scheduler;
use kubeplay_core::sim::{ComponentId, World};
use serde_json::{json, Value};

struct Size {
    nodes: usize,
    init: usize,
    measure: usize,
}

fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn size(nodes: usize, init: usize, measure: usize) -> Size {
    if benching() {
        Size {
            nodes,
            init,
            measure,
        }
    } else {
        Size {
            nodes: 100,
            init: init.min(100),
            measure: measure.min(100),
        }
    }
}

struct Bench {
    world: World,
    scheduler: ComponentId,
}

impl Bench {
    fn post(&mut self, path: &str, body: &Value) {
        let req = Request::new(Method::Post, path)
            .bearer(ADMIN_TOKEN)
            .json(body);
        let resp = self.world.api().handle(&req);
        assert!(resp.code < 300, "{path}: {}", resp.code);
    }

    fn pending(&self) -> usize {
        self.world
            .component::<Scheduler>(self.scheduler)
            .map_or(usize::MAX, Scheduler::pending_count)
    }

    /// Runs virtual time until no pod waits (each cycle takes 1 ms; preemptors wait for
    /// their victims and a backoff).
    fn schedule_all(&mut self, pods: &[Value]) {
        for p in pods {
            self.post("/api/v1/namespaces/default/pods", p);
        }
        // The scheduler hears of the pods a millisecond later, so advance before asking.
        for _ in 0..600 {
            self.world.advance(1_000);
            if self.pending() == 0 {
                return;
            }
        }
        panic!("{} pods never scheduled", self.pending());
    }
}

/// `cpu` CPUs per node, three zones.
fn cluster(nodes: usize, cpu: &str) -> Bench {
    let mut world = World::new(Config::default());
    let scheduler = world.add(Box::new(Scheduler::default()));
    let mut b = Bench { world, scheduler };
    for (name, value) in [("low", 0), ("high", 1000)] {
        let pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value});
        b.post("/apis/scheduling.k8s.io/v1/priorityclasses", &pc);
    }
    for i in 0..nodes {
        let name = format!("node-{i:05}");
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
            "status": {"allocatable": {"cpu": cpu, "memory": "128Gi", "pods": "110"}}
        });
        b.post("/api/v1/nodes", &node);
    }
    b.world.advance(1_000);
    b
}

fn pod(name: String, labels: Value, cpu: &str, extra: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}});
    for (k, v) in extra.as_object().into_iter().flatten() {
        p["spec"][k] = v.clone();
    }
    p
}

fn run(
    c: &mut Criterion,
    name: &str,
    s: Size,
    cpu: &str,
    init: impl Fn(usize) -> Value,
    measured: impl Fn(usize) -> Value,
) {
    let mut g = c.benchmark_group("scheduler");
    g.sample_size(10);
    g.throughput(Throughput::Elements(s.measure as u64));
    let init_pods: Vec<Value> = (0..s.init).map(init).collect();
    let measure_pods: Vec<Value> = (0..s.measure).map(measured).collect();
    let label = format!(
        "{name}: {} nodes, {} placed, {} measured",
        s.nodes, s.init, s.measure
    );
    g.bench_function(label, |b| {
        b.iter_batched(
            || {
                let mut bench = cluster(s.nodes, cpu);
                bench.schedule_all(&init_pods);
                bench
            },
            |mut bench| {
                bench.schedule_all(&measure_pods);
                bench
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn basic(c: &mut Criterion) {
    let p = |prefix: &'static str| {
        move |i: usize| pod(format!("{prefix}-{i}"), json!({}), "10m", json!({}))
    };
    run(
        c,
        "basic",
        size(5_000, 5_000, 50_000),
        "32",
        p("init"),
        p("p"),
    );
}

fn anti_affinity(c: &mut Criterion) {
    let p = |prefix: &'static str| {
        move |i: usize| {
            let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"color": "green"}}, "topologyKey": "kubernetes.io/hostname"}]}}});
            pod(
                format!("{prefix}-{i}"),
                json!({"color": "green"}),
                "10m",
                anti,
            )
        }
    };
    let s = size(5_000, 1_000, 1_000);
    // One per host: the test-sized run must leave room for every pod.
    let half = s.nodes / 2;
    let s = Size {
        init: s.init.min(half),
        measure: s.measure.min(half),
        ..s
    };
    run(c, "pod anti-affinity", s, "32", p("init"), p("p"));
}

fn topology_spreading(c: &mut Criterion) {
    let p = |prefix: &'static str| {
        move |i: usize| {
            let spread = json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "spread"}}}]});
            pod(
                format!("{prefix}-{i}"),
                json!({"app": "spread"}),
                "10m",
                spread,
            )
        }
    };
    run(
        c,
        "topology spreading",
        size(5_000, 5_000, 2_000),
        "32",
        p("init"),
        p("p"),
    );
}

fn preemption(c: &mut Criterion) {
    // Every node full of low-priority pods (4 × 1 CPU on 4 CPUs); each measured pod must
    // evict one. Victims go at once (grace 0), as scheduler_perf's do without kubelets.
    let s = size(5_000, 20_000, 500);
    let s = Size {
        init: s.nodes * 4,
        ..s
    };
    let low = |i: usize| {
        pod(
            format!("low-{i}"),
            json!({}),
            "1",
            json!({"priorityClassName": "low", "terminationGracePeriodSeconds": 0}),
        )
    };
    let high = |i: usize| {
        pod(
            format!("high-{i}"),
            json!({}),
            "1",
            json!({"priorityClassName": "high"}),
        )
    };
    run(c, "preemption", s, "4", low, high);
}

criterion_group!(
    benches,
    basic,
    anti_affinity,
    topology_spreading,
    preemption
);
criterion_main!(benches);
