//! NodeName: a pod that names its node (`spec.nodeName` before binding) fits only there.

use crate::scheduler::framework::{CycleState, NodeInfo, Plugin, PodInfo, Status};

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
