//! A containerd of the bridge's own: its root, state, sockets, runc root, CNI configuration
//! and IP allocations all under one directory, so it runs beside any other containerd on the
//! machine. Stopping it kills containerd only: the node reaps its pods first (their shims
//! go with them). The configuration keys are those
//! `notes/real-node.md` found necessary here (`restrict_oom_score_adj` above all: without
//! CAP_SYS_RESOURCE every sandbox fails to start).
//!
//! Networking is CNI through containerd's CRI plugin: a conflist with the `bridge` plugin
//! (own bridge device, `isGateway`), `host-local` IPAM over the node's pod CIDR, and
//! `portmap` for `hostPort`s.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::cri;
use crate::images;

/// Where Debian's `containernetworking-plugins` puts the CNI binaries.
pub const CNI_BIN_DIR: &str = "/usr/lib/cni";

/// What an instance is made of.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Everything of this instance lives here.
    pub dir: PathBuf,
    /// The pod subnet (`10.89.0.0/24`); its first address is the bridge's (the gateway).
    pub pod_cidr: String,
    /// The bridge device's name (at most 15 characters), unique on the machine.
    pub bridge: String,
}

/// A running containerd; stopped (and its bridge device removed) on drop.
pub struct Containerd {
    pub settings: Settings,
    pub socket: PathBuf,
    child: Child,
}

fn config(s: &Settings, socket: &Path) -> String {
    let d = s.dir.display();
    let cri = r#"[plugins."io.containerd.grpc.v1.cri"]"#;
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"

{cri}
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{d}/cni"
"#,
        socket = socket.display(),
        pause = images::PAUSE_IMAGE,
    )
}

/// The CNI network of the node: one bridge, host-local IPAM over the pod CIDR, portmap.
fn conflist(s: &Settings) -> String {
    json!({
        "cniVersion": "1.0.0",
        "name": format!("kubeplay-{}", s.bridge),
        "plugins": [
            {
                "type": "bridge", "bridge": s.bridge, "isGateway": true, "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": s.pod_cidr}]],
                    "dataDir": s.dir.join("ipam").display().to_string(),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": true}},
        ],
    })
    .to_string()
}

impl Containerd {
    /// Writes the configuration, starts containerd, waits until its CRI says the runtime and
    /// the network are ready, and imports the pause and busybox images.
    pub async fn start(settings: Settings) -> anyhow::Result<Containerd> {
        if settings.bridge.len() > 15 {
            bail!(
                "bridge name {:?} is longer than 15 characters",
                settings.bridge
            );
        }
        for bin in ["containerd", "runc", "ctr"] {
            if Command::new(bin).arg("--version").output().is_err() {
                bail!("{bin} not found: apt-get install containerd runc (./dev setup does)");
            }
        }
        if !Path::new(CNI_BIN_DIR).join("bridge").exists() {
            bail!("no CNI plugins in {CNI_BIN_DIR}: apt-get install containernetworking-plugins");
        }
        let dir = &settings.dir;
        std::fs::create_dir_all(dir.join("cni"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let socket = dir.join("containerd.sock");
        std::fs::write(dir.join("config.toml"), config(&settings, &socket))?;
        std::fs::write(dir.join("cni/10-kubeplay.conflist"), conflist(&settings))?;
        let log = std::fs::File::create(dir.join("containerd.log"))?;
        // A process group of its own: a terminal's Ctrl-C reaches the bridge alone, which
        // reaps its pods through containerd first and stops it after.
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("starting containerd")?;
        let mut me = Containerd {
            settings,
            socket,
            child,
        };
        me.wait_ready().await?;
        images::build_and_import(&me.socket, &me.settings.dir.join("images"))?;
        Ok(me)
    }

    /// Polls the CRI `Status` until RuntimeReady and NetworkReady (10 s at most).
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("containerd exited ({status}): {}", self.log_tail());
            }
            match cri::Cri::connect(&self.socket).await {
                Ok(mut c) => match c.ready().await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "containerd did not become ready in 10 s: {last}; {}",
            self.log_tail()
        )
    }

    /// The last lines containerd wrote, for error messages.
    pub fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.settings.dir.join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The bridge plugin leaves its device behind on CNI DEL.
        let _ = Command::new("ip")
            .args(["link", "delete", &self.settings.bridge])
            .stderr(Stdio::null())
            .status();
    }
}
