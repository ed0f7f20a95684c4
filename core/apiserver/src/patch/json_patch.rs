//! JSON patch, RFC 6902: a list of `add`, `remove`, `replace`, `move`, `copy` and `test`
//! operations at JSON pointers. All or nothing: a failing operation leaves the object as it was.

use serde_json::Value;

pub fn apply(original: &Value, patch: &Value) -> Result<Value, String> {
    let ops = patch
        .as_array()
        .ok_or("json patch must be a list of operations")?;
    // Upstream's limit on operations; the size and depth checks stop a few `copy` operations
    // from doubling a document until memory or the stack runs out.
    if ops.len() > 10_000 {
        return Err("the json patch has more than 10000 operations".into());
    }
    let mut doc = original.clone();
    for op in ops {
        if exceeds(&doc, 0, &mut 0) {
            return Err("the patched object is too large or too deeply nested".into());
        }
        let name = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or("operation has no \"op\"")?;
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("operation has no \"path\"")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or(format!("{name} operation has no \"value\""))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or(format!("{name} operation has no \"from\""))
        };
        match name {
            "add" => add(&mut doc, path, value()?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                remove(&mut doc, path)?;
                add(&mut doc, path, value()?)?;
            }
            "move" => {
                let v = remove(&mut doc, from()?)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let v = doc
                    .pointer(from()?)
                    .cloned()
                    .ok_or(format!("copy from missing path {}", from()?))?;
                add(&mut doc, path, v)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("unexpected kind of operation {other:?}")),
        }
    }
    Ok(doc)
}

/// Whether `v` is nested deeper than 100 levels or holds more than 200,000 values.
fn exceeds(v: &Value, depth: usize, count: &mut usize) -> bool {
    *count += 1;
    if depth > 100 || *count > 200_000 {
        return true;
    }
    match v {
        Value::Object(m) => m.values().any(|x| exceeds(x, depth + 1, count)),
        Value::Array(a) => a.iter().any(|x| exceeds(x, depth + 1, count)),
        _ => false,
    }
}

fn split(path: &str) -> Result<(String, String), String> {
    if path.is_empty() {
        return Err("the root of the document cannot be patched".into());
    }
    let i = path.rfind('/').ok_or(format!("invalid path {path:?}"))?;
    let last = path[i + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..i].to_string(), last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Result<(), String> {
    let (parent, last) = split(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(m)) => {
            m.insert(last, v);
            Ok(())
        }
        Some(Value::Array(a)) => {
            let i = if last == "-" {
                a.len()
            } else {
                index(&last, a.len() + 1)?
            };
            a.insert(i, v);
            Ok(())
        }
        _ => Err(format!(
            "add operation does not apply: doc is missing path: {path:?}"
        )),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split(path)?;
    let missing = || format!("remove operation does not apply: doc is missing path: {path:?}");
    match doc.pointer_mut(&parent) {
        Some(Value::Object(m)) => m.remove(&last).ok_or_else(missing),
        Some(Value::Array(a)) => {
            let i = index(&last, a.len())?;
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

fn index(s: &str, len: usize) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(i) if i < len => Ok(i),
        _ => Err(format!("index {s:?} out of bounds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc6902_operations() {
        let doc = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"list": [1, 2]}});
        let patch = json!([
            {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
            {"op": "replace", "path": "/spec/list/0", "value": 9},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "copy", "from": "/spec/list", "path": "/spec/copy"},
            {"op": "test", "path": "/spec/copy/2", "value": 3}
        ]);
        assert_eq!(
            apply(&doc, &patch).unwrap(),
            json!({"metadata": {"labels": {"b/c": "2"}}, "spec": {"list": [9, 2, 3], "copy": [9, 2, 3]}})
        );
        assert!(apply(&doc, &json!([{"op": "remove", "path": "/nope"}])).is_err());
        assert!(apply(
            &doc,
            &json!([{"op": "test", "path": "/spec/list/0", "value": 5}])
        )
        .is_err());
    }
}
