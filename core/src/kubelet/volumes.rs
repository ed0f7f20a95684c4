//! The volume manager (`pkg/kubelet/volumemanager` upstream): a pod's CSI volumes are
//! published (CSI `NodePublishVolume`) before its sandbox starts and unpublished after it
//! stops, before the sandbox is removed. emptyDir and hostPath need no call: the runtime
//! mounts their directories (`kuberuntime.rs` names them).

use std::collections::BTreeMap;

use serde_json::Value;

use super::cri::CriCall;
use super::{back_off_ms, kuberuntime, str_of, Kubelet, KubeletTimer, NodeConfig, Step};
use crate::sim::Ctx;

/// The names of the pod's inline CSI volumes, in [`csi_volumes`]' order.
fn csi_volume_names(pod: &Value) -> Vec<String> {
    kuberuntime::items(&pod["spec"]["volumes"])
        .iter()
        .filter(|v| v["csi"].is_object())
        .map(|v| str_of(&v["name"]))
        .collect()
}

/// The CSI publish calls for a pod's inline CSI volumes.
pub(super) fn csi_volumes(node: &NodeConfig, pod: &Value, uid: &str) -> Vec<CriCall> {
    let mut calls = Vec::new();
    for v in kuberuntime::items(&pod["spec"]["volumes"]) {
        if !v["csi"].is_object() {
            continue;
        }
        let name = str_of(&v["name"]);
        let driver = str_of(&v["csi"]["driver"]);
        let mut volume_context = BTreeMap::new();
        if let Some(attributes) = v["csi"]["volumeAttributes"].as_object() {
            for (k, v) in attributes {
                volume_context.insert(k.clone(), str_of(v));
            }
        }
        for (k, field) in [
            ("csi.storage.k8s.io/pod.name", "name"),
            ("csi.storage.k8s.io/pod.namespace", "namespace"),
            ("csi.storage.k8s.io/pod.uid", "uid"),
        ] {
            volume_context.insert(k.into(), str_of(&pod["metadata"][field]));
        }
        volume_context.insert("csi.storage.k8s.io/ephemeral".into(), "true".into());
        calls.push(CriCall::NodePublishVolume {
            target_path: kuberuntime::volume_host_path(node, uid, v).unwrap_or_default(),
            volume_id: format!("csi-{uid}-{name}"),
            readonly: v["csi"]["readOnly"] == true,
            volume_context,
            driver,
        });
    }
    calls
}

impl Kubelet {
    /// A volume is published; when all are, the sandbox (`WaitForAttachAndMount`) — or, for
    /// a pod deleted meanwhile, the way out.
    pub(super) fn volume_published(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        ps.mounts_outstanding = ps.mounts_outstanding.saturating_sub(1);
        ps.mount_failures = 0;
        if ps.mounts_outstanding > 0 {
            return;
        }
        if ps.terminating {
            self.kill(ctx, uid);
        } else {
            let call = self.sandbox_call(&self.pods[uid]);
            self.call(uid, Step::Sandbox, call);
        }
    }

    /// `FailedMount` for the volume, and another try after a back-off.
    pub(super) fn mount_failed(&mut self, ctx: &mut Ctx, uid: &str, index: usize, message: String) {
        let volume = csi_volume_names(&self.pods[uid].pod)
            .into_iter()
            .nth(index)
            .unwrap_or_default();
        self.event(
            ctx,
            uid,
            "Warning",
            "FailedMount",
            format!("MountVolume.SetUp failed for volume \"{volume}\" : {message}"),
        );
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        if ps.terminating {
            ps.mounts_outstanding = ps.mounts_outstanding.saturating_sub(1);
            if ps.mounts_outstanding == 0 {
                self.kill(ctx, uid);
            }
            return;
        }
        ps.mount_failures += 1;
        let wait = back_off_ms(ps.mount_failures);
        self.timers.push((
            wait,
            KubeletTimer::RetryMount {
                uid: uid.to_string(),
                index,
            },
        ));
    }

    /// The sandbox stopped: unpublish the CSI volumes, then remove the sandbox.
    pub(super) fn sandbox_stopped(&mut self, ctx: &mut Ctx, uid: &str) {
        self.unpublish_volumes(ctx, uid);
    }

    /// Unpublishes the pod's CSI volumes (idempotent: also those that never were); then the
    /// sandbox is removed, or, without one, the pod finishes.
    pub(super) fn unpublish_volumes(&mut self, ctx: &mut Ctx, uid: &str) {
        let volumes: Vec<CriCall> = csi_volumes(&self.node, &self.pods[uid].pod, uid)
            .into_iter()
            .map(|c| match c {
                CriCall::NodePublishVolume {
                    driver,
                    volume_id,
                    target_path,
                    ..
                } => CriCall::NodeUnpublishVolume {
                    driver,
                    volume_id,
                    target_path,
                },
                other => other,
            })
            .collect();
        if volumes.is_empty() {
            self.volumes_gone(ctx, uid);
            return;
        }
        if let Some(ps) = self.pods.get_mut(uid) {
            ps.mounts_outstanding = volumes.len();
        }
        for v in volumes {
            self.call(uid, Step::Unmount, v);
        }
    }

    /// A volume is unpublished; when all are, the sandbox is removed (or the pod finishes).
    pub(super) fn volume_unpublished(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        ps.mounts_outstanding = ps.mounts_outstanding.saturating_sub(1);
        if ps.mounts_outstanding == 0 {
            self.volumes_gone(ctx, uid);
        }
    }

    fn volumes_gone(&mut self, ctx: &mut Ctx, uid: &str) {
        match self.pods.get(uid).and_then(|p| p.sandbox.clone()) {
            Some(sandbox) => self.call(
                uid,
                Step::RemoveSandbox,
                CriCall::RemovePodSandbox {
                    sandbox_id: sandbox,
                },
            ),
            None => self.finish_deletion(ctx, uid),
        }
    }
}
