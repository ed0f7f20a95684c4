//! `kubectl explain` in the page's terminal: its documentation (`static/explain.json`) is
//! what the bridge's OpenAPI documents say, and what it prints is what real kubectl prints
//! when it asks the bridge the same question.

use std::path::Path;

fn data_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("static/explain.json")
}

/// `static/explain.json` is generated from the OpenAPI documents the door serves;
/// `UPDATE_EXPECT=1` rewrites it.
#[test]
fn explain_data_matches_the_served_openapi() {
    kubeplay::check_generated(
        "static/explain.json",
        &kubeplay_bridge::kube_api::openapi::explain_data(),
        "cargo test --test integration explain",
    );
}

/// The same questions to real kubectl (against the door) and to the terminal's interpreter
/// (on a cluster holding `static/explain.json`): the same answers, byte for byte.
#[test]
fn explain_prints_what_real_kubectl_prints() {
    let door = kubeplay::Door::start(1, 1, 1);
    let kubectl = Path::new("/usr/bin/kubectl");
    let mut cluster = kubeplay_core::cluster::Cluster::new(Default::default());
    let docs = std::fs::read_to_string(data_path()).expect("static/explain.json");
    cluster.explain_docs = Some(serde_json::from_str(&docs).expect("explain.json is JSON"));
    for question in [
        "pods",
        "pods.spec.containers",
        "pods.spec.containers.ports",
        "pods.spec.containers.imagePullPolicy",
        "pods.spec.containers.resources.limits",
        "pods.metadata.creationTimestamp",
        "pod.metadata.labels",
        "deployment.spec",
        "deploy.spec.strategy.rollingUpdate.maxSurge",
        "svc.spec.ports",
        "nodes.status.conditions",
        "pvc.spec",
        "clusterrole.rules",
        "pods.spec.nope",
    ] {
        let real = door
            .shell(kubectl, &format!("kubectl explain {question}"))
            .output()
            .expect("running kubectl");
        let ours = kubeplay_core::kubectl::run(&mut cluster, &format!("explain {question}"));
        let real_out = String::from_utf8_lossy(&real.stdout);
        let real_err = String::from_utf8_lossy(&real.stderr);
        assert_eq!(ours.stdout, real_out, "kubectl explain {question}");
        assert_eq!(
            ours.stderr.trim_end(),
            real_err.trim_end(),
            "kubectl explain {question}"
        );
    }
}
