//! Cases from the documented behaviour of inter-pod affinity
//! (concepts/scheduling-eviction/assign-pod-node, "Inter-pod affinity and anti-affinity").

use serde_json::{json, Value};

use super::*;
use crate::framework::Code;
use crate::plugins::testing::{filter_in, node_with, pod, scores_in, snapshot_with};

fn zone(name: &str, zone: &str, pods: &[PodInfo]) -> NodeInfo {
    node_with(
        name,
        &[
            ("kubernetes.io/hostname", name),
            ("topology.kubernetes.io/zone", zone),
        ],
        pods,
    )
}

fn term(app: &str, key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key})
}

fn verdicts(nodes: &[NodeInfo], incoming: &PodInfo) -> Vec<(Code, Vec<String>)> {
    let snap = snapshot_with(nodes);
    nodes
        .iter()
        .map(|n| {
            let s = filter_in(&snap, &InterPodAffinity::default(), incoming, n);
            (s.code, s.reasons)
        })
        .collect()
}

#[test]
fn required_anti_affinity_keeps_one_per_host() {
    let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}}});
    let web = pod("web-1", json!({"app": "web"}), anti.clone());
    let nodes = [zone("n1", "a", &[web]), zone("n2", "a", &[])];
    let v = verdicts(&nodes, &pod("web-2", json!({"app": "web"}), anti));
    assert_eq!(
        v[0],
        (Code::Unschedulable, vec![ERR_ANTI_AFFINITY.to_string()])
    );
    assert_eq!(v[1].0, Code::Success);
}

#[test]
fn existing_pods_anti_affinity_is_respected() {
    // A pod in zone a refuses any app=db pod in its zone.
    let shy = pod(
        "shy",
        json!({"app": "shy"}),
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db", "topology.kubernetes.io/zone")]}}}),
    );
    let nodes = [
        zone("n1", "a", &[shy]),
        zone("n2", "b", &[]),
        zone("n3", "a", &[]),
    ];
    let v = verdicts(&nodes, &pod("db", json!({"app": "db"}), json!({})));
    let existing = (
        Code::Unschedulable,
        vec![ERR_EXISTING_ANTI_AFFINITY.to_string()],
    );
    assert_eq!(v, [existing.clone(), (Code::Success, vec![]), existing]);
}

#[test]
fn required_affinity_follows_the_matching_pods_zone() {
    let cache = pod("cache", json!({"app": "cache"}), json!({}));
    let nodes = [
        zone("n1", "a", &[]),
        zone("n2", "b", &[cache]),
        zone("n3", "b", &[]),
        node_with("bare", &[], &[]),
    ];
    let wants = json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("cache", "topology.kubernetes.io/zone")]}}});
    let v = verdicts(&nodes, &pod("web", json!({"app": "web"}), wants));
    let unresolvable = (
        Code::UnschedulableAndUnresolvable,
        vec![ERR_AFFINITY.to_string()],
    );
    assert_eq!(
        v,
        [
            unresolvable.clone(),
            (Code::Success, vec![]),
            (Code::Success, vec![]),
            unresolvable
        ]
    );
}

#[test]
fn the_first_pod_of_a_self_affine_group_may_go_anywhere_with_the_key() {
    let wants = json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "topology.kubernetes.io/zone")]}}});
    let nodes = [zone("n1", "a", &[]), node_with("bare", &[], &[])];
    let v = verdicts(&nodes, &pod("web", json!({"app": "web"}), wants.clone()));
    assert_eq!(v[0].0, Code::Success);
    assert_eq!(v[1].0, Code::UnschedulableAndUnresolvable);
    // Not self-affine: with no matching pod anywhere it cannot go anywhere.
    let v = verdicts(&nodes, &pod("other", json!({"app": "other"}), wants));
    assert_eq!(v[0].0, Code::UnschedulableAndUnresolvable);
}

#[test]
fn terms_select_namespaces() {
    let mut other_ns = pod("web-x", json!({"app": "web"}), json!({}));
    other_ns.namespace = "team-x".into();
    let nodes = [zone("n1", "a", &[other_ns]), zone("n2", "b", &[])];
    // By default a term looks in the pod's own namespace: the team-x pod does not count.
    let plain = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}}});
    assert_eq!(
        verdicts(&nodes, &pod("w", json!({}), plain))[0].0,
        Code::Success
    );
    // An empty namespaceSelector means every namespace.
    let mut all = term("web", "kubernetes.io/hostname");
    all["namespaceSelector"] = json!({});
    let spec = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [all]}}});
    assert_eq!(
        verdicts(&nodes, &pod("w", json!({}), spec))[0].0,
        Code::Unschedulable
    );
    // A namespace selector by labels.
    let mut snap = snapshot_with(&nodes);
    snap.namespace_labels.insert(
        "team-x".into(),
        [("team".to_string(), "x".to_string())].into(),
    );
    let mut by_label = term("web", "kubernetes.io/hostname");
    by_label["namespaceSelector"] = json!({"matchLabels": {"team": "x"}});
    let spec = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [by_label]}}});
    let s = filter_in(
        &snap,
        &InterPodAffinity::default(),
        &pod("w", json!({}), spec),
        &nodes[0],
    );
    assert_eq!(s.code, Code::Unschedulable);
}

#[test]
fn preferred_terms_score_by_topology() {
    let cache = pod("cache", json!({"app": "cache"}), json!({}));
    let nodes = [
        zone("n1", "a", &[cache]),
        zone("n2", "a", &[]),
        zone("n3", "b", &[]),
    ];
    let snap = snapshot_with(&nodes);
    let near = json!({"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": term("cache", "topology.kubernetes.io/zone")}]}}});
    let (raw, normalized) = scores_in(
        &snap,
        &InterPodAffinity::default(),
        &pod("w", json!({}), near),
    );
    assert_eq!(raw, [10, 10, 0]);
    assert_eq!(normalized, [100, 100, 0]);
    let far = json!({"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": term("cache", "topology.kubernetes.io/zone")}]}}});
    let (raw, normalized) = scores_in(
        &snap,
        &InterPodAffinity::default(),
        &pod("w", json!({}), far),
    );
    assert_eq!(raw, [-10, -10, 0]);
    assert_eq!(normalized, [0, 0, 100]);
    // An existing pod's required affinity to the incoming pod counts with weight 1.
    let follower = pod(
        "follower",
        json!({}),
        json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("leader", "kubernetes.io/hostname")]}}}),
    );
    let nodes = [zone("n1", "a", &[follower]), zone("n2", "a", &[])];
    let (raw, _) = scores_in(
        &snapshot_with(&nodes),
        &InterPodAffinity::default(),
        &pod("leader", json!({"app": "leader"}), json!({})),
    );
    assert_eq!(raw, [1, 0]);
}

#[test]
fn preemption_sees_counts_without_removed_pods() {
    let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}}});
    let web = pod("web-1", json!({"app": "web"}), json!({}));
    let nodes = [zone("n1", "a", std::slice::from_ref(&web))];
    let snap = snapshot_with(&nodes);
    let incoming = pod("web-2", json!({"app": "web"}), anti);
    let plugin = InterPodAffinity::default();
    let mut state = CycleState::default();
    assert!(plugin.pre_filter(&snap, &incoming, &mut state).is_success());
    assert_eq!(
        plugin.filter(&state, &incoming, &nodes[0]).code,
        Code::Unschedulable
    );
    let mut without = nodes[0].clone();
    without.remove_pod(&web);
    plugin.remove_pod(&snap, &mut state, &incoming, &web, &without);
    assert!(plugin.filter(&state, &incoming, &without).is_success());
}
