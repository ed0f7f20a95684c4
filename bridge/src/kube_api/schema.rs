//! The field types the API server decodes objects with (`core/apiserver/src/schema/types.json`),
//! boiled down from the same OpenAPI documents the door serves.
//!
//! The API server checks every body against its kind's Go types (wrong types are a 400, unknown
//! fields are dropped and reported). Holding those types as data instead of as compiled
//! (de)serializers per kind keeps the page's wasm small; this is where the data comes from, and
//! a test keeps the checked-in file current.
//!
//! Format: `{"<definition>": {"<field>": "<type>", …}, …}`, fields in the order objects are
//! written. A type is `string`, `int32`, `int64`, `number`, `bool`, `bytes` (base64),
//! `quantity`, `int-or-string`, `time`, `micro-time`, `any` (free-form JSON), `[T]` (a list),
//! `{T}` (a map from strings) or `@<definition>`; a leading `!` marks a required field.
//! Definition names drop the `io.k8s.` prefix: `api.core.v1.Pod`.

use serde_json::{Map, Value};

use super::openapi::documents;

const PREFIX: &str = "io.k8s.";

/// The decoder's types, as JSON text.
pub fn decoder_schema() -> String {
    let docs = documents();
    let mut all = Map::new();
    for bytes in docs.by_group_version.values() {
        let doc: Value = serde_json::from_slice(bytes).unwrap_or_default();
        if let Some(schemas) = doc["components"]["schemas"].as_object() {
            for (name, def) in schemas {
                all.entry(name.clone()).or_insert_with(|| def.clone());
            }
        }
    }
    let mut defs: Vec<(String, Value)> = all
        .iter()
        .filter(|(_, def)| def.get("properties").is_some())
        .map(|(name, def)| {
            let required: Vec<&str> = def["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut fields = Map::new();
            for (field, schema) in def["properties"].as_object().into_iter().flatten() {
                let ty = type_of(schema, &all);
                let mark = if required.contains(&field.as_str()) {
                    "!"
                } else {
                    ""
                };
                fields.insert(field.clone(), Value::String(format!("{mark}{ty}")));
            }
            (short(name).to_string(), Value::Object(fields))
        })
        .collect();
    defs.sort_by(|a, b| a.0.cmp(&b.0));
    let out: Map<String, Value> = defs.into_iter().collect();
    let mut text = String::from("{\n");
    for (n, (name, fields)) in out.iter().enumerate() {
        let sep = if n + 1 < out.len() { "," } else { "" };
        text.push_str(&format!("{}:{fields}{sep}\n", Value::String(name.clone())));
    }
    text.push_str("}\n");
    text
}

fn short(name: &str) -> &str {
    name.strip_prefix(PREFIX).unwrap_or(name)
}

/// A property's type in the decoder's notation.
fn type_of(schema: &Value, all: &Map<String, Value>) -> String {
    if let Some(items) = schema.get("items") {
        return format!("[{}]", type_of(items, all));
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        return format!("{{{}}}", type_of(values, all));
    }
    if let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) {
        return type_of(only, all);
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        match short(name) {
            "apimachinery.pkg.api.resource.Quantity" => return "quantity".into(),
            "apimachinery.pkg.util.intstr.IntOrString" => return "int-or-string".into(),
            "apimachinery.pkg.apis.meta.v1.Time" => return "time".into(),
            "apimachinery.pkg.apis.meta.v1.MicroTime" => return "micro-time".into(),
            _ => {}
        }
        return match all.get(name) {
            Some(def) if def.get("properties").is_some() => format!("@{}", short(name)),
            Some(def) => type_of(def, all),
            None => "any".into(),
        };
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("string"), Some("byte")) => "bytes".into(),
        (Some("string"), Some("int-or-string")) => "int-or-string".into(),
        (Some("string"), _) => "string".into(),
        (Some("integer"), Some("int32")) => "int32".into(),
        (Some("integer"), _) => "int64".into(),
        (Some("number"), _) => "number".into(),
        (Some("boolean"), _) => "bool".into(),
        _ => "any".into(),
    }
}
