//! The node agent's door (`bridge/src/node_agent.rs`) over a real WebSocket: the token, the
//! protocol version, the Origin a browser sends, and the machine it reports.

use futures_util::{SinkExt, StreamExt};
use kubeplay::runtime;
use kubeplay_bridge::node_agent::{self, AgentConfig};
use kubeplay_core::node_protocol::{FromBridge, ToBridge, VERSION};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding");
    let url = format!(
        "ws://{}/node-agent",
        listener.local_addr().expect("address")
    );
    let config = AgentConfig {
        token: "secret".into(),
        allowed_origins: vec!["http://page.test".into()],
    };
    tokio::spawn(node_agent::serve(listener, config, std::future::pending()));
    url
}

/// Connects (with `origin`, if any), says hello, and returns the bridge's answer.
async fn hello(url: &str, origin: Option<&str>, first: String) -> Result<FromBridge, String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(o) = origin {
        request
            .headers_mut()
            .insert("Origin", o.parse().map_err(|_| "origin")?);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    socket
        .send(Message::text(first))
        .await
        .map_err(|e| e.to_string())?;
    match socket.next().await {
        Some(Ok(Message::Text(t))) => FromBridge::from_json(t.as_str()),
        other => Err(format!("no answer: {other:?}")),
    }
}

fn say(version: u64, token: &str) -> String {
    ToBridge::Hello {
        version,
        token: token.into(),
    }
    .to_json()
}

#[test]
fn the_page_is_welcomed_with_the_token_and_told_what_machine_this_is() {
    runtime().block_on(async {
        let url = start().await;
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        for origin in [None, Some("http://page.test")] {
            match hello(&url, origin, say(VERSION, "secret")).await {
                Ok(FromBridge::Welcome { version, nodes }) => {
                    assert_eq!(version, VERSION);
                    assert_eq!(nodes.len(), 1);
                    assert_eq!(nodes[0].name, hostname.trim());
                    assert_eq!(nodes[0].os, "linux");
                    assert!(nodes[0].cpus >= 1 && nodes[0].memory_bytes > 1 << 20);
                    assert!(
                        nodes[0].runtime.contains("containerd"),
                        "{}",
                        nodes[0].runtime
                    );
                }
                other => panic!("origin {origin:?}: {other:?}"),
            }
        }
    });
}

#[test]
fn a_wrong_token_version_or_origin_is_refused() {
    runtime().block_on(async {
        let url = start().await;
        let refused = |r: Result<FromBridge, String>| match r {
            Ok(FromBridge::Refused { reason }) => reason,
            other => panic!("not refused: {other:?}"),
        };
        assert_eq!(
            refused(hello(&url, None, say(VERSION, "guess")).await),
            "wrong token"
        );
        assert_eq!(
            refused(hello(&url, None, say(VERSION + 1, "secret")).await),
            format!(
                "this bridge speaks node protocol version {VERSION}, the page version {}",
                VERSION + 1
            )
        );
        assert!(refused(hello(&url, None, "{\"bye\": {}}".into()).await)
            .starts_with("the first message must be a hello: unknown message \"bye\""));
        let e = hello(&url, Some("http://evil.test"), say(VERSION, "secret"))
            .await
            .expect_err("a page from an origin not allowed");
        assert!(e.contains("403"), "{e}");
    });
}
