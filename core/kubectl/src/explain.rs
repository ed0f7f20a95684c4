//! `kubectl explain RESOURCE[.FIELD...]`, printed as kubectl's plaintext template prints it:
//! GROUP/KIND/VERSION, the field and its type, the description (the field's, then its type's)
//! word-wrapped at 76 columns, and the fields one level down. The documentation comes from the
//! same OpenAPI documents the bridge serves to real kubectl, boiled down to
//! `static/explain.json` (see `kubeplay_bridge::kube_api::openapi::explain_data`); the host
//! hands it to the interpreter through [`Api::explain_docs`].

use serde_json::Value;

use super::{resolve, resource_not_found, Api, Output};

/// Where descriptions wrap, as kubectl's `wrap 76` (80 columns less the indent).
const WIDTH: usize = 76;

/// Wraps text at `limit` columns on whitespace, keeping its line breaks and runs of spaces
/// inside a line: the algorithm of go-wordwrap, which kubectl uses.
pub fn wrap(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / limit.max(1));
    let (mut current, mut word, mut space) = (0usize, String::new(), String::new());
    for c in text.chars() {
        if c == '\n' {
            // Blanks that would run past the limit are dropped before a line break.
            if !word.is_empty() || current + space.chars().count() <= limit {
                out.push_str(&space);
            }
            out.push_str(&word);
            space.clear();
            word.clear();
            out.push('\n');
            current = 0;
        } else if c.is_whitespace() && c != '\u{a0}' {
            if space.is_empty() || !word.is_empty() {
                current += space.chars().count() + word.chars().count();
                out.push_str(&space);
                out.push_str(&word);
                space.clear();
                word.clear();
            }
            space.push(c);
        } else {
            word.push(c);
            let word_len = word.chars().count();
            if current + space.chars().count() + word_len > limit && word_len < limit {
                out.push('\n');
                current = 0;
                space.clear();
            }
        }
    }
    if word.is_empty() {
        if current + space.chars().count() <= limit {
            out.push_str(&space);
        }
    } else {
        out.push_str(&space);
        out.push_str(&word);
    }
    out
}

/// Prefixes every line — and what follows a final line break — with `n` spaces.
fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut out = pad.clone();
    for c in text.chars() {
        out.push(c);
        if c == '\n' {
            out.push_str(&pad);
        }
    }
    out
}

fn str_at(v: &Value, i: usize) -> &str {
    v[i].as_str().unwrap_or_default()
}

pub fn explain(api: &mut dyn Api, rest: &[String]) -> Output {
    let Some(target) = rest.first() else {
        return Output::error(
            "error: You must specify the type of resource to explain. Use \"kubectl api-resources\" for a complete list of supported resources.",
        );
    };
    let Some(docs) = api.explain_docs() else {
        return Output::error(
            "error: the API documentation is not loaded yet (the page fetches it once it is up); try again in a moment",
        );
    };
    let mut path = target.split('.');
    let resource = path.next().unwrap_or_default();
    let Some(res) = resolve(resource) else {
        return resource_not_found(resource);
    };
    let Some(kind) = docs["kinds"].as_array().into_iter().flatten().find(|k| {
        str_at(k, 0) == res.kind && str_at(k, 1) == res.group && str_at(k, 2) == res.version
    }) else {
        return resource_not_found(resource);
    };
    let mut out = String::new();
    if !res.group.is_empty() {
        out.push_str(&format!("GROUP:      {}\n", res.group));
    }
    out.push_str(&format!(
        "KIND:       {}\nVERSION:    {}\n\n",
        res.kind, res.version
    ));
    let definitions = &docs["definitions"];
    let mut def = &definitions[str_at(kind, 3)];
    let mut field: Option<&Value> = None;
    for name in path {
        let found = def["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| str_at(f, 0) == name);
        let Some(f) = found else {
            // kubectl has printed the header by the time it finds out.
            return Output {
                stdout: out,
                stderr: format!("error: field \"{name}\" does not exist"),
                code: 1,
            };
        };
        field = Some(f);
        def = match f[4].as_str() {
            Some(next) => &definitions[next],
            None => &Value::Null,
        };
    }
    let description = match field {
        None => wrap(def["description"].as_str().unwrap_or_default(), WIDTH),
        Some(f) => {
            out.push_str(&format!("FIELD: {} <{}>\n\n\n", str_at(f, 0), str_at(f, 1)));
            let mut text = wrap(str_at(f, 3), WIDTH);
            if let Some(of_type) = def["description"].as_str().filter(|d| !d.is_empty()) {
                text.push('\n');
                text.push_str(&wrap(of_type, WIDTH));
            }
            text
        }
    };
    out.push_str("DESCRIPTION:\n");
    out.push_str(&indent(&(description + "\n"), 4));
    out.push('\n');
    let mut fields: Vec<&Value> = def["fields"].as_array().into_iter().flatten().collect();
    if !fields.is_empty() {
        apimachinery::collections::sort_by_key(&mut fields, |f| str_at(f, 0));
        out.push_str("FIELDS:\n");
        for f in fields {
            let required = if f[2] == true { " -required-" } else { "" };
            out.push_str(&format!(
                "  {}\t<{}>{required}\n",
                str_at(f, 0),
                str_at(f, 1)
            ));
            if !str_at(f, 3).is_empty() {
                out.push_str(&indent(&wrap(str_at(f, 3), WIDTH), 4));
                out.push('\n');
            }
            out.push('\n');
        }
    }
    out.push('\n');
    Output::ok(out)
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_as_go_wordwrap() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc");
        assert_eq!(
            wrap("keep\n\nparagraphs  and  runs", 80),
            "keep\n\nparagraphs  and  runs"
        );
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            "averyveryverylongword\nx"
        );
    }
}
