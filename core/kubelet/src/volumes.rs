//! The volume manager (`pkg/kubelet/volumemanager` upstream): a pod's volumes are published
//! (CSI `NodePublishVolume`) before its sandbox starts and unpublished after it stops, before
//! the sandbox is removed. Every kind a node here provides goes through a CSI driver: inline
//! CSI volumes and CSI PersistentVolumes through theirs; emptyDir, hostPath and
//! hostPath/local PersistentVolumes through the node's own plugin ([`NODE_VOLUME_DRIVER`]:
//! on a real node the bridge's hostpath plugin, which keeps host paths under its allowed
//! root). The runtime then mounts each published path (`kuberuntime.rs` names them).
//! ConfigMap, Secret, downwardAPI and projected volumes are not provided yet.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cri::CriCall;
use super::{kuberuntime, str_of, Kubelet, KubeletTimer, Step, Worker};
use apiserver::{Method, Request};
use client::Ctx;

/// The node's own volume plugin: emptyDir and hostPath volumes are published through it.
pub const NODE_VOLUME_DRIVER: &str = "hostpath.csi.kubeplay.io";
/// What a volume published through [`NODE_VOLUME_DRIVER`] is (`emptyDir`, `hostPath`), in
/// its volume context.
pub const VOLUME_KIND: &str = "kubeplay.io/volume-kind";
/// A hostPath volume's path and type, in its volume context.
pub const HOST_PATH: &str = "kubeplay.io/host-path";
pub const HOST_PATH_TYPE: &str = "kubeplay.io/host-path-type";
/// An ephemeral volume (an inline CSI volume, an emptyDir): its data goes with the pod.
pub const EPHEMERAL: &str = "csi.storage.k8s.io/ephemeral";

/// Back-off of a failed volume operation (upstream's `exponentialbackoff`: 500 ms doubling
/// to 2 min 2 s). A claim the binder completes a moment after the pod is bound is thus
/// published half a second later, not after an image pull's 10 s.
fn mount_back_off_ms(failures: u32) -> i64 {
    (500i64 << failures.saturating_sub(1).min(8)).min(122_000)
}

/// One of a pod's volumes as the volume manager publishes it: its name, and the call — or
/// why it cannot be published yet (a claim not bound, a volume type not provided).
#[derive(Clone, Debug)]
pub(super) struct PodVolume {
    pub name: String,
    pub publish: Result<CriCall, String>,
}

fn publish(
    driver: &str,
    volume_id: String,
    target: String,
    readonly: bool,
    context: BTreeMap<String, String>,
) -> CriCall {
    CriCall::NodePublishVolume {
        driver: driver.to_string(),
        volume_id,
        target_path: target,
        readonly,
        volume_context: context,
    }
}

/// `{kind, path, type}` of a host path published through the node's plugin.
fn host_path_context(path: &str, kind: &str) -> BTreeMap<String, String> {
    let mut context = BTreeMap::new();
    context.insert(VOLUME_KIND.to_string(), "hostPath".to_string());
    context.insert(HOST_PATH.to_string(), path.to_string());
    context.insert(HOST_PATH_TYPE.to_string(), kind.to_string());
    context
}

impl Kubelet {
    /// The pod's volumes to publish, in the order of `spec.volumes` (kinds a node here does
    /// not provide are left out).
    pub(super) fn pod_volumes(&self, ctx: &mut Ctx, pod: &Value, uid: &str) -> Vec<PodVolume> {
        kuberuntime::items(&pod["spec"]["volumes"])
            .iter()
            .filter_map(|v| {
                let publish = self.volume_publish(ctx, pod, uid, v)?;
                Some(PodVolume {
                    name: str_of(&v["name"]),
                    publish,
                })
            })
            .collect()
    }

    /// The publish call for one volume of the pod; `None` for kinds not provided.
    fn volume_publish(
        &self,
        ctx: &mut Ctx,
        pod: &Value,
        uid: &str,
        v: &Value,
    ) -> Option<Result<CriCall, String>> {
        let name = str_of(&v["name"]);
        let target = kuberuntime::volume_host_path(&self.node, uid, v)?;
        let ephemeral_id = format!("csi-{uid}-{name}");
        if v["emptyDir"].is_object() {
            let mut context = BTreeMap::new();
            context.insert(VOLUME_KIND.to_string(), "emptyDir".to_string());
            context.insert(EPHEMERAL.to_string(), "true".to_string());
            return Some(Ok(publish(
                NODE_VOLUME_DRIVER,
                ephemeral_id,
                target,
                false,
                context,
            )));
        }
        if v["hostPath"].is_object() {
            let context = host_path_context(
                &str_of(&v["hostPath"]["path"]),
                v["hostPath"]["type"].as_str().unwrap_or_default(),
            );
            return Some(Ok(publish(
                NODE_VOLUME_DRIVER,
                format!("hostpath-{uid}-{name}"),
                target,
                false,
                context,
            )));
        }
        if v["csi"].is_object() {
            let mut context = BTreeMap::new();
            if let Some(attributes) = v["csi"]["volumeAttributes"].as_object() {
                for (k, v) in attributes {
                    context.insert(k.clone(), str_of(v));
                }
            }
            for (k, field) in [
                ("csi.storage.k8s.io/pod.name", "name"),
                ("csi.storage.k8s.io/pod.namespace", "namespace"),
                ("csi.storage.k8s.io/pod.uid", "uid"),
            ] {
                context.insert(k.into(), str_of(&pod["metadata"][field]));
            }
            context.insert(EPHEMERAL.into(), "true".into());
            let driver = str_of(&v["csi"]["driver"]);
            return Some(Ok(publish(
                &driver,
                ephemeral_id,
                target,
                v["csi"]["readOnly"] == true,
                context,
            )));
        }
        // A claim: its PersistentVolume says how (upstream's desired-state populator reads
        // the same two objects).
        let claim = str_of(&v["persistentVolumeClaim"]["claimName"]);
        let namespace = str_of(&pod["metadata"]["namespace"]);
        let get = |ctx: &mut Ctx, path: String| {
            self.client
                .send(ctx, Request::new(Method::Get, &path))
                .value()
        };
        let pvc = get(
            ctx,
            format!("/api/v1/namespaces/{namespace}/persistentvolumeclaims/{claim}"),
        );
        // A claim or volume that is not there: the API server's message says so.
        if pvc["kind"] == "Status" {
            return Some(Err(str_of(&pvc["message"])));
        }
        let pv_name = str_of(&pvc["spec"]["volumeName"]);
        if pv_name.is_empty() {
            return Some(Err(format!(
                "PersistentVolumeClaim {namespace}/{claim} is not bound"
            )));
        }
        let pv = get(ctx, format!("/api/v1/persistentvolumes/{pv_name}"));
        if pv["kind"] == "Status" {
            return Some(Err(str_of(&pv["message"])));
        }
        let readonly = v["persistentVolumeClaim"]["readOnly"] == true;
        let spec = &pv["spec"];
        Some(if spec["csi"].is_object() {
            let mut context = BTreeMap::new();
            if let Some(attributes) = spec["csi"]["volumeAttributes"].as_object() {
                for (k, v) in attributes {
                    context.insert(k.clone(), str_of(v));
                }
            }
            Ok(publish(
                &str_of(&spec["csi"]["driver"]),
                str_of(&spec["csi"]["volumeHandle"]),
                target,
                readonly || spec["csi"]["readOnly"] == true,
                context,
            ))
        } else if let Some(path) = spec["local"]["path"]
            .as_str()
            .or(spec["hostPath"]["path"].as_str())
        {
            let kind = spec["hostPath"]["type"].as_str().unwrap_or_default();
            Ok(publish(
                NODE_VOLUME_DRIVER,
                format!("pv-{pv_name}"),
                target,
                readonly,
                host_path_context(path, kind),
            ))
        } else {
            Err(format!("PersistentVolume {pv_name}: only CSI, local and hostPath volumes are provided on this node"))
        })
    }

    /// Publishes volume `index` of the pod (`Step::Mount`); one that cannot be published
    /// yet fails at once, with the reason, and is tried again after a back-off.
    pub(super) fn publish_volume(&mut self, ctx: &mut Ctx, uid: &str, index: usize) {
        let Some(v) = self.pods.get(uid).and_then(|p| p.volumes.get(index)) else {
            return;
        };
        match v.publish.clone() {
            Ok(call) => self.call(uid, Step::Mount(index), call),
            Err(message) => self.mount_failed(ctx, uid, index, message),
        }
    }

    /// Tries volume `index` again after its back-off, reading its claim again.
    pub(super) fn retry_volume(&mut self, ctx: &mut Ctx, uid: &str, index: usize) {
        let Some(ps) = self.pods.get(uid) else { return };
        let volumes = kuberuntime::items(&ps.pod["spec"]["volumes"]);
        let name = ps
            .volumes
            .get(index)
            .map(|v| v.name.clone())
            .unwrap_or_default();
        let Some(spec) = volumes.iter().find(|v| str_of(&v["name"]) == name) else {
            return;
        };
        let pod = ps.pod.clone();
        if let Some(publish) = self.volume_publish(ctx, &pod, uid, spec) {
            if let Some(v) = self
                .pods
                .get_mut(uid)
                .and_then(|p| p.volumes.get_mut(index))
            {
                v.publish = publish;
            }
        }
        self.publish_volume(ctx, uid, index);
    }

    /// A volume is published; when all are, the sandbox (`WaitForAttachAndMount`) — or, for
    /// a pod deleted meanwhile, the way out.
    pub(super) fn volume_published(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        ps.mount_failures = 0;
        match ps.worker {
            Worker::Mounting { left } if left > 1 => {
                ps.worker = Worker::Mounting { left: left - 1 };
            }
            Worker::Mounting { .. } => {
                ps.worker = Worker::Syncing;
                let call = self.sandbox_call(&self.pods[uid]);
                self.call(uid, Step::Sandbox, call);
            }
            Worker::Draining => self.kill(ctx, uid),
            _ => {}
        }
    }

    /// `FailedMount` for the volume, and another try after a back-off.
    pub(super) fn mount_failed(&mut self, ctx: &mut Ctx, uid: &str, index: usize, message: String) {
        let volume = self.pods[uid]
            .volumes
            .get(index)
            .map(|v| v.name.clone())
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
        if ps.worker.terminating() {
            self.kill(ctx, uid);
            return;
        }
        ps.mount_failures += 1;
        let wait = mount_back_off_ms(ps.mount_failures);
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
        let volumes: Vec<CriCall> = self.pods[uid]
            .volumes
            .iter()
            .filter_map(|v| v.publish.clone().ok())
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
        self.set_worker(
            uid,
            Worker::UnpublishingVolumes {
                left: volumes.len(),
            },
        );
        for v in volumes {
            self.call(uid, Step::Unmount, v);
        }
    }

    /// A volume is unpublished; when all are, the sandbox is removed (or the pod finishes).
    pub(super) fn volume_unpublished(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        match ps.worker {
            Worker::UnpublishingVolumes { left } if left > 1 => {
                ps.worker = Worker::UnpublishingVolumes { left: left - 1 };
            }
            Worker::UnpublishingVolumes { .. } => self.volumes_gone(ctx, uid),
            _ => {}
        }
    }

    fn volumes_gone(&mut self, ctx: &mut Ctx, uid: &str) {
        match self.pods.get(uid).and_then(|p| p.sandbox.clone()) {
            Some(sandbox) => {
                self.set_worker(uid, Worker::RemovingSandbox);
                self.call(
                    uid,
                    Step::RemoveSandbox,
                    CriCall::RemovePodSandbox {
                        sandbox_id: sandbox,
                    },
                )
            }
            None => self.finish_deletion(ctx, uid),
        }
    }
}
