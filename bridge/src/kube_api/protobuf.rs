//! Kubernetes protobuf request bodies, decoded to JSON.
//!
//! kubectl's typed clients (`create deployment`, `create namespace`, `auth can-i`, `drain`)
//! send `application/vnd.kubernetes.protobuf`: the magic `k8s\0`, then a `runtime.Unknown`
//! whose `typeMeta` names the kind and whose `raw` is the object in the wire format of
//! Kubernetes' `generated.proto`. `build.rs` compiles the vendored `generated.proto` files
//! (`proto/k8s.io`) into descriptors with protox; prost-reflect decodes a body with them, and
//! this module writes the JSON Go's `encoding/json` would write for the same object, which is
//! all core speaks.
//!
//! Where Go's JSON and the wire differ, `proto/go-json.txt` (generated from the Go types) says
//! how: Go's marshaller writes every non-pointer field, zero or not, where Go's JSON leaves a
//! zero `omitempty` field out — the file lists the fields whose zero Go's JSON does write
//! (`keep-zero`: pointers, fields without `omitempty`), so a zero reads as "unset" everywhere
//! else (`replicas: 0` stays; an empty `generateName` goes); and an embedded struct is a field
//! of its own on the wire but spread into its parent in JSON (`inline`: a Volume's
//! VolumeSource). A few types have a JSON form of their own: `Time`, `MicroTime`, `Quantity`,
//! `IntOrString`, `RawExtension`, `FieldsV1`, `ExtraValue`.

use std::collections::HashSet;

use base64::Engine;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value as Proto,
};
use serde_json::{json, Map, Value};

use kubeplay_core::clock;

const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/k8s-api.bin"));
const GO_JSON: &str = include_str!("../../proto/go-json.txt");

pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\x00";
const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";
const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// The Kubernetes messages, and where their JSON differs from the wire.
pub struct Schema {
    pool: DescriptorPool,
    /// `<message>.<field>` whose zero Go's JSON writes.
    keep_zero: HashSet<&'static str>,
    /// `<message>.<field>` embedded in Go: spread into the parent in JSON.
    inline: HashSet<&'static str>,
}

impl Schema {
    pub fn load() -> Schema {
        let pool =
            DescriptorPool::decode(DESCRIPTORS).expect("the descriptors build.rs compiled decode");
        let (mut keep_zero, mut inline) = (HashSet::new(), HashSet::new());
        for line in GO_JSON.lines().filter(|l| !l.starts_with('#')) {
            match line.split_once(' ') {
                Some((field, "keep-zero")) => keep_zero.insert(field),
                Some((field, "inline")) => inline.insert(field),
                _ => false,
            };
        }
        Schema {
            pool,
            keep_zero,
            inline,
        }
    }

    /// The message of a kind (`apps/v1`, `Deployment`), if the door can decode it.
    pub fn message(&self, api_version: &str, kind: &str) -> Option<MessageDescriptor> {
        self.pool
            .get_message_by_name(&format!("{}.{kind}", package_of(api_version)))
    }

    /// Decodes a whole request body: magic, `runtime.Unknown`, object.
    pub fn decode_body(&self, body: &[u8]) -> Result<Value, String> {
        let rest = body
            .strip_prefix(MAGIC)
            .ok_or("protobuf body without the k8s magic prefix")?;
        let unknown = self.pool.get_message_by_name(UNKNOWN).ok_or(UNKNOWN)?;
        let unknown = DynamicMessage::decode(unknown, rest).map_err(|e| e.to_string())?;
        let string = |m: &DynamicMessage, name: &str| {
            m.get_field_by_name(name)
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let type_meta = unknown
            .get_field_by_name("typeMeta")
            .and_then(|v| v.as_message().cloned())
            .ok_or("runtime.Unknown without typeMeta")?;
        let (api_version, kind) = (string(&type_meta, "apiVersion"), string(&type_meta, "kind"));
        let raw = unknown
            .get_field_by_name("raw")
            .and_then(|v| v.as_bytes().cloned())
            .unwrap_or_default();
        let desc = self
            .message(&api_version, &kind)
            .ok_or_else(|| format!("no protobuf schema for {api_version}, Kind={kind}"))?;
        let msg = DynamicMessage::decode(desc, raw).map_err(|e| e.to_string())?;
        let mut obj = self.message_to_json(&msg);
        if !obj.is_object() {
            return Err(format!("{api_version}, Kind={kind} is not an object kind"));
        }
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        Ok(obj)
    }

    /// A message as Go's JSON writes it: the fields set, zeros left out unless the field
    /// keeps them, the special types in their own form.
    fn message_to_json(&self, msg: &DynamicMessage) -> Value {
        let desc = msg.descriptor();
        let mut out = Map::new();
        for (field, value) in msg.fields() {
            let v = self.value_json(&field, value);
            if self.rule(&self.inline, &desc, &field) {
                if let Value::Object(fields) = v {
                    out.extend(fields);
                }
                continue;
            }
            let keep = !is_zero(&v)
                || field.is_list()
                || field.is_map()
                || self.rule(&self.keep_zero, &desc, &field) && !v.is_null();
            if keep {
                out.insert(field.name().to_string(), v);
            }
        }
        special_to_json(desc.full_name(), Value::Object(out))
    }

    fn rule(
        &self,
        set: &HashSet<&'static str>,
        desc: &MessageDescriptor,
        field: &FieldDescriptor,
    ) -> bool {
        set.contains(format!("{}.{}", desc.full_name(), field.name()).as_str())
    }

    fn value_json(&self, field: &FieldDescriptor, value: &Proto) -> Value {
        match value {
            Proto::List(items) => items.iter().map(|v| self.scalar_json(v)).collect(),
            Proto::Map(entries) => {
                // Go's JSON writes a map's keys sorted.
                let mut keys: Vec<(&MapKey, &Proto)> = entries.iter().collect();
                keys.sort_by_key(|(k, _)| map_key(k));
                let map = keys
                    .into_iter()
                    .map(|(k, v)| (map_key(k), self.scalar_json(v)))
                    .collect();
                debug_assert!(field.is_map());
                Value::Object(map)
            }
            v => self.scalar_json(v),
        }
    }

    fn scalar_json(&self, value: &Proto) -> Value {
        match value {
            Proto::Bool(b) => json!(b),
            Proto::I32(n) => json!(n),
            Proto::I64(n) => json!(n),
            Proto::U32(n) => json!(n),
            Proto::U64(n) => json!(n),
            Proto::F32(n) => json!(n),
            Proto::F64(n) => json!(n),
            Proto::EnumNumber(n) => json!(n),
            Proto::String(s) => json!(s),
            Proto::Bytes(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
            Proto::Message(m) => self.message_to_json(m),
            Proto::List(_) | Proto::Map(_) => Value::Null,
        }
    }

    /// Encodes an object as Go's marshaller does — every non-pointer field written, zero or
    /// not — in the envelope kubectl sends. The inverse of [`Schema::decode_body`], for
    /// tests that check the decoder against it.
    pub fn encode_body(&self, obj: &Value) -> Result<Vec<u8>, String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let desc = self
            .message(api_version, kind)
            .ok_or_else(|| format!("no protobuf schema for {api_version}, Kind={kind}"))?;
        let raw = self.message_from_json(&desc, obj)?.encode_to_vec();
        // `typeMeta` is inline in `runtime.Unknown`'s JSON.
        let unknown = json!({
            "apiVersion": api_version, "kind": kind,
            "raw": base64::engine::general_purpose::STANDARD.encode(raw),
            "contentEncoding": "", "contentType": "",
        });
        let unknown_desc = self.pool.get_message_by_name(UNKNOWN).ok_or(UNKNOWN)?;
        let envelope = self
            .message_from_json(&unknown_desc, &unknown)?
            .encode_to_vec();
        Ok([MAGIC, &envelope].concat())
    }

    fn message_from_json(
        &self,
        desc: &MessageDescriptor,
        v: &Value,
    ) -> Result<DynamicMessage, String> {
        let v = special_from_json(desc.full_name(), v);
        let mut msg = DynamicMessage::new(desc.clone());
        for field in desc.fields() {
            if let (true, Kind::Message(inner)) =
                (self.rule(&self.inline, desc, &field), field.kind())
            {
                msg.set_field(&field, Proto::Message(self.message_from_json(&inner, &v)?));
                continue;
            }
            match v.get(field.name()) {
                Some(value) if !value.is_null() => {
                    let value = self.field_from_json(&field, value)?;
                    msg.set_field(&field, value);
                }
                // Go writes a non-pointer scalar even when it is zero.
                _ if !field.is_list()
                    && !field.is_map()
                    && !matches!(field.kind(), Kind::Message(_))
                    && !self.rule(&self.keep_zero, desc, &field) =>
                {
                    msg.set_field(&field, Proto::default_value_for_field(&field));
                }
                _ => {}
            }
        }
        Ok(msg)
    }

    fn field_from_json(&self, field: &FieldDescriptor, v: &Value) -> Result<Proto, String> {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return Err(format!("{}: a map without an entry type", field.name()));
            };
            let value_kind = entry.map_entry_value_field().kind();
            let mut map = std::collections::HashMap::new();
            for (k, item) in v.as_object().into_iter().flatten() {
                map.insert(
                    MapKey::String(k.clone()),
                    self.kind_from_json(&value_kind, item)?,
                );
            }
            return Ok(Proto::Map(map));
        }
        if field.is_list() {
            let items = v
                .as_array()
                .ok_or_else(|| format!("{}: not a list", field.name()))?;
            let kind = field.kind();
            let items: Result<Vec<Proto>, String> = items
                .iter()
                .map(|i| self.kind_from_json(&kind, i))
                .collect();
            return Ok(Proto::List(items?));
        }
        self.kind_from_json(&field.kind(), v)
    }

    fn kind_from_json(&self, kind: &Kind, v: &Value) -> Result<Proto, String> {
        let int = || v.as_i64().ok_or_else(|| format!("{v}: not an integer"));
        Ok(match kind {
            Kind::Bool => Proto::Bool(v.as_bool().ok_or_else(|| format!("{v}: not a bool"))?),
            Kind::Int32 => Proto::I32(int()? as i32),
            Kind::Int64 => Proto::I64(int()?),
            Kind::Double => Proto::F64(v.as_f64().ok_or_else(|| format!("{v}: not a number"))?),
            Kind::String => Proto::String(v.as_str().unwrap_or_default().to_string()),
            Kind::Bytes => Proto::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap_or_default())
                    .map_err(|e| e.to_string())?
                    .into(),
            ),
            Kind::Message(m) => Proto::Message(self.message_from_json(m, v)?),
            other => return Err(format!("no JSON form for protobuf {other:?}")),
        })
    }
}

fn map_key(k: &MapKey) -> String {
    match k {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

fn is_zero(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false)) || *v == json!("") || *v == json!(0)
}

fn short_name(message: &str) -> &str {
    message.rsplit('.').next().unwrap_or_default()
}

/// The JSON forms of the types that do not marshal as plain objects.
fn special_to_json(message: &str, v: Value) -> Value {
    let raw_json = |field: &str| {
        v[field]
            .as_str()
            .and_then(|r| base64::engine::general_purpose::STANDARD.decode(r).ok())
            .and_then(|r| serde_json::from_slice(&r).ok())
            .unwrap_or(Value::Null)
    };
    match short_name(message) {
        name @ ("Time" | "MicroTime") if message.starts_with(META) => {
            let secs = v["seconds"].as_i64().unwrap_or(0);
            let nanos = v["nanos"].as_i64().unwrap_or(0);
            // Go's zero time (year 1) means "unset".
            if secs <= -62_135_596_800 || v.get("seconds").is_none() {
                return Value::Null;
            }
            match secs.checked_mul(1_000_000) {
                Some(us) => json!(clock::rfc3339(us + nanos / 1000, name == "MicroTime")),
                None => Value::Null,
            }
        }
        "Quantity" => v.get("string").cloned().unwrap_or(json!("0")),
        "IntOrString" => match v["type"].as_i64() {
            Some(1) => v.get("strVal").cloned().unwrap_or(json!("")),
            _ => v.get("intVal").cloned().unwrap_or(json!(0)),
        },
        "RawExtension" => raw_json("raw"),
        "FieldsV1" => raw_json("Raw"),
        "ExtraValue" => v.get("items").cloned().unwrap_or(json!([])),
        _ => v,
    }
}

/// [`special_to_json`] backwards: the message form of a special type's JSON.
fn special_from_json(message: &str, v: &Value) -> Value {
    let raw = || base64::engine::general_purpose::STANDARD.encode(v.to_string());
    match short_name(message) {
        "Time" | "MicroTime" if message.starts_with(META) => {
            let us: i64 = v
                .as_str()
                .and_then(clock::parse_rfc3339_micros)
                .unwrap_or(0);
            json!({"seconds": us.div_euclid(1_000_000), "nanos": us.rem_euclid(1_000_000) * 1000})
        }
        "Quantity" => json!({"string": v}),
        "IntOrString" => match v {
            Value::String(s) => json!({"type": 1, "strVal": s}),
            n => json!({"type": 0, "intVal": n}),
        },
        "RawExtension" => json!({"raw": raw()}),
        "FieldsV1" => json!({"Raw": raw()}),
        "ExtraValue" => json!({"items": v}),
        _ => v.clone(),
    }
}

/// The protobuf package of an API version: `apps/v1` → `k8s.io.api.apps.v1`.
fn package_of(api_version: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let short = match group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    format!("k8s.io.api.{short}.{version}")
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

    fn envelope(api_version: &[u8], kind: &[u8], object: &[u8]) -> Vec<u8> {
        let type_meta = [ld(1, api_version), ld(2, kind)].concat();
        let unknown = [ld(1, &type_meta), ld(2, object)].concat();
        [MAGIC.to_vec(), unknown].concat()
    }

    /// Bytes as Go writes them, by hand: not our own encoder.
    #[test]
    fn decodes_a_namespace_in_an_unknown_envelope() {
        // Namespace{metadata{name "team-a", labels{env: dev}}, spec{finalizers ["kubernetes"]}}
        let mut meta = ld(1, b"team-a");
        meta.extend(ld(11, &[ld(1, b"env"), ld(2, b"dev")].concat()));
        meta.extend(ld(2, b"")); // an empty generateName, as Go writes it
        let ns = [ld(1, &meta), ld(2, &ld(1, b"kubernetes"))].concat();
        let v = Schema::load()
            .decode_body(&envelope(b"v1", b"Namespace", &ns))
            .unwrap();
        assert_eq!(
            v,
            json!({"metadata": {"name": "team-a", "labels": {"env": "dev"}}, "spec": {"finalizers": ["kubernetes"]}, "apiVersion": "v1", "kind": "Namespace"})
        );
    }

    #[test]
    fn a_pointer_keeps_its_zero_and_a_plain_field_does_not() {
        // DeploymentSpec{replicas: 0 (a *int32), minReadySeconds: 0 (an int32), paused: false}
        let spec = [
            tag(1, 0),
            enc_varint(0),
            tag(5, 0),
            enc_varint(0),
            tag(7, 0),
            enc_varint(0),
        ]
        .concat();
        let body = envelope(b"apps/v1", b"Deployment", &ld(2, &spec));
        let v = Schema::load().decode_body(&body).unwrap();
        assert_eq!(v["spec"], json!({"replicas": 0}));
        // A StorageClass's name for "no class" is the empty string, and it is kept.
        let pvc_spec = ld(5, b"");
        let body = envelope(b"v1", b"PersistentVolumeClaim", &ld(2, &pvc_spec));
        let v = Schema::load().decode_body(&body).unwrap();
        assert_eq!(v["spec"], json!({"storageClassName": ""}));
    }

    #[test]
    fn decodes_int_or_string_quantities_and_times() {
        let schema = Schema::load();
        let ru = ld(1, &[tag(1, 0), enc_varint(1), ld(3, b"25%")].concat());
        let strategy = ld(2, &ru);
        let spec = ld(4, &strategy);
        let v = schema
            .decode_body(&envelope(b"apps/v1", b"Deployment", &ld(2, &spec)))
            .unwrap();
        assert_eq!(
            v["spec"]["strategy"],
            json!({"rollingUpdate": {"maxUnavailable": "25%"}})
        );
        let limits = ld(1, &[ld(1, b"cpu"), ld(2, &ld(1, b"500m"))].concat());
        let container = [ld(1, b"c"), ld(8, &limits)].concat();
        let pod = ld(2, &ld(2, &container));
        let v = schema.decode_body(&envelope(b"v1", b"Pod", &pod)).unwrap();
        assert_eq!(
            v["spec"]["containers"][0]["resources"],
            json!({"limits": {"cpu": "500m"}})
        );
        // Lease.spec.renewTime is a MicroTime: 2026-01-01T00:00:10.123456Z.
        let renew = [
            tag(1, 0),
            enc_varint(1_767_225_610),
            tag(2, 0),
            enc_varint(123_456_000),
        ]
        .concat();
        let lease = ld(2, &ld(4, &renew));
        let v = schema
            .decode_body(&envelope(b"coordination.k8s.io/v1", b"Lease", &lease))
            .unwrap();
        assert_eq!(v["spec"]["renewTime"], json!("2026-01-01T00:00:10.123456Z"));
        assert!(schema.decode_body(b"not protobuf").is_err());
        let err = schema
            .decode_body(&envelope(b"example.com/v1", b"Widget", b""))
            .unwrap_err();
        assert_eq!(err, "no protobuf schema for example.com/v1, Kind=Widget");
    }
}
