//! NodePorts: a pod asking for a host port fits only on a node where that port (protocol and
//! host IP considered; `0.0.0.0` conflicts with every IP) is free.

use crate::framework::{CycleState, NodeInfo, PodInfo, Status};
use crate::plugins::Plugin;
use crate::snapshot::Snapshot;

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::framework::Code;
    use crate::plugins::testing::{filter, node_with, pod};

    fn with_port(protocol: &str, ip: &str, port: i64) -> PodInfo {
        pod(
            "p",
            json!({}),
            json!({"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": port, "protocol": protocol, "hostIP": ip}]}]}),
        )
    }

    #[test]
    fn host_ports_conflict_by_protocol_port_and_address() {
        let node = node_with("n", &[], &[with_port("TCP", "10.0.0.1", 8080)]);
        let cases = [
            (with_port("TCP", "10.0.0.1", 8080), Code::Unschedulable),
            (with_port("TCP", "0.0.0.0", 8080), Code::Unschedulable),
            (with_port("TCP", "10.0.0.2", 8080), Code::Success),
            (with_port("UDP", "10.0.0.1", 8080), Code::Success),
            (with_port("TCP", "10.0.0.1", 8081), Code::Success),
            (pod("p", json!({}), json!({})), Code::Success),
        ];
        for (i, (p, want)) in cases.into_iter().enumerate() {
            assert_eq!(filter(&NodePorts, &p, &node).code, want, "case {i}");
        }
    }
}
