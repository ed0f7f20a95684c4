//! What the kubelet and its garbage collection clean up, done here for a real node: dead
//! containers past the last one, a pod's directories, logs, volumes' data and cgroups after
//! its sandbox goes, every sandbox of the node when the bridge starts or stops (`reap`),
//! and the PLEG-style relist that notices containers that exited by themselves.

use std::collections::HashMap;
use std::path::Path;

use super::{lock, policy, rpc, RealRuntime, INSTANCE_LABEL, NODE_LABEL};
use crate::cri::v1;
use crate::csi_hostpath;

impl RealRuntime {
    /// Removes the exited containers named `name` of a sandbox older than attempt `keep`.
    pub(super) async fn remove_dead(&self, sandbox_id: &str, name: &str, keep: u32) {
        let mut rt = self.cri.runtime.clone();
        let Ok(list) = rt
            .list_containers(v1::ListContainersRequest {
                filter: Some(v1::ContainerFilter {
                    pod_sandbox_id: sandbox_id.into(),
                    state: Some(v1::ContainerStateValue {
                        state: v1::ContainerState::ContainerExited as i32,
                    }),
                    ..Default::default()
                }),
            })
            .await
        else {
            return;
        };
        for c in list.into_inner().containers {
            let meta = c.metadata.unwrap_or_default();
            if meta.name == name && meta.attempt < keep {
                let removed = rt
                    .remove_container(v1::RemoveContainerRequest {
                        container_id: c.id.clone(),
                    })
                    .await;
                if removed.is_ok() {
                    self.forget(std::iter::once(c.id.as_str()));
                }
            }
        }
    }

    /// Removes a sandbox (and its containers), then what the kubelet cleans up after a pod:
    /// its volume directories and its cgroups.
    pub(super) async fn remove_sandbox(&self, sandbox_id: &str) -> Result<(), String> {
        let mut rt = self.cri.runtime.clone();
        let containers = rt
            .list_containers(v1::ListContainersRequest {
                filter: Some(v1::ContainerFilter {
                    pod_sandbox_id: sandbox_id.into(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .containers;
        rt.remove_pod_sandbox(v1::RemovePodSandboxRequest {
            pod_sandbox_id: sandbox_id.into(),
        })
        .await
        .map_err(rpc)?;
        self.forget(containers.iter().map(|c| c.id.as_str()));
        let removed = self.lock_sandboxes().remove(sandbox_id);
        if let Some((config, uid)) = removed {
            let meta = config.metadata.unwrap_or_default();
            self.clean_pod(&uid, &meta.namespace, &meta.name);
        }
        Ok(())
    }

    /// Forgets what it knew of containers that are gone.
    pub(super) fn forget<'a>(&self, ids: impl Iterator<Item = &'a str>) {
        let mut stopping = self.lock_stopping();
        let mut starting = lock(&self.starting);
        let mut reported = lock(&self.reported);
        for id in ids {
            stopping.remove(id);
            starting.remove(id);
            reported.remove(id);
        }
    }

    /// Removes what the kubelet removes after a pod: its directories under the kubelet root
    /// (volumes unmounted first), its log directory, its inline CSI volumes' data, and its
    /// cgroup (containerd leaves the parent behind). Names that could not be a pod's are
    /// left alone: they become paths here.
    pub(super) fn clean_pod(&self, uid: &str, namespace: &str, name: &str) {
        if !policy::is_uid(uid) {
            return;
        }
        // A volume still mounted (the bridge stopping under a running pod) is unmounted
        // first: removing through a bind mount would delete the volume's data.
        let dir = self.settings.root_dir.join("pods").join(uid);
        for mount in crate::host::mounts_under(&dir) {
            let _ = csi_hostpath::unmount(&mount);
        }
        let _ = std::fs::remove_dir_all(dir);
        if policy::is_subdomain(namespace) && policy::is_subdomain(name) {
            let _ = std::fs::remove_dir_all(self.log_directory(namespace, name, uid));
        }
        let prefix = format!("csi-{uid}-");
        for volume in std::fs::read_dir(&self.settings.csi_data_dir)
            .into_iter()
            .flatten()
            .flatten()
        {
            if volume.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(volume.path());
                let _ = std::fs::remove_file(
                    self.settings
                        .csi_data_dir
                        .join(".ephemeral")
                        .join(volume.file_name()),
                );
            }
        }
        // cgroup v1: under each controller's hierarchy; v2: under the one unified tree.
        let parent = self.cgroup_parent(uid);
        let parent = parent.trim_start_matches('/');
        let mut dirs = vec![Path::new("/sys/fs/cgroup").join(parent)];
        for controller in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            dirs.push(controller.path().join(parent));
        }
        for dir in dirs {
            // Empty container cgroups first, then the pod's.
            for child in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if child.path().is_dir() {
                    let _ = std::fs::remove_dir(child.path());
                }
            }
            let _ = std::fs::remove_dir(&dir);
        }
    }

    /// Containers of this node that exited by themselves since the last look (a PLEG relist):
    /// `(id, exit code, the runtime's reason)`.
    pub async fn exited(&self) -> Result<Vec<(String, i64, String)>, String> {
        let mut rt = self.cri.runtime.clone();
        let mut labels = HashMap::new();
        labels.insert(INSTANCE_LABEL.to_string(), self.settings.instance.clone());
        let exited = rt
            .list_containers(v1::ListContainersRequest {
                filter: Some(v1::ContainerFilter {
                    state: Some(v1::ContainerStateValue {
                        state: v1::ContainerState::ContainerExited as i32,
                    }),
                    label_selector: labels,
                    ..Default::default()
                }),
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .containers;
        let mut out = Vec::new();
        for c in exited {
            let news = !self.lock_stopping().contains(&c.id)
                && !lock(&self.starting).contains(&c.id)
                && !lock(&self.reported).contains(&c.id);
            if !news {
                continue;
            }
            let status = rt
                .container_status(v1::ContainerStatusRequest {
                    container_id: c.id.clone(),
                    verbose: false,
                })
                .await
                .map_err(rpc)?
                .into_inner();
            let Some(status) = status.status else {
                continue;
            };
            lock(&self.reported).insert(c.id.clone());
            out.push((c.id, i64::from(status.exit_code), status.reason));
        }
        Ok(out)
    }

    /// The sandboxes (and their containers) on this node, of this bridge or an earlier one.
    pub async fn list_sandboxes(&self) -> Result<Vec<v1::PodSandbox>, String> {
        let mut labels = HashMap::new();
        labels.insert(NODE_LABEL.to_string(), self.settings.node.clone());
        let mut rt = self.cri.runtime.clone();
        Ok(rt
            .list_pod_sandbox(v1::ListPodSandboxRequest {
                filter: Some(v1::PodSandboxFilter {
                    label_selector: labels,
                    ..Default::default()
                }),
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .items)
    }

    /// Stops and removes every sandbox of this node: what an earlier bridge left, or all this
    /// one started when it goes. Returns how many were reaped.
    pub async fn reap(&self) -> Result<usize, String> {
        let sandboxes = self.list_sandboxes().await?;
        // Side by side: each sandbox's stop is mostly waiting (for its processes, CNI DEL).
        let reaped = futures_util::future::join_all(sandboxes.iter().map(|s| async move {
            let mut rt = self.cri.runtime.clone();
            rt.stop_pod_sandbox(v1::StopPodSandboxRequest {
                pod_sandbox_id: s.id.clone(),
            })
            .await
            .map_err(rpc)?;
            rt.remove_pod_sandbox(v1::RemovePodSandboxRequest {
                pod_sandbox_id: s.id.clone(),
            })
            .await
            .map_err(rpc)?;
            let label = |k: &str| s.labels.get(k).map_or("", String::as_str);
            self.lock_sandboxes().remove(&s.id);
            self.clean_pod(
                label("io.kubernetes.pod.uid"),
                label("io.kubernetes.pod.namespace"),
                label("io.kubernetes.pod.name"),
            );
            Ok::<(), String>(())
        }))
        .await;
        reaped.into_iter().collect::<Result<Vec<()>, String>>()?;
        // Nothing of this node is left: nothing to remember of its containers.
        lock(&self.stopping).clear();
        lock(&self.starting).clear();
        lock(&self.reported).clear();
        Ok(sandboxes.len())
    }
}
