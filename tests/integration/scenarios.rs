//! Scenarios (`tests/scenarios/*.yaml`): each runs twice with its seed and must give the
//! same trace both times, and the trace must equal the stored snapshot (`*.trace`; run with
//! `UPDATE_EXPECT=1` to rewrite them after a deliberate change, then read the diff).

use std::path::{Path, PathBuf};

use kubeplay_core::scenario;
use kubeplay_core::trace::{render, FlowStep, TraceEvent, TraceKind};

fn scenario_files() -> Vec<PathBuf> {
    kubeplay::yaml_files("scenarios")
}

fn run(path: &Path) -> (kubeplay_core::cluster::Cluster, String) {
    let text = std::fs::read_to_string(path).expect("scenario");
    let s = scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cluster = scenario::run(&s).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let events: Vec<&TraceEvent> = cluster.world.trace().events().collect();
    let start = kubeplay_core::sim::EPOCH;
    let rendered = render(&events, start);
    (cluster, rendered)
}

#[test]
fn scenarios_are_deterministic_and_match_their_snapshots() {
    let mut failures = Vec::new();
    for path in scenario_files() {
        let (_, first) = run(&path);
        let (_, second) = run(&path);
        assert_eq!(
            first,
            second,
            "{}: the same seed gave two different traces",
            path.display()
        );
        let snapshot = path.with_extension("trace");
        if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
            std::fs::write(&snapshot, &first).expect("writing snapshot");
            continue;
        }
        let want = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if want != first {
            failures.push(format!(
                "{}: trace differs from {} (UPDATE_EXPECT=1 rewrites it):\n{}",
                path.display(),
                snapshot.display(),
                line_diff(&want, &first)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The seeds' flow: user → API server → deployment controller → replicaset controller →
/// scheduler → kubelet → runtime, in that order; every write goes through authentication,
/// authorization, admission and validation before storage.
#[test]
fn the_nginx_deployment_follows_the_flow_of_the_seeds() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/nginx.yaml");
    let (mut cluster, _) = run(&path);
    let events: Vec<TraceEvent> = cluster.world.trace().events().cloned().collect();
    // After the user's request, each step's first action comes after the previous step's.
    let acts = |e: &TraceEvent| {
        matches!(&e.kind, TraceKind::Request { verb, .. } if verb != "watch")
            || matches!(e.kind, TraceKind::Cri { .. })
    };
    let order = [
        FlowStep::UserSubmits,
        FlowStep::DeploymentController,
        FlowStep::ReplicaSetController,
        FlowStep::Scheduler,
        FlowStep::Kubelet,
        FlowStep::Runtime,
    ];
    let mut at = 0;
    for step in order {
        let found = events[at..].iter().position(|e| e.step == step && acts(e) && !matches!(&e.kind, TraceKind::Request { resource, .. } if resource == "nodes" || resource.starts_with("leases")));
        at += found.unwrap_or_else(|| panic!("no {step:?} after event {at}"));
    }
    for e in &events {
        let TraceKind::Request {
            verb, stages, code, ..
        } = &e.kind
        else {
            continue;
        };
        if !matches!(verb.as_str(), "create" | "update" | "patch" | "delete") || *code >= 400 {
            continue;
        }
        let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        let pos = |prefix: &str| names.iter().position(|n| n.starts_with(prefix));
        let (authn, authz, storage) = (pos("authentication"), pos("authorization"), pos("storage"));
        assert!(
            authn < authz && authz < storage,
            "{} {verb}: {names:?}",
            e.component
        );
        if verb == "create" || verb == "update" || verb == "patch" {
            let (mutating, validation, validating) = (
                pos("admission/mutating"),
                pos("validation"),
                pos("admission/validating"),
            );
            assert!(
                authz < mutating
                    && mutating < validation
                    && validation < validating
                    && validating < storage,
                "{} {verb}: {names:?}",
                e.component
            );
        }
    }
    // Three pods, Running, on three nodes.
    let pods = cluster
        .world
        .api()
        .handle(
            &kubeplay_core::apiserver::Request::new(
                kubeplay_core::apiserver::Method::Get,
                "/api/v1/namespaces/default/pods",
            )
            .bearer(kubeplay_core::apiserver::ADMIN_TOKEN),
        )
        .value();
    let mut nodes: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .map(|p| p["spec"]["nodeName"].as_str().unwrap())
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["node-1", "node-2", "node-3"]);
}

/// The sidecar injector changes the pod that is stored; the policy refuses a pod without CPU
/// limits with the reason, and admits one with them.
#[test]
fn mutating_and_validating_admission() {
    use kubeplay_core::apiserver::{Method, Request, ADMIN_TOKEN};
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/sidecar-and-policy.yaml");
    let (mut cluster, _) = run(&path);
    let mut get = |p: &str| {
        cluster
            .world
            .api()
            .handle(&Request::new(Method::Get, p).bearer(ADMIN_TOKEN))
            .value()
    };
    let web = get("/api/v1/namespaces/mesh/pods/web");
    let names: Vec<&str> = web["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "proxy"]);
    assert_eq!(
        web["metadata"]["annotations"]["sidecar.kubeplay.io/status"],
        "injected"
    );
    assert_eq!(web["status"]["phase"], "Running", "the sidecar runs too");
    assert_eq!(
        get("/api/v1/namespaces/strict/pods/limited")["status"]["phase"],
        "Running"
    );
    let bare = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}});
    let refused = cluster
        .world
        .api()
        .handle(
            &Request::new(Method::Post, "/api/v1/namespaces/strict/pods")
                .bearer(ADMIN_TOKEN)
                .json(&bare),
        )
        .value();
    assert_eq!(refused["code"], 403);
    assert_eq!(
        refused["message"],
        "pods \"bare\" is forbidden: ValidatingAdmissionPolicy 'require-cpu-limits' with binding 'require-cpu-limits-binding' denied request: every container needs a CPU limit (missing: web)"
    );
    // The trace shows which plugin mutated the pod.
    let injected = cluster.world.trace().events().any(|e| matches!(&e.kind, TraceKind::Request { stages, .. } if stages.iter().any(|s| s.name == "admission/mutating/SidecarInjector" && s.outcome.starts_with("mutated"))));
    assert!(injected);
}

/// Scale 3 → 10 → 2 on described nodes: every step reaches its count of Running pods, none
/// on the tainted node, and the pre-pulled image is not pulled again.
#[test]
fn scale_up_and_down_on_described_nodes() {
    use kubeplay_core::apiserver::{Method, Request, ADMIN_TOKEN};
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/scale.yaml"),
    )
    .unwrap();
    let mut s = scenario::parse(&text).unwrap();
    let all_steps = std::mem::take(&mut s.steps);
    let mut running_after = Vec::new();
    // Run the scenario step by step, counting Running pods after each `advance`.
    for i in 0..all_steps.len() {
        s.steps = all_steps[..=i].to_vec();
        if !matches!(all_steps[i], scenario::Step::Advance(_)) {
            continue;
        }
        let mut cluster = scenario::run(&s).unwrap();
        let pods = cluster
            .world
            .api()
            .handle(
                &Request::new(Method::Get, "/api/v1/namespaces/default/pods").bearer(ADMIN_TOKEN),
            )
            .value();
        let items = pods["items"].as_array().unwrap();
        assert!(
            items.iter().all(|p| p["spec"]["nodeName"] != "node-3"),
            "nothing on the tainted node"
        );
        running_after.push(
            items
                .iter()
                .filter(|p| {
                    p["status"]["phase"] == "Running"
                        && p["metadata"].get("deletionTimestamp").is_none()
                })
                .count(),
        );
        if i + 1 == all_steps.len() {
            let pulls = cluster.world.trace().events().filter(|e| matches!(&e.kind, TraceKind::Cri { node, method, .. } if node == "node-1" && method == "CRI PullImage")).count();
            assert_eq!(pulls, 0, "node-1 had nginx already");
        }
    }
    assert_eq!(running_after, [3, 10, 2]);
}

/// Where two traces part: a few lines before the first difference, then the lines of each
/// (`-` the snapshot's, `+` this run's) up to ten past it.
fn line_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let first = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let mut out = Vec::new();
    for (i, line) in w
        .iter()
        .enumerate()
        .take(first)
        .skip(first.saturating_sub(3))
    {
        out.push(format!("  {:>5}   {line}", i + 1));
    }
    for (i, line) in w.iter().enumerate().skip(first).take(10) {
        out.push(format!("- {:>5}   {line}", i + 1));
    }
    for (i, line) in g.iter().enumerate().skip(first).take(10) {
        out.push(format!("+ {:>5}   {line}", i + 1));
    }
    out.join("\n")
}
