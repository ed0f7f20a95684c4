//! Cases from the documented behaviour of topology spread constraints
//! (concepts/scheduling-eviction/topology-spread-constraints).

use apiserver::watch::{EventType, WatchEvent};
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::framework::Code;
use crate::plugins::testing::{filter_in, node_with, pod, scores_in, snapshot_with};

fn foo(name: &str) -> PodInfo {
    pod(name, json!({"app": "foo"}), json!({}))
}

fn zone_node(name: &str, zone: &str, pods: &[PodInfo]) -> NodeInfo {
    node_with(name, &[(HOSTNAME, name), (ZONE, zone)], pods)
}

fn spread(when: &str, skew: i64, extra: serde_json::Value) -> PodInfo {
    let mut c = json!({"maxSkew": skew, "topologyKey": ZONE, "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "foo"}}});
    for (k, v) in extra.as_object().into_iter().flatten() {
        c[k] = v.clone();
    }
    pod(
        "new",
        json!({"app": "foo"}),
        json!({"topologySpreadConstraints": [c]}),
    )
}

fn codes(nodes: &[NodeInfo], incoming: &PodInfo) -> Vec<Code> {
    let snap = snapshot_with(nodes);
    nodes
        .iter()
        .map(|n| filter_in(&snap, &PodTopologySpread::default(), incoming, n).code)
        .collect()
}

/// The documentation's example: zoneA holds 2 `foo` pods, zoneB 1; with maxSkew 1 the new
/// pod can only go to zoneB.
#[test]
fn max_skew_keeps_zones_even() {
    let nodes = [
        zone_node("node1", "zoneA", &[foo("a")]),
        zone_node("node2", "zoneA", &[foo("b")]),
        zone_node("node3", "zoneB", &[foo("c")]),
        zone_node("node4", "zoneB", &[]),
    ];
    let incoming = spread("DoNotSchedule", 1, json!({}));
    let u = Code::Unschedulable;
    assert_eq!(
        codes(&nodes, &incoming),
        [u, u, Code::Success, Code::Success]
    );
    let s = filter_in(
        &snapshot_with(&nodes),
        &PodTopologySpread::default(),
        &incoming,
        &nodes[0],
    );
    assert_eq!(s.reasons, [ERR_CONSTRAINTS_NOT_MATCH]);
    // maxSkew 2 allows zoneA too.
    assert_eq!(
        codes(&nodes, &spread("DoNotSchedule", 2, json!({}))),
        [Code::Success; 4]
    );
}

#[test]
fn nodes_without_the_key_are_unresolvable() {
    let nodes = [
        zone_node("n1", "a", &[]),
        node_with("bare", &[(HOSTNAME, "bare")], &[]),
    ];
    let incoming = spread("DoNotSchedule", 1, json!({}));
    let s = filter_in(
        &snapshot_with(&nodes),
        &PodTopologySpread::default(),
        &incoming,
        &nodes[1],
    );
    assert_eq!(
        (s.code, s.reasons),
        (
            Code::UnschedulableAndUnresolvable,
            vec![ERR_NODE_LABEL_NOT_MATCH.to_string()]
        )
    );
}

/// With fewer domains than minDomains the global minimum counts as 0: two zones with one
/// pod each and minDomains 3 leave no room in either for a third pod with maxSkew 1.
#[test]
fn min_domains_forces_new_domains() {
    let nodes = [
        zone_node("n1", "a", &[foo("a")]),
        zone_node("n2", "b", &[foo("b")]),
    ];
    assert_eq!(
        codes(&nodes, &spread("DoNotSchedule", 1, json!({}))),
        [Code::Success; 2]
    );
    assert_eq!(
        codes(
            &nodes,
            &spread("DoNotSchedule", 1, json!({"minDomains": 3}))
        ),
        [Code::Unschedulable; 2]
    );
}

#[test]
fn node_affinity_policy_decides_which_domains_count() {
    // zoneC is excluded by the pod's node selector: its empty domain does not lower the min.
    let nodes = [
        node_with("n1", &[(ZONE, "a"), ("pool", "x")], &[foo("a")]),
        node_with("n2", &[(ZONE, "b"), ("pool", "x")], &[foo("b")]),
        node_with("n3", &[(ZONE, "c"), ("pool", "y")], &[]),
    ];
    let mut incoming = spread("DoNotSchedule", 1, json!({}));
    incoming.node_selector = [("pool".to_string(), "x".to_string())].into();
    let snap = snapshot_with(&nodes);
    let plugin = PodTopologySpread::default();
    assert!(filter_in(&snap, &plugin, &incoming, &nodes[0]).is_success());
    let mut ignore = spread("DoNotSchedule", 1, json!({"nodeAffinityPolicy": "Ignore"}));
    ignore.node_selector = incoming.node_selector.clone();
    // With zone c counted (Ignore) the least is 0, and zone a would hold 2.
    assert_eq!(
        filter_in(&snap, &plugin, &ignore, &nodes[0]).code,
        Code::Unschedulable
    );
}

#[test]
fn schedule_anyway_prefers_the_emptier_zone() {
    let nodes = [
        zone_node("n1", "a", &[foo("a"), foo("b")]),
        zone_node("n2", "a", &[]),
        zone_node("n3", "b", &[]),
    ];
    let (raw, normalized) = scores_in(
        &snapshot_with(&nodes),
        &PodTopologySpread::default(),
        &spread("ScheduleAnyway", 1, json!({})),
    );
    // 2 pods × ln(2 zones + 2) = 2.77 → 3 in zone a; 0 in zone b.
    assert_eq!(raw, [3, 3, 0]);
    assert_eq!(normalized, [0, 0, 100]);
}

#[test]
fn system_defaults_spread_a_replica_sets_pods() {
    let nodes = [
        zone_node("n1", "a", &[foo("a"), foo("b")]),
        zone_node("n2", "b", &[foo("c")]),
        zone_node("n3", "c", &[]),
    ];
    let mut snap = snapshot_with(&nodes);
    let plain = pod("new", json!({"app": "foo"}), json!({}));
    // No Service or ReplicaSet selects it: nothing to spread by.
    let (raw, _) = scores_in(&snap, &PodTopologySpread::default(), &plain);
    assert_eq!(raw, [0, 0, 0]);
    snap.apply(
        crate::snapshot::Kind::ReplicaSet,
        &WatchEvent::new(
            EventType::Added,
            json!({"metadata": {"name": "foo-rs", "namespace": "default"},
                "spec": {"selector": {"matchLabels": {"app": "foo"}}}}),
        ),
    );
    let (_, normalized) = scores_in(&snap, &PodTopologySpread::default(), &plain);
    assert!(
        normalized[2] > normalized[1] && normalized[1] > normalized[0],
        "{normalized:?}"
    );
}

/// PreFilter's counts are kept across cycles and brought up to date from the snapshot's
/// changes: they must equal a fresh count after pods come and go, and after nodes change.
#[test]
fn cached_counts_follow_the_snapshot() {
    let nodes = [
        zone_node("n1", "a", &[]),
        zone_node("n2", "b", &[]),
        zone_node("n3", "c", &[]),
    ];
    let mut snap = snapshot_with(&nodes);
    let plugin = PodTopologySpread::default();
    let incoming = spread("DoNotSchedule", 1, json!({}));
    let verdicts = |snap: &Snapshot, plugin: &PodTopologySpread| -> Vec<Code> {
        let mut state = CycleState::default();
        assert!(plugin.pre_filter(snap, &incoming, &mut state).is_success());
        snap.nodes
            .iter()
            .map(|n| plugin.filter(&state, &incoming, n).code)
            .collect()
    };
    assert_eq!(verdicts(&snap, &plugin), [Code::Success; 3]);
    let (a, b) = (Arc::new(foo("a")), Arc::new(foo("b")));
    snap.add_pod(&a, "n1");
    snap.add_pod(&b, "n2");
    let u = Code::Unschedulable;
    assert_eq!(verdicts(&snap, &plugin), [u, u, Code::Success]);
    // The same answer as a plugin that counts from scratch.
    assert_eq!(
        verdicts(&snap, &PodTopologySpread::default()),
        [u, u, Code::Success]
    );
    snap.remove_pod(&a, "n1");
    assert_eq!(verdicts(&snap, &plugin), [Code::Success, u, Code::Success]);
    // A node joins zone c: the node generation changes and the counts are rebuilt.
    let n4 = json!({"metadata": {"name": "n4", "labels": {HOSTNAME: "n4", ZONE: "d"}}});
    snap.set_node(&n4, false);
    assert_eq!(
        verdicts(&snap, &plugin),
        [Code::Success, u, Code::Success, Code::Success]
    );
}

/// PreScore reads its per-zone counts from the same kept index: a plugin that has scored
/// before scores as one that counts afresh, as pods come and go.
#[test]
fn kept_score_counts_equal_fresh_ones() {
    let nodes = [
        zone_node("n1", "a", &[foo("a")]),
        zone_node("n2", "b", &[]),
        zone_node("n3", "b", &[]),
    ];
    let mut snap = snapshot_with(&nodes);
    snap.apply(
        crate::snapshot::Kind::ReplicaSet,
        &WatchEvent::new(
            EventType::Added,
            json!({"metadata": {"name": "foo-rs", "namespace": "default"},
                "spec": {"selector": {"matchLabels": {"app": "foo"}}}}),
        ),
    );
    let kept = PodTopologySpread::default();
    let plain = pod("new", json!({"app": "foo"}), json!({}));
    let fresh = |snap: &Snapshot| scores_in(snap, &PodTopologySpread::default(), &plain);
    assert_eq!(scores_in(&snap, &kept, &plain), fresh(&snap));
    let (b, c) = (Arc::new(foo("b")), Arc::new(foo("c")));
    snap.add_pod(&b, "n2");
    snap.add_pod(&c, "n3");
    let after = scores_in(&snap, &kept, &plain);
    assert_eq!(after, fresh(&snap));
    // Zone b now holds two of the set: n1 (zone a, one pod) scores best.
    assert!(after.1[0] > after.1[1], "{after:?}");
    snap.remove_pod(&b, "n2");
    assert_eq!(scores_in(&snap, &kept, &plain), fresh(&snap));
}
