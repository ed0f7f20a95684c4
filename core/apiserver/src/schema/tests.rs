use serde_json::{json, Value};

use super::*;
use crate::registry::RESOURCES;

fn decode_as(kind: &str, obj: Value) -> Result<Decoded, String> {
    let res = RESOURCES
        .iter()
        .find(|r| r.kind == kind)
        .expect("served kind");
    let def = schema().def(res.schema).expect("the kind has a schema");
    let Value::Object(fields) = obj else {
        panic!("test objects are objects")
    };
    decode(schema(), def, &res.api_version(), res.kind, fields)
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
}

#[test]
fn every_served_kind_has_its_type() {
    for r in RESOURCES {
        let def = schema().def(r.schema);
        assert!(def.is_some(), "{} has no type {}", r.kind, r.schema);
        assert_eq!(schema().defs[def.unwrap_or_default()].go_name(), r.kind);
    }
}

#[test]
fn wrong_types_are_worded_as_go_words_them() {
    let cases = [
        (
            deployment(json!({"replicas": "three"})),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
        (
            deployment(json!({"replicas": 3_000_000_000u64})),
            "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
        (
            deployment(json!({"template": {"spec": {"containers": {"name": "web"}}}})),
            "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container",
        ),
        (
            deployment(json!({"template": {"spec": {"containers": [{"name": "a"}, {"name": 7}]}}})),
            "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.name of type string",
        ),
        (
            json!({"kind": "Deployment", "metadata": {"name": "web", "labels": {"tier": 1}}}),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
        ),
        (
            deployment(json!({"paused": "yes"})),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool",
        ),
        (
            deployment(json!({"selector": "app=web"})),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.selector of type v1.LabelSelector",
        ),
    ];
    for (obj, want) in cases {
        let got = decode_as("Deployment", obj).map(|d| d.value);
        assert_eq!(got.err().as_deref(), Some(want));
    }
}

#[test]
fn unknown_fields_are_dropped_and_listed_in_order() {
    let d = decode_as(
        "Deployment",
        deployment(json!({
            "replicas": 2,
            "replica": 3,
            "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "imag": "x"}]}},
            "nothing": null
        })),
    )
    .expect("decodes");
    assert_eq!(
        d.unknown,
        ["spec.replica", "spec.template.spec.containers[1].imag"]
    );
    assert_eq!(d.value["spec"]["replicas"], 2);
    assert!(d.value["spec"].get("replica").is_none());
    assert_eq!(
        d.value["spec"]["template"]["spec"]["containers"][1],
        json!({"name": "b"})
    );
}

#[test]
fn written_as_go_writes_the_struct() {
    let d = decode_as(
        "Deployment",
        json!({
            "spec": {"template": {"metadata": {"labels": {"z": "1", "a": "2"}}, "spec": {"containers": [{"image": "nginx"}]}}},
            "metadata": {"name": "web", "namespace": null},
            "kind": "Deployment", "apiVersion": "apps/v1"
        }),
    )
    .expect("decodes");
    // apiVersion and kind first, then the struct's order; nulls gone; map keys sorted; a
    // non-pointer field missing is written as its zero value.
    assert_eq!(
        serde_json::to_string(&d.value).unwrap_or_default(),
        r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"selector":{},"template":{"metadata":{"labels":{"a":"2","z":"1"}},"spec":{"containers":[{"image":"nginx","name":""}]}}}}"#
    );
    let pod = decode_as("Pod", json!({"metadata": {"name": "p"}, "spec": {}})).expect("decodes");
    assert_eq!(pod.value["spec"], json!({"containers": []}));
    let binding = decode_as("RoleBinding", json!({"metadata": {"name": "b"}})).expect("decodes");
    assert_eq!(
        binding.value["roleRef"],
        json!({"apiGroup": "", "kind": "", "name": ""})
    );
}

#[test]
fn quantities_times_and_bytes_take_their_canonical_form() {
    let pod = decode_as(
        "Pod",
        json!({
            "metadata": {"name": "p", "creationTimestamp": "2026-01-01T01:00:00.5+01:00"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": 0.5, "memory": "64Mi"}, "limits": {"cpu": 2}}}]}
        }),
    )
    .expect("decodes");
    assert_eq!(
        pod.value["metadata"]["creationTimestamp"],
        "2026-01-01T00:00:00Z"
    );
    let resources = &pod.value["spec"]["containers"][0]["resources"];
    assert_eq!(
        resources["requests"],
        json!({"cpu": "500m", "memory": "64Mi"})
    );
    assert_eq!(resources["limits"], json!({"cpu": "2"}));
    for (number, want) in [
        (json!(0.1), "100m"),
        (json!(0.0001), "100u"),
        (json!(1.5), "1500m"),
        (json!(3), "3"),
    ] {
        let pod = decode_as(
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": number}}}]}}),
        )
        .expect("decodes");
        assert_eq!(
            pod.value["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            want
        );
    }

    let lease = decode_as(
        "Lease",
        json!({"metadata": {"name": "n"}, "spec": {"renewTime": "2026-01-01T00:00:01.25Z"}}),
    )
    .expect("decodes");
    assert_eq!(
        lease.value["spec"]["renewTime"],
        "2026-01-01T00:00:01.250000Z"
    );

    let secret = decode_as(
        "Secret",
        json!({"metadata": {"name": "s"}, "data": {"token": "aGk="}}),
    )
    .expect("decodes");
    assert_eq!(secret.value["data"]["token"], "aGk=");
    let wrapped = decode_as(
        "Secret",
        json!({"metadata": {"name": "s"}, "data": {"cert": "aGVs\nbG8=\r\n"}}),
    )
    .expect("decodes");
    assert_eq!(wrapped.value["data"]["cert"], "aGVsbG8=");

    for (kind, obj, want) in [
        ("Secret", json!({"data": {"token": "a!b="}}), "illegal base64 data at input byte 1"),
        (
            "Pod",
            json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": true}}}]}}),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        (
            "Pod",
            json!({"metadata": {"creationTimestamp": "yesterday"}}),
            "parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as RFC 3339",
        ),
    ] {
        assert_eq!(decode_as(kind, obj).err().as_deref(), Some(want), "{kind}");
    }
}

#[test]
fn int_or_string_takes_either() {
    let svc = decode_as(
        "Service",
        json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}}),
    )
    .expect("decodes");
    assert_eq!(svc.value["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(svc.value["spec"]["ports"][1]["targetPort"], 8081);
    let bad = decode_as(
        "Service",
        json!({"spec": {"ports": [{"port": 80, "targetPort": true}]}}),
    );
    assert_eq!(
        bad.err().as_deref(),
        Some("json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type intstr.IntOrString")
    );
}
