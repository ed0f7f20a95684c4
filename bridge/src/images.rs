//! Images without a registry: the bridge builds the two images a real node needs — the pod
//! sandbox's `pause` (a static C program of ours, `images/pause.c`) and a busybox (Debian's
//! `busybox-static` with its applet links and an `httpd` document root) — as single-layer OCI
//! image-layout tarballs, and imports them into containerd's `k8s.io` namespace, where CRI
//! finds them. Names are fully qualified (`localhost/…`): CRI would read a short name as
//! `docker.io/library/…` and try to pull it.
//!
//! The tarballs are deterministic (mtime 0, sorted entries): the same binaries give the same
//! image ids (the compiler's output for pause.c may differ between machines).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::json;

/// The sandbox image containerd's CRI plugin is configured with (`sandbox_image`).
pub const PAUSE_IMAGE: &str = "localhost/kubeplay/pause:1";
/// A busybox with `httpd`, `sh` and the usual applets.
pub const BUSYBOX_IMAGE: &str = "localhost/kubeplay/busybox:1";

/// One entry of an image's only layer.
enum Entry {
    Dir(&'static str, u32),
    File(String, Vec<u8>, u32),
    Link(String, &'static str),
}

fn sha256(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn layer(entries: &[Entry]) -> anyhow::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            Entry::Dir(path, mode) => {
                let mut h = header(tar::EntryType::Directory, *mode, 0);
                b.append_data(&mut h, path, std::io::empty())?;
            }
            Entry::File(path, bytes, mode) => {
                let mut h = header(tar::EntryType::Regular, *mode, bytes.len() as u64);
                b.append_data(&mut h, path, bytes.as_slice())?;
            }
            Entry::Link(path, target) => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                b.append_link(&mut h, path, target)?;
            }
        }
    }
    Ok(b.into_inner()?)
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// An OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) of one layer, as a tar.
fn image_tar(name: &str, entries: &[Entry], config: serde_json::Value) -> anyhow::Result<Vec<u8>> {
    let layer = layer(entries)?;
    let layer_digest = sha256(&layer);
    let config = json!({
        "architecture": go_arch(), "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
    })
    .to_string()
    .into_bytes();
    let config_digest = sha256(&config);
    let manifest = json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{layer_digest}"), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let manifest_digest = sha256(&manifest);
    let tag = name.rsplit_once(':').map_or("latest", |(_, t)| t);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"), "size": manifest.len(),
            "platform": {"architecture": go_arch(), "os": "linux"},
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag},
        }],
    })
    .to_string()
    .into_bytes();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), index),
    ];
    for (digest, bytes) in [
        (layer_digest, layer),
        (config_digest, config),
        (manifest_digest, manifest),
    ] {
        files.push((format!("blobs/sha256/{digest}"), bytes));
    }
    let mut b = tar::Builder::new(Vec::new());
    for dir in ["blobs", "blobs/sha256"] {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, dir, std::io::empty())?;
    }
    for (path, bytes) in files {
        let mut h = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        b.append_data(&mut h, path, bytes.as_slice())?;
    }
    Ok(b.into_inner()?)
}

/// The pause image, from `images/pause.c` compiled static with the machine's C compiler.
pub fn pause_tar(work: &Path) -> anyhow::Result<Vec<u8>> {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/images/pause.c");
    let binary = work.join("pause");
    let out = Command::new("cc")
        .args(["-static", "-Os", "-o"])
        .arg(&binary)
        .arg(source)
        .output()
        .context("running cc (apt-get install build-essential)")?;
    if !out.status.success() {
        bail!(
            "cc -static pause.c failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bytes = std::fs::read(&binary)?;
    let entries = [Entry::File("pause".into(), bytes, 0o755)];
    image_tar(PAUSE_IMAGE, &entries, json!({"Entrypoint": ["/pause"]}))
}

/// The busybox image, from Debian's `busybox-static`.
pub fn busybox_tar() -> anyhow::Result<Vec<u8>> {
    let path = "/bin/busybox";
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading {path} (apt-get install busybox-static)"))?;
    let list = Command::new(path).arg("--list").output()?;
    let mut entries = vec![
        Entry::Dir("bin", 0o755),
        Entry::Dir("dev", 0o755),
        Entry::Dir("etc", 0o755),
        Entry::Dir("proc", 0o755),
        Entry::Dir("root", 0o700),
        Entry::Dir("sys", 0o755),
        Entry::Dir("tmp", 0o1777),
        Entry::Dir("var", 0o755),
        Entry::Dir("www", 0o755),
        Entry::File("bin/busybox".into(), bytes, 0o755),
        Entry::File(
            "etc/passwd".into(),
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                .to_vec(),
            0o644,
        ),
        Entry::File(
            "etc/group".into(),
            b"root:x:0:\nnogroup:x:65534:\n".to_vec(),
            0o644,
        ),
        Entry::File(
            "www/index.html".into(),
            b"<h1>hello from a kubeplay pod</h1>\n".to_vec(),
            0o644,
        ),
    ];
    let mut applets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|a| !a.is_empty() && *a != "busybox" && a.chars().all(|c| c.is_ascii_graphic()))
        .map(|a| format!("bin/{a}"))
        .collect();
    applets.sort();
    entries.extend(applets.into_iter().map(|a| Entry::Link(a, "busybox")));
    let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
    image_tar(BUSYBOX_IMAGE, &entries, json!({"Env": env, "Cmd": ["sh"]}))
}

/// Imports an image tarball (OCI layout or `docker save`) into containerd's `k8s.io`
/// namespace with containerd's own `ctr`.
pub fn import(socket: &Path, tarball: &Path) -> anyhow::Result<()> {
    let out = Command::new("ctr")
        .arg("--address")
        .arg(socket)
        .args(["--namespace", "k8s.io", "images", "import", "--no-unpack"])
        .arg(tarball)
        .output()
        .context("running ctr (apt-get install containerd)")?;
    if !out.status.success() {
        bail!(
            "ctr images import {}: {}",
            tarball.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Builds the pause and busybox images under `work` and imports both.
pub fn build_and_import(socket: &Path, work: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(work)?;
    for (file, bytes) in [
        ("pause.tar", pause_tar(work)?),
        ("busybox.tar", busybox_tar()?),
    ] {
        let path = work.join(file);
        std::fs::write(&path, bytes)?;
        import(socket, &path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_layout_names_its_blobs_by_their_digests() {
        let tar = image_tar(
            "localhost/x:1",
            &[Entry::File("hello".into(), b"hi".to_vec(), 0o644)],
            json!({}),
        )
        .unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut blobs = 0;
        let mut index = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            if let Some(digest) = path.strip_prefix("blobs/sha256/").filter(|d| !d.is_empty()) {
                assert_eq!(sha256(&bytes), digest);
                blobs += 1;
            }
            if path == "index.json" {
                index = String::from_utf8(bytes).unwrap();
            }
        }
        assert_eq!(blobs, 3);
        assert!(index.contains(r#""io.containerd.image.name":"localhost/x:1""#));
        // The same inputs give the same bytes.
        let again = image_tar(
            "localhost/x:1",
            &[Entry::File("hello".into(), b"hi".to_vec(), 0o644)],
            json!({}),
        )
        .unwrap();
        assert_eq!(sha256(&tar), sha256(&again));
    }
}
