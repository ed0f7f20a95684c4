//! The kubeconfig the door writes: one cluster, an admin user and a read-only viewer, each with
//! a bearer token made fresh for this run.

use std::fmt::Write;

pub struct Credentials {
    pub admin_token: String,
    pub viewer_token: String,
}

/// 16 random bytes from the operating system, in hex.
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(bytes.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    }))
}

impl Credentials {
    /// Random tokens from the operating system.
    pub fn generate() -> anyhow::Result<Credentials> {
        Ok(Credentials {
            admin_token: random_token()?,
            viewer_token: random_token()?,
        })
    }
}

pub fn render(server: &str, ca_pem: &str, creds: &Credentials) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kubeplay
  cluster:
    server: {server}
    certificate-authority-data: {ca}
contexts:
- name: kubeplay
  context:
    cluster: kubeplay
    user: kubeplay-admin
    namespace: default
- name: kubeplay-viewer
  context:
    cluster: kubeplay
    user: kubeplay-viewer
    namespace: default
current-context: kubeplay
users:
- name: kubeplay-admin
  user:
    token: {}
- name: kubeplay-viewer
  user:
    token: {}
",
        creds.admin_token, creds.viewer_token
    )
}
