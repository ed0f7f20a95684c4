use serde_json::json;

use super::*;

#[test]
fn reads_what_manifests_are_written_in() {
    let text = r#"
# a comment
apiVersion: apps/v1   # trailing comment
kind: Deployment
metadata:
  name: web
  labels: {app: web, "tier": 'front'}
  annotations:
    note: "tab\there \u00e9"
    empty:
    quoted: 'it''s'
spec:
  replicas: 3
  paused: false
  selector:
    matchLabels:
      app: web
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
        args: [--port, "8080", 012, 0x1F, 1.5e3, ~, .inf]
        command:
          - sh
          - -c
          - |
            echo hello
              indented
            done
        env:
        - {name: A, value: "1"}
      - name: sidecar
        image: busybox
---
folded: >-
  one
  two

  three
long plain
  continued: no
"#;
    let docs = from_str_multi(text);
    assert!(
        docs.is_err(),
        "a key inside a continued plain scalar is an error"
    );
    let good = text.replace("long plain\n  continued: no\n", "plain: one\n  two\n");
    let docs = from_str_multi(&good).expect("parses");
    assert_eq!(docs.len(), 2);
    let d = &docs[0];
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["spec"]["paused"], false);
    assert_eq!(
        d["metadata"]["labels"],
        json!({"app": "web", "tier": "front"})
    );
    assert_eq!(d["metadata"]["annotations"]["note"], "tab\there é");
    assert_eq!(d["metadata"]["annotations"]["empty"], json!(null));
    assert_eq!(d["metadata"]["annotations"]["quoted"], "it's");
    let c = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(c[0]["image"], "nginx:1.27");
    assert_eq!(
        c[0]["args"],
        // `012` is octal to kubectl's YAML (1.1), as to Go.
        json!(["--port", "8080", 10, 31, 1500.0, null, null])
    );
    assert_eq!(
        c[0]["command"],
        json!(["sh", "-c", "echo hello\n  indented\ndone\n"])
    );
    assert_eq!(c[0]["env"], json!([{"name": "A", "value": "1"}]));
    assert_eq!(c[1]["name"], "sidecar");
    assert_eq!(docs[1]["folded"], "one two\nthree");
    assert_eq!(docs[1]["plain"], "one two");
}

#[test]
fn errors_say_where_as_go_does() {
    let cases = [
        (
            "a: b: c\n",
            1,
            "mapping values are not allowed in this context",
        ),
        ("a:\n  b: 1\n c: 2\n", 3, "did not find expected key"),
        (
            "a: 'open\n",
            2,
            "found unexpected end of stream while scanning a quoted scalar",
        ),
        ("a: 1\na: 2\n", 2, "mapping key \"a\" already defined"),
        ("- a\nb: 1\n", 2, "did not find expected <document start>"),
        ("a: *nothing\n", 1, "found undefined alias \"nothing\""),
        ("a: [1, 2\n", 2, "did not find expected ',' or ']'"),
    ];
    for (text, line, problem) in cases {
        let e = from_str(text).expect_err(text);
        assert_eq!((e.line, e.problem.as_str()), (line, problem), "{text:?}");
    }
    assert_eq!(
        from_str("a: b: c").expect_err("error").to_string(),
        "line 1: mapping values are not allowed in this context"
    );
}

#[test]
fn anchors_block_scalars_and_documents() {
    let docs = from_str_multi(
        "base: &b {cpu: 1}\ncopy: *b\nkeep: |+\n  x\n\n---\n---\nstrip: |-\n  y\n...\n",
    )
    .expect("parses");
    assert_eq!(docs[0]["copy"], json!({"cpu": 1}));
    assert_eq!(docs[0]["keep"], "x\n\n");
    assert_eq!(docs[1], json!(null));
    assert_eq!(docs[2]["strip"], "y");
    assert_eq!(from_str("").expect("empty"), json!(null));
    assert!(from_str("a: 1\n---\nb: 2\n").is_err());
}

#[test]
fn writes_as_kubectl_prints() {
    let v = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {}, "annotations": {"a": "true", "b": "", "c": "012", "d": "x: y", "e": "- z"}},
        "spec": {
            "containers": [{"name": "c", "args": ["a b", "#x", "it's"], "ports": [{"containerPort": 80}]}],
            "script": "echo 1\necho 2\n",
            "tolerations": [],
            "nested": [[1, 2], []],
            "weird": "tab\there",
            "ratio": 0.5
        }
    });
    let want = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {}
  annotations:
    a: 'true'
    b: ''
    c: '012'
    d: 'x: y'
    e: '- z'
spec:
  containers:
  - name: c
    args:
    - a b
    - '#x'
    - it's
    ports:
    - containerPort: 80
  script: |
    echo 1
    echo 2
  tolerations: []
  nested:
  - - 1
    - 2
  - []
  weird: \"tab\\there\"
  ratio: 0.5
";
    let text = to_string(&v);
    assert_eq!(text, want);
    assert_eq!(from_str(&text).expect("reads back"), v);
}

#[test]
fn hostile_input_is_refused_not_followed() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let e = from_str(&deep).expect_err("too deep");
    assert_eq!(e.problem, "exceeded the maximum nesting depth of 128");
    let deep_block: String = (0..200)
        .map(|i| format!("{}- \n", "  ".repeat(i)))
        .collect();
    let deep_block = deep_block + &"  ".repeat(200) + "- x\n";
    assert!(from_str(&deep_block).is_err());
    // A billion laughs: ten aliases per level, nine levels.
    let mut laughs = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let e = from_str(&laughs).expect_err("too many copies");
    assert_eq!(
        e.problem,
        "repetition limit exceeded: aliases copy too many nodes"
    );
    // Anchors belong to their document.
    let e = from_str_multi("a: &x 1\n---\nb: *x\n").expect_err("an anchor of another document");
    assert_eq!(e.problem, "found undefined alias \"x\"");
}
