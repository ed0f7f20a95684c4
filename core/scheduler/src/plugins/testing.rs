//! Running one plugin as the framework would, for the plugins' table tests.

use std::sync::Arc;

use crate::framework::{CycleState, NodeInfo, PodInfo, Status};
use crate::plugins::Plugin;
use crate::snapshot::Snapshot;

/// A snapshot holding these nodes (with the pods already on them).
pub fn snapshot_with(nodes: &[NodeInfo]) -> Snapshot {
    Snapshot::from_nodes(nodes)
}

/// PreFilter then Filter on one node of `snap`; a skipped plugin passes.
pub fn filter_in(snap: &Snapshot, plugin: &dyn Plugin, pod: &PodInfo, node: &NodeInfo) -> Status {
    let mut state = CycleState::default();
    let pre = plugin.pre_filter(snap, pod, &mut state);
    match pre.code {
        crate::framework::Code::Skip => Status::success(),
        _ if !pre.is_success() => pre,
        _ => plugin.filter(&state, pod, node),
    }
}

/// PreFilter then Filter, in a snapshot of just this node.
pub fn filter(plugin: &dyn Plugin, pod: &PodInfo, node: &NodeInfo) -> Status {
    filter_in(
        &snapshot_with(std::slice::from_ref(node)),
        plugin,
        pod,
        node,
    )
}

/// PreScore, Score and NormalizeScore over all the snapshot's nodes: (raw, normalized).
pub fn scores_in(snap: &Snapshot, plugin: &dyn Plugin, pod: &PodInfo) -> (Vec<i64>, Vec<i64>) {
    let nodes: Vec<&NodeInfo> = snap.nodes.iter().collect();
    let mut state = CycleState::default();
    plugin.pre_score(snap, pod, &nodes, &mut state);
    let raw: Vec<i64> = nodes.iter().map(|n| plugin.score(&state, pod, n)).collect();
    let mut normalized = raw.clone();
    plugin.normalize(&state, &nodes, &mut normalized);
    (raw, normalized)
}

pub fn scores(plugin: &dyn Plugin, pod: &PodInfo, nodes: &[NodeInfo]) -> (Vec<i64>, Vec<i64>) {
    scores_in(&snapshot_with(nodes), plugin, pod)
}

/// A node with labels and these pods on it.
pub fn node_with(name: &str, labels: &[(&str, &str)], pods: &[PodInfo]) -> NodeInfo {
    let mut n = NodeInfo {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    for p in pods {
        n.add_pod(&Arc::new(p.clone()));
    }
    n
}

/// A pod from the fields of its spec (and metadata labels).
pub fn pod(name: &str, labels: serde_json::Value, spec: serde_json::Value) -> PodInfo {
    PodInfo::from_pod(&serde_json::json!({
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": spec,
    }))
}
