//! What the bridge reads about this machine from the kernel: its description (the node
//! agent's welcome, a real node's capacity) and its mount table.

use std::path::{Path, PathBuf};

use kubeplay_core::node_protocol::RealNode;

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// This machine, as its kernel describes it.
pub fn this_machine() -> RealNode {
    let memory_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or_default();
    let socket = "/run/containerd/containerd.sock";
    let runtime = if std::path::Path::new(socket).exists() {
        format!("containerd ({socket})")
    } else {
        format!("no containerd socket at {socket}")
    };
    RealNode {
        name: read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into()),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        memory_bytes: memory_kib * 1024,
        runtime,
    }
}

/// Whether `path` is a mount point (as `/proc/self/mountinfo` lists them).
pub fn is_mounted(path: &Path) -> bool {
    let wanted = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mount_point| mount_point == wanted)
}

/// The mount points at or under `dir`, deepest first (the order to unmount them in).
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|m| m.starts_with(dir))
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    out
}
