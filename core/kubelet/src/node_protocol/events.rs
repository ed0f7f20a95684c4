//! Reading a bridge's session events from JSON by hand. The page ships this reader instead of
//! the derived `Deserialize` (which stays, as the oracle the tests hold this to): measured on
//! the built page, the derived visitors for `SessionEvent`, `CriResult` and `JoinedNode` cost
//! 2.2 KB more of gzipped wasm. Strict as the derived one: a missing field or a value of the
//! wrong type is an error, and the message is refused whole.

use serde_json::Value;

use super::{JoinedNode, SessionEvent};
use crate::cri::{ContainerStats, CriResult, DnsConfig};

/// The one key of an externally tagged value, and what it holds.
fn tag(v: &Value) -> Result<(&str, &Value), String> {
    match v.as_object() {
        Some(m) if m.len() == 1 => m
            .iter()
            .next()
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| "an empty message".to_string()),
        _ => Err(format!("expected one tagged value, got {v}")),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("missing field `{name}`"))
}

fn string(v: &Value, name: &str) -> Result<String, String> {
    field(v, name)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("`{name}` is not a string"))
}

fn int(v: &Value, name: &str) -> Result<i64, String> {
    field(v, name)?
        .as_i64()
        .ok_or_else(|| format!("`{name}` is not an integer"))
}

fn unsigned(v: &Value, name: &str) -> Result<u64, String> {
    field(v, name)?
        .as_u64()
        .ok_or_else(|| format!("`{name}` is not an unsigned integer"))
}

fn strings(v: &Value, name: &str) -> Result<Vec<String>, String> {
    let list = field(v, name)?
        .as_array()
        .ok_or_else(|| format!("`{name}` is not a list"))?;
    list.iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("`{name}` holds something other than strings"))
}

fn boolean(v: &Value, name: &str) -> Result<bool, String> {
    field(v, name)?
        .as_bool()
        .ok_or_else(|| format!("`{name}` is not a boolean"))
}

impl SessionEvent {
    /// Reads an event as the derived `Deserialize` would.
    pub fn from_value(v: &Value) -> Result<SessionEvent, String> {
        let (name, body) = tag(v)?;
        Ok(match name {
            "joined" => SessionEvent::Joined {
                node: Box::new(JoinedNode::from_value(field(body, "node")?)?),
            },
            "result" => SessionEvent::Result {
                id: unsigned(body, "id")?,
                result: match tag(field(body, "result")?)? {
                    ("Ok", r) => Ok(CriResult::from_value(r)?),
                    ("Err", e) => Err(e.as_str().ok_or("`Err` is not a string")?.to_string()),
                    (other, _) => return Err(format!("unknown variant `{other}`")),
                },
                took_ms: int(body, "tookMs")?,
            },
            "exited" => SessionEvent::Exited {
                container_id: string(body, "containerId")?,
                exit_code: int(body, "exitCode")?,
                reason: body["reason"].as_str().unwrap_or_default().to_string(),
            },
            "log" => SessionEvent::Log {
                id: unsigned(body, "id")?,
                text: match field(body, "text")? {
                    Value::Null => None,
                    t => Some(t.as_str().ok_or("`text` is not a string")?.to_string()),
                },
            },
            "error" => SessionEvent::Error {
                message: string(body, "message")?,
            },
            other => return Err(format!("unknown variant `{other}`")),
        })
    }
}

impl CriResult {
    fn from_value(v: &Value) -> Result<CriResult, String> {
        if v == "Done" {
            return Ok(CriResult::Done);
        }
        let (name, b) = tag(v)?;
        Ok(match name {
            "Sandbox" => CriResult::Sandbox {
                sandbox_id: string(b, "sandbox_id")?,
                ip: string(b, "ip")?,
            },
            "Image" => CriResult::Image {
                image_ref: string(b, "image_ref")?,
                size_bytes: int(b, "size_bytes")?,
            },
            "Container" => CriResult::Container {
                container_id: string(b, "container_id")?,
            },
            "Probe" => CriResult::Probe {
                success: boolean(b, "success")?,
                message: string(b, "message")?,
            },
            "ContainerStats" => {
                let list = field(b, "stats")?
                    .as_array()
                    .ok_or("`stats` is not a list")?;
                let mut stats = Vec::new();
                for c in list {
                    stats.push(ContainerStats {
                        container_id: string(c, "container_id")?,
                        cpu_usage_nano_cores: int(c, "cpu_usage_nano_cores")?,
                        memory_working_set_bytes: int(c, "memory_working_set_bytes")?,
                    });
                }
                CriResult::ContainerStats { stats }
            }
            other => return Err(format!("unknown variant `{other}`")),
        })
    }
}

impl JoinedNode {
    fn from_value(v: &Value) -> Result<JoinedNode, String> {
        let mut labels = std::collections::BTreeMap::new();
        for (k, v) in field(v, "labels")?
            .as_object()
            .ok_or("`labels` is not a map")?
        {
            let v = v.as_str().ok_or("a label is not a string")?;
            labels.insert(k.clone(), v.to_string());
        }
        let images = field(v, "images")?
            .as_array()
            .ok_or("`images` is not a list")?
            .iter()
            .map(
                |i| match (i[0].as_str(), i[1].as_i64(), i.as_array().map(Vec::len)) {
                    (Some(name), Some(size), Some(2)) => Ok((name.to_string(), size)),
                    _ => Err(format!("an image is not [name, size]: {i}")),
                },
            )
            .collect::<Result<_, String>>()?;
        let resolv_conf = match v.get("resolvConf") {
            None | Some(Value::Null) => None,
            Some(r) => Some(DnsConfig {
                servers: strings(r, "servers")?,
                searches: strings(r, "searches")?,
                options: strings(r, "options")?,
            }),
        };
        Ok(JoinedNode {
            resolv_conf,
            name: string(v, "name")?,
            cpu: string(v, "cpu")?,
            memory: string(v, "memory")?,
            pod_cidr: string(v, "podCidr")?,
            internal_ip: string(v, "internalIp")?,
            root_dir: string(v, "rootDir")?,
            log_dir: string(v, "logDir")?,
            runtime_version: string(v, "runtimeVersion")?,
            os_image: string(v, "osImage")?,
            kernel_version: string(v, "kernelVersion")?,
            labels,
            taints: field(v, "taints")?
                .as_array()
                .ok_or("`taints` is not a list")?
                .clone(),
            images,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event reads the same by hand as through the derived `Deserialize`; what the
    /// derived one refuses, this refuses.
    #[test]
    fn reads_as_the_derived_deserialize() {
        let node = JoinedNode {
            name: "box".into(),
            cpu: "2".into(),
            memory: "8Gi".into(),
            pod_cidr: "10.89.1.0/24".into(),
            internal_ip: "10.0.0.5".into(),
            root_dir: "/var/lib/kubelet".into(),
            log_dir: "/var/log/pods".into(),
            runtime_version: "containerd://1.6.20".into(),
            os_image: "Debian GNU/Linux 12".into(),
            kernel_version: "6.1.0".into(),
            labels: [("kubeplay.io/real-node".to_string(), "true".to_string())].into(),
            taints: vec![
                serde_json::json!({"key": "kubeplay.io/real-node", "value": "true", "effect": "NoSchedule"}),
            ],
            images: vec![("localhost/kubeplay/pause:1".into(), 812_000)],
            resolv_conf: Some(DnsConfig {
                servers: vec!["10.0.0.2".into()],
                searches: vec!["lan".into()],
                options: vec!["edns0".into()],
            }),
        };
        let results = [
            Ok(CriResult::Sandbox {
                sandbox_id: "s1".into(),
                ip: "10.89.1.2".into(),
            }),
            Ok(CriResult::Image {
                image_ref: "sha256:ab".into(),
                size_bytes: 1,
            }),
            Ok(CriResult::Container {
                container_id: "c1".into(),
            }),
            Ok(CriResult::Probe {
                success: false,
                message: "HTTP probe failed with statuscode: 404".into(),
            }),
            Ok(CriResult::Done),
            Ok(CriResult::ContainerStats {
                stats: vec![ContainerStats {
                    container_id: "c1".into(),
                    cpu_usage_nano_cores: 2_500_000,
                    memory_working_set_bytes: 3 << 20,
                }],
            }),
            Err("rpc error: code = NotFound".into()),
        ];
        let mut events = vec![
            SessionEvent::Joined {
                node: Box::new(node),
            },
            SessionEvent::Exited {
                container_id: "c1".into(),
                exit_code: 137,
                reason: "OOMKilled".into(),
            },
            SessionEvent::Log {
                id: 3,
                text: Some("serving\n".into()),
            },
            SessionEvent::Log { id: 4, text: None },
            SessionEvent::Error {
                message: "join first".into(),
            },
        ];
        events.extend(
            results
                .into_iter()
                .enumerate()
                .map(|(i, result)| SessionEvent::Result {
                    id: i as u64,
                    result,
                    took_ms: 93,
                }),
        );
        for event in events {
            let v = serde_json::to_value(&event).unwrap();
            let derived: SessionEvent = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(SessionEvent::from_value(&v), Ok(derived), "{v}");
        }
        for bad in [
            r#"{"result": {"id": 1, "result": {"Ok": {"Sandbox": {"ip": "x"}}}, "tookMs": 1}}"#,
            r#"{"result": {"id": -1, "result": {"Ok": "Done"}, "tookMs": 1}}"#,
            r#"{"result": {"id": 1, "result": {"Maybe": "Done"}, "tookMs": 1}}"#,
            r#"{"exited": {"containerId": 7, "exitCode": 1}}"#,
            r#"{"joined": {"node": {"name": "box"}}}"#,
            r#"{"welcome": {}}"#,
            r#"{"log": {"id": 1}, "error": {"message": "two"}}"#,
        ] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(
                serde_json::from_value::<SessionEvent>(v.clone()).is_err(),
                "the derived reader takes {bad}"
            );
            assert!(SessionEvent::from_value(&v).is_err(), "{bad}");
        }
    }
}
