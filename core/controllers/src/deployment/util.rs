//! The arithmetic every Deployment strategy shares (`deployment/util` upstream): replica
//! counts, revisions, the template a ReplicaSet runs, and the rolling update's fenceposts.

use serde_json::Value;

use apimachinery::clock::Time;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// `spec.replicas` of a Deployment or ReplicaSet (defaulted to 1 by the API server).
pub fn replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1)
}

pub fn status_count(obj: &Value, field: &str) -> i64 {
    obj["status"][field].as_i64().unwrap_or(0)
}

pub fn available(obj: &Value) -> i64 {
    status_count(obj, "availableReplicas")
}

pub fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn created(rs: &Value) -> (Time, String) {
    let t = rs["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(Time::parse_rfc3339)
        .unwrap_or_default();
    (t, apimachinery::api::meta::name(rs).to_string())
}

/// The `pod-template-hash` of a template: FNV-32a of its JSON, written in Kubernetes'
/// consonant-and-digit alphabet digit by digit (`ComputeHash` + `SafeEncodeString`).
/// The JSON is canonical (keys sorted), so the hash depends on the template, not on the order
/// its fields were last written in.
pub fn template_hash(template: &Value, collision_count: i64) -> String {
    let mut text = String::new();
    canonical_json(template, &mut text);
    if collision_count > 0 {
        text.push_str(&collision_count.to_string());
    }
    let hash = text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string()
        .bytes()
        .map(|d| ALPHANUMS[usize::from(d) % ALPHANUMS.len()] as char)
        .collect()
}

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            apimachinery::collections::sort(&mut keys);
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Whether a ReplicaSet's template is the Deployment's, the hash label aside
/// (`EqualIgnoreHash`).
pub fn same_template(rs: &Value, d: &Value) -> bool {
    let mut t = rs["spec"]["template"].clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
        if labels.is_empty() {
            if let Some(m) = t["metadata"].as_object_mut() {
                m.remove("labels");
            }
        }
    }
    t == d["spec"]["template"]
}

/// The ReplicaSet of the current template, and the others oldest first.
pub fn split(d: &Value, mut owned: Vec<Value>) -> (Option<Value>, Vec<Value>) {
    apimachinery::collections::sort_by_key(&mut owned, created);
    let pos = owned.iter().position(|rs| same_template(rs, d));
    let new = pos.map(|i| owned.remove(i));
    (new, owned)
}

/// An `intstr` of the strategy against `total`: an absolute count, or a percentage rounded up
/// (surge) or down (unavailable) (`GetScaledValueFromIntOrPercent`).
fn scaled(value: &Value, total: i64, round_up: bool) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            let x = pct * total;
            if round_up {
                (x + 99) / 100
            } else {
                x / 100
            }
        }
        _ => 0,
    }
}

fn fenceposts(d: &Value) -> (i64, i64) {
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    if d["spec"]["strategy"]["type"] != "RollingUpdate" {
        return (0, 0);
    }
    let total = replicas(d);
    let surge = scaled(
        ru.get("maxSurge").unwrap_or(&Value::from("25%")),
        total,
        true,
    );
    let unavailable = scaled(
        ru.get("maxUnavailable").unwrap_or(&Value::from("25%")),
        total,
        false,
    );
    // Both zero would make progress impossible: allow one unavailable (`ResolveFenceposts`).
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

pub fn max_surge(d: &Value) -> i64 {
    fenceposts(d).0
}

/// Never more than `replicas` (`MaxUnavailable`).
pub fn max_unavailable(d: &Value) -> i64 {
    fenceposts(d).1.min(replicas(d))
}
