//! A whole simulated cluster on the virtual clock: how fast 10 s of virtual time pass with
//! 5,000 simulated nodes (kubelets' lease renewals and status, the node lifecycle controller,
//! every watch) — what the page's Web Worker runs for its largest map.

use criterion::{criterion_group, criterion_main, Criterion};
use kubeplay_core::apiserver::Config;
use kubeplay_core::cluster::Cluster;

/// Under `cargo test` (no `--bench`) each size runs once on a small cluster.
fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn idle_nodes(c: &mut Criterion) {
    let mut g = c.benchmark_group("cluster");
    g.sample_size(10);
    for nodes in [500, 5_000] {
        let nodes = if benching() { nodes } else { nodes / 100 };
        let mut cluster = Cluster::with_nodes(Config::default(), nodes);
        // Registered, leases held, the first node-status round done.
        cluster.world.advance(20_000);
        g.bench_function(format!("{nodes} idle nodes, 10 s virtual"), |b| {
            b.iter(|| cluster.world.advance(10_000))
        });
    }
    g.finish();
}

criterion_group!(benches, idle_nodes);
criterion_main!(benches);
