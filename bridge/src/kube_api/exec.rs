//! `kubectl exec` through the door. The request takes the API server's pipeline like any
//! other (authentication, RBAC's `create pods/exec`, the audit log) and the pod's kubelet
//! answers; the answer goes back over the WebSocket protocol kubectl ≥ 1.30 speaks
//! (`v5.channel.k8s.io`, or `v4`): binary messages of one channel byte and data — 1 stdout,
//! 2 stderr, 3 the final `Status` (a failing command's exit code in its causes).
//! kubectl 1.29 and older ask for SPDY, which the door does not speak: they are told which
//! flag or version switches to WebSocket.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response as HttpResponse};
use serde_json::{json, Value};

use super::{json_response, Door};
use kubeplay_core::apiserver::{ApiError, Request};

const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

/// `/api/v1/namespaces/<ns>/pods/<pod>/exec`.
pub fn is_exec(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(
        parts.as_slice(),
        ["api", "v1", "namespaces", _, "pods", _, "exec"]
    )
}

fn refuse(message: String) -> HttpResponse {
    let status = ApiError::bad_request(message).status();
    json_response(400, status.to_string())
}

pub async fn serve(door: &Door, parts: &mut Parts, request: Request) -> HttpResponse {
    let upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    // Through the pipeline first, whatever the protocol: a refusal (RBAC's, a pod not
    // running) is an HTTP error kubectl prints — after falling back from WebSocket to SPDY,
    // as it does on any failed upgrade.
    let answer = door.handle(&request);
    if answer.code >= 400 {
        return json_response(answer.code, answer.bytes().into_owned());
    }
    if upgrade.starts_with("spdy") {
        return refuse(
            "this cluster streams exec over WebSocket (v5.channel.k8s.io), not SPDY: use kubectl 1.30 or newer, or set KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true for kubectl 1.29"
                .into(),
        );
    }
    let offered = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect::<Vec<String>>();
    let Some(protocol) = PROTOCOLS.iter().find(|p| offered.iter().any(|o| o == *p)) else {
        return refuse(format!(
            "exec needs a WebSocket upgrade with one of the protocols {PROTOCOLS:?}"
        ));
    };
    let ws = match WebSocketUpgrade::from_request_parts(parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let result = answer.value();
    let command: Vec<String> = request_commands(&request.query);
    ws.protocols([*protocol])
        .on_upgrade(move |socket| stream(socket, result, command))
}

fn request_commands(query: &str) -> Vec<String> {
    kubeplay_core::apiserver::request::Query::parse(query)
        .get_all("command")
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The command's output on its channels, then its Status, then the close.
async fn stream(mut socket: WebSocket, result: Value, command: Vec<String>) {
    for (channel, key) in [(1u8, "stdout"), (2u8, "stderr")] {
        let text = result[key].as_str().unwrap_or_default();
        if !text.is_empty() {
            let frame = [&[channel][..], text.as_bytes()].concat();
            if socket.send(Message::Binary(frame.into())).await.is_err() {
                return;
            }
        }
    }
    let code = result["exitCode"].as_i64().unwrap_or(0);
    let status = if code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
    };
    let frame = [&[3u8][..], status.to_string().as_bytes()].concat();
    let _ = socket.send(Message::Binary(frame.into())).await;
    let normal = CloseFrame {
        code: close_code::NORMAL,
        reason: "".into(),
    };
    let _ = socket.send(Message::Close(Some(normal))).await;
}
