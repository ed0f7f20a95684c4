//! NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes no pods, unless the pod
//! tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use crate::framework::{CycleState, NodeInfo, PodInfo, Status, Taint};
use crate::plugins::Plugin;

pub const ERR_REASON: &str = "node(s) were unschedulable";

pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        "NodeUnschedulable"
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            value: String::new(),
            effect: "NoSchedule".into(),
        };
        if pod.tolerations.iter().any(|t| t.tolerates(&taint)) {
            return Status::success();
        }
        Status::unresolvable(ERR_REASON)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::framework::Code;
    use crate::plugins::testing::{filter, node_with, pod};

    #[test]
    fn cordoned_nodes_take_only_pods_that_tolerate_it() {
        let mut cordoned = node_with("n", &[], &[]);
        cordoned.unschedulable = true;
        let open = node_with("m", &[], &[]);
        let plain = pod("p", json!({}), json!({}));
        let tolerant = pod(
            "p",
            json!({}),
            json!({"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}),
        );
        assert_eq!(
            filter(&NodeUnschedulable, &plain, &open).code,
            Code::Success
        );
        let refused = filter(&NodeUnschedulable, &plain, &cordoned);
        assert_eq!(
            (refused.code, refused.reasons),
            (
                Code::UnschedulableAndUnresolvable,
                vec![ERR_REASON.to_string()]
            )
        );
        assert_eq!(
            filter(&NodeUnschedulable, &tolerant, &cordoned).code,
            Code::Success
        );
    }
}
