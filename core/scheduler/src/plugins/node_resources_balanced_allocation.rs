//! NodeResourcesBalancedAllocation: prefers nodes where CPU and memory would be used in the
//! same proportion — `(1 - std deviation of the fractions) * 100`, over what pods really
//! request (no defaults for containers that request nothing).

use crate::framework::{CycleState, NodeInfo, PodInfo, MAX_NODE_SCORE};
use crate::plugins::Plugin;

use super::node_resources_fit::{amount, ResourceName};

pub struct NodeResourcesBalancedAllocation {
    pub resources: Vec<ResourceName>,
}

impl Default for NodeResourcesBalancedAllocation {
    fn default() -> Self {
        NodeResourcesBalancedAllocation {
            resources: vec![ResourceName::Cpu, ResourceName::Memory],
        }
    }
}

impl Plugin for NodeResourcesBalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let mut fractions = [0f64; 8];
        let mut n = 0;
        for name in self.resources.iter().take(fractions.len()) {
            let alloc = amount(&node.allocatable, name);
            if alloc == 0 {
                continue;
            }
            let req = amount(&node.requested, name) + amount(&pod.requests, name);
            fractions[n] = (req as f64 / alloc as f64).min(1.0);
            n += 1;
        }
        let fractions = &fractions[..n];
        let std = match fractions {
            // The standard deviation of two values is half their distance.
            [a, b] => (a - b).abs() / 2.0,
            [] | [_] => 0.0,
            _ => {
                let mean = fractions.iter().sum::<f64>() / n as f64;
                let var = fractions
                    .iter()
                    .map(|f| (f - mean) * (f - mean))
                    .sum::<f64>();
                (var / n as f64).sqrt()
            }
        };
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::framework::Resources;

    #[test]
    fn balanced_nodes_score_higher() {
        let mut node = NodeInfo {
            allocatable: Resources::from_list(&json!({"cpu": "4", "memory": "8Gi"})),
            ..Default::default()
        };
        let pod = |cpu: &str, mem: &str| {
            PodInfo::from_pod(
                &json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}}),
            )
        };
        let state = CycleState::default();
        let plugin = NodeResourcesBalancedAllocation::default();
        // Half the CPU and half the memory: perfectly balanced.
        assert_eq!(plugin.score(&state, &pod("2", "4Gi"), &node), 100);
        // All the CPU, a quarter of the memory: std = (1 - 0.25) / 2.
        assert_eq!(plugin.score(&state, &pod("4", "2Gi"), &node), 62);
        node.add_pod(&Arc::new(pod("2", "0")));
        assert_eq!(plugin.score(&state, &pod("0", "4Gi"), &node), 100);
    }
}
