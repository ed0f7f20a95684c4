//! The kubelet's probes carried out on the node, as its prober runs them: a command through
//! CRI `ExecSync`, an HTTP GET (200–399 is success) or a TCP connection — only to this
//! node's pods, never the node itself or another address. Messages are upstream's.

use std::net::Ipv4Addr;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use kubeplay_core::kubelet::cri::{CriResult, ProbeAction};

use super::{rpc, RealRuntime};
use crate::cri::v1;

impl RealRuntime {
    /// Runs a probe as the kubelet's prober does: a command through CRI `ExecSync`, an HTTP
    /// GET (200–399 is success) or a TCP connection to the pod, within its timeout. Messages
    /// are upstream's.
    pub(super) async fn probe(
        &self,
        container_id: &str,
        action: ProbeAction,
        timeout: i64,
    ) -> CriResult {
        let limit = Duration::from_secs(timeout.max(1) as u64);
        let verdict = |success: bool, message: String| CriResult::Probe { success, message };
        match action {
            ProbeAction::Exec { command } => {
                let mut rt = self.cri.runtime.clone();
                let exec = rt.exec_sync(v1::ExecSyncRequest {
                    container_id: container_id.into(),
                    cmd: command,
                    timeout,
                });
                match tokio::time::timeout(limit + Duration::from_secs(1), exec).await {
                    Ok(Ok(r)) => {
                        let r = r.into_inner();
                        let mut output = String::from_utf8_lossy(&r.stdout).into_owned();
                        output.push_str(&String::from_utf8_lossy(&r.stderr));
                        verdict(r.exit_code == 0, output.trim().to_string())
                    }
                    Ok(Err(e)) => verdict(false, rpc(e)),
                    Err(_) => verdict(false, format!("command timed out after {timeout}s")),
                }
            }
            ProbeAction::HttpGet {
                scheme,
                host,
                port,
                path,
            } => {
                let url = format!("{}://{host}:{port}{path}", scheme.to_ascii_lowercase());
                let Some(addr) = self.pod_address(&host, port) else {
                    return verdict(false, format!("Get \"{url}\": {host} is not a pod of this node: a kubeplay real node probes its own pods only"));
                };
                if scheme != "HTTP" {
                    return verdict(
                        false,
                        format!("Get \"{url}\": only HTTP probes run on a kubeplay real node"),
                    );
                }
                match tokio::time::timeout(limit, http_status(addr, &host, port, &path)).await {
                    Ok(Ok(code)) if (200..400).contains(&code) => verdict(true, String::new()),
                    Ok(Ok(code)) => verdict(false, format!("HTTP probe failed with statuscode: {code}")),
                    Ok(Err(e)) => verdict(false, format!("Get \"{url}\": dial tcp {addr}: {e}")),
                    Err(_) => verdict(false, format!("Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")),
                }
            }
            ProbeAction::TcpSocket { host, port } => {
                let Some(addr) = self.pod_address(&host, port) else {
                    return verdict(
                        false,
                        format!("dial tcp {host}:{port}: {host} is not a pod of this node"),
                    );
                };
                match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
                    Ok(Ok(_)) => verdict(true, String::new()),
                    Ok(Err(e)) => {
                        verdict(false, format!("dial tcp {addr}: connect: {}", go_error(&e)))
                    }
                    Err(_) => verdict(false, format!("dial tcp {addr}: i/o timeout")),
                }
            }
        }
    }

    /// `host:port` if `host` is an address of this node's pod network.
    pub(super) fn pod_address(&self, host: &str, port: i32) -> Option<std::net::SocketAddr> {
        let ip: Ipv4Addr = host.parse().ok()?;
        let (net, prefix) = self.settings.pod_network;
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let port = u16::try_from(port).ok().filter(|p| *p > 0)?;
        let (ip_bits, net_bits) = (u32::from(ip), u32::from(net) & mask);
        // A pod's address: not the network's, its gateway (the node itself) or broadcast.
        let pod =
            ip_bits & mask == net_bits && ip_bits > net_bits + 1 && ip_bits < net_bits | !mask;
        pod.then(|| (ip, port).into())
    }
}

/// An I/O error as Go's net package words it (`connection refused`).
fn go_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::TimedOut => "i/o timeout".into(),
        _ => e.to_string(),
    }
}

/// The status code of `GET path` at `addr`, as a kubelet's HTTP probe asks it.
async fn http_status(
    addr: std::net::SocketAddr,
    host: &str,
    port: i32,
    path: &str,
) -> Result<u16, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {}", go_error(&e)))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .header(hyper::header::USER_AGENT, "kube-probe/1.32")
        .body(String::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}
