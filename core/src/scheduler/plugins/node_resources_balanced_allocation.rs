//! NodeResourcesBalancedAllocation: prefers nodes where CPU and memory would be used in the
//! same proportion — `(1 - std deviation of the fractions) * 100`.

use crate::scheduler::framework::{CycleInput, NodeInfo, ScorePlugin, MAX_NODE_SCORE};

pub struct NodeResourcesBalancedAllocation;

impl ScorePlugin for NodeResourcesBalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }

    fn score(&self, input: &CycleInput, node: &NodeInfo) -> i64 {
        let fraction = |req: i64, cap: i64| {
            if cap <= 0 {
                1.0
            } else {
                (req as f64 / cap as f64).min(1.0)
            }
        };
        let cpu = fraction(
            node.non_zero_requested.milli_cpu + input.pod.non_zero_requests.milli_cpu,
            node.allocatable.milli_cpu,
        );
        let mem = fraction(
            node.non_zero_requested.memory + input.pod.non_zero_requests.memory,
            node.allocatable.memory,
        );
        // The standard deviation of two values is half their distance.
        let std = (cpu - mem).abs() / 2.0;
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}
