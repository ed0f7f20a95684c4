//! Scheduling throughput on 5,000 nodes: pods created through the API server, scheduled and
//! bound, with the watches and the snapshot in the loop — the API server and the scheduler, as
//! Kubernetes' scheduler_perf measures (no controllers, no kubelets).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubeplay_core::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use kubeplay_core::scheduler::Scheduler;
use kubeplay_core::sim::{ComponentId, World};
use serde_json::json;

const NODES: usize = 5_000;
const PODS: usize = 500;

struct Bench {
    world: World,
    scheduler: ComponentId,
}

fn cluster_with_nodes() -> Bench {
    let mut world = World::new(Config::default());
    let scheduler = world.add(Box::new(Scheduler::default()));
    let mut c = Bench { world, scheduler };
    for i in 0..NODES {
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{i:05}"), "labels": {"topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
            "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"}}
        });
        c.world.api().handle(
            &Request::new(Method::Post, "/api/v1/nodes")
                .bearer(ADMIN_TOKEN)
                .json(&node),
        );
    }
    c.world.advance(1_000);
    c
}

fn basic_pods(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler");
    g.sample_size(10);
    g.throughput(Throughput::Elements(PODS as u64));
    let base = cluster_with_nodes();
    let pods: Vec<Request> = (0..PODS)
        .map(|i| {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p-{i}")},
                             "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}});
            Request::new(Method::Post, "/api/v1/namespaces/default/pods").bearer(ADMIN_TOKEN).json(&pod)
        })
        .collect();
    drop(base);
    g.bench_function("schedule 500 basic pods on 5000 nodes", |b| {
        b.iter_batched(
            cluster_with_nodes,
            |mut cluster| {
                for p in &pods {
                    cluster.world.api().handle(p);
                }
                // One cycle takes 1 ms of virtual time: run until every pod is bound.
                cluster.world.advance(PODS as i64 * 2 + 1_000);
                let bound = cluster
                    .world
                    .component::<Scheduler>(cluster.scheduler)
                    .map_or(0, Scheduler::bound_count);
                assert!(bound >= PODS.min(kubeplay_core::scheduler::DECISIONS_KEPT));
                cluster
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, basic_pods);
criterion_main!(benches);
