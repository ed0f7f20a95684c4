//! The OpenAPI v3 documents kubectl reads: `/openapi/v3` (an index of group-versions) and one
//! document per group-version with the paths of every resource and the schemas of its types.
//!
//! kubectl uses them for two things: to learn that the server validates fields itself (a PATCH
//! operation that lists the `fieldValidation` query parameter, so `kubectl apply` sends
//! `fieldValidation=Strict` instead of validating client-side), and for `kubectl explain`,
//! which finds a kind's schema by its `x-kubernetes-group-version-kind` extension. The schemas
//! come from k8s-openapi's `schemars` implementations, which carry Kubernetes' definition names
//! and field descriptions.

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps, authentication, authorization, coordination, core, policy, rbac, scheduling, storage,
};
use kubeplay_core::apiserver::registry::{Resource, RESOURCES};
use schemars::{generate::SchemaSettings, JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

/// Every document, rendered once: `api/v1`, `apis/apps/v1`, … → JSON bytes.
pub struct Documents {
    pub index: Vec<u8>,
    pub by_group_version: BTreeMap<String, Vec<u8>>,
}

fn schema_ref(gen: &mut SchemaGenerator, kind: &str) -> Option<Value> {
    fn r<T: JsonSchema>(gen: &mut SchemaGenerator) -> Option<Value> {
        Some(gen.subschema_for::<T>().to_value())
    }
    match kind {
        "Binding" => r::<core::v1::Binding>(gen),
        "ConfigMap" => r::<core::v1::ConfigMap>(gen),
        "Event" => r::<core::v1::Event>(gen),
        "Namespace" => r::<core::v1::Namespace>(gen),
        "Node" => r::<core::v1::Node>(gen),
        "PersistentVolumeClaim" => r::<core::v1::PersistentVolumeClaim>(gen),
        "PersistentVolume" => r::<core::v1::PersistentVolume>(gen),
        "Pod" => r::<core::v1::Pod>(gen),
        "Secret" => r::<core::v1::Secret>(gen),
        "ServiceAccount" => r::<core::v1::ServiceAccount>(gen),
        "Service" => r::<core::v1::Service>(gen),
        "DaemonSet" => r::<apps::v1::DaemonSet>(gen),
        "Deployment" => r::<apps::v1::Deployment>(gen),
        "ReplicaSet" => r::<apps::v1::ReplicaSet>(gen),
        "StatefulSet" => r::<apps::v1::StatefulSet>(gen),
        "SelfSubjectReview" => r::<authentication::v1::SelfSubjectReview>(gen),
        "SelfSubjectAccessReview" => r::<authorization::v1::SelfSubjectAccessReview>(gen),
        "SelfSubjectRulesReview" => r::<authorization::v1::SelfSubjectRulesReview>(gen),
        "Lease" => r::<coordination::v1::Lease>(gen),
        "PodDisruptionBudget" => r::<policy::v1::PodDisruptionBudget>(gen),
        "ClusterRoleBinding" => r::<rbac::v1::ClusterRoleBinding>(gen),
        "ClusterRole" => r::<rbac::v1::ClusterRole>(gen),
        "RoleBinding" => r::<rbac::v1::RoleBinding>(gen),
        "Role" => r::<rbac::v1::Role>(gen),
        "PriorityClass" => r::<scheduling::v1::PriorityClass>(gen),
        "StorageClass" => r::<storage::v1::StorageClass>(gen),
        _ => None,
    }
}

fn gvk(r: &Resource) -> Value {
    json!({"group": r.group, "version": r.version, "kind": r.kind})
}

fn query_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string"}, "uniqueItems": true})
}

fn body(schema: &Value, types: &[&str]) -> Value {
    let content: Map<String, Value> = types
        .iter()
        .map(|t| (t.to_string(), json!({"schema": schema})))
        .collect();
    json!({"content": content, "required": true})
}

fn ok(schema: &Value) -> Value {
    json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}, "401": {"description": "Unauthorized"}})
}

/// The operations of one resource, at its collection and item paths.
fn paths(r: &Resource, schema: &Value, out: &mut Map<String, Value>) {
    let base = if r.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    let collection = if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", r.name)
    } else {
        format!("{base}/{}", r.name)
    };
    let item = format!("{collection}/{{name}}");
    let field_validation = query_param(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
    );
    let op = |action: &str, id: String| json!({"operationId": id, "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk(r), "tags": [r.api_version()]});
    let mut coll = Map::new();
    let mut one = Map::new();
    if r.serves("list") {
        let mut o = op("list", format!("list{}", r.kind));
        o["responses"] = ok(&json!({"type": "object"}));
        coll.insert("get".into(), o);
    }
    if r.serves("create") {
        let mut o = op("post", format!("create{}", r.kind));
        o["parameters"] = json!([field_validation]);
        o["requestBody"] = body(schema, &["*/*"]);
        o["responses"] = ok(schema);
        coll.insert("post".into(), o);
    }
    if r.serves("get") {
        let mut o = op("get", format!("read{}", r.kind));
        o["responses"] = ok(schema);
        one.insert("get".into(), o);
    }
    if r.serves("update") {
        let mut o = op("put", format!("replace{}", r.kind));
        o["parameters"] = json!([field_validation]);
        o["requestBody"] = body(schema, &["*/*"]);
        o["responses"] = ok(schema);
        one.insert("put".into(), o);
    }
    if r.serves("patch") {
        let mut o = op("patch", format!("patch{}", r.kind));
        o["parameters"] = json!([field_validation, query_param("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."), query_param("force", "Force is going to \"force\" Apply requests.")]);
        o["requestBody"] = body(
            &json!({"type": "object"}),
            &[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
            ],
        );
        o["responses"] = ok(schema);
        one.insert("patch".into(), o);
    }
    if r.serves("delete") {
        let mut o = op("delete", format!("delete{}", r.kind));
        o["responses"] = ok(&json!({"type": "object"}));
        one.insert("delete".into(), o);
    }
    // kubectl 1.27's explain finds a kind through the all-namespaces list path.
    if r.namespaced && r.serves("list") {
        let mut o = op("list", format!("list{}ForAllNamespaces", r.kind));
        o["responses"] = ok(&json!({"type": "object"}));
        out.insert(format!("{base}/{}", r.name), json!({"get": o}));
    }
    if !coll.is_empty() {
        out.insert(collection, Value::Object(coll));
    }
    if !one.is_empty() {
        out.insert(item, Value::Object(one));
    }
}

/// Builds every document.
pub fn documents() -> Documents {
    let mut by_gv: BTreeMap<String, (Map<String, Value>, Vec<&Resource>)> = BTreeMap::new();
    for r in RESOURCES {
        let key = if r.group.is_empty() {
            "api/v1".to_string()
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        by_gv.entry(key).or_default().1.push(r);
    }
    let mut by_group_version = BTreeMap::new();
    let mut index = Map::new();
    for (gv, (mut path_map, resources)) in by_gv {
        let mut gen = SchemaSettings::openapi3().into_generator();
        let mut refs = Vec::new();
        for r in &resources {
            if let Some(schema) = schema_ref(&mut gen, r.kind) {
                paths(r, &schema, &mut path_map);
                refs.push((*r, schema));
            }
        }
        let mut schemas = gen.take_definitions(true);
        add_patch_meta(&mut schemas);
        // Tag each top-level kind, as kube-openapi does, so clients can find it by GVK.
        for (r, schema) in refs {
            let name = schema["$ref"]
                .as_str()
                .and_then(|s| s.rsplit('/').next())
                .unwrap_or_default()
                .to_string();
            if let Some(Value::Object(def)) = schemas.get_mut(&name) {
                def.insert("x-kubernetes-group-version-kind".into(), json!([gvk(r)]));
            }
        }
        let doc = json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": kubeplay_core::apiserver::discovery::GIT_VERSION},
            "paths": path_map,
            "components": {"schemas": schemas},
        });
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        let hash = fnv(&bytes);
        index.insert(
            gv.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={hash:016X}")}),
        );
        by_group_version.insert(gv, bytes);
    }
    Documents {
        index: serde_json::to_vec(&json!({"paths": index})).unwrap_or_default(),
        by_group_version,
    }
}

/// Marks the fields that strategic merge patches merge by key, so kubectl computes patches
/// that touch one container instead of replacing the list.
fn add_patch_meta(schemas: &mut Map<String, Value>) {
    use kubeplay_core::apiserver::patch::strategic::PATCH_META;
    for (ty, field, strategy, key) in PATCH_META {
        if let Some(Value::Object(prop)) = schemas
            .get_mut(*ty)
            .and_then(|d| d.pointer_mut(&format!("/properties/{field}")))
        {
            prop.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
            if !key.is_empty() {
                prop.insert("x-kubernetes-patch-merge-key".into(), json!(key));
            }
        }
    }
}

/// A content hash for the `hash` query kubectl uses to cache documents.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What `kubectl explain` needs from the OpenAPI documents, for the page's terminal (which
/// has no OpenAPI of its own to ask): each served kind's definition, and per definition its
/// description and fields — each field's type as kubectl renders it (`[]Container`,
/// `map[string]Quantity`, `string` for a `Time`), whether it is required, its description and
/// the definition it leads to. JSON, written to `static/explain.json`.
pub fn explain_data() -> String {
    let docs = documents();
    let mut kinds = Vec::new();
    let mut defs = Map::new();
    for bytes in docs.by_group_version.values() {
        let doc: Value = serde_json::from_slice(bytes).unwrap_or_default();
        let Some(schemas) = doc["components"]["schemas"].as_object() else {
            continue;
        };
        for (name, def) in schemas {
            for gvk in def["x-kubernetes-group-version-kind"]
                .as_array()
                .into_iter()
                .flatten()
            {
                kinds.push(json!([gvk["kind"], gvk["group"], gvk["version"], name]));
            }
            if defs.contains_key(name) {
                continue;
            }
            let required: Vec<&Value> = def["required"].as_array().into_iter().flatten().collect();
            let fields: Vec<Value> = def["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, schema)| {
                    let (rendered, target) = type_guess(schema, schemas);
                    json!([
                        field,
                        rendered,
                        required.iter().any(|r| *r == field),
                        schema["description"].as_str().unwrap_or_default(),
                        target
                    ])
                })
                .collect();
            defs.insert(
                name.clone(),
                json!({"description": def["description"].as_str().unwrap_or_default(), "fields": fields}),
            );
        }
    }
    kinds.sort_by_key(|k| k.to_string());
    kinds.dedup();
    serde_json::to_string(&json!({"kinds": kinds, "definitions": defs})).unwrap_or_default() + "\n"
}

/// A schema's type as kubectl's explain template guesses it, and the definition it leads to
/// (through items, additionalProperties, allOf and `$ref`), if any.
fn type_guess(schema: &Value, schemas: &Map<String, Value>) -> (String, Option<String>) {
    if let Some(items) = schema.get("items") {
        let (t, target) = type_guess(items, schemas);
        return (format!("[]{t}"), target);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        let (t, target) = type_guess(values, schemas);
        return (format!("map[string]{t}"), target);
    }
    if let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) {
        if schema.get("properties").is_none() {
            return type_guess(only, schemas);
        }
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let def = schemas.get(name);
        let target = def.map(|_| name.to_string());
        return match def.and_then(|d| d["type"].as_str()) {
            Some(t) if t != "object" => (t.to_string(), target),
            _ => (
                name.rsplit('.').next().unwrap_or("Object").to_string(),
                target,
            ),
        };
    }
    match schema["type"].as_str() {
        Some(t) if t != "object" => (t.to_string(), None),
        _ => ("Object".to_string(), None),
    }
}
