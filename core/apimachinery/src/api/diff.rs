//! What changed between two versions of an object, as lines a person reads: `+ path: value`
//! added, `- path: value` removed, `~ path: old → new` replaced. Paths are JSON Pointers
//! (RFC 6901), as in a JSON Patch. The request inspector shows each admission plugin's
//! change this way.

use serde_json::Value;

pub fn diff(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(&mut String::new(), before, after, &mut out);
    out
}

fn push_segment(path: &mut String, segment: &str) {
    path.push('/');
    path.push_str(&segment.replace('~', "~0").replace('/', "~1"));
}

fn walk(path: &mut String, a: &Value, b: &Value, out: &mut Vec<String>) {
    let len = path.len();
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                push_segment(path, k);
                match y.get(k) {
                    Some(vb) => walk(path, va, vb, out),
                    None => out.push(format!("- {path}: {va}")),
                }
                path.truncate(len);
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                push_segment(path, k);
                out.push(format!("+ {path}: {vb}"));
                path.truncate(len);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                push_segment(path, &i.to_string());
                walk(path, va, vb, out);
                path.truncate(len);
            }
            for (i, v) in y.iter().enumerate().skip(x.len()) {
                out.push(format!("+ {path}/{i}: {v}"));
            }
            for (i, v) in x.iter().enumerate().skip(y.len()) {
                out.push(format!("- {path}/{i}: {v}"));
            }
        }
        _ if a == b => {}
        _ => out.push(format!(
            "~ {}: {a} → {b}",
            if path.is_empty() { "/" } else { path }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::diff;
    use serde_json::json;

    #[test]
    fn additions_removals_and_replacements_by_pointer() {
        let before = json!({"spec": {"priority": null, "tolerations": [{"key": "a"}],
                                     "x/y": 1, "gone": true}});
        let after = json!({"spec": {"priority": 0, "tolerations": [{"key": "a"}, {"key": "b"}],
                                    "x/y": 2, "serviceAccountName": "default"}});
        assert_eq!(
            diff(&before, &after),
            [
                "~ /spec/priority: null → 0",
                "+ /spec/tolerations/1: {\"key\":\"b\"}",
                "~ /spec/x~1y: 1 → 2",
                "- /spec/gone: true",
                "+ /spec/serviceAccountName: \"default\"",
            ]
        );
        assert!(diff(&after, &after).is_empty());
        assert_eq!(diff(&json!(1), &json!(2)), ["~ /: 1 → 2"]);
    }
}
