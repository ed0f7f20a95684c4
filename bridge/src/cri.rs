//! CRI v1 over tonic to containerd's unix socket, generated from the project's own
//! description of the protocol (`proto/cri/runtime.proto`); and the CSI messages and services
//! (`proto/csi/csi.proto`) the bridge's hostpath plugin serves.

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

/// The generated CRI `runtime.v1` messages and clients.
pub mod v1 {
    tonic::include_proto!("runtime.v1");
}

/// The generated CSI `csi.v1` messages, clients and servers.
pub mod csi {
    tonic::include_proto!("csi.v1");
}

use v1::image_service_client::ImageServiceClient;
use v1::runtime_service_client::RuntimeServiceClient;

/// A gRPC channel over a unix socket (tonic dials TCP by itself; the connector dials the
/// socket whatever the URI says).
pub async fn unix_channel(path: &Path) -> Result<Channel, tonic::transport::Error> {
    let path: PathBuf = path.to_path_buf();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
}

/// containerd's `RuntimeService` and `ImageService` on one connection.
#[derive(Clone)]
pub struct Cri {
    pub runtime: RuntimeServiceClient<Channel>,
    pub images: ImageServiceClient<Channel>,
}

impl Cri {
    pub async fn connect(socket: &Path) -> Result<Cri, tonic::transport::Error> {
        let channel = unix_channel(socket).await?;
        Ok(Cri {
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
        })
    }

    /// `Status`: Ok when RuntimeReady and NetworkReady, else the conditions that are not.
    pub async fn ready(&mut self) -> Result<(), String> {
        let status = self
            .runtime
            .status(v1::StatusRequest { verbose: false })
            .await
            .map_err(|e| e.message().to_string())?
            .into_inner();
        let not_ready: Vec<String> = status
            .status
            .map(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !c.status)
            .map(|c| format!("{}: {} {}", c.r#type, c.reason, c.message))
            .collect();
        if not_ready.is_empty() {
            Ok(())
        } else {
            Err(not_ready.join("; "))
        }
    }

    /// `containerd://1.6.20~ds1`, as a Node's `containerRuntimeVersion` says it.
    pub async fn version(&mut self) -> Result<String, tonic::Status> {
        let v = self
            .runtime
            .version(v1::VersionRequest {
                version: "v1".into(),
            })
            .await?
            .into_inner();
        Ok(format!("{}://{}", v.runtime_name, v.runtime_version))
    }

    /// The images containerd holds (each tag → size), for the Node's `status.images`.
    pub async fn images(
        &mut self,
    ) -> Result<std::collections::BTreeMap<String, i64>, tonic::Status> {
        let list = self
            .images
            .list_images(v1::ListImagesRequest { filter: None })
            .await?
            .into_inner();
        Ok(list
            .images
            .into_iter()
            .flat_map(|i| {
                let size = i64::try_from(i.size).unwrap_or(i64::MAX);
                i.repo_tags.into_iter().map(move |t| (t, size))
            })
            .collect())
    }
}
