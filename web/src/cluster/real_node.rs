//! A machine a bridge lends, as a node of the in-page cluster. Its kubelet is core's, running
//! here in the tab beside the simulated ones; the calls it makes wait until the page's bridge
//! session ([`crate::bridge`]) takes them across the socket, and their results — with the
//! time they really took — come back through here.
//!
//! None of this is recorded for sharing: a shared run cannot replay a real machine, and going
//! back in time is refused while one is joined (its containers really ran).

use std::rc::Rc;

use kubeplay_core::apiserver::{Delegated, Request, Response, ADMIN_TOKEN};
use kubeplay_core::kubelet::cri::{CriRequest, CriResponse};
use kubeplay_core::node_protocol::JoinedNode;

use super::Cluster;

/// Called once with a log's text (`None`: not there, or the machine did not answer).
pub type LogDone = Box<dyn FnOnce(Option<String>)>;

/// Reads a log file on a real machine (its path).
pub type LogReader = Rc<dyn Fn(String, LogDone)>;

/// The terminal's kubectl, as the cluster's administrator: as core's, except that the log of
/// a pod on a real machine (the API server's answer says where it is) is noted to be read
/// there — the reply comes later, over the bridge's socket.
pub(super) struct Terminal<'a> {
    pub cluster: &'a mut kubeplay_core::cluster::Cluster,
    pub log_read: Option<(String, String)>,
}

impl kubeplay_core::kubectl::Api for Terminal<'_> {
    fn send(&mut self, req: Request) -> Response {
        let mut answer = self.cluster.handle(&req.bearer(ADMIN_TOKEN));
        if let Some(Delegated::RemoteLog { node, path }) = answer.delegated.take() {
            self.log_read = Some((node, path));
        }
        answer
    }

    fn now(&self) -> kubeplay_core::sim::Time {
        self.cluster.world.now()
    }

    fn explain_docs(&self) -> Option<&serde_json::Value> {
        self.cluster.explain_docs.as_ref()
    }
}

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

    /// The log the last `kubectl` asked for that lives on a real machine: `(node, path)`.
    pub fn take_real_log_read(&self) -> Option<(String, String)> {
        self.real_log_read.borrow_mut().take()
    }

    /// Who reads log files on the real machine (the bridge connection, while joined).
    pub fn set_real_log_reader(&self, reader: Option<LogReader>) {
        *self.real_log_reader.borrow_mut() = reader;
    }

    /// Reads a log file on the real machine; `done` gets its text, or `None` (also at once,
    /// when no machine is joined).
    pub fn read_real_log(&self, path: String, done: LogDone) {
        let reader = self.real_log_reader.borrow().clone();
        match reader {
            Some(read) => read(path, done),
            None => done(None),
        }
    }

    /// Whether a lent machine is joined and running (going back in time is then refused).
    pub fn has_real_node_running(&self) -> bool {
        self.inner.borrow().has_remote_node_running()
    }
}
