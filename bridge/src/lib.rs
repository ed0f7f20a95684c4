//! kubeplay-bridge: the native side of kubeplay.
//!
//! - [`kube_api`]: the kube-API door — core's API server over HTTPS for real kubectl.
//! - [`tls`]: the door's self-signed certificate and TLS listener.
//! - [`kubeconfig`]: the kubeconfig the door writes for its clients.
//! - [`node_agent`]: the door the page's bridge panel connects to (a WebSocket; the
//!   handshake of `node_protocol` and the machine behind it).
//! - [`real_node`]: this machine as a Node of the cluster, its pods run by containerd:
//!   [`cri`] (CRI over tonic), [`containerd`] (the bridge's own containerd and CNI network),
//!   [`images`] (pause and busybox built here, no registry), [`csi_hostpath`] (the node's
//!   CSI plugin, served over gRPC).
//!
//! Architecture invariant: the bridge depends on core, never the other way round, and wall
//! time enters the control plane only here (see `kube_api`).

pub mod containerd;
pub mod cri;
pub mod csi_hostpath;
pub mod host;
pub mod images;
pub mod kube_api;
pub mod kubeconfig;
pub mod node_agent;
pub mod real_node;
pub mod tls;

use anyhow::Context;
use kubeplay_core::apiserver::Config;
use kubeplay_core::cluster::Cluster;
use kubeplay_core::scheduler::profile::SchedulerConfig;

/// A door ready to serve: bound, with its certificate and the kubeconfig that reaches it.
pub struct HeadlessDoor {
    pub url: String,
    pub kubeconfig: String,
    listener: tls::TlsListener,
    door: kube_api::Door,
}

impl HeadlessDoor {
    /// Binds `listen` and starts a fresh control plane seeded with `seed`, with `nodes`
    /// simulated nodes.
    pub async fn bind(
        listen: &str,
        seed: u64,
        nodes: u32,
        speed: u32,
    ) -> anyhow::Result<HeadlessDoor> {
        Self::bind_with(
            listen,
            Config {
                seed,
                ..Config::default()
            },
            nodes,
            speed,
        )
        .await
    }

    /// Like [`HeadlessDoor::bind`], with the control plane's configuration (seed, history
    /// limit); its tokens are replaced by this run's.
    /// `speed` runs the cluster's clock that many times faster than the wall clock.
    pub async fn bind_with(
        listen: &str,
        config: Config,
        nodes: u32,
        speed: u32,
    ) -> anyhow::Result<HeadlessDoor> {
        Self::bind_scheduling(listen, config, nodes, speed, SchedulerConfig::default()).await
    }

    /// Like [`HeadlessDoor::bind_with`], the scheduler running the profiles of `scheduler`.
    pub async fn bind_scheduling(
        listen: &str,
        config: Config,
        nodes: u32,
        speed: u32,
        scheduler: SchedulerConfig,
    ) -> anyhow::Result<HeadlessDoor> {
        let tcp = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = tcp.local_addr()?;
        let creds = kubeconfig::Credentials::generate()?;
        // Only this run's tokens open the door: not the in-page cluster's well-known ones.
        let tokens = vec![
            (
                creds.admin_token.clone(),
                "kubernetes-admin".into(),
                vec!["system:masters".into()],
            ),
            (creds.viewer_token.clone(), "viewer".into(), vec![]),
        ];
        let start = kube_api::wall_clock();
        // The headless control plane: API server, controllers, scheduler.
        let mut cluster = Cluster::with_scheduler(
            Config {
                tokens,
                start,
                ..config
            },
            scheduler,
        );
        for _ in 0..nodes {
            cluster.add_simulated_node("4", "8Gi");
        }
        let cert = tls::Certificate::self_signed(&["127.0.0.1", "localhost"])?;
        let url = format!("https://{addr}");
        Ok(HeadlessDoor {
            kubeconfig: kubeconfig::render(&url, &cert.cert_pem, &creds),
            url,
            listener: tls::TlsListener::new(tcp, &cert)?,
            door: kube_api::Door::new(cluster, kube_api::Clock::new(start, speed)),
        })
    }

    /// The door's shared state (to join a real node to its cluster).
    pub fn door(&self) -> kube_api::Door {
        self.door.clone()
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let ticker = tokio::spawn(self.door.clone().tick());
        let served = axum::serve(self.listener, kube_api::app(self.door))
            .with_graceful_shutdown(shutdown)
            .await;
        ticker.abort();
        Ok(served?)
    }
}
