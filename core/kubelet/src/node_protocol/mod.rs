//! The messages between the page and a bridge's node agent, over a WebSocket; shared by web/
//! and bridge/. Versioned: each side says which version it speaks, and a bridge refuses a
//! page that speaks another.
//!
//! ```text
//! page   → bridge  {"hello": {"version": 1, "token": "…"}}
//! bridge → page    {"welcome": {"version": 1, "nodes": [{"name": "box", "os": "linux", …}]}}
//!                  {"refused": {"reason": "wrong token"}}
//! ```
//!
//! The handshake: the client proves it holds the bridge's token and learns the real machines
//! behind it. Version 2 adds the session that follows, in which the client's kubelet uses
//! the bridge's machine as its node ([`SessionCall`], [`SessionEvent`]):
//!
//! ```text
//! client → bridge  {"join": {}}
//! bridge → client  {"joined": {"node": {"name": "box", "cpu": "2", …, "images": [["localhost/…", 123]]}}}
//! client → bridge  {"call": {"id": 7, "call": {"RunPodSandbox": {…}}}}     (core's CriCall)
//! bridge → client  {"result": {"id": 7, "result": {"Ok": {"Sandbox": {…}}}, "tookMs": 93}}
//!                  {"exited": {"containerId": "…", "exitCode": 137}}       (the bridge's relist)
//! client → bridge  {"logs": {"id": 8, "path": "…/0.log"}}  →  {"log": {"id": 8, "text": "…"}}
//! client → bridge  {"renew": {}}    (the lease: a bridge that hears nothing for a while, or
//!                                     loses the connection, reaps everything it started)
//! ```
//!
//! The handshake is written and read by hand rather than derived: the page ships it. The
//! session's messages derive serde (the bridge reads calls with it); the page writes calls
//! and reads events by hand (`calls.rs`, `events.rs`, held to the derived code by tests),
//! and the headless door that borrows a bridge uses the same.

mod calls;
mod events;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cri::{CriCall, CriResponse, CriResult};

pub const VERSION: u64 = 2;

/// The largest message a bridge reads; it closes a connection that sends more.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;

/// Reads a client's session message (derived: the bridge's side).
pub fn read_call(text: &str) -> Result<SessionCall, String> {
    let v: Value = serde_json::from_slice(text.as_bytes()).map_err(|e| e.to_string())?;
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Reads a bridge's session event (by hand: [`SessionEvent::from_value`]).
pub fn read_event(text: &str) -> Result<SessionEvent, String> {
    let v: Value = serde_json::from_slice(text.as_bytes()).map_err(|e| e.to_string())?;
    SessionEvent::from_value(&v)
}

/// A kubelet's call as the session's message, or — when it is too big for a bridge to read
/// (env or annotations of tens of kilobytes) — the failure the kubelet hears instead, so the
/// call fails alone rather than taking the whole node down.
pub fn call_message(req: crate::cri::CriRequest) -> Result<String, CriResponse> {
    let id = req.id;
    let call = SessionCall::Call { id, call: req.call };
    let text = call.to_value().to_string();
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(CriResponse {
            id,
            result: Err(format!(
                "the call is {} bytes, over the node protocol's {MAX_MESSAGE_BYTES} (env or annotations too large)",
                text.len()
            )),
        });
    }
    Ok(text)
}

/// What a client says after the welcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum SessionCall {
    /// Lend this machine as a node.
    Join {},
    /// Carry out a call of the node's kubelet.
    Call { id: u64, call: CriCall },
    /// Read a container's CRI log file (a path the kubelet named).
    Logs { id: u64, path: String },
    /// The client is still there.
    Renew {},
}

/// What a bridge says during a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum SessionEvent {
    Joined {
        node: Box<JoinedNode>,
    },
    Result {
        id: u64,
        result: Result<CriResult, String>,
        took_ms: i64,
    },
    /// A container exited by itself; `reason` is the runtime's (`OOMKilled`, `Error`).
    Exited {
        container_id: String,
        exit_code: i64,
        #[serde(default)]
        reason: String,
    },
    Log {
        id: u64,
        text: Option<String>,
    },
    /// A message the bridge refused (nothing of it was started), or why it ends the
    /// session.
    Error {
        message: String,
    },
}

/// The node a bridge lends: what its kubelet registers, and the images its runtime holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinedNode {
    pub name: String,
    pub cpu: String,
    pub memory: String,
    pub pod_cidr: String,
    pub internal_ip: String,
    pub root_dir: String,
    pub log_dir: String,
    pub runtime_version: String,
    pub os_image: String,
    pub kernel_version: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub taints: Vec<Value>,
    pub images: Vec<(String, i64)>,
    /// The machine's resolver, for pods that use the node's DNS.
    #[serde(default)]
    pub resolv_conf: Option<crate::cri::DnsConfig>,
}

impl JoinedNode {
    pub fn from_config(c: &crate::NodeConfig, images: Vec<(String, i64)>) -> JoinedNode {
        JoinedNode {
            name: c.name.clone(),
            cpu: c.cpu.clone(),
            memory: c.memory.clone(),
            pod_cidr: c.pod_cidr.clone(),
            internal_ip: c.internal_ip.clone(),
            root_dir: c.root_dir.clone(),
            log_dir: c.log_dir.clone(),
            runtime_version: c.runtime_version.clone(),
            os_image: c.os_image.clone(),
            kernel_version: c.kernel_version.clone(),
            labels: c.labels.clone(),
            taints: c.taints.clone(),
            images,
            resolv_conf: c.resolv_conf.clone(),
        }
    }

    pub fn config(&self) -> crate::NodeConfig {
        crate::NodeConfig {
            labels: self.labels.clone(),
            taints: self.taints.clone(),
            root_dir: self.root_dir.clone(),
            log_dir: self.log_dir.clone(),
            runtime_version: self.runtime_version.clone(),
            os_image: self.os_image.clone(),
            kernel_version: self.kernel_version.clone(),
            resolv_conf: self.resolv_conf.clone(),
            ..crate::NodeConfig::simulated(
                &self.name,
                &self.cpu,
                &self.memory,
                &self.pod_cidr,
                &self.internal_ip,
            )
        }
    }
}

/// What the page says.
#[derive(Clone, Debug, PartialEq)]
pub enum ToBridge {
    Hello { version: u64, token: String },
}

/// What a bridge answers.
#[derive(Clone, Debug, PartialEq)]
pub enum FromBridge {
    Welcome { version: u64, nodes: Vec<RealNode> },
    Refused { reason: String },
}

/// A machine a bridge runs on, as it reports itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RealNode {
    pub name: String,
    pub os: String,
    pub arch: String,
    pub kernel: String,
    pub cpus: u64,
    pub memory_bytes: u64,
    /// The container runtime found there: `containerd (/run/containerd/containerd.sock)`, or
    /// why there is none.
    pub runtime: String,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The one key of a message and what it holds.
fn tagged(text: &str) -> Result<(String, Value), String> {
    let v: Value = serde_json::from_slice(text.as_bytes()).map_err(|e| format!("not JSON: {e}"))?;
    match v {
        Value::Object(m) if m.len() == 1 => Ok(m.into_iter().next().unwrap_or_default()),
        other => Err(format!("not a message: {other}")),
    }
}

impl ToBridge {
    pub fn to_json(&self) -> String {
        match self {
            ToBridge::Hello { version, token } => {
                json!({"hello": {"version": version, "token": token}}).to_string()
            }
        }
    }

    pub fn from_json(text: &str) -> Result<ToBridge, String> {
        match tagged(text)? {
            (name, v) if name == "hello" => Ok(ToBridge::Hello {
                version: v["version"].as_u64().unwrap_or_default(),
                token: self::text(&v["token"]),
            }),
            (name, _) => Err(format!("unknown message {name:?}")),
        }
    }
}

impl RealNode {
    fn to_value(&self) -> Value {
        json!({
            "name": self.name, "os": self.os, "arch": self.arch, "kernel": self.kernel,
            "cpus": self.cpus, "memoryBytes": self.memory_bytes, "runtime": self.runtime,
        })
    }

    fn from_value(v: &Value) -> RealNode {
        RealNode {
            name: text(&v["name"]),
            os: text(&v["os"]),
            arch: text(&v["arch"]),
            kernel: text(&v["kernel"]),
            cpus: v["cpus"].as_u64().unwrap_or_default(),
            memory_bytes: v["memoryBytes"].as_u64().unwrap_or_default(),
            runtime: text(&v["runtime"]),
        }
    }
}

impl FromBridge {
    pub fn to_json(&self) -> String {
        match self {
            FromBridge::Welcome { version, nodes } => {
                let nodes: Vec<Value> = nodes.iter().map(RealNode::to_value).collect();
                json!({"welcome": {"version": version, "nodes": nodes}}).to_string()
            }
            FromBridge::Refused { reason } => json!({"refused": {"reason": reason}}).to_string(),
        }
    }

    pub fn from_json(text: &str) -> Result<FromBridge, String> {
        match tagged(text)? {
            (name, v) if name == "welcome" => Ok(FromBridge::Welcome {
                version: v["version"].as_u64().unwrap_or_default(),
                nodes: v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(RealNode::from_value)
                    .collect(),
            }),
            (name, v) if name == "refused" => Ok(FromBridge::Refused {
                reason: self::text(&v["reason"]),
            }),
            (name, _) => Err(format!("unknown message {name:?}")),
        }
    }
}

/// `8 GiB`, `512 MiB`: a memory size as people read it.
pub fn memory(bytes: u64) -> String {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    if bytes >= GIB {
        format!("{}.{} GiB", bytes / GIB, (bytes % GIB) * 10 / GIB)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back_as_written() {
        let hello = ToBridge::Hello {
            version: VERSION,
            token: "t0k\"en".into(),
        };
        assert_eq!(ToBridge::from_json(&hello.to_json()), Ok(hello));
        let welcome = FromBridge::Welcome {
            version: VERSION,
            nodes: vec![RealNode {
                name: "box".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                kernel: "6.1.0".into(),
                cpus: 2,
                memory_bytes: 24 << 30,
                runtime: "containerd (/run/containerd/containerd.sock)".into(),
            }],
        };
        assert_eq!(FromBridge::from_json(&welcome.to_json()), Ok(welcome));
        let refused = FromBridge::Refused {
            reason: "wrong token".into(),
        };
        assert_eq!(FromBridge::from_json(&refused.to_json()), Ok(refused));
        assert!(ToBridge::from_json("{\"bye\": {}}").is_err());
        // The session's messages, as JSON.
        let call = SessionCall::Call {
            id: 7,
            call: CriCall::StartContainer {
                container_id: "c1".into(),
            },
        };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(
            text,
            r#"{"call":{"id":7,"call":{"StartContainer":{"container_id":"c1"}}}}"#
        );
        assert_eq!(serde_json::from_str::<SessionCall>(&text).unwrap(), call);
        let result = SessionEvent::Result {
            id: 7,
            result: Err("no".into()),
            took_ms: 3,
        };
        let text = serde_json::to_string(&result).unwrap();
        assert_eq!(
            text,
            r#"{"result":{"id":7,"result":{"Err":"no"},"tookMs":3}}"#
        );
        assert_eq!(serde_json::from_str::<SessionEvent>(&text).unwrap(), result);
        assert!(FromBridge::from_json("[1]").is_err());
        assert_eq!(memory(24 << 30), "24.0 GiB");
        assert_eq!(memory(1536 << 20), "1.5 GiB");
        assert_eq!(memory(512 << 20), "512 MiB");
    }
}
