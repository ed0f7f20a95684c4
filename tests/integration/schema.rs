//! The API server's decoder (`core/apiserver/src/schema`): its types are the served OpenAPI
//! documents' types, and it writes every object exactly as the Go types would — which the
//! k8s-openapi types (generated from the same definitions) stand in for here.

use std::path::Path;

use k8s_openapi::api::{
    apps, authentication, authorization, coordination, core, policy, rbac, scheduling, storage,
};
use kubeplay_core::apiserver::registry::{Resource, RESOURCES};
use kubeplay_core::apiserver::schema;
use serde_json::{json, Value};

/// `core/apiserver/src/schema/types.json` is generated from the OpenAPI documents the door
/// serves; `UPDATE_EXPECT=1` rewrites it.
#[test]
fn decoder_types_match_the_served_openapi() {
    kubeplay::check_generated(
        "core/apiserver/src/schema/types.json",
        &kubeplay_bridge::kube_api::schema::decoder_schema(),
        "cargo test --test integration schema",
    );
}

fn typed<T>(v: Value) -> Result<Value, serde_json::Error>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    serde_json::to_value(serde_json::from_value::<T>(v)?)
}

/// The object decoded into the k8s-openapi type of its kind and written back.
fn round_trip(kind: &str, v: Value) -> Result<Value, serde_json::Error> {
    match kind {
        "Binding" => typed::<core::v1::Binding>(v),
        "ConfigMap" => typed::<core::v1::ConfigMap>(v),
        "Event" => typed::<core::v1::Event>(v),
        "Namespace" => typed::<core::v1::Namespace>(v),
        "Node" => typed::<core::v1::Node>(v),
        "PersistentVolumeClaim" => typed::<core::v1::PersistentVolumeClaim>(v),
        "PersistentVolume" => typed::<core::v1::PersistentVolume>(v),
        "Pod" => typed::<core::v1::Pod>(v),
        "Secret" => typed::<core::v1::Secret>(v),
        "ServiceAccount" => typed::<core::v1::ServiceAccount>(v),
        "Service" => typed::<core::v1::Service>(v),
        "DaemonSet" => typed::<apps::v1::DaemonSet>(v),
        "Deployment" => typed::<apps::v1::Deployment>(v),
        "ReplicaSet" => typed::<apps::v1::ReplicaSet>(v),
        "StatefulSet" => typed::<apps::v1::StatefulSet>(v),
        "SelfSubjectReview" => typed::<authentication::v1::SelfSubjectReview>(v),
        "SelfSubjectAccessReview" => typed::<authorization::v1::SelfSubjectAccessReview>(v),
        "SelfSubjectRulesReview" => typed::<authorization::v1::SelfSubjectRulesReview>(v),
        "Lease" => typed::<coordination::v1::Lease>(v),
        "PodDisruptionBudget" => typed::<policy::v1::PodDisruptionBudget>(v),
        "ClusterRoleBinding" => typed::<rbac::v1::ClusterRoleBinding>(v),
        "ClusterRole" => typed::<rbac::v1::ClusterRole>(v),
        "RoleBinding" => typed::<rbac::v1::RoleBinding>(v),
        "Role" => typed::<rbac::v1::Role>(v),
        "PriorityClass" => typed::<scheduling::v1::PriorityClass>(v),
        "StorageClass" => typed::<storage::v1::StorageClass>(v),
        other => panic!("no k8s-openapi type for {other}"),
    }
}

fn ours(res: &Resource, v: Value) -> Result<Value, String> {
    let types = schema::schema();
    let def = types.def(res.schema).expect("served kinds have types");
    let Value::Object(fields) = v else {
        return Err("not an object".into());
    };
    schema::decode(types, def, &res.api_version(), res.kind, fields).map(|d| d.value)
}

/// Every object of the [`corpus`] decoded both ways: the same JSON, byte for byte, key order
/// included.
#[test]
fn decoding_writes_what_the_go_types_write() {
    let mut kinds = std::collections::BTreeSet::new();
    let mut compared = 0;
    for (origin, v) in corpus() {
        let Some(res) = RESOURCES
            .iter()
            .find(|r| Some(r.kind) == v["kind"].as_str())
        else {
            continue;
        };
        let theirs = round_trip(res.kind, v.clone()).map_err(|e| e.to_string());
        let mine = ours(res, v);
        match (&theirs, &mine) {
            (Ok(t), Ok(m)) => assert_eq!(
                serde_json::to_string(m).unwrap_or_default(),
                serde_json::to_string(t).unwrap_or_default(),
                "{origin}"
            ),
            _ => assert_eq!(
                theirs.is_ok(),
                mine.is_ok(),
                "{origin}: {theirs:?} / {mine:?}"
            ),
        }
        kinds.insert(res.kind);
        compared += 1;
    }
    assert!(compared > 500, "only {compared} objects compared");
    assert_eq!(
        kinds.len(),
        RESOURCES.len(),
        "only these kinds were compared: {kinds:?}"
    );
}

/// kubectl's typed clients send protobuf: every kind discovery lists has its message, and
/// every object of the corpus, written as Go's marshaller writes it (every non-pointer field,
/// zero or not), reads back as the JSON the Go types write. Zeros aside: which zeros survive
/// is `proto/go-json.txt`'s rule, checked field by field in the decoder's own tests (an empty
/// list is no list on the wire).
#[test]
fn every_served_kind_round_trips_through_protobuf() {
    let pb = kubeplay_bridge::kube_api::protobuf::Schema::load();
    for res in RESOURCES {
        assert!(
            pb.message(&res.api_version(), res.kind).is_some(),
            "no protobuf message for {} {}",
            res.api_version(),
            res.kind
        );
    }
    let mut kinds = std::collections::BTreeSet::new();
    for (origin, v) in corpus() {
        let Some(res) = RESOURCES
            .iter()
            .find(|r| Some(r.kind) == v["kind"].as_str())
        else {
            continue;
        };
        let Ok(canonical) = round_trip(res.kind, v) else {
            continue;
        };
        let body = pb
            .encode_body(&canonical)
            .unwrap_or_else(|e| panic!("{origin}: {e}"));
        let back = pb
            .decode_body(&body)
            .unwrap_or_else(|e| panic!("{origin}: {e}"));
        assert_eq!(without_zeros(back), without_zeros(canonical), "{origin}");
        kinds.insert(res.kind);
    }
    assert_eq!(kinds.len(), RESOURCES.len(), "only these kinds: {kinds:?}");
}

fn without_zeros(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !matches!(v, Value::Null | Value::Bool(false)))
                .filter(|(_, v)| ![json!(0), json!(""), json!([])].contains(v))
                .map(|(k, v)| (k, without_zeros(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_zeros).collect()),
        v => v,
    }
}

/// Every object the scenarios store (all kinds' worth of what the control plane writes:
/// nodes with conditions, pods with statuses, leases, events, bindings, RBAC), every manifest
/// people apply (the scenarios' and the page's gallery), and [`by_hand`].
fn corpus() -> Vec<(String, Value)> {
    let mut corpus: Vec<(String, Value)> = Vec::new();
    for path in kubeplay::yaml_files("scenarios") {
        let text = std::fs::read_to_string(&path).expect("scenario");
        let s = kubeplay_core::scenario::parse(&text).expect("scenario parses");
        let cluster = kubeplay_core::scenario::run(&s).expect("scenario runs");
        let store = cluster.world.api_ref().store();
        for kv in store.range("/registry/", None, usize::MAX).kvs {
            let v: Value = serde_json::from_slice(&kv.value).expect("stored JSON");
            corpus.push((kv.key.to_string(), v));
        }
        for doc in serde_yaml::Deserializer::from_str(&text) {
            collect_manifests(
                &serde::Deserialize::deserialize(doc).unwrap_or(Value::Null),
                &path.display().to_string(),
                &mut corpus,
            );
        }
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/src/examples");
    for entry in std::fs::read_dir(&examples)
        .expect("web/src/examples")
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).expect("example");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(doc).expect("example YAML");
            corpus.push((entry.path().display().to_string(), v));
        }
    }
    corpus.extend(by_hand().into_iter().map(|v| ("by hand".to_string(), v)));
    corpus
}

/// The kinds no scenario stores, and input in odd but valid shapes: nulls, unknown fields,
/// unsorted maps, offsets and fractions in times, zero values left out.
fn by_hand() -> Vec<Value> {
    serde_json::from_str(r#"[
      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"z": "1", "a": "2"}},
       "data": {"b": "2", "a": "1"}, "binaryData": {"x": "aGk="}, "surprise": {"a": 1}},
      {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "creationTimestamp": "2026-03-04T05:06:07.891+02:00"},
       "type": "Opaque", "data": {"token": "c2VjcmV0", "empty": ""}, "stringData": {"k": "v"}},
      {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": null},
       "secrets": [{"name": "t"}], "automountServiceAccountToken": false},
      {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
       "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, {}]},
      {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
       "subjects": [{"kind": "User", "name": "ann"}]},
      {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
       "spec": {"minAvailable": "50%", "maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
      {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}},
      {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
       "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}},
      {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}},
      {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {},
       "status": {"userInfo": {"username": "ann", "groups": ["g", "system:authenticated"]}}},
      {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n1"},
       "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": "2026-01-01T00:00:10.123456789Z",
                "acquireTime": "2026-01-01T00:00:00Z"}},
      {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
       "eventTime": "2026-01-01T00:00:00.5Z", "firstTimestamp": "2026-01-01T00:00:00Z", "count": 2},
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"b": "", "a": "x"}},
       "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                 "livenessProbe": {"httpGet": {"port": "http", "path": "/"}}, "env": [{"name": "A", "value": null}],
                 "resources": {"limits": {"memory": "1Gi", "cpu": "1"}}}],
                "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 300}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}}},
       "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:00:00-01:30"}]}}
    ]"#).expect("fixtures are JSON")
}

/// The objects inside a scenario's `apply` steps.
fn collect_manifests(v: &Value, origin: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if m.contains_key("apiVersion") && m.contains_key("kind") => {
            out.push((origin.to_string(), v.clone()))
        }
        Value::Object(m) => m.values().for_each(|c| collect_manifests(c, origin, out)),
        Value::Array(items) => items.iter().for_each(|c| collect_manifests(c, origin, out)),
        Value::String(s) if s.contains("apiVersion:") => {
            for doc in serde_yaml::Deserializer::from_str(s) {
                if let Ok(v) = <Value as serde::Deserialize>::deserialize(doc) {
                    collect_manifests(&v, origin, out);
                }
            }
        }
        _ => {}
    }
}
