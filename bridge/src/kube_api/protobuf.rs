//! Kubernetes protobuf request bodies, decoded to JSON.
//!
//! kubectl's typed clients (`create deployment`, `create namespace`, `auth can-i`, `drain`)
//! send `application/vnd.kubernetes.protobuf`: the magic `k8s\0`, then a `runtime.Unknown`
//! whose `typeMeta` names the kind and whose `raw` is the object in the wire format of
//! Kubernetes' `generated.proto`. The door decodes it with a schema read from the vendored
//! `.proto` files (field numbers, names and types) and hands core JSON, which is all core
//! speaks.
//!
//! Go's marshaller writes non-pointer fields even when they hold their zero value, where Go's
//! JSON would leave them out (`omitempty`). Zero values are dropped here so they read as
//! "unset" — except in the pointer fields of [`ZERO_MEANS_SOMETHING`], where an explicit `0`
//! or `false` is the user's word (`replicas: 0`, `enableServiceLinks: false`).
//! A few types have a JSON form of their own: `Time`, `Quantity`, `IntOrString`,
//! `RawExtension`, `FieldsV1`.

use std::collections::HashMap;

use base64::Engine;
use serde_json::{json, Map, Value};

const FILES: &[&str] = &[
    include_str!("../../proto/apimachinery/pkg/apis/meta/v1/generated.proto"),
    include_str!("../../proto/apimachinery/pkg/api/resource/generated.proto"),
    include_str!("../../proto/apimachinery/pkg/runtime/generated.proto"),
    include_str!("../../proto/apimachinery/pkg/util/intstr/generated.proto"),
    include_str!("../../proto/api/core/v1/generated.proto"),
    include_str!("../../proto/api/apps/v1/generated.proto"),
    include_str!("../../proto/api/authentication/v1/selfsubjectreview.proto"),
    include_str!("../../proto/api/authorization/v1/generated.proto"),
    include_str!("../../proto/api/autoscaling/v1/generated.proto"),
    include_str!("../../proto/api/coordination/v1/generated.proto"),
    include_str!("../../proto/api/policy/v1/generated.proto"),
    include_str!("../../proto/api/rbac/v1/generated.proto"),
    include_str!("../../proto/api/scheduling/v1/generated.proto"),
];

/// Pointer fields (`*int32`, `*bool` in Go) whose zero value differs from "unset".
const ZERO_MEANS_SOMETHING: &[&str] = &[
    "replicas",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "priority",
    "tolerationSeconds",
    "enableServiceLinks",
    "automountServiceAccountToken",
    "optional",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "privileged",
    "allowPrivilegeEscalation",
    "hostUsers",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "partition",
    "immutable",
    "suspend",
    "backoffLimit",
    "parallelism",
    "completions",
    "ttlSecondsAfterFinished",
    "minAvailable",
    "maxUnavailable",
    "maxSurge",
    "gracePeriodSeconds",
    "exitCode",
    "allowed",
    "defaultMode",
    "mode",
    "expirationSeconds",
    "leaseDurationSeconds",
    "leaseTransitions",
    "value",
];

pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\x00";

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Bool,
    Int32,
    Int64,
    String,
    Bytes,
    Message(String),
}

#[derive(Clone, Debug)]
struct Field {
    name: String,
    kind: Kind,
    repeated: bool,
    /// For `map<string, V>`: the value's kind.
    map_value: Option<Kind>,
}

/// Message name (fully qualified, no leading dot) → field number → field.
pub struct Schema {
    messages: HashMap<String, HashMap<u64, Field>>,
}

fn scalar_or_message(ty: &str, package: &str) -> Kind {
    match ty {
        "bool" => Kind::Bool,
        "int32" => Kind::Int32,
        "int64" => Kind::Int64,
        "string" => Kind::String,
        "bytes" => Kind::Bytes,
        t => match t.strip_prefix('.') {
            Some(fq) => Kind::Message(fq.to_string()),
            None => Kind::Message(format!("{package}.{t}")),
        },
    }
}

impl Schema {
    pub fn load() -> Schema {
        let mut messages = HashMap::new();
        for file in FILES {
            parse_file(file, &mut messages);
        }
        Schema { messages }
    }

    /// Decodes a whole request body: magic, `runtime.Unknown`, object.
    pub fn decode_body(&self, body: &[u8]) -> Result<Value, String> {
        let rest = body
            .strip_prefix(MAGIC)
            .ok_or("protobuf body without the k8s magic prefix")?;
        let unknown = self.decode("k8s.io.apimachinery.pkg.runtime.Unknown", rest)?;
        let api_version = unknown["typeMeta"]["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = unknown["typeMeta"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let raw = unknown["raw"].as_str().unwrap_or_default();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|e| e.to_string())?;
        let package = package_of(&api_version);
        let message = format!("{package}.{kind}");
        if !self.messages.contains_key(&message) {
            return Err(format!("no protobuf schema for {api_version}, Kind={kind}"));
        }
        let mut obj = self.decode(&message, &raw)?;
        if !obj.is_object() {
            return Err(format!("{api_version}, Kind={kind} is not an object kind"));
        }
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        Ok(obj)
    }

    fn decode(&self, message: &str, mut buf: &[u8]) -> Result<Value, String> {
        let fields = self
            .messages
            .get(message)
            .ok_or_else(|| format!("unknown message {message}"))?;
        let mut out = Map::new();
        while !buf.is_empty() {
            let key = varint(&mut buf)?;
            let (number, wire) = (key >> 3, key & 7);
            let Some(field) = fields.get(&number) else {
                skip(&mut buf, wire)?;
                continue;
            };
            if let Some(value_kind) = &field.map_value {
                let entry = length_delimited(&mut buf)?;
                let (k, v) = self.map_entry(entry, value_kind)?;
                let map = out.entry(field.name.clone()).or_insert_with(|| json!({}));
                map[k] = v;
                continue;
            }
            // A packed repeated scalar arrives as one length-delimited run of varints.
            if field.repeated
                && wire == 2
                && matches!(field.kind, Kind::Int32 | Kind::Int64 | Kind::Bool)
            {
                let mut run = length_delimited(&mut buf)?;
                while !run.is_empty() {
                    let v = scalar(&field.kind, varint(&mut run)?);
                    push(&mut out, &field.name, v);
                }
                continue;
            }
            let value = self.value(&field.kind, wire, &mut buf)?;
            if field.repeated {
                push(&mut out, &field.name, value);
            } else if !is_zero(&value)
                || (ZERO_MEANS_SOMETHING.contains(&field.name.as_str()) && value != json!(""))
            {
                out.insert(field.name.clone(), value);
            }
        }
        Ok(special(message, Value::Object(out)))
    }

    fn value(&self, kind: &Kind, wire: u64, buf: &mut &[u8]) -> Result<Value, String> {
        Ok(match (kind, wire) {
            (Kind::Bool | Kind::Int32 | Kind::Int64, 0) => scalar(kind, varint(buf)?),
            (Kind::String, 2) => json!(String::from_utf8_lossy(length_delimited(buf)?)),
            (Kind::Bytes, 2) => {
                json!(base64::engine::general_purpose::STANDARD.encode(length_delimited(buf)?))
            }
            (Kind::Message(m), 2) => {
                let inner = length_delimited(buf)?;
                self.decode(m, inner)?
            }
            (_, w) => {
                skip(buf, w)?;
                Value::Null
            }
        })
    }

    fn map_entry(&self, mut entry: &[u8], value_kind: &Kind) -> Result<(String, Value), String> {
        let (mut key, mut value) = (String::new(), Value::Null);
        while !entry.is_empty() {
            let tag = varint(&mut entry)?;
            match tag >> 3 {
                1 => key = String::from_utf8_lossy(length_delimited(&mut entry)?).into_owned(),
                2 => value = self.value(value_kind, tag & 7, &mut entry)?,
                _ => skip(&mut entry, tag & 7)?,
            }
        }
        if value == Value::Null && *value_kind == Kind::String {
            value = json!("");
        }
        Ok((key, value))
    }
}

fn is_zero(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false)) || *v == json!("") || *v == json!(0)
}

fn push(out: &mut Map<String, Value>, name: &str, v: Value) {
    match out.entry(name.to_string()).or_insert_with(|| json!([])) {
        Value::Array(a) => a.push(v),
        other => *other = json!([v]),
    }
}

fn scalar(kind: &Kind, v: u64) -> Value {
    match kind {
        Kind::Bool => json!(v != 0),
        Kind::Int32 => json!(v as i64 as i32),
        _ => json!(v as i64),
    }
}

/// The JSON forms of the types that do not marshal as plain objects.
fn special(message: &str, v: Value) -> Value {
    match message.rsplit('.').next().unwrap_or_default() {
        "Time" | "MicroTime" if message.contains("meta.v1") => {
            let secs = v["seconds"].as_i64().unwrap_or(0);
            // Go's zero time (year 1) means "unset".
            if secs <= -62_135_596_800 || v.get("seconds").is_none() {
                return Value::Null;
            }
            match secs.checked_mul(1000) {
                Some(ms) => json!(kubeplay_core::sim::Time(ms).rfc3339()),
                None => Value::Null,
            }
        }
        "Quantity" => v.get("string").cloned().unwrap_or(json!("0")),
        "IntOrString" => match v["type"].as_i64() {
            Some(1) => v.get("strVal").cloned().unwrap_or(json!("")),
            _ => v.get("intVal").cloned().unwrap_or(json!(0)),
        },
        "RawExtension" | "FieldsV1" => {
            let raw = v["raw"]
                .as_str()
                .and_then(|r| base64::engine::general_purpose::STANDARD.decode(r).ok());
            raw.and_then(|r| serde_json::from_slice(&r).ok())
                .unwrap_or(Value::Null)
        }
        "ExtraValue" | "Verbs" => v.get("items").cloned().unwrap_or(json!([])),
        _ => v,
    }
}

fn package_of(api_version: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let short = match group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    format!("k8s.io.api.{short}.{version}")
}

fn varint(buf: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first().ok_or("truncated varint")?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

fn length_delimited<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let len = varint(buf)? as usize;
    if len > buf.len() {
        return Err("truncated length-delimited field".into());
    }
    let (head, rest) = buf.split_at(len);
    *buf = rest;
    Ok(head)
}

fn skip(buf: &mut &[u8], wire: u64) -> Result<(), String> {
    let n = match wire {
        0 => return varint(buf).map(|_| ()),
        1 => 8,
        2 => return length_delimited(buf).map(|_| ()),
        5 => 4,
        w => return Err(format!("unsupported wire type {w}")),
    };
    if n > buf.len() {
        return Err("truncated fixed-width field".into());
    }
    *buf = &buf[n..];
    Ok(())
}

/// Reads the messages of one `generated.proto`: flat messages of `optional`, `repeated` and
/// `map<string, V>` fields, which is all Kubernetes' generator writes.
fn parse_file(text: &str, messages: &mut HashMap<String, HashMap<u64, Field>>) {
    let mut package = String::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        if let Some(p) = line.strip_prefix("package ") {
            package = p.trim_end_matches(';').to_string();
        } else if let Some(m) = line.strip_prefix("message ") {
            let name = format!("{package}.{}", m.trim_end_matches('{').trim());
            messages.entry(name.clone()).or_default();
            current = Some(name);
        } else if line == "}" {
            current = None;
        } else if let Some(msg) = &current {
            let Some((decl, number)) = line.trim_end_matches(';').rsplit_once('=') else {
                continue;
            };
            let Ok(number) = number.trim().parse::<u64>() else {
                continue;
            };
            let words: Vec<&str> = decl.split_whitespace().collect();
            let field = if let Some(map) = decl.trim().strip_prefix("map<") {
                let Some((types, name)) = map.split_once('>') else {
                    continue;
                };
                let value_ty = types.split(',').nth(1).unwrap_or_default().trim();
                Field {
                    name: name.trim().to_string(),
                    kind: Kind::String,
                    repeated: false,
                    map_value: Some(scalar_or_message(value_ty, &package)),
                }
            } else if let [label, ty, name] = words.as_slice() {
                Field {
                    name: name.to_string(),
                    kind: scalar_or_message(ty, &package),
                    repeated: *label == "repeated",
                    map_value: None,
                }
            } else {
                continue;
            };
            if let Some(fields) = messages.get_mut(msg) {
                fields.insert(number, field);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: u64, wire: u64) -> Vec<u8> {
        enc_varint((n << 3) | wire)
    }

    fn enc_varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn ld(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = tag(n, 2);
        out.extend(enc_varint(bytes.len() as u64));
        out.extend(bytes);
        out
    }

    #[test]
    fn decodes_a_namespace_in_an_unknown_envelope() {
        // Namespace{metadata{name "team-a", labels{env: dev}}, spec{finalizers ["kubernetes"]}}
        let mut meta = ld(1, b"team-a");
        meta.extend(ld(11, &[ld(1, b"env"), ld(2, b"dev")].concat()));
        meta.extend(ld(4, b"")); // an empty generateName, as Go writes it
        let ns = [ld(1, &meta), ld(2, &ld(1, b"kubernetes"))].concat();
        let type_meta = [ld(1, b"v1"), ld(2, b"Namespace")].concat();
        let unknown = [ld(1, &type_meta), ld(2, &ns)].concat();
        let body = [MAGIC.to_vec(), unknown].concat();
        let v = Schema::load().decode_body(&body).unwrap();
        assert_eq!(
            v,
            json!({"metadata": {"name": "team-a", "labels": {"env": "dev"}}, "spec": {"finalizers": ["kubernetes"]}, "apiVersion": "v1", "kind": "Namespace"})
        );
    }

    #[test]
    fn decodes_int_or_string_and_quantities() {
        let schema = Schema::load();
        let ru = [ld(1, &[tag(1, 0), enc_varint(1), ld(3, b"25%")].concat())].concat();
        let v = schema
            .decode("k8s.io.api.apps.v1.RollingUpdateDeployment", &ru)
            .unwrap();
        assert_eq!(v, json!({"maxUnavailable": "25%"}));
        let limits = ld(1, &[ld(1, b"cpu"), ld(2, &ld(1, b"500m"))].concat());
        let v = schema
            .decode("k8s.io.api.core.v1.ResourceRequirements", &limits)
            .unwrap();
        assert_eq!(v, json!({"limits": {"cpu": "500m"}}));
        assert!(schema.decode_body(b"not protobuf").is_err());
    }
}
