//! A node borrowed from another bridge: this door's cluster gets a Node whose kubelet runs
//! here, in the control plane, while its calls are carried out by the bridge that lends its
//! machine — over that bridge's node-agent door, in `node_protocol`'s session (the same
//! messages a browser kubelet will speak). Several bridges lending their machines make a
//! cluster of several real nodes.
//!
//! If the lending bridge goes away the node loses power as far as the cluster knows: its
//! kubelet stops renewing its lease, the node lifecycle controller marks it NotReady and
//! evicts its pods, as when a real node dies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use kubeplay_core::kubelet::cri::CriResponse;
use kubeplay_core::node_protocol::{
    call_message, read_event, FromBridge, SessionCall, SessionEvent, ToBridge, VERSION,
};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::kube_api::Door;

/// How often the lease is renewed (the lender's [`crate::node_agent::LEASE`] is 30 s).
const RENEW_EVERY: Duration = Duration::from_secs(10);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_event(ws: &mut Socket) -> anyhow::Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(_))) | None => bail!("the bridge closed the connection"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("the connection broke: {e}"),
        }
    }
}

async fn say(ws: &mut Socket, call: &SessionCall) -> anyhow::Result<()> {
    let text = call.to_value().to_string();
    ws.send(Message::Text(text.into())).await?;
    Ok(())
}

/// Connects to the bridge at `url` (`ws://host:port/node-agent`), borrows its machine, adds it
/// to the door's cluster and carries its kubelet's calls there until the task ends (the
/// bridge goes, or the task is aborted). Returns the node's name and the task.
pub async fn borrow(
    door: &Door,
    url: &str,
    token: &str,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("connecting to the bridge at {url}"))?;
    let hello = ToBridge::Hello {
        version: VERSION,
        token: token.to_string(),
    };
    ws.send(Message::Text(hello.to_json().into())).await?;
    match FromBridge::from_json(&next_event(&mut ws).await?) {
        Ok(FromBridge::Welcome { .. }) => {}
        Ok(FromBridge::Refused { reason }) => bail!("the bridge at {url} refused: {reason}"),
        Err(e) => bail!("the bridge at {url} said something else: {e}"),
    }
    say(&mut ws, &SessionCall::Join {}).await?;
    let joined = match read_event(&next_event(&mut ws).await?).map_err(anyhow::Error::msg)? {
        SessionEvent::Joined { node } => node,
        SessionEvent::Error { message } => bail!("the bridge at {url} lends no node: {message}"),
        other => bail!("the bridge at {url} answered {other:?} to join"),
    };
    let name = joined.name.clone();
    let images = joined.images.iter().cloned().collect();
    door.with_cluster(|c| c.add_remote_node(joined.config(), &images))
        .map_err(anyhow::Error::msg)?;
    // `kubectl logs` of the node's pods asks the lender for the file.
    let (logs_tx, logs_rx) = mpsc::unbounded_channel::<(String, oneshot::Sender<Option<String>>)>();
    door.set_log_reader(
        &name,
        Arc::new(move |path| {
            let logs = logs_tx.clone();
            Box::pin(async move {
                let (tx, rx) = oneshot::channel();
                logs.send((path, tx)).ok()?;
                tokio::time::timeout(Duration::from_secs(5), rx)
                    .await
                    .ok()?
                    .ok()?
            })
        }),
    );
    let task = {
        let (door, name) = (door.clone(), name.clone());
        tokio::spawn(async move {
            if let Err(e) = carry(&door, &name, ws, logs_rx).await {
                eprintln!("borrowed node {name}: {e:#}");
            }
            // The lender is gone: to the cluster, the node lost power.
            door.with_cluster(|c| c.set_node_power(&name, false));
        })
    };
    Ok((name, task))
}

async fn carry(
    door: &Door,
    node: &str,
    mut ws: Socket,
    mut logs: mpsc::UnboundedReceiver<(String, oneshot::Sender<Option<String>>)>,
) -> anyhow::Result<()> {
    let mut work = door.remote_work();
    let mut renew = tokio::time::interval(RENEW_EVERY);
    let waiting: Mutex<HashMap<u64, oneshot::Sender<Option<String>>>> = Mutex::default();
    let mut next_log = 0u64;
    loop {
        tokio::select! {
            _ = work.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = renew.tick() => say(&mut ws, &SessionCall::Renew {}).await?,
            Some((path, reply)) = logs.recv() => {
                next_log += 1;
                {
                    let mut waiting = waiting.lock().unwrap_or_else(|p| p.into_inner());
                    // Readers that gave up (timed out) wait no longer.
                    waiting.retain(|_, r| !r.is_closed());
                    waiting.insert(next_log, reply);
                }
                say(&mut ws, &SessionCall::Logs { id: next_log, path }).await?;
            }
            text = next_event(&mut ws) => match read_event(&text?).map_err(anyhow::Error::msg)? {
                SessionEvent::Result { id, result, took_ms } => {
                    door.with_cluster(|c| c.deliver(node, CriResponse { id, result }, took_ms));
                }
                SessionEvent::Exited { container_id, exit_code, reason } => {
                    door.with_cluster(|c| {
                        c.remote_container_exited(node, &container_id, exit_code, Some(&reason))
                    });
                }
                SessionEvent::Log { id, text } => {
                    if let Some(reply) = waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&id) {
                        let _ = reply.send(text);
                    }
                }
                SessionEvent::Error { message } => eprintln!("borrowed node {node}: the bridge says: {message}"),
                SessionEvent::Joined { .. } => {}
            },
        }
        for req in door.with_cluster(|c| c.take_remote_requests(node)) {
            match call_message(req) {
                Ok(text) => ws.send(Message::Text(text.into())).await?,
                Err(failed) => door.with_cluster(|c| c.deliver(node, failed, 0)),
            }
        }
    }
}
