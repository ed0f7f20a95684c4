//! The API server's throughput: creates of a small Pod through the whole pipeline
//! (authentication, RBAC, admission, validation, storage).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubeplay_core::apiserver::{ApiServer, Config, Method, Request, ADMIN_TOKEN, VIEWER_TOKEN};
use serde_json::json;

fn pod_request(i: usize) -> Request {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i}"), "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.14.2", "resources": {"requests": {"cpu": "100m"}}}]}
    });
    Request::new(Method::Post, "/api/v1/namespaces/default/pods")
        .bearer(ADMIN_TOKEN)
        .json(&pod)
}

fn creates(c: &mut Criterion) {
    let mut g = c.benchmark_group("apiserver");
    g.throughput(Throughput::Elements(1_000));
    g.sample_size(20);
    let requests: Vec<Request> = (0..1_000).map(pod_request).collect();
    g.bench_function("create 1k pods (admin)", |b| {
        b.iter_batched(
            || ApiServer::new(Config::default()),
            |mut s| {
                for r in &requests {
                    assert_eq!(s.handle(r).code, 201);
                }
                s
            },
            BatchSize::LargeInput,
        )
    });
    // Through RBAC: the viewer may read, so a get runs the full authorizer.
    let mut s = ApiServer::new(Config::default());
    for r in &requests {
        s.handle(r);
    }
    let gets: Vec<Request> = (0..1_000)
        .map(|i| {
            Request::new(
                Method::Get,
                &format!("/api/v1/namespaces/default/pods/pod-{i}"),
            )
            .bearer(VIEWER_TOKEN)
        })
        .collect();
    g.bench_function("get 1k pods (viewer, RBAC)", |b| {
        b.iter(|| {
            for r in &gets {
                assert_eq!(s.handle(r).code, 200);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, creates);
criterion_main!(benches);
