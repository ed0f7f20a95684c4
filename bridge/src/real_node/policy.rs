//! What the bridge lets a pod do on the machine it runs on. The bridge runs containers for
//! whoever reaches the control plane, so it refuses what would hand them the machine:
//! privileged containers, the host's network, PID or IPC namespaces, capabilities beyond the
//! set Docker grants by default, and host paths outside the allowed roots (symlinks
//! resolved). Limits are capped by what the machine has. A refusal is the call's error, so
//! the kubelet reports it on the pod as it would any runtime error, and nothing is started.

use std::path::{Path, PathBuf};

use kubeplay_core::kubelet::cri::{ContainerConfig, SandboxConfig};

/// The capabilities a container of Docker (and containerd's CRI) gets by default; adding one
/// of these is a no-op, adding any other is refused.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

#[derive(Clone, Debug)]
pub struct Policy {
    /// Where volumes may live: the kubelet's root directory (emptyDir, CSI) and the root
    /// `hostPath` volumes must stay under.
    pub allowed_roots: Vec<PathBuf>,
    pub machine_millicpu: i64,
    pub machine_memory: i64,
}

impl Policy {
    pub fn check_sandbox(&self, c: &SandboxConfig) -> Result<(), String> {
        for (on, what) in [
            (c.host_network, "hostNetwork"),
            (c.host_pid, "hostPID"),
            (c.host_ipc, "hostIPC"),
        ] {
            if on {
                return Err(format!(
                    "{what} is not allowed on a kubeplay real node: pods get their own namespaces"
                ));
            }
        }
        Ok(())
    }

    /// Checks a container and resolves its mounts' host paths (creating the directories of
    /// volumes under the allowed roots, as the kubelet creates an emptyDir).
    pub fn check_container(&self, c: &ContainerConfig) -> Result<Vec<PathBuf>, String> {
        if c.security.privileged {
            return Err(format!(
                "container {:?}: privileged containers are not allowed on a kubeplay real node",
                c.name
            ));
        }
        for cap in &c.security.add_capabilities {
            let bare = cap.trim_start_matches("CAP_").to_ascii_uppercase();
            if !DEFAULT_CAPABILITIES.contains(&bare.as_str()) {
                return Err(format!(
                    "container {:?}: capability {cap} is not allowed on a kubeplay real node (only Docker's default set)",
                    c.name
                ));
            }
        }
        c.mounts
            .iter()
            .map(|m| self.resolve(Path::new(&m.host_path)))
            .collect()
    }

    /// The real path of a volume's directory, if it lies under an allowed root. A directory
    /// missing under the kubelet's root is created (an emptyDir's first use).
    fn resolve(&self, path: &Path) -> Result<PathBuf, String> {
        if !path.is_absolute() || path.components().any(|c| c.as_os_str() == "..") {
            return Err(format!(
                "hostPath {} must be absolute, without ..",
                path.display()
            ));
        }
        let lexically_allowed = self.allowed_roots.iter().any(|r| path.starts_with(r));
        if !path.exists() && lexically_allowed {
            std::fs::create_dir_all(path)
                .map_err(|e| format!("creating {}: {e}", path.display()))?;
        }
        let real = path
            .canonicalize()
            .map_err(|e| format!("hostPath {}: {e}", path.display()))?;
        let allowed = self
            .allowed_roots
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .any(|r| real.starts_with(r));
        if !allowed {
            let roots: Vec<String> = self
                .allowed_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            return Err(format!(
                "hostPath {} (resolved to {}) is outside the allowed roots ({}) of this kubeplay real node",
                path.display(),
                real.display(),
                roots.join(", ")
            ));
        }
        Ok(real)
    }

    /// CPU quota (µs per 100 ms period) and memory limit for cgroups: the container's
    /// limits, capped by the machine (no limit means the machine's).
    pub fn limits(&self, c: &ContainerConfig) -> (i64, i64) {
        let cap = |want: i64, machine: i64| {
            if want <= 0 || want > machine {
                machine
            } else {
                want
            }
        };
        let millicpu = cap(c.cpu_limit_millis, self.machine_millicpu);
        (
            millicpu * 100_000 / 1000,
            cap(c.memory_limit_bytes, self.machine_memory),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubeplay_core::kubelet::cri::Mount;

    fn policy(root: &Path) -> Policy {
        Policy {
            allowed_roots: vec![root.join("kubelet"), root.join("host")],
            machine_millicpu: 2000,
            machine_memory: 1 << 30,
        }
    }

    fn container(host_path: &str) -> ContainerConfig {
        ContainerConfig {
            name: "c".into(),
            mounts: vec![Mount {
                container_path: "/data".into(),
                host_path: host_path.into(),
                readonly: false,
            }],
            ..ContainerConfig::default()
        }
    }

    #[test]
    fn what_would_hand_out_the_machine_is_refused() {
        let dir = std::env::temp_dir().join(format!("kubeplay-policy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("host/ok")).unwrap();
        let _ = std::fs::remove_file(dir.join("host/escape"));
        std::os::unix::fs::symlink("/etc", dir.join("host/escape")).unwrap();
        let p = policy(&dir);
        let emptydir = dir.join("kubelet/pods/u/volumes/kubernetes.io~empty-dir/data");
        assert!(p
            .check_container(&container(emptydir.to_str().unwrap()))
            .is_ok());
        assert!(emptydir.is_dir(), "an emptyDir's directory is created");
        assert!(p
            .check_container(&container(dir.join("host/ok").to_str().unwrap()))
            .is_ok());
        let err = p.check_container(&container("/etc")).unwrap_err();
        assert!(err.contains("outside the allowed roots"), "{err}");
        let err = p
            .check_container(&container(dir.join("host/escape").to_str().unwrap()))
            .unwrap_err();
        assert!(err.contains("resolved to /etc"), "{err}");
        let err = p
            .check_container(&container(&format!("{}/host/../../etc", dir.display())))
            .unwrap_err();
        assert!(err.contains("without .."), "{err}");

        let mut privileged = ContainerConfig::default();
        privileged.security.privileged = true;
        assert!(p
            .check_container(&privileged)
            .unwrap_err()
            .contains("privileged"));
        let mut caps = ContainerConfig::default();
        caps.security.add_capabilities = vec!["NET_BIND_SERVICE".into()];
        assert!(p.check_container(&caps).is_ok());
        caps.security.add_capabilities = vec!["SYS_ADMIN".into()];
        assert!(p.check_container(&caps).unwrap_err().contains("SYS_ADMIN"));
        let host_net = SandboxConfig {
            host_network: true,
            ..SandboxConfig::default()
        };
        assert!(p
            .check_sandbox(&host_net)
            .unwrap_err()
            .contains("hostNetwork"));

        let mut big = ContainerConfig {
            cpu_limit_millis: 500,
            memory_limit_bytes: 64 << 20,
            ..ContainerConfig::default()
        };
        assert_eq!(p.limits(&big), (50_000, 64 << 20));
        big.cpu_limit_millis = 0;
        big.memory_limit_bytes = 1 << 40;
        assert_eq!(p.limits(&big), (200_000, 1 << 30));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
