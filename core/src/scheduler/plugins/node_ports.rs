//! NodePorts: a pod asking for a host port fits only on a node where that port (protocol and
//! host IP considered; `0.0.0.0` conflicts with every IP) is free.

use crate::scheduler::framework::{CycleState, NodeInfo, Plugin, PodInfo, Status};
use crate::scheduler::snapshot::Snapshot;

pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct NodePorts;

fn conflicts(a: &(String, String, i64), b: &(String, String, i64)) -> bool {
    let any = |ip: &str| ip.is_empty() || ip == "0.0.0.0";
    a.0 == b.0 && a.2 == b.2 && (any(&a.1) || any(&b.1) || a.1 == b.1)
}

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        "NodePorts"
    }

    fn pre_filter(&self, _: &Snapshot, pod: &PodInfo, _: &mut CycleState) -> Status {
        if pod.host_ports.is_empty() {
            Status::skip()
        } else {
            Status::success()
        }
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|used| conflicts(want, used)))
        {
            Status::unschedulable(ERR_REASON)
        } else {
            Status::success()
        }
    }
}
