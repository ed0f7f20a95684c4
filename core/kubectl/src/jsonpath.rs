//! `-o jsonpath=TEMPLATE` (and `custom-columns=`' paths): kubectl's JSONPath templates over
//! the object (or the List of objects) `get` fetched — `{.metadata.name}`, `{.items[*].metadata.name}`, `[N]`,
//! filters `[?(@.type=="Ready")]`, `{range …}…{end}`, quoted text `{"\n"}`; several results
//! of one expression are joined by spaces, strings print bare, anything else as JSON.

use serde_json::Value;

enum Node {
    Text(String),
    Path(String),
    Range(String, Vec<Node>),
}

/// Renders `template` over `root`.
pub fn render(template: &str, root: &Value) -> Result<String, String> {
    let nodes = parse(&mut tokens(template)?.into_iter(), false)?;
    let mut out = String::new();
    write(&nodes, root, root, &mut out)?;
    Ok(out)
}

/// What one expression (`.spec.containers[*].image`) names in `root`, each as printed.
pub fn values(expr: &str, root: &Value) -> Result<Vec<String>, String> {
    Ok(select(expr, root, root)?.into_iter().map(show).collect())
}

/// The template as text and `{…}` expressions.
fn tokens(template: &str) -> Result<Vec<(bool, String)>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        if start > 0 {
            out.push((false, rest[..start].to_string()));
        }
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed action in {template:?}"))?;
        out.push((true, rest[start + 1..start + end].trim().to_string()));
        rest = &rest[start + end + 1..];
    }
    if !rest.is_empty() {
        out.push((false, rest.to_string()));
    }
    Ok(out)
}

fn parse(
    tokens: &mut impl Iterator<Item = (bool, String)>,
    in_range: bool,
) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    while let Some((expr, text)) = tokens.next() {
        if !expr {
            nodes.push(Node::Text(text));
        } else if text == "end" {
            return if in_range {
                Ok(nodes)
            } else {
                Err("not in range, nothing to end".into())
            };
        } else if let Some(path) = text.strip_prefix("range ") {
            let body = parse(tokens, true)?;
            nodes.push(Node::Range(path.trim().to_string(), body));
        } else if let Some(quoted) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            nodes.push(Node::Text(quoted.replace("\\n", "\n").replace("\\t", "\t")));
        } else {
            nodes.push(Node::Path(text));
        }
    }
    if in_range {
        return Err("unexpected EOF: range without end".into());
    }
    Ok(nodes)
}

fn write(nodes: &[Node], root: &Value, current: &Value, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Path(p) => {
                let found = select(p, root, current)?;
                let shown: Vec<String> = found.iter().map(|v| show(v)).collect();
                out.push_str(&shown.join(" "));
            }
            Node::Range(p, body) => {
                for item in select(p, root, current)? {
                    write(body, root, item, out)?;
                }
            }
        }
    }
    Ok(())
}

/// A value as kubectl prints it: strings bare, anything else as JSON with its keys sorted
/// (kubectl's objects are Go maps, which its JSON writes sorted).
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => sorted(other).to_string(),
    }
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            apimachinery::collections::sort(&mut keys);
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The values a path names: `.a.b`, `$.a`, `@.a`, `[*]`, `[N]`, `[?(@.k=="v")]`.
fn select<'a>(path: &str, root: &'a Value, current: &'a Value) -> Result<Vec<&'a Value>, String> {
    let (mut found, mut rest) = match path.strip_prefix('$') {
        Some(r) => (vec![root], r),
        None => (vec![current], path.strip_prefix('@').unwrap_or(path)),
    };
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            rest = &r[end..];
            if key.is_empty() {
                continue;
            }
            found = found.into_iter().filter_map(|v| v.get(key)).collect();
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = close(r)?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            found = subscript(inner, found, root)?;
        } else {
            return Err(format!("unrecognized character in action: {rest:?}"));
        }
    }
    Ok(found)
}

/// Where the `]` closing a subscript is (a filter's literal may hold one).
fn close(r: &str) -> Result<usize, String> {
    let mut quoted = false;
    for (i, c) in r.char_indices() {
        match c {
            '"' | '\'' => quoted = !quoted,
            ']' if !quoted => return Ok(i),
            _ => {}
        }
    }
    Err("unterminated array".into())
}

fn subscript<'a>(
    inner: &str,
    found: Vec<&'a Value>,
    root: &'a Value,
) -> Result<Vec<&'a Value>, String> {
    let items = found
        .into_iter()
        .flat_map(|v| v.as_array().into_iter().flatten());
    if inner == "*" {
        return Ok(items.collect());
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        let (lhs, rhs) = filter
            .split_once("==")
            .ok_or_else(|| format!("unsupported filter {filter:?}: use @.path==\"value\""))?;
        let want = rhs.trim().trim_matches(['"', '\'']);
        let mut out = Vec::new();
        for item in items {
            if select(lhs.trim(), root, item)?
                .iter()
                .any(|v| show(v) == want)
            {
                out.push(item);
            }
        }
        return Ok(out);
    }
    let n: usize = inner
        .parse()
        .map_err(|_| format!("unsupported subscript [{inner}]"))?;
    Ok(items.skip(n).take(1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_as_kubectl_renders_them() {
        let list = json!({"kind": "List", "items": [
            {"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
        ]});
        assert_eq!(render("{.items[*].metadata.name}", &list).unwrap(), "a b");
        assert_eq!(render("{.items[1].metadata.name}", &list).unwrap(), "b");
        assert_eq!(
            render(r#"{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}"#, &list).unwrap(),
            "a=True\nb=False\n"
        );
        assert_eq!(
            render("name: {.items[0].metadata}", &list).unwrap(),
            r#"name: {"name":"a"}"#
        );
        assert!(render("{range .items[*]}{.x}", &list).is_err());
    }
}
