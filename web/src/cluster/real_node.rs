//! A machine a bridge lends, as a node of the in-page cluster. Its kubelet is core's, running
//! here in the tab beside the simulated ones; the calls it makes wait until the page's bridge
//! session ([`crate::bridge`]) takes them across the socket, and their results — with the
//! time they really took — come back through here.
//!
//! None of this is recorded for sharing: a shared run cannot replay a real machine, and going
//! back in time is refused while one is joined (its containers really ran).

use kubeplay_core::kubelet::cri::{CriRequest, CriResponse};
use kubeplay_core::node_protocol::JoinedNode;

use super::Cluster;

impl Cluster {
    /// Joins the lent machine as a node; a node whose machine was lost before comes back
    /// (its kubelet starts afresh, as a rebooted node's).
    pub fn join_real_node(&self, node: &JoinedNode) -> Result<(), String> {
        let images = kubeplay_core::collections::map_from(node.images.iter().cloned());
        self.inner
            .borrow_mut()
            .add_remote_node(node.config(), &images)
            .map(|_| ())
    }

    /// The calls `node`'s kubelet made since the last time, for the bridge.
    pub fn real_node_calls(&self, node: &str) -> Vec<CriRequest> {
        self.inner.borrow_mut().take_remote_requests(node)
    }

    /// The bridge's result of a call; it took `took_ms` on the machine.
    pub fn deliver(&self, node: &str, resp: CriResponse, took_ms: i64) {
        self.inner.borrow_mut().deliver(node, resp, took_ms);
    }

    /// The bridge saw a container exit by itself (its relist), with the runtime's reason.
    pub fn real_container_exited(&self, node: &str, container_id: &str, code: i64, reason: &str) {
        let reason = (!reason.is_empty()).then_some(reason);
        self.inner
            .borrow_mut()
            .remote_container_exited(node, container_id, code, reason);
    }

    /// The machine is gone (the bridge disconnected): to the cluster, the node lost power —
    /// its lease goes stale, the node lifecycle controller marks it NotReady and evicts its
    /// pods. The bridge removes the containers.
    pub fn lose_real_node(&self, node: &str) {
        self.inner.borrow_mut().set_node_power(node, false);
    }

    /// Whether `node` is a lent machine.
    pub fn is_real_node(&self, node: &str) -> bool {
        self.inner.borrow().is_remote_node(node)
    }

    /// Whether a lent machine is joined and running (going back in time is then refused).
    pub fn has_real_node_running(&self) -> bool {
        self.inner.borrow().has_remote_node_running()
    }
}
