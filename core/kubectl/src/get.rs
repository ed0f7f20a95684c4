//! `kubectl get`: asks the API server for a Table (as kubectl does) and prints its columns
//! aligned as kubectl's tabwriter does; `-o wide|name|yaml|json`, `-n`, `-A`, `-l`,
//! `--show-labels`, `--no-headers`.

use serde_json::{json, Value};

use super::args::Parsed;
use super::{object_ref, server_error, targets, Api, Output};
use apiserver::registry::Resource;
use apiserver::{Method, Request};
use client::{collection_path, object_path};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// Aligns rows as kubectl's tabwriter: every column but the last padded to its widest cell
/// plus three spaces.
pub fn align(rows: &[Vec<String>]) -> String {
    align_with(rows, 3)
}

/// Aligns rows with `gap` spaces after the widest cell of each column (`describe` uses 2).
pub fn align_with(rows: &[Vec<String>], gap: usize) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                let pad = widths[c] - cell.chars().count() + gap;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        other => other.to_string(),
    }
}

fn labels_of(obj: &Value) -> String {
    let labels: Vec<String> = obj["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    if labels.is_empty() {
        "<none>".into()
    } else {
        labels.join(",")
    }
}

pub fn get(api: &mut dyn Api, p: &Parsed, rest: &[String]) -> Output {
    let (res, names) = match targets(rest) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let all = p.all_namespaces() && names.is_empty();
    let ns = (res.namespaced && !all).then(|| p.namespace().to_string());
    let output = p.flag("output").unwrap_or("");
    let template = output.strip_prefix("jsonpath=");
    let columns = output.strip_prefix("custom-columns=");
    let known = matches!(output, "" | "wide" | "name" | "yaml" | "json");
    if template.is_none() && columns.is_none() && !known {
        return Output::error(format!(
            "error: unable to match a printer suitable for the output format \"{output}\", allowed formats are: custom-columns,json,jsonpath,name,wide,yaml"
        ));
    }
    let table = output.is_empty() || output == "wide";
    let accept = if table { TABLE } else { "application/json" };
    let answers = match fetch(api, p, res, ns.as_deref(), &names, accept) {
        Ok(answers) => answers,
        Err(out) => return out,
    };
    let managed = p.flag("show-managed-fields").is_some_and(|v| v != "false");
    if let Some(spec) = columns {
        return custom_columns(spec, &objects_of(&answers, managed));
    }
    if let Some(template) = template {
        let objects = objects_of(&answers, managed);
        let doc = document(objects, !names.is_empty());
        return match super::jsonpath::render(template.trim_matches('\''), &doc) {
            Ok(text) => Output::ok(text),
            Err(e) => Output::error(format!("error: error parsing jsonpath {template}, {e}")),
        };
    }
    match output {
        "name" | "yaml" | "json" => {
            print_objects(res, &answers, output, !names.is_empty(), managed)
        }
        _ => {
            let view = TableView {
                wide: output == "wide",
                namespace: ns.as_deref(),
                namespace_column: all && res.namespaced,
            };
            print_tables(p, &answers, &view)
        }
    }
}

/// One Table (or list) per request: the collection, or each named object.
fn fetch(
    api: &mut dyn Api,
    p: &Parsed,
    res: &Resource,
    ns: Option<&str>,
    names: &[&str],
    accept: &str,
) -> Result<Vec<Value>, Output> {
    let mut answers = Vec::new();
    if names.is_empty() {
        let mut path = collection_path(res, ns);
        if let Some(sel) = p.flag("selector") {
            path.push_str(&format!(
                "?labelSelector={}",
                sel.replace('=', "%3D").replace(',', "%2C")
            ));
        }
        let resp = api.send(Request::new(Method::Get, &path).accept(accept));
        if resp.code >= 400 {
            return Err(server_error(&resp));
        }
        answers.push(resp.value());
        return Ok(answers);
    }
    let mut errors = Vec::new();
    for name in names {
        let path = object_path(res, ns, name);
        let resp = api.send(Request::new(Method::Get, &path).accept(accept));
        if resp.code >= 400 {
            errors.push(server_error(&resp).stderr);
        } else {
            answers.push(resp.value());
        }
    }
    if !errors.is_empty() && answers.is_empty() {
        return Err(Output::error(errors.join("\n")));
    }
    Ok(answers)
}

/// `-o name|yaml|json`: the objects themselves (one named object alone, else a List).
fn print_objects(
    res: &Resource,
    answers: &[Value],
    output: &str,
    named: bool,
    managed_fields: bool,
) -> Output {
    let objects = objects_of(answers, managed_fields);
    if output == "name" {
        let lines: Vec<String> = objects
            .iter()
            .map(|o| object_ref(res, o["metadata"]["name"].as_str().unwrap_or_default()))
            .collect();
        return Output::ok(lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    }
    let doc = document(objects, named);
    let text = if output == "json" {
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    } else {
        apimachinery::yaml::to_string(&doc)
    };
    Output::ok(text)
}

/// `-o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName`: a header per column, a row
/// per object, several values joined by commas, `<none>` for none.
fn custom_columns(spec: &str, objects: &[Value]) -> Output {
    let mut columns = Vec::new();
    for col in spec.split(',') {
        let Some((header, path)) = col.split_once(':') else {
            return Output::error(format!(
                "error: custom-columns format specified but no custom columns given: {col:?} is not NAME:PATH"
            ));
        };
        let path = path.trim_start_matches('{').trim_end_matches('}');
        columns.push((header.to_string(), path.to_string()));
    }
    let mut rows = vec![columns.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>()];
    for obj in objects {
        let mut row = Vec::new();
        for (_, path) in &columns {
            let found = match super::jsonpath::values(path, obj) {
                Ok(v) => v,
                Err(e) => return Output::error(format!("error: {e}")),
            };
            row.push(if found.is_empty() {
                "<none>".to_string()
            } else {
                found.join(",")
            });
        }
        rows.push(row);
    }
    Output::ok(align(&rows))
}

/// The objects of the answers (lists' items, or the objects themselves), without
/// `managedFields` unless asked for, as kubectl prints them.
fn objects_of(answers: &[Value], managed_fields: bool) -> Vec<Value> {
    let mut objects: Vec<Value> = answers
        .iter()
        .flat_map(|a| match a["items"].as_array() {
            Some(items) => items.clone(),
            None if a["kind"] != "Table" => vec![a.clone()],
            None => Vec::new(),
        })
        .collect();
    if !managed_fields {
        for o in &mut objects {
            if let Some(meta) = o["metadata"].as_object_mut() {
                meta.remove("managedFields");
            }
        }
    }
    objects
}

/// One named object alone, else a `List` of them, as kubectl prints them.
fn document(mut objects: Vec<Value>, named: bool) -> Value {
    if objects.len() == 1 && named {
        objects.remove(0)
    } else {
        json!({"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}})
    }
}

/// How a table is printed: `-o wide`, the namespace asked for, a NAMESPACE column (`-A`).
struct TableView<'a> {
    wide: bool,
    namespace: Option<&'a str>,
    namespace_column: bool,
}

/// Tables: the columns the server offers (priority 0 unless wide), aligned as kubectl's
/// tabwriter aligns them.
fn print_tables(p: &Parsed, answers: &[Value], view: &TableView) -> Output {
    let Some(first) = answers.iter().find(|a| a["kind"] == "Table") else {
        return Output::ok("");
    };
    let columns: Vec<(usize, String)> = first["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| view.wide || c["priority"].as_i64().unwrap_or(0) == 0)
        .map(|(i, c)| {
            (
                i,
                c["name"].as_str().unwrap_or_default().to_ascii_uppercase(),
            )
        })
        .collect();
    let rows: Vec<&Value> = answers
        .iter()
        .flat_map(|a| a["rows"].as_array().into_iter().flatten())
        .collect();
    if rows.is_empty() {
        let message = match view.namespace {
            Some(ns) => format!("No resources found in {ns} namespace."),
            None => "No resources found".to_string(),
        };
        return Output {
            stderr: message,
            ..Output::default()
        };
    }
    let show_labels = p.has("show-labels");
    let mut lines = Vec::new();
    let mut header: Vec<String> = Vec::new();
    if view.namespace_column {
        header.push("NAMESPACE".into());
    }
    header.extend(columns.iter().map(|(_, n)| n.clone()));
    if show_labels {
        header.push("LABELS".into());
    }
    // Without the header its widths do not count either, as in kubectl.
    if !p.has("no-headers") {
        lines.push(header);
    }
    for row in rows {
        let mut line = Vec::new();
        if view.namespace_column {
            line.push(cell(&row["object"]["metadata"]["namespace"]));
        }
        for (i, _) in &columns {
            line.push(cell(&row["cells"][*i]));
        }
        if show_labels {
            line.push(labels_of(&row["object"]));
        }
        lines.push(line);
    }
    Output::ok(align(&lines))
}
