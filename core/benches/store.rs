//! The store's throughput: puts, point reads, and fan-out of one write to 10,000 watchers.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubeplay_core::store::Store;

fn value() -> Arc<[u8]> {
    Arc::from(&br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}"#[..])
}

fn puts(c: &mut Criterion) {
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("put 10k keys", |b| {
        let v = value();
        b.iter_batched(
            Store::new,
            |mut s| {
                for i in 0..10_000 {
                    s.put(&format!("/registry/pods/default/pod-{i}"), v.clone());
                }
                s
            },
            BatchSize::LargeInput,
        )
    });
    let mut s = Store::new();
    for i in 0..100_000 {
        s.put(&format!("/registry/pods/default/pod-{i}"), value());
    }
    let keys: Vec<String> = (0..10_000)
        .map(|i| format!("/registry/pods/default/pod-{}", i * 7))
        .collect();
    g.bench_function("get 10k keys of 100k", |b| {
        b.iter(|| {
            for k in &keys {
                black_box(s.get(k));
            }
        })
    });
    g.finish();
}

fn fan_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("fan-out of one put to 10k watchers", |b| {
        let mut s = Store::new();
        let ids: Vec<_> = (0..10_000)
            .map(|_| s.watch("/registry/pods/", true, 0).expect("watch"))
            .collect();
        let v = value();
        b.iter(|| {
            s.put("/registry/pods/default/web", v.clone());
            for id in &ids {
                black_box(s.take_events(*id).expect("events"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, puts, fan_out);
criterion_main!(benches);
