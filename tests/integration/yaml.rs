//! Core's YAML (`core/apimachinery/src/yaml`) against `serde_yaml` (libyaml), the library it replaced in
//! the page: the same values read from every YAML file in the repository and every manifest
//! inside them, and the same text written for every object the scenarios store and for
//! strings chosen to be awkward.

use std::path::{Path, PathBuf};

use kubeplay_core::yaml;
use serde_json::{json, Value};

fn repository_yaml() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "tests/scenarios",
        "tests/kubectl",
        "tests/kubectl/versions",
        "web/src/examples",
    ] {
        for entry in std::fs::read_dir(root.join(dir))
            .expect("a YAML folder")
            .flatten()
        {
            if entry.path().extension().is_some_and(|e| e == "yaml") {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

fn theirs(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    serde_yaml::Deserializer::from_str(text)
        .map(serde::Deserialize::deserialize)
        .collect()
}

/// Strings inside a document that are YAML themselves (manifests in scenario steps).
fn embedded(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains(": ") && s.contains('\n') => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| embedded(i, out)),
        Value::Object(m) => m.values().for_each(|i| embedded(i, out)),
        _ => {}
    }
}

#[test]
fn reads_every_yaml_in_the_repository_as_serde_yaml_does() {
    let mut texts = Vec::new();
    for path in repository_yaml() {
        texts.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).expect("read"),
        ));
    }
    let mut inner = Vec::new();
    for (origin, text) in &texts {
        let mut found = Vec::new();
        let docs = theirs(text).expect("the repository's YAML files are YAML");
        docs.iter().for_each(|d| embedded(d, &mut found));
        inner.extend(found.into_iter().map(|t| (format!("{origin} (inside)"), t)));
    }
    texts.extend(inner);
    assert!(texts.len() > 40, "only {} texts", texts.len());
    // Strings that only look like YAML (error messages) may fail: then both fail.
    for (origin, text) in texts {
        match (yaml::from_str_multi(&text), theirs(&text)) {
            // Where YAML 1.1 reads `yes` as true, kubectl's reading is checked by kubectl.
            (Ok(_), Ok(want)) if want.iter().any(yaml_1_1_special) => {}
            (Ok(ours), Ok(want)) => assert_eq!(ours, want, "{origin}"),
            (ours, want) => assert_eq!(
                ours.is_ok(),
                want.is_ok(),
                "{origin}: {text}\n{ours:?}\n{want:?}"
            ),
        }
    }
}

#[test]
fn plain_scalars_resolve_as_serde_yaml_resolves_them() {
    let text = "[1.5, .5, 5., -.5, 01.5, 1e400, 1.5E3, 1e-2, 6.02e23, 0.1, 0x1F, 0o17, 0b101, \
                +12, -0, 1e5, .inf, -.Inf, \
                .nan, nan, Infinity, ~, Null, TRUE, 1.5.2, 1e, e5, +-1, 0x, 3.14e+2]";
    assert_eq!(
        yaml::from_str_multi(text).expect("reads"),
        theirs(text).expect("serde_yaml reads")
    );
}

/// Where YAML 1.1 (kubectl's go-yaml v2) and 1.2 (serde_yaml) part, core reads as kubectl
/// does: `value: yes` on an env var is a boolean, and the server refuses it.
#[test]
fn plain_scalars_resolve_as_kubectl_resolves_them_where_yaml_1_1_differs() {
    let text = "[yes, Yes, YES, y, Y, on, On, ON, no, No, NO, n, N, off, Off, OFF, 012, -012, 0777, 1_000, 1_0.5, 0b1_0, yess, onion, o_n]";
    let want = json!([
        true, true, true, true, true, true, true, true, false, false, false, false, false, false,
        false, false, 10, -10, 511, 1000, 10.5, 2, "yess", "onion", "o_n"
    ]);
    assert_eq!(yaml::from_str_multi(text).expect("reads"), vec![want]);
    // Written, such strings are quoted, so that kubectl reads them back as strings.
    for s in ["yes", "off", "y", "012", "1_000"] {
        let text = yaml::to_string(&json!({"v": s}));
        assert_ne!(text, format!("v: {s}\n"), "{s} must be quoted");
        assert_eq!(yaml::from_str(&text).expect("reads back"), json!({"v": s}));
    }
}

#[test]
fn corners_read_as_serde_yaml_reads_them() {
    for text in [
        "a: |\n  echo hi",
        "a: |+\n  echo hi",
        "a: |-\n  x\n",
        "a: >\n  x\n  y",
        "a: |+\n  x\n\n",
        "- |\n  one\n\n  two\n",
        "v: !!str 1.10\nw: !!str 0x1F\nx: !!str 1e3\ny: !!str true\n",
        "{0x10: a, 1e3: b, true: c, ~: d}",
        "[a\n b, c\n\n d]",
        "k: {a: [1, 2], b: {c: d}}\n",
    ] {
        let ours = yaml::from_str_multi(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(ours, theirs(text).expect("serde_yaml reads it"), "{text:?}");
    }
}

#[test]
fn writes_every_stored_object_as_serde_yaml_does() {
    let mut objects = Vec::new();
    for path in kubeplay::yaml_files("scenarios") {
        let text = std::fs::read_to_string(&path).expect("scenario");
        let s = kubeplay_core::scenario::parse(&text).expect("scenario parses");
        let cluster = kubeplay_core::scenario::run(&s).expect("scenario runs");
        for kv in cluster
            .world
            .api_ref()
            .store()
            .range("/registry/", None, usize::MAX)
            .kvs
        {
            objects.push(serde_json::from_slice::<Value>(&kv.value).expect("stored JSON"));
        }
    }
    assert!(objects.len() > 500);
    for v in &objects {
        let ours = yaml::to_string(v);
        // libyaml leaves `yes` plain (YAML 1.2); core quotes it, so that kubectl's YAML 1.1
        // reads a string back. Elsewhere, the same text.
        if !yaml_1_1_special(v) {
            assert_eq!(
                ours,
                serde_yaml::to_string(v).expect("serde_yaml writes it")
            );
        }
        assert_eq!(&yaml::from_str(&ours).expect("reads back"), v);
    }
}

/// Whether a value holds a string YAML 1.1 reads as something else (`yes`, `off`, `012`).
fn yaml_1_1_special(v: &Value) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
        "OFF",
    ];
    match v {
        Value::String(s) => {
            WORDS.contains(&s.as_str())
                || (s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
                || (s.contains('_') && s.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
        }
        Value::Array(items) => items.iter().any(yaml_1_1_special),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| yaml_1_1_special(&Value::String(k.clone())) || yaml_1_1_special(v)),
        _ => false,
    }
}

#[test]
fn awkward_strings_are_quoted_as_libyaml_quotes_them() {
    let strings = [
        "",
        " ",
        "a",
        " a",
        "a ",
        "true",
        "True",
        "null",
        "~",
        "-",
        "- a",
        "-a",
        "--- x",
        "...",
        "a: b",
        "a:b",
        "a #b",
        "a# b",
        "#a",
        "@a",
        "`a",
        "'a'",
        "\"a\"",
        "a'b",
        "12",
        "0x1F",
        "1e3",
        ".inf",
        ".nan",
        "nan",
        "+1",
        "1.5",
        "3.",
        "?",
        "? a",
        ":a",
        ": a",
        "[a]",
        "{a}",
        "a,b",
        "a[b]",
        "&a",
        "*a",
        "!a",
        "|a",
        ">a",
        "%a",
        "tab\there",
        "back\\slash",
        "é",
        "日本",
        "😀",
        "\u{7f}",
        "\u{85}x",
        "\u{a0}",
        "\u{feff}x",
        "\n",
        "a\n",
        "a\nb",
        "a\nb\n",
        "a\n\n",
        " a\nb",
        "a \nb",
        "a\n b",
        "a\n\nb\n",
        "\na",
        "a\r\nb",
        "http://x.y/z?q=1#f",
        "kubernetes.io/hostname",
        "{\"json\":true}",
        ".5",
        "5.",
        "-.5",
        "01.5",
        "1e400",
        "1.5E3",
        "1e-2",
        "6.02e23",
    ];
    for s in strings {
        // A key with a line break is written double-quoted on its line, where libyaml uses
        // the `? key` form; both read back the same.
        let multiline = s.contains(['\n', '\r', '\u{85}']);
        for v in [
            json!({ "k": s }),
            json!({ s: "v" }),
            json!([s]),
            json!({"k": [s]}),
        ] {
            let ours = yaml::to_string(&v);
            let want = serde_yaml::to_string(&v).expect("serde_yaml writes it");
            if !(multiline && v.get(s).is_some()) {
                assert_eq!(ours, want, "{s:?} in {v}");
            }
            assert_eq!(yaml::from_str(&ours).expect("reads back"), v, "{ours}");
        }
    }
}
