//! NodeResourcesFit: a pod fits where its requests fit in what the node has left; scores
//! nodes by the `LeastAllocated` strategy (more room left is better), CPU and memory weighted
//! equally.

use crate::scheduler::framework::{
    CycleInput, FilterPlugin, NodeInfo, PodInfo, ScorePlugin, Status, MAX_NODE_SCORE,
};

pub struct NodeResourcesFit;

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

impl FilterPlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        let reasons = insufficient(pod, node);
        if reasons.is_empty() {
            Status::success()
        } else {
            Status {
                code: crate::scheduler::framework::Code::Unschedulable,
                reasons,
            }
        }
    }
}

/// `(allocatable - requested) * 100 / allocatable`, 0 when it does not fit.
fn least_allocated(requested: i64, allocatable: i64) -> i64 {
    if allocatable <= 0 || requested > allocatable {
        return 0;
    }
    (allocatable - requested) * MAX_NODE_SCORE / allocatable
}

impl ScorePlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }

    fn score(&self, input: &CycleInput, node: &NodeInfo) -> i64 {
        let cpu = least_allocated(
            node.non_zero_requested.milli_cpu + input.pod.non_zero_requests.milli_cpu,
            node.allocatable.milli_cpu,
        );
        let mem = least_allocated(
            node.non_zero_requested.memory + input.pod.non_zero_requests.memory,
            node.allocatable.memory,
        );
        (cpu + mem) / 2
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scheduler::framework::Resources;

    fn node(cpu: &str, mem: &str, pods: i64) -> NodeInfo {
        let mut n = NodeInfo {
            name: "n".into(),
            ..Default::default()
        };
        n.allocatable =
            Resources::from_list(&json!({"cpu": cpu, "memory": mem, "pods": pods.to_string()}));
        n
    }

    fn pod(cpu: &str, mem: &str) -> PodInfo {
        PodInfo::from_pod(
            &json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}}),
        )
    }

    #[test]
    fn filter_table() {
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
        ];
        for (i, (n, p, want)) in cases.into_iter().enumerate() {
            assert_eq!(NodeResourcesFit.filter(&p, &n).reasons, want, "case {i}");
        }
        let mut full = node("2", "4Gi", 110);
        full.add_pod(&pod("1500m", "1Gi"));
        assert_eq!(
            NodeResourcesFit.filter(&pod("1", "1Gi"), &full).reasons,
            ["Insufficient cpu"]
        );
    }

    #[test]
    fn least_allocated_prefers_room() {
        let (empty, mut half) = (node("4", "8Gi", 110), node("4", "8Gi", 110));
        half.add_pod(&pod("2", "4Gi"));
        let p = pod("1", "2Gi");
        let nodes = [&empty, &half];
        let images = Default::default();
        let input = CycleInput {
            pod: &p,
            total_nodes: nodes.len(),
            image_nodes: &images,
        };
        assert_eq!(NodeResourcesFit.score(&input, &empty), 75);
        assert_eq!(NodeResourcesFit.score(&input, &half), 25);
    }
}
