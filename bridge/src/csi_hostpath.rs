//! The bridge's CSI node plugin, `hostpath.csi.kubeplay.io`: a volume is a directory under
//! the plugin's data directory, published into a pod by a bind mount (read-only when asked).
//! It serves CSI's `Identity` and `Node` services over gRPC (tonic) on a unix socket, as any
//! node plugin does for the kubelet; it is node-only (no `Controller` service, no staging).
//!
//! Publish and unpublish are idempotent, as the spec requires: publishing what is already
//! mounted at the target succeeds, unpublishing what is not mounted succeeds. A volume whose
//! context says it is ephemeral (`csi.storage.k8s.io/ephemeral`: an inline volume of a pod,
//! or an emptyDir) is deleted when it is unpublished. The kubelet publishes hostPath volumes
//! through it too (`kubeplay.io/volume-kind: hostPath`): the source is then the host path
//! itself, allowed only as a direct, non-symlink child of the node's hostPath root.

use std::path::{Path, PathBuf};
use std::process::Command;

use tonic::{Request, Response, Status};

use crate::cri::csi;
use crate::host::is_mounted;
use csi::identity_server::{Identity, IdentityServer};
use csi::node_server::{Node, NodeServer};

use kubeplay_core::kubelet::volumes::{EPHEMERAL, HOST_PATH, HOST_PATH_TYPE, VOLUME_KIND};

pub use kubeplay_core::kubelet::volumes::NODE_VOLUME_DRIVER as DRIVER;

#[derive(Clone, Debug)]
pub struct HostPathPlugin {
    pub node_id: String,
    /// Where volumes' data lives.
    pub data_dir: PathBuf,
    /// Targets must lie under this root (the kubelet's root directory).
    pub target_root: PathBuf,
    /// hostPath volumes must be its direct children.
    pub host_path_root: PathBuf,
}

fn run(cmd: &mut Command) -> Result<(), Status> {
    let out = cmd
        .output()
        .map_err(|e| Status::internal(format!("{cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Status::internal(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

pub fn unmount(path: &Path) -> Result<(), Status> {
    run(Command::new("umount").arg(path))
}

impl HostPathPlugin {
    /// The directory of a volume: ids are single path components.
    fn volume_dir(&self, id: &str) -> Result<PathBuf, Status> {
        let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
        if id.is_empty() || id.len() > 128 || id.starts_with('.') || !id.bytes().all(plain) {
            return Err(Status::invalid_argument(format!(
                "volume id {id:?} is not a valid name"
            )));
        }
        Ok(self.data_dir.join(id))
    }

    /// The file that says a volume was published as ephemeral (kept beside the data, not in
    /// it, so the pod cannot see or remove it).
    fn ephemeral_marker(&self, id: &str) -> PathBuf {
        self.data_dir.join(".ephemeral").join(id)
    }

    /// A publish target: exactly `<root>/pods/<uid>/volumes/kubernetes.io~csi/<name>/mount`,
    /// the place the kubelet names, whose directories no pod can write.
    fn target(&self, target: &str) -> Result<PathBuf, Status> {
        let p = PathBuf::from(target);
        let parts: Vec<&str> = p
            .strip_prefix(&self.target_root)
            .map(|rest| rest.iter().filter_map(|c| c.to_str()).collect())
            .unwrap_or_default();
        let ok = matches!(
            parts.as_slice(),
            ["pods", uid, "volumes", "kubernetes.io~csi", name, "mount"]
                if crate::real_node::policy::is_uid(uid) && crate::real_node::policy::is_label(name)
        );
        if !ok {
            return Err(Status::invalid_argument(format!(
                "target path {target:?} is not <kubelet root>/pods/<uid>/volumes/kubernetes.io~csi/<volume>/mount under {}",
                self.target_root.display()
            )));
        }
        Ok(p)
    }

    /// Makes the target directory and checks no component of it is a symlink (it is then
    /// the directory the kubelet named, and the mount lands there).
    fn make_target(&self, target: &Path) -> Result<(), Status> {
        std::fs::create_dir_all(target)
            .map_err(|e| Status::internal(format!("creating {}: {e}", target.display())))?;
        let real = target
            .canonicalize()
            .map_err(|e| Status::internal(format!("{}: {e}", target.display())))?;
        let root = self.target_root.canonicalize().unwrap_or_default();
        if real != root.join(target.strip_prefix(&self.target_root).unwrap_or(target)) {
            return Err(Status::invalid_argument(format!(
                "target path {} leads elsewhere ({})",
                target.display(),
                real.display()
            )));
        }
        Ok(())
    }

    /// Serves the plugin on a unix socket until the task is aborted.
    pub async fn serve(self, socket: PathBuf) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(&socket);
        if let Some(dir) = socket.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let listener = tokio::net::UnixListener::bind(&socket)?;
        tonic::transport::Server::builder()
            .add_service(IdentityServer::new(self.clone()))
            .add_service(NodeServer::new(self))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener))
            .await?;
        Ok(())
    }
}

#[tonic::async_trait]
impl Identity for HostPathPlugin {
    async fn get_plugin_info(
        &self,
        _: Request<csi::GetPluginInfoRequest>,
    ) -> Result<Response<csi::GetPluginInfoResponse>, Status> {
        Ok(Response::new(csi::GetPluginInfoResponse {
            name: DRIVER.into(),
            vendor_version: env!("CARGO_PKG_VERSION").into(),
            manifest: Default::default(),
        }))
    }

    async fn get_plugin_capabilities(
        &self,
        _: Request<csi::GetPluginCapabilitiesRequest>,
    ) -> Result<Response<csi::GetPluginCapabilitiesResponse>, Status> {
        // Node-only: no controller service, no topology constraints.
        Ok(Response::new(csi::GetPluginCapabilitiesResponse {
            capabilities: Vec::new(),
        }))
    }

    async fn probe(
        &self,
        _: Request<csi::ProbeRequest>,
    ) -> Result<Response<csi::ProbeResponse>, Status> {
        Ok(Response::new(csi::ProbeResponse {
            ready: Some(csi::BoolValue {
                value: self.data_dir.is_dir(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl Node for HostPathPlugin {
    async fn node_stage_volume(
        &self,
        _: Request<csi::NodeStageVolumeRequest>,
    ) -> Result<Response<csi::NodeStageVolumeResponse>, Status> {
        Err(Status::unimplemented(
            "STAGE_UNSTAGE_VOLUME is not advertised",
        ))
    }

    async fn node_unstage_volume(
        &self,
        _: Request<csi::NodeUnstageVolumeRequest>,
    ) -> Result<Response<csi::NodeUnstageVolumeResponse>, Status> {
        Err(Status::unimplemented(
            "STAGE_UNSTAGE_VOLUME is not advertised",
        ))
    }

    async fn node_publish_volume(
        &self,
        request: Request<csi::NodePublishVolumeRequest>,
    ) -> Result<Response<csi::NodePublishVolumeResponse>, Status> {
        let r = request.into_inner();
        let data = self.volume_dir(&r.volume_id)?;
        let target = self.target(&r.target_path)?;
        if r.volume_capability.is_none() {
            return Err(Status::invalid_argument("volume capability missing"));
        }
        if is_mounted(&target) {
            return Ok(Response::new(csi::NodePublishVolumeResponse {}));
        }
        let source = if r.volume_context.get(VOLUME_KIND).map(String::as_str) == Some("hostPath") {
            let context = |k: &str| r.volume_context.get(k).map_or("", String::as_str);
            crate::real_node::policy::host_path_source(
                &self.host_path_root,
                std::path::Path::new(context(HOST_PATH)),
                context(HOST_PATH_TYPE),
            )
            .map_err(Status::invalid_argument)?
        } else {
            if r.volume_context.get(EPHEMERAL).map(String::as_str) == Some("true") {
                let marker = self.ephemeral_marker(&r.volume_id);
                std::fs::create_dir_all(self.data_dir.join(".ephemeral"))
                    .and_then(|()| std::fs::write(&marker, b""))
                    .map_err(|e| Status::internal(format!("marking {}: {e}", marker.display())))?;
            }
            std::fs::create_dir_all(&data)
                .map_err(|e| Status::internal(format!("creating {}: {e}", data.display())))?;
            data
        };
        self.make_target(&target)?;
        run(Command::new("mount")
            .arg("--bind")
            .arg(&source)
            .arg(&target))?;
        if r.readonly {
            run(Command::new("mount")
                .args(["-o", "remount,bind,ro"])
                .arg(&target))?;
        }
        Ok(Response::new(csi::NodePublishVolumeResponse {}))
    }

    async fn node_unpublish_volume(
        &self,
        request: Request<csi::NodeUnpublishVolumeRequest>,
    ) -> Result<Response<csi::NodeUnpublishVolumeResponse>, Status> {
        let r = request.into_inner();
        let source = self.volume_dir(&r.volume_id)?;
        let target = self.target(&r.target_path)?;
        if is_mounted(&target) {
            unmount(&target)?;
        }
        let _ = std::fs::remove_dir(&target);
        // An inline (ephemeral) volume lives as long as its pod's publication.
        let marker = self.ephemeral_marker(&r.volume_id);
        if marker.exists() {
            let _ = std::fs::remove_dir_all(&source);
            let _ = std::fs::remove_file(&marker);
        }
        Ok(Response::new(csi::NodeUnpublishVolumeResponse {}))
    }

    async fn node_get_capabilities(
        &self,
        _: Request<csi::NodeGetCapabilitiesRequest>,
    ) -> Result<Response<csi::NodeGetCapabilitiesResponse>, Status> {
        Ok(Response::new(csi::NodeGetCapabilitiesResponse {
            capabilities: Vec::new(),
        }))
    }

    async fn node_get_info(
        &self,
        _: Request<csi::NodeGetInfoRequest>,
    ) -> Result<Response<csi::NodeGetInfoResponse>, Status> {
        Ok(Response::new(csi::NodeGetInfoResponse {
            node_id: self.node_id.clone(),
            max_volumes_per_node: 0,
            accessible_topology: None,
        }))
    }
}
