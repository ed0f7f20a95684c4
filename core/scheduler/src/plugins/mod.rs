//! The in-tree plugins, one file each, and what each takes part in
//! (`pkg/scheduler/framework/plugins`, `apis/config/v1/default_plugins.go`).

pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_balanced_allocation;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod taint_toleration;
pub mod volume_binding;

#[cfg(test)]
pub mod testing;

use crate::framework::{CycleState, NodeInfo, PodInfo, Status, Write};
use crate::snapshot::Snapshot;

/// A plugin: each extension point has a default that does nothing, so a plugin implements
/// only the points it takes part in. The profile decides at which points it is called.
///
/// State flows through [`CycleState`]: PreFilter and PreScore compute once per cycle what
/// Filter and Score read per node. `add_pod`/`remove_pod` (upstream's PreFilterExtensions)
/// keep that state true when preemption or a nominated pod imagines a node with a pod more
/// or less.
pub trait Plugin: Send {
    fn name(&self) -> &'static str;

    fn pre_filter(&self, _snap: &Snapshot, _pod: &PodInfo, _state: &mut CycleState) -> Status {
        Status::success()
    }

    fn filter(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> Status {
        Status::success()
    }

    fn add_pod(
        &self,
        _snap: &Snapshot,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _added: &PodInfo,
        _node: &NodeInfo,
    ) {
    }

    fn remove_pod(
        &self,
        _snap: &Snapshot,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _removed: &PodInfo,
        _node: &NodeInfo,
    ) {
    }

    fn pre_score(
        &self,
        _snap: &Snapshot,
        _pod: &PodInfo,
        _feasible: &[&NodeInfo],
        _state: &mut CycleState,
    ) -> Status {
        Status::success()
    }

    fn score(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> i64 {
        0
    }

    /// PreBind: API writes to make before the pod is bound to `node` (VolumeBinding binds
    /// claims to volumes). Returned as data; the scheduler sends them.
    fn pre_bind(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> Vec<Write> {
        Vec::new()
    }

    /// Maps raw scores (of `nodes`, in order) onto `0..=MAX_NODE_SCORE`; the default leaves
    /// them as they are.
    fn normalize(&self, _state: &CycleState, _nodes: &[&NodeInfo], _scores: &mut [i64]) {}
}

/// The extension points a plugin implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    PreFilter,
    Filter,
    PostFilter,
    PreScore,
    Score,
    PreBind,
}

/// Every plugin the scheduler knows, with its extension points: the registry.
pub const REGISTRY: &[(&str, &[Point])] = {
    use Point::*;
    &[
        ("PrioritySort", &[]),
        ("NodeUnschedulable", &[Filter]),
        ("NodeName", &[Filter]),
        ("TaintToleration", &[Filter, Score]),
        ("NodeAffinity", &[Filter, Score]),
        ("NodePorts", &[PreFilter, Filter]),
        ("NodeResourcesFit", &[Filter, Score]),
        ("VolumeBinding", &[PreFilter, Filter, PreBind]),
        ("PodTopologySpread", &[PreFilter, Filter, PreScore, Score]),
        ("InterPodAffinity", &[PreFilter, Filter, PreScore, Score]),
        ("DefaultPreemption", &[PostFilter]),
        ("NodeResourcesBalancedAllocation", &[Score]),
        ("ImageLocality", &[PreScore, Score]),
        ("DefaultBinder", &[]),
    ]
};

/// The default profile's plugins in order, with their score weights (`getDefaultPlugins`).
pub const DEFAULT_PLUGINS: &[(&str, i64)] = &[
    ("PrioritySort", 0),
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("VolumeBinding", 0),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", 0),
];

pub fn points(name: &str) -> Option<&'static [Point]> {
    REGISTRY.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

/// A plugin instance from its name and its `pluginConfig` args (`null` for defaults).
pub fn build(name: &str, args: &serde_json::Value) -> Result<Option<Box<dyn Plugin>>, String> {
    use node_resources_fit::{NodeResourcesFit, Strategy};
    let plugin: Box<dyn Plugin> = match name {
        "NodeUnschedulable" => Box::new(node_unschedulable::NodeUnschedulable),
        "NodeName" => Box::new(node_name::NodeName),
        "TaintToleration" => Box::new(taint_toleration::TaintToleration),
        "NodeAffinity" => Box::new(node_affinity::NodeAffinity),
        "NodePorts" => Box::new(node_ports::NodePorts),
        "VolumeBinding" => Box::new(volume_binding::VolumeBinding),
        "ImageLocality" => Box::new(image_locality::ImageLocality),
        "NodeResourcesFit" => {
            let mut fit = NodeResourcesFit::default();
            let strategy = &args["scoringStrategy"];
            if let Some(resources) = strategy["resources"].as_array() {
                fit.resources = resources
                    .iter()
                    .map(|r| {
                        let w = r["weight"].as_i64().filter(|w| *w > 0).unwrap_or(1);
                        let name = r["name"].as_str().unwrap_or_default();
                        (node_resources_fit::ResourceName::parse(name), w)
                    })
                    .collect();
            }
            fit.strategy = match strategy["type"].as_str().unwrap_or("LeastAllocated") {
                "LeastAllocated" => Strategy::LeastAllocated,
                "MostAllocated" => Strategy::MostAllocated,
                "RequestedToCapacityRatio" => {
                    let shape = strategy["requestedToCapacityRatio"]["shape"].as_array();
                    let points: Vec<(i64, i64)> = shape
                        .into_iter()
                        .flatten()
                        .map(|p| {
                            let u = p["utilization"].as_i64().unwrap_or(0);
                            (u, p["score"].as_i64().unwrap_or(0))
                        })
                        .collect();
                    let increasing = points.windows(2).all(|w| w[0].0 < w[1].0);
                    let in_range =
                        points.iter().all(|(u, s)| (0..=100).contains(u) && (0..=10).contains(s));
                    if points.is_empty() || !increasing || !in_range {
                        return Err(format!("{name}: scoringStrategy.requestedToCapacityRatio.shape: utilization must be increasing in 0..100 and score in 0..10"));
                    }
                    Strategy::RequestedToCapacityRatio(points)
                }
                other => {
                    return Err(format!(
                        "{name}: scoringStrategy.type: Unsupported value: \"{other}\": supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""
                    ))
                }
            };
            Box::new(fit)
        }
        "NodeResourcesBalancedAllocation" => {
            let mut b =
                node_resources_balanced_allocation::NodeResourcesBalancedAllocation::default();
            if let Some(resources) = args["resources"].as_array() {
                b.resources = resources
                    .iter()
                    .filter_map(|r| r["name"].as_str())
                    .map(node_resources_fit::ResourceName::parse)
                    .collect();
            }
            Box::new(b)
        }
        "InterPodAffinity" => {
            let mut p = inter_pod_affinity::InterPodAffinity::default();
            if let Some(w) = args["hardPodAffinityWeight"].as_i64() {
                if !(0..=100).contains(&w) {
                    return Err(format!("{name}: hardPodAffinityWeight: Invalid value: {w}: not in valid range [0-100]"));
                }
                p.hard_pod_affinity_weight = w;
            }
            p.ignore_preferred_terms_of_existing_pods =
                args["ignorePreferredTermsOfExistingPods"] == true;
            Box::new(p)
        }
        "PodTopologySpread" => Box::new(pod_topology_spread::PodTopologySpread::new(
            args["defaultingType"] == "List",
        )),
        // Not plugins of a node: the queue's sort, preemption and binding live in the scheduler.
        "PrioritySort" | "DefaultPreemption" | "DefaultBinder" => return Ok(None),
        other => return Err(format!("plugin \"{other}\" does not exist")),
    };
    Ok(Some(plugin))
}
