//! What the bridge lets a pod do on the machine it runs on. The bridge runs containers for
//! whoever reaches the control plane, so it refuses what would hand them the machine:
//! privileged containers, the host's network, PID or IPC namespaces, capabilities beyond the
//! set Docker grants by default, host ports below 1024, and any host path but a pod's own
//! volumes and the direct children of the hostPath root. Limits are capped by what the
//! machine has. A refusal is the call's error, so the kubelet reports it on the pod as it
//! would any runtime error, and nothing is started.
//!
//! Why volume paths are matched exactly rather than resolved and compared: a path checked
//! now is mounted by runc later, and a pod that can write to a directory on the way could
//! swap it for a symlink in between (the subPath attacks upstream's kubelet had to close).
//! The paths allowed here have no component a pod can write: a pod's volume directories
//! live under directories only the bridge writes, and no pod may mount the hostPath root
//! itself, so none can change its children. `subPath` (a path inside a volume) is refused.

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
    /// The kubelet's root directory: pods' volumes under `pods/<uid>/volumes/`.
    pub kubelet_root: PathBuf,
    pub machine_millicpu: i64,
    pub machine_memory: i64,
}

/// A DNS label (`[a-z0-9-]`, at most 63): container and volume names.
pub fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A DNS subdomain (labels and dots, at most 253, not starting with a dot): pod names and
/// namespaces.
pub fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.starts_with('.') && s.split('.').all(is_label)
}

/// A pod uid as the API server makes them (hex and dashes), or any single safe component.
pub fn is_uid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn refused(what: String) -> String {
    format!("{what} is not allowed on a kubeplay real node")
}

/// The directory a hostPath volume may publish: `path` must be a direct child of `root`
/// (matched exactly, so no directory a pod can write lies on the way between this check and
/// the mount) and not a symlink; `type` as the API has it — a missing directory is created
/// for `DirectoryOrCreate` (and the unset type), must exist for `Directory`; other types
/// (files, sockets, devices) are not provided.
pub fn host_path_source(root: &Path, path: &Path, kind: &str) -> Result<PathBuf, String> {
    let shown = path.display();
    let parent_is_root = path.parent() == Some(root);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if !parent_is_root || name.is_empty() || name == ".." || name == "." {
        return Err(format!(
            "{} (hostPath volumes must be directly under {})",
            refused(format!("hostPath {shown}")),
            root.display()
        ));
    }
    match kind {
        "" | "DirectoryOrCreate" => {
            if std::fs::symlink_metadata(path).is_err() {
                std::fs::create_dir(path).map_err(|e| format!("creating {shown}: {e}"))?;
            }
        }
        "Directory" => {}
        other => {
            return Err(refused(format!(
                "hostPath {shown} of type {other} (directories only)"
            )))
        }
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("hostPath {shown}: {e}"))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).unwrap_or_default();
        return Err(refused(format!(
            "hostPath {shown} (a symlink, to {})",
            target.display()
        )));
    }
    if !meta.is_dir() {
        return Err(format!("hostPath {shown} is not a directory"));
    }
    Ok(path.to_path_buf())
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
                    "{}: pods get their own namespaces",
                    refused(what.into())
                ));
            }
        }
        if let Some(p) = c.port_mappings.iter().find(|p| p.host_port < 1024) {
            return Err(refused(format!("hostPort {} (below 1024)", p.host_port)));
        }
        Ok(())
    }

    /// Checks a container of the pod `uid` and gives its mounts' host paths.
    pub fn check_container(&self, c: &ContainerConfig, uid: &str) -> Result<Vec<PathBuf>, String> {
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
                    "{} (only Docker's default set)",
                    refused(format!("container {:?}: capability {cap}", c.name))
                ));
            }
        }
        c.mounts
            .iter()
            .map(|m| self.volume_path(Path::new(&m.host_path), uid))
            .collect()
    }

    /// The host path of a mount, if it is one a pod may have: a volume of its own the
    /// node's CSI plugin published (every kind is published so, hostPath included, checked
    /// there: [`host_path_source`]).
    fn volume_path(&self, path: &Path, uid: &str) -> Result<PathBuf, String> {
        let shown = path.display();
        let volumes = self.kubelet_root.join("pods").join(uid).join("volumes");
        let Ok(rest) = path.strip_prefix(&volumes) else {
            return Err(refused(format!(
                "mounting {shown} (not a volume of this pod)"
            )));
        };
        let parts: Vec<&str> = rest.iter().filter_map(|p| p.to_str()).collect();
        match parts.as_slice() {
            ["kubernetes.io~csi", name, "mount"] if is_label(name) => {
                if crate::host::is_mounted(path) {
                    Ok(path.to_path_buf())
                } else {
                    Err(format!("volume {name} is not published on this node"))
                }
            }
            _ => Err(refused(format!(
                "{shown} (a path inside a volume: subPath)"
            ))),
        }
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
            millicpu.saturating_mul(100),
            cap(c.memory_limit_bytes, self.machine_memory),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubeplay_core::kubelet::cri::{Mount, PortMapping};

    fn policy(root: &Path) -> Policy {
        Policy {
            kubelet_root: root.join("kubelet"),
            machine_millicpu: 2000,
            machine_memory: 1 << 30,
        }
    }

    fn container(host_path: &Path) -> ContainerConfig {
        ContainerConfig {
            name: "c".into(),
            mounts: vec![Mount {
                container_path: "/data".into(),
                host_path: host_path.display().to_string(),
                readonly: false,
            }],
            ..ContainerConfig::default()
        }
    }

    #[test]
    fn what_would_hand_out_the_machine_is_refused() {
        let dir = std::env::temp_dir().join(format!("kubeplay-policy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("host/ok")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("host/escape")).unwrap();
        let p = policy(&dir);
        let check = |path: &Path| p.check_container(&container(path), "u-1");
        let volumes = dir.join("kubelet/pods/u-1/volumes");
        // What a pod may mount: its volumes as the CSI plugin published them.
        let refusals = [
            (PathBuf::from("/etc"), "not a volume of this pod"),
            (volumes.join("kubernetes.io~csi/vol/mount"), "not published"),
            (volumes.join("kubernetes.io~csi/vol/mount/sub"), "subPath"),
            // Another pod's volumes, or the kubelet's root itself.
            (
                dir.join("kubelet/pods/u-2/volumes/kubernetes.io~csi/vol/mount"),
                "not a volume of this pod",
            ),
            (dir.join("kubelet"), "not a volume of this pod"),
        ];
        for (path, why) in refusals {
            let err = check(&path).unwrap_err();
            assert!(err.contains(why), "{}: {err}", path.display());
        }
        // What the plugin may publish for a hostPath volume.
        let host = dir.join("host");
        let source = |path: &Path, kind: &str| host_path_source(&host, path, kind);
        assert!(source(&host.join("ok"), "Directory").is_ok());
        assert!(source(&host.join("new"), "").is_ok());
        assert!(host.join("new").is_dir(), "created, as DirectoryOrCreate");
        for (path, kind, why) in [
            (PathBuf::from("/etc"), "", "directly under"),
            (host.clone(), "", "directly under"),
            (host.join("escape"), "", "a symlink, to /etc"),
            (host.join("ok/deeper"), "", "directly under"),
            (host.join("../etc"), "", "directly under"),
            (host.join("missing"), "Directory", "hostPath"),
            (host.join("sock"), "Socket", "directories only"),
        ] {
            let err = source(&path, kind).unwrap_err();
            assert!(err.contains(why), "{}: {err}", path.display());
        }

        let mut privileged = ContainerConfig::default();
        privileged.security.privileged = true;
        assert!(p
            .check_container(&privileged, "u")
            .unwrap_err()
            .contains("privileged"));
        let mut caps = ContainerConfig::default();
        caps.security.add_capabilities = vec!["NET_BIND_SERVICE".into()];
        assert!(p.check_container(&caps, "u").is_ok());
        caps.security.add_capabilities = vec!["SYS_ADMIN".into()];
        assert!(p
            .check_container(&caps, "u")
            .unwrap_err()
            .contains("SYS_ADMIN"));
        let host_net = SandboxConfig {
            host_network: true,
            ..SandboxConfig::default()
        };
        assert!(p
            .check_sandbox(&host_net)
            .unwrap_err()
            .contains("hostNetwork"));
        let low_port = SandboxConfig {
            port_mappings: vec![PortMapping {
                protocol: "TCP".into(),
                container_port: 80,
                host_port: 22,
                host_ip: String::new(),
            }],
            ..SandboxConfig::default()
        };
        assert!(p
            .check_sandbox(&low_port)
            .unwrap_err()
            .contains("hostPort 22"));

        let mut big = ContainerConfig {
            cpu_limit_millis: 500,
            memory_limit_bytes: 64 << 20,
            ..ContainerConfig::default()
        };
        assert_eq!(p.limits(&big), (50_000, 64 << 20));
        big.cpu_limit_millis = 0;
        big.memory_limit_bytes = 1 << 40;
        assert_eq!(p.limits(&big), (200_000, 1 << 30));
        assert!(is_subdomain("kube-system") && is_subdomain("web-1.a"));
        assert!(!is_subdomain("../x") && !is_label("a/b") && !is_uid("/") && !is_uid(".."));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
