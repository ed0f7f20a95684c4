//! The node's own objects (`kubelet_node_status.go` and `nodelease` upstream): the Node the
//! kubelet registers, its Ready condition, and the Lease it renews as its heartbeat.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Kubelet, KUBELET_VERSION, LEASE_DURATION_SECONDS};
use client::Ctx;

impl Kubelet {
    /// The Node object this kubelet registers (`registerWithAPIServer`).
    pub fn node_object(&self, images: &BTreeMap<String, i64>, now: &str) -> Value {
        let n = &self.node;
        let resources = json!({"cpu": n.cpu, "memory": n.memory, "pods": n.max_pods.to_string(), "ephemeral-storage": "100Gi"});
        let condition = |t: &str, status: &str, reason: &str, message: &str| json!({"type": t, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": now, "lastTransitionTime": now});
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": n.name, "labels": n.labels},
            "spec": {"podCIDR": n.pod_cidr, "podCIDRs": [n.pod_cidr]},
            "status": {
                "capacity": resources, "allocatable": resources,
                "conditions": [
                    condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                ],
                "addresses": [{"type": "InternalIP", "address": n.internal_ip}, {"type": "Hostname", "address": n.name}],
                "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION, "containerRuntimeVersion": n.runtime_version,
                             "osImage": n.os_image, "kernelVersion": n.kernel_version, "operatingSystem": "linux", "architecture": "amd64",
                             "machineID": "", "systemUUID": "", "bootID": ""},
                "images": images.iter().map(|(name, size)| json!({"names": [name], "sizeBytes": size})).collect::<Vec<_>>(),
            }
        })
    }

    /// Registers the node and its Lease; called once at start.
    pub fn register(&mut self, ctx: &mut Ctx, images: &BTreeMap<String, i64>) {
        let mut node = self.node_object(images, &ctx.now.rfc3339());
        if !self.node.taints.is_empty() {
            node["spec"]["taints"] = Value::Array(self.node.taints.clone());
        }
        let nodes = client::resource("", "nodes");
        if let Err(e) = self.client.create(ctx, nodes, None, &node) {
            if e.code == 409 {
                let _ = self.client.patch(
                    ctx,
                    nodes,
                    None,
                    &self.node.name,
                    &json!({"status": node["status"]}),
                );
            }
        }
        self.renew_lease(ctx);
    }

    /// Posts `Ready` again when the node's status says otherwise (the node lifecycle
    /// controller marked it `Unknown` while this kubelet was silent).
    pub(super) fn ensure_ready(&mut self, ctx: &mut Ctx) {
        let nodes = client::resource("", "nodes");
        let path = client::object_path(nodes, None, &self.node.name);
        let node = self
            .client
            .send(ctx, apiserver::Request::new(apiserver::Method::Get, &path))
            .value();
        let ready = apimachinery::api::node::ready(&node) == Some(true);
        if ready || node.get("status").is_none() {
            return;
        }
        let fresh = self.node_object(&BTreeMap::new(), &ctx.now.rfc3339());
        let patch = json!({"status": {"conditions": fresh["status"]["conditions"]}});
        let req = apiserver::Request::new(apiserver::Method::Patch, &format!("{path}/status"))
            .body("application/strategic-merge-patch+json", patch.to_string());
        self.client.send(ctx, req);
    }

    /// Renews the node Lease (`kube-node-lease/<node>`): the heartbeat the node lifecycle
    /// controller watches.
    pub fn renew_lease(&mut self, ctx: &mut Ctx) {
        self.ensure_ready(ctx);
        let leases = client::resource("coordination.k8s.io", "leases");
        let now = ctx.now.rfc3339();
        let patch = json!({"spec": {"renewTime": now}});
        if self
            .client
            .patch(
                ctx,
                leases,
                Some("kube-node-lease"),
                &self.node.name,
                &patch,
            )
            .is_err()
        {
            let lease = json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.node.name, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": self.node.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": now}
            });
            let _ = self
                .client
                .create(ctx, leases, Some("kube-node-lease"), &lease);
        }
    }
}
