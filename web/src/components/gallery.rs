//! The gallery of example manifests, each a lesson in one part of the control plane.

/// `(id, title, manifest)`.
pub const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "nginx",
        "nginx Deployment (3 replicas)",
        include_str!("../examples/nginx.yaml"),
    ),
    (
        "rolling-update",
        "Rolling update to a new image",
        include_str!("../examples/rolling-update.yaml"),
    ),
    (
        "daemonset",
        "DaemonSet: one pod per node",
        include_str!("../examples/daemonset.yaml"),
    ),
    (
        "statefulset",
        "StatefulSet: ordered, stable names",
        include_str!("../examples/statefulset.yaml"),
    ),
    (
        "probes",
        "Pod with startup, readiness and liveness probes",
        include_str!("../examples/probes.yaml"),
    ),
    (
        "affinity-taints",
        "Anti-affinity and tolerations",
        include_str!("../examples/affinity-taints.yaml"),
    ),
    (
        "preemption",
        "Priority and preemption",
        include_str!("../examples/preemption.yaml"),
    ),
    (
        "sidecar",
        "Sidecar injection (mutating admission)",
        include_str!("../examples/sidecar.yaml"),
    ),
    (
        "policy",
        "A policy that rejects pods without CPU limits",
        include_str!("../examples/policy.yaml"),
    ),
    (
        "real-node",
        "On a real machine (connect a bridge first)",
        include_str!("../examples/real-node.yaml"),
    ),
];

pub fn example(id: &str) -> Option<&'static str> {
    EXAMPLES
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|(_, _, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::EXAMPLES;
    use crate::cluster::Cluster;

    /// Every example applies on the page's cluster as its comment says; the policy example's
    /// first pod is refused with the policy's message.
    #[test]
    fn every_example_applies() {
        for (id, _, manifest) in EXAMPLES {
            let cluster = Cluster::new(1);
            let results = cluster.apply_manifest(manifest);
            assert!(!results.is_empty(), "{id}: no documents");
            for (i, r) in results.iter().enumerate() {
                if *id == "policy" && i == 1 {
                    let err = r
                        .as_ref()
                        .expect_err("the policy refuses a pod without limits");
                    assert!(err.contains("cpu"), "{err}");
                } else {
                    assert!(r.is_ok(), "{id} document {i}: {r:?}");
                }
            }
            cluster.advance(30_000);
        }
    }

    #[test]
    fn the_rolling_update_configures_the_existing_deployment() {
        let cluster = Cluster::new(1);
        let nginx = super::example("nginx").unwrap();
        assert_eq!(
            cluster.apply_manifest(nginx),
            [Ok("deployment.apps/nginx created".to_string())]
        );
        cluster.advance(20_000);
        assert_eq!(
            cluster.apply_manifest(nginx),
            [Ok("deployment.apps/nginx unchanged".to_string())]
        );
        let update = super::example("rolling-update").unwrap();
        assert_eq!(
            cluster.apply_manifest(update),
            [Ok("deployment.apps/nginx configured".to_string())]
        );
        cluster.advance(60_000);
        let out = cluster.kubectl("get rs");
        assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    }
}
