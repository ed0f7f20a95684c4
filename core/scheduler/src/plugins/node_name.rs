//! NodeName: a pod that names its node (`spec.nodeName` before binding) fits only there.

use crate::framework::{CycleState, NodeInfo, PodInfo, Status};
use crate::plugins::Plugin;

pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        "NodeName"
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if pod.node_name.is_empty() || *pod.node_name == *node.name {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::framework::Code;
    use crate::plugins::testing::{filter, node_with, pod};

    #[test]
    fn a_named_node_is_the_only_fit() {
        let (n1, n2) = (node_with("n1", &[], &[]), node_with("n2", &[], &[]));
        let anywhere = pod("p", json!({}), json!({}));
        let pinned = pod("p", json!({}), json!({"nodeName": "n1"}));
        let cases = [
            (&anywhere, &n1, Code::Success),
            (&pinned, &n1, Code::Success),
            (&pinned, &n2, Code::UnschedulableAndUnresolvable),
        ];
        for (i, (p, n, want)) in cases.into_iter().enumerate() {
            assert_eq!(filter(&NodeName, p, n).code, want, "case {i}");
        }
        assert_eq!(filter(&NodeName, &pinned, &n2).reasons, [ERR_REASON]);
    }
}
