//! Decoding a body against its kind's types, as unmarshalling into the Go struct and marshalling
//! it back would: wrongly typed values are errors worded as Go's `encoding/json` words them,
//! unknown fields are dropped (and listed, for field validation), nulls and missing values
//! become nothing or the zero value of a non-pointer field, maps come out with sorted keys and
//! times in their canonical form.

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::{Schema, Ty};
use apimachinery::clock::{parse_rfc3339_micros, rfc3339};

/// A decoded object and the fields it had that its type does not know (`spec.foo`,
/// `spec.containers[0].bar`).
#[derive(Debug)]
pub struct Decoded {
    pub value: Value,
    pub unknown: Vec<String>,
}

/// Decodes `obj` as the top-level kind `def`: `apiVersion` and `kind` are written first, as
/// given (the caller has checked them against the request).
pub fn decode(
    schema: &Schema,
    def: usize,
    api_version: &str,
    kind: &str,
    obj: Map<String, Value>,
) -> Result<Decoded, String> {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String(kind.into()));
    let mut d = Decoder {
        schema,
        path: Vec::new(),
        unknown: Vec::new(),
    };
    d.fields(def, obj, &mut out, true)?;
    Ok(Decoded {
        value: Value::Object(out),
        unknown: d.unknown,
    })
}

enum Seg<'s> {
    Field(&'s str),
    Index(usize),
    Key(String),
}

struct Decoder<'s> {
    schema: &'s Schema,
    /// Where the decoder is, for unknown-field paths and error messages.
    path: Vec<Seg<'s>>,
    unknown: Vec<String>,
}

fn is_type_meta(name: &str) -> bool {
    name == "apiVersion" || name == "kind"
}

impl<'s> Decoder<'s> {
    fn fields(
        &mut self,
        def: usize,
        input: Map<String, Value>,
        out: &mut Map<String, Value>,
        top: bool,
    ) -> Result<(), String> {
        let schema = self.schema;
        let fields = &schema.defs[def].fields;
        let mut slots: Vec<Option<Value>> = (0..fields.len()).map(|_| None).collect();
        for (key, value) in input {
            if top && is_type_meta(&key) {
                continue;
            }
            let Some(i) = fields.iter().position(|f| f.name == key) else {
                if !value.is_null() {
                    self.unknown.push(self.unknown_path(&key));
                }
                continue;
            };
            if value.is_null() {
                continue;
            }
            let field = &fields[i];
            self.path.push(Seg::Field(&field.name));
            let decoded = self.value(&field.ty, value, def);
            self.path.pop();
            slots[i] = Some(decoded?);
        }
        for (field, slot) in fields.iter().zip(slots) {
            if top && is_type_meta(&field.name) {
                continue;
            }
            match slot {
                Some(v) => {
                    out.insert(field.name.clone(), v);
                }
                None if field.required => {
                    out.insert(field.name.clone(), self.zero(&field.ty));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Decodes one value of type `ty` inside a field of struct `owner`.
    fn value(&mut self, ty: &Ty, v: Value, owner: usize) -> Result<Value, String> {
        let v = match (ty, v) {
            (_, Value::Null) => self.zero(ty),
            (Ty::Any, v) => v,
            (Ty::String, v @ Value::String(_)) | (Ty::Bool, v @ Value::Bool(_)) => v,
            (Ty::Number, v @ Value::Number(_)) => v,
            (Ty::Int32 | Ty::IntOrString, Value::Number(n)) => match n.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => Value::Number(n),
                _ => return Err(self.type_error(owner, &format!("number {n}"), &Ty::Int32)),
            },
            (Ty::Int64, Value::Number(n)) => match n.as_i64() {
                Some(_) => Value::Number(n),
                None => return Err(self.type_error(owner, &format!("number {n}"), ty)),
            },
            (Ty::IntOrString | Ty::Quantity, v @ Value::String(_)) => v,
            (Ty::Quantity, Value::Number(n)) => Value::String(quantity_of_number(&n)),
            (Ty::Quantity, _) => return Err(QUANTITY_FORMAT.to_string()),
            (Ty::Bytes, Value::String(s)) => {
                // Go's decoder skips line breaks (PEM-style wrapped base64).
                let s: String = s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
                let engine = base64::engine::general_purpose::STANDARD;
                let bytes = engine.decode(&s).map_err(|e| base64_error(&s, e))?;
                Value::String(engine.encode(bytes))
            }
            (Ty::Time | Ty::MicroTime, Value::String(s)) => {
                let micros = parse_rfc3339_micros(&s).ok_or_else(|| {
                    format!("parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {s:?} as RFC 3339")
                })?;
                Value::String(rfc3339(micros, *ty == Ty::MicroTime))
            }
            (Ty::List(item), Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (n, v) in items.into_iter().enumerate() {
                    self.path.push(Seg::Index(n));
                    let decoded = self.value(item, v, owner);
                    self.path.pop();
                    out.push(decoded?);
                }
                Value::Array(out)
            }
            (Ty::Map(item), Value::Object(entries)) => {
                let mut entries: Vec<(String, Value)> = entries.into_iter().collect();
                apimachinery::collections::sort_by(&mut entries, |a, b| a.0.cmp(&b.0));
                let nested = matches!(**item, Ty::Struct(_) | Ty::List(_) | Ty::Map(_));
                let mut out = Map::new();
                for (k, v) in entries {
                    let decoded = if nested {
                        self.path.push(Seg::Key(k.clone()));
                        let decoded = self.value(item, v, owner);
                        self.path.pop();
                        decoded?
                    } else {
                        self.value(item, v, owner)?
                    };
                    out.insert(k, decoded);
                }
                Value::Object(out)
            }
            (Ty::Struct(d), Value::Object(entries)) => {
                let mut out = Map::new();
                self.fields(*d, entries, &mut out, false)?;
                Value::Object(out)
            }
            (ty, v) => return Err(self.type_error(owner, json_kind(&v), ty)),
        };
        Ok(v)
    }

    /// The zero value Go writes for a non-pointer field that was missing or null.
    fn zero(&self, ty: &Ty) -> Value {
        match ty {
            Ty::String | Ty::Bytes | Ty::Quantity => Value::String(String::new()),
            Ty::Int32 | Ty::Int64 | Ty::IntOrString => Value::Number(0.into()),
            Ty::Number => Number::from_f64(0.0).map_or(Value::Null, Value::Number),
            Ty::Bool => Value::Bool(false),
            // Go writes a zero `metav1.Time` as null.
            Ty::Time | Ty::MicroTime | Ty::Any => Value::Null,
            Ty::List(_) => Value::Array(Vec::new()),
            Ty::Map(_) => Value::Object(Map::new()),
            Ty::Struct(d) => {
                let mut out = Map::new();
                for f in self.schema.defs[*d].fields.iter().filter(|f| f.required) {
                    out.insert(f.name.clone(), self.zero(&f.ty));
                }
                Value::Object(out)
            }
        }
    }

    /// `spec.containers[0].bar`: where an unknown field `key` sits.
    fn unknown_path(&self, key: &str) -> String {
        let mut p = String::new();
        for seg in &self.path {
            match seg {
                Seg::Field(f) => {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(f);
                }
                Seg::Key(k) => {
                    p.push('.');
                    p.push_str(k);
                }
                Seg::Index(n) => p.push_str(&format!("[{n}]")),
            }
        }
        if !p.is_empty() {
            p.push('.');
        }
        p.push_str(key);
        p
    }

    /// `encoding/json`'s `UnmarshalTypeError`: "json: cannot unmarshal string into Go struct
    /// field DeploymentSpec.spec.replicas of type int32" (the path names fields only).
    fn type_error(&self, owner: usize, got: &str, ty: &Ty) -> String {
        let fields: Vec<&str> = self
            .path
            .iter()
            .filter_map(|s| match s {
                Seg::Field(f) => Some(*f),
                _ => None,
            })
            .collect();
        format!(
            "json: cannot unmarshal {got} into Go struct field {}.{} of type {}",
            self.schema.defs[owner].go_name(),
            fields.join("."),
            self.schema.go_type(ty)
        )
    }
}

const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A quantity given as a JSON number (`cpu: 0.5` in YAML), in the canonical form Kubernetes
/// writes: `500m`, `2`, `100u`.
fn quantity_of_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    for (scale, suffix) in [(1e3, "m"), (1e6, "u"), (1e9, "n")] {
        let scaled = (f * scale).round();
        // Exact at this scale (within float noise): `0.1` is 100m, not 100.00000000000001m.
        if ((f * scale) - scaled).abs() < 1e-6 && scaled.abs() < 9.0e15 {
            let whole = scaled as i64;
            return if suffix == "m" && whole % 1000 == 0 {
                (whole / 1000).to_string()
            } else {
                format!("{whole}{suffix}")
            };
        }
    }
    n.to_string()
}

/// `encoding/base64`'s `CorruptInputError`: "illegal base64 data at input byte 4".
fn base64_error(s: &str, e: base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            at
        }
        _ => s.len(),
    };
    format!("illegal base64 data at input byte {at}")
}
