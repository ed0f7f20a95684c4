//! NodeResourcesFit: a pod fits where its requests fit in what the node has left; nodes are
//! scored by the profile's strategy — `LeastAllocated` (the default: more room left is
//! better), `MostAllocated` (bin packing) or `RequestedToCapacityRatio` (a piecewise-linear
//! shape over utilization) — over weighted resources.

use crate::framework::{Code, CycleState, NodeInfo, PodInfo, Resources, Status, MAX_NODE_SCORE};
use crate::plugins::Plugin;

/// `ScoringStrategy.type`.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    LeastAllocated,
    MostAllocated,
    /// Points of `(utilization 0..=100, score 0..=10)`, utilization increasing.
    RequestedToCapacityRatio(Vec<(i64, i64)>),
}

pub struct NodeResourcesFit {
    pub strategy: Strategy,
    /// `(resource, weight)`.
    pub resources: Vec<(ResourceName, i64)>,
}

/// A resource a strategy weighs, resolved once from its name (not per node).
#[derive(Clone, Debug, PartialEq)]
pub enum ResourceName {
    Cpu,
    Memory,
    EphemeralStorage,
    Pods,
    Extended(String),
}

impl ResourceName {
    pub fn parse(name: &str) -> ResourceName {
        match name {
            "cpu" => ResourceName::Cpu,
            "memory" => ResourceName::Memory,
            "ephemeral-storage" => ResourceName::EphemeralStorage,
            "pods" => ResourceName::Pods,
            other => ResourceName::Extended(other.to_string()),
        }
    }
}

impl Default for NodeResourcesFit {
    fn default() -> Self {
        NodeResourcesFit {
            strategy: Strategy::LeastAllocated,
            resources: vec![(ResourceName::Cpu, 1), (ResourceName::Memory, 1)],
        }
    }
}

/// The reasons the pod does not fit, as upstream words them (`fitsRequest`).
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<String> {
    let mut reasons = Vec::new();
    if node.requested.pods + 1 > node.allocatable.pods {
        reasons.push("Too many pods".to_string());
    }
    let (req, free) = (&pod.requests, |used: i64, cap: i64| cap - used);
    if req.milli_cpu > 0
        && req.milli_cpu > free(node.requested.milli_cpu, node.allocatable.milli_cpu)
    {
        reasons.push("Insufficient cpu".into());
    }
    if req.memory > 0 && req.memory > free(node.requested.memory, node.allocatable.memory) {
        reasons.push("Insufficient memory".into());
    }
    if req.ephemeral_storage > 0
        && req.ephemeral_storage
            > free(
                node.requested.ephemeral_storage,
                node.allocatable.ephemeral_storage,
            )
    {
        reasons.push("Insufficient ephemeral-storage".into());
    }
    for (name, want) in &req.scalar {
        let cap = node.allocatable.scalar.get(name).copied().unwrap_or(0);
        let used = node.requested.scalar.get(name).copied().unwrap_or(0);
        if *want > 0 && *want > cap - used {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    reasons
}

/// One resource's amount in `r` (CPU in millicores).
pub fn amount(r: &Resources, name: &ResourceName) -> i64 {
    match name {
        ResourceName::Cpu => r.milli_cpu,
        ResourceName::Memory => r.memory,
        ResourceName::EphemeralStorage => r.ephemeral_storage,
        ResourceName::Pods => r.pods,
        ResourceName::Extended(other) => r.scalar.get(other).copied().unwrap_or(0),
    }
}

/// `(allocatable - requested) * 100 / allocatable`, 0 when it does not fit.
fn least_allocated(requested: i64, allocatable: i64) -> i64 {
    if requested > allocatable {
        return 0;
    }
    (allocatable - requested) * MAX_NODE_SCORE / allocatable
}

/// `requested * 100 / allocatable`; more than allocatable (pods without requests count
/// defaults) counts as full.
fn most_allocated(requested: i64, allocatable: i64) -> i64 {
    requested.min(allocatable) * MAX_NODE_SCORE / allocatable
}

/// The shape's value at `utilization`, interpolated between points, scaled to 0..=100.
fn broken_linear(shape: &[(i64, i64)], utilization: i64) -> i64 {
    let scale = MAX_NODE_SCORE / 10;
    for (i, (u, score)) in shape.iter().enumerate() {
        if utilization <= *u {
            if i == 0 {
                return score * scale;
            }
            let (pu, ps) = (shape[i - 1].0, shape[i - 1].1 * scale);
            return ps + (score * scale - ps) * (utilization - pu) / (u - pu).max(1);
        }
    }
    shape.last().map_or(0, |(_, s)| s * scale)
}

impl NodeResourcesFit {
    /// The node's score for the pod under the strategy (`resourceAllocationScorer.score`).
    fn strategy_score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let (mut sum, mut weights) = (0f64, 0i64);
        for (name, weight) in &self.resources {
            let alloc = amount(&node.allocatable, name);
            if alloc == 0 {
                continue;
            }
            // CPU and memory count the defaults of containers that request nothing.
            let req = match name {
                ResourceName::Cpu | ResourceName::Memory => {
                    amount(&node.non_zero_requested, name) + amount(&pod.non_zero_requests, name)
                }
                _ => amount(&node.requested, name) + amount(&pod.requests, name),
            };
            let score = match &self.strategy {
                Strategy::LeastAllocated => least_allocated(req, alloc),
                Strategy::MostAllocated => most_allocated(req, alloc),
                Strategy::RequestedToCapacityRatio(shape) => {
                    let utilization = if req > alloc { 100 } else { req * 100 / alloc };
                    let s = broken_linear(shape, utilization);
                    if s == 0 {
                        continue;
                    }
                    s
                }
            };
            sum += (score * weight) as f64;
            weights += weight;
        }
        if weights == 0 {
            return 0;
        }
        match self.strategy {
            Strategy::RequestedToCapacityRatio(_) => (sum / weights as f64).round() as i64,
            _ => sum as i64 / weights,
        }
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let reasons = insufficient(pod, node);
        if reasons.is_empty() {
            Status::success()
        } else {
            Status {
                code: Code::Unschedulable,
                reasons,
            }
        }
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        self.strategy_score(pod, node)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::plugins::testing::filter;

    fn node(cpu: &str, mem: &str, pods: i64) -> NodeInfo {
        let mut n = NodeInfo {
            name: "n".into(),
            ..Default::default()
        };
        n.allocatable = Resources::from_list(
            &json!({"cpu": cpu, "memory": mem, "pods": pods.to_string(), "example.com/gpu": "2"}),
        );
        n
    }

    fn pod(cpu: &str, mem: &str) -> PodInfo {
        PodInfo::from_pod(
            &json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}}),
        )
    }

    #[test]
    fn filter_table() {
        let fit = NodeResourcesFit::default();
        let mut gpus = pod("1", "1Gi");
        gpus.requests.scalar.insert("example.com/gpu".into(), 3);
        let cases = [
            (node("2", "4Gi", 110), pod("1", "1Gi"), vec![]),
            (
                node("2", "4Gi", 110),
                pod("3", "1Gi"),
                vec!["Insufficient cpu"],
            ),
            (
                node("2", "4Gi", 110),
                pod("3", "5Gi"),
                vec!["Insufficient cpu", "Insufficient memory"],
            ),
            (node("2", "4Gi", 0), pod("1", "1Gi"), vec!["Too many pods"]),
            (
                node("2", "4Gi", 110),
                gpus,
                vec!["Insufficient example.com/gpu"],
            ),
        ];
        for (i, (n, p, want)) in cases.into_iter().enumerate() {
            assert_eq!(filter(&fit, &p, &n).reasons, want, "case {i}");
        }
        let mut full = node("2", "4Gi", 110);
        full.add_pod(&Arc::new(pod("1500m", "1Gi")));
        assert_eq!(
            filter(&fit, &pod("1", "1Gi"), &full).reasons,
            ["Insufficient cpu"]
        );
    }

    #[test]
    fn strategies_score_as_upstream_documents() {
        let (empty, mut half) = (node("4", "8Gi", 110), node("4", "8Gi", 110));
        half.add_pod(&Arc::new(pod("2", "4Gi")));
        let p = pod("1", "2Gi");
        let state = CycleState::default();
        let least = NodeResourcesFit::default();
        assert_eq!(least.score(&state, &p, &empty), 75);
        assert_eq!(least.score(&state, &p, &half), 25);
        let most = NodeResourcesFit {
            strategy: Strategy::MostAllocated,
            ..NodeResourcesFit::default()
        };
        assert_eq!(most.score(&state, &p, &empty), 25);
        assert_eq!(most.score(&state, &p, &half), 75);
        // Bin packing with a shape: 0 % used → 0, 100 % used → 10 (scaled to 100).
        let ratio = NodeResourcesFit {
            strategy: Strategy::RequestedToCapacityRatio(vec![(0, 0), (100, 10)]),
            ..NodeResourcesFit::default()
        };
        assert_eq!(ratio.score(&state, &p, &empty), 25);
        assert_eq!(ratio.score(&state, &p, &half), 75);
        // Spreading with the inverse shape.
        let spread = NodeResourcesFit {
            strategy: Strategy::RequestedToCapacityRatio(vec![(0, 10), (100, 0)]),
            ..NodeResourcesFit::default()
        };
        assert_eq!(spread.score(&state, &p, &empty), 75);
        assert_eq!(broken_linear(&[(0, 0), (50, 10), (100, 0)], 25), 50);
        assert_eq!(broken_linear(&[(0, 0), (50, 10), (100, 0)], 75), 50);
    }
}
