//! Objects walked by their shape (structured-merge-diff's `typed` package): the fields an
//! object sets, what changed between two objects, an applied configuration merged into a live
//! object, and fields removed.

use serde_json::{Map, Value};

use super::fieldpath::{display, Set};
use super::rules::{self, Key, Shape};

/// The path element of a list item: `k:{"name":"web"}` by its keys, `v:"x"` by its value.
fn item_element(shape: Shape, item: &Value) -> Result<String, String> {
    match shape {
        Shape::Keyed(keys, _) => {
            let mut fields: Vec<(&Key, Value)> = Vec::with_capacity(keys.len());
            for key in keys {
                let v = match (item.get(&key.name), &key.default) {
                    (Some(v), _) if !v.is_null() => v.clone(),
                    (_, Some(d)) => d.clone(),
                    _ => {
                        return Err(format!(
                            "associative list with keys has an element that omits key field {:?} (and doesn't have default value)",
                            key.name
                        ))
                    }
                };
                fields.push((key, v));
            }
            apimachinery::collections::sort_by(&mut fields, |a, b| a.0.name.cmp(&b.0.name));
            let map: Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.name.clone(), v))
                .collect();
            Ok(format!("k:{}", Value::Object(map)))
        }
        _ => Ok(format!("v:{item}")),
    }
}

fn item_shape(shape: Shape) -> Shape {
    match shape {
        Shape::Set(ty) | Shape::Keyed(_, ty) => rules::item(ty),
        _ => Shape::Leaf,
    }
}

/// A child of a struct or map: its shape and whether Go's zero value holds it.
fn child(shape: Shape, key: &str) -> Result<(Shape, bool), ()> {
    match shape {
        Shape::Struct(def) => rules::field(def, key).ok_or(()),
        Shape::Map(ty) => Ok((rules::item(ty), false)),
        _ => Ok((Shape::Leaf, false)),
    }
}

/// The fields an (applied) object sets: every scalar, every list item and map key, and
/// every atomic value — not the structs that only hold them.
pub fn to_field_set(shape: Shape, v: &Value) -> Result<Set, String> {
    let mut set = Set::default();
    field_set(shape, v, &mut Vec::new(), &mut set)?;
    Ok(set)
}

/// `path` is a stack: each level pushes its element and pops it when done.
fn field_set(shape: Shape, v: &Value, path: &mut Vec<String>, set: &mut Set) -> Result<(), String> {
    match (shape, v) {
        (Shape::Struct(_) | Shape::Map(_), Value::Object(fields)) => {
            for (key, val) in fields {
                path.push(format!("f:{key}"));
                let (inner, _) = child(shape, key)
                    .map_err(|_| format!("{}: field not declared in schema", display(path)))?;
                field_set(inner, val, path, set)?;
                let empty = val.is_null() || val.as_object().is_some_and(Map::is_empty);
                if empty || matches!(shape, Shape::Map(_)) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        (Shape::Set(_) | Shape::Keyed(..), Value::Array(items)) => {
            for item in items {
                path.push(item_element(shape, item)?);
                field_set(item_shape(shape), item, path, set)?;
                set.insert(path);
                path.pop();
            }
        }
        _ => set.insert(path),
    }
    Ok(())
}

/// What changed from one object to the next, path by path.
#[derive(Debug, Default)]
pub struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

impl Comparison {
    pub fn changed(&self) -> Set {
        self.added.union(&self.modified)
    }
}

/// A side of a comparison at one path: the value, or whether the path exists without one
/// (a field Go's zero value holds).
#[derive(Clone, Copy)]
enum Side<'a> {
    Absent,
    Zero,
    Value(&'a Value),
}

impl<'a> Side<'a> {
    fn value(self) -> Option<&'a Value> {
        match self {
            Side::Value(v) => Some(v),
            _ => None,
        }
    }

    fn exists(self) -> bool {
        !matches!(self, Side::Absent)
    }

    fn child(self, key: &str, in_zero_value: bool) -> Side<'a> {
        match self.value().and_then(|v| v.get(key)) {
            Some(v) if !v.is_null() => Side::Value(v),
            _ if self.exists() && in_zero_value => Side::Zero,
            Some(_) => Side::Zero,
            None => Side::Absent,
        }
    }
}

/// What changed from `old` (`None`: nothing yet) to `new`, in the top-level fields `wanted`
/// picks — the status alone for a status write: a kubelet's heartbeat is not a walk of the
/// whole pod.
pub fn compare(
    shape: Shape,
    old: Option<&Value>,
    new: &Value,
    wanted: impl Fn(&str) -> bool,
) -> Comparison {
    let mut cmp = Comparison::default();
    let old = old.map_or(Side::Zero, Side::Value);
    compare_children(
        shape,
        old,
        Side::Value(new),
        &mut Vec::new(),
        &mut cmp,
        wanted,
    );
    cmp
}

fn is_empty(side: Side) -> bool {
    match side.value() {
        None => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

fn compare_at(shape: Shape, old: Side, new: Side, path: &mut Vec<String>, cmp: &mut Comparison) {
    let leaf = match shape {
        Shape::Leaf => true,
        // Two empty containers compare as one leaf.
        _ => is_empty(old) && is_empty(new),
    };
    if leaf {
        match (old.exists(), new.exists()) {
            (false, true) => cmp.added.insert(path),
            (true, false) => cmp.removed.insert(path),
            (true, true) if old.value() != new.value() => cmp.modified.insert(path),
            _ => {}
        }
        return;
    }
    match shape {
        // Who manages what is bookkeeping, not a field anyone owns.
        Shape::Struct(_) if path.len() == 1 && path[0] == "f:metadata" => {
            compare_children(shape, old, new, path, cmp, |k| k != "managedFields")
        }
        Shape::Struct(_) | Shape::Map(_) => compare_children(shape, old, new, path, cmp, |_| true),
        _ => compare_items(shape, old, new, path, cmp),
    }
    match (old.exists(), new.exists()) {
        (false, true) => cmp.added.insert(path),
        (true, false) => cmp.removed.insert(path),
        _ => {}
    }
}

fn compare_children(
    shape: Shape,
    old: Side,
    new: Side,
    path: &mut Vec<String>,
    cmp: &mut Comparison,
    wanted: impl Fn(&str) -> bool,
) {
    for key in union_keys(old.value(), new.value()) {
        if !wanted(key) {
            continue;
        }
        let Ok((inner, in_zero)) = child(shape, key) else {
            continue;
        };
        let (o, n) = (old.child(key, in_zero), new.child(key, in_zero));
        if o.exists() || n.exists() {
            path.push(format!("f:{key}"));
            compare_at(inner, o, n, path, cmp);
            path.pop();
        }
    }
}

/// The keys of `a`, then those of `b` that `a` lacks.
fn union_keys<'a>(a: Option<&'a Value>, b: Option<&'a Value>) -> Vec<&'a str> {
    let first = a.and_then(Value::as_object);
    let mut keys: Vec<&str> = first
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    for (k, _) in b.and_then(Value::as_object).into_iter().flatten() {
        if !first.is_some_and(|m| m.contains_key(k)) {
            keys.push(k);
        }
    }
    keys
}

/// A list's items by path element, first of each kept (duplicates are the validator's).
fn index(shape: Shape, list: Option<&Value>) -> Vec<(String, &Value)> {
    let mut out: Vec<(String, &Value)> = Vec::new();
    for item in list.and_then(Value::as_array).into_iter().flatten() {
        if let Ok(pe) = item_element(shape, item) {
            if !out.iter().any(|(p, _)| *p == pe) {
                out.push((pe, item));
            }
        }
    }
    out
}

fn compare_items(shape: Shape, old: Side, new: Side, path: &mut Vec<String>, cmp: &mut Comparison) {
    let (olds, news) = (index(shape, old.value()), index(shape, new.value()));
    fn find<'v>(list: &[(String, &'v Value)], pe: &str) -> Side<'v> {
        list.iter()
            .find(|(p, _)| p == pe)
            .map_or(Side::Absent, |(_, v)| Side::Value(v))
    }
    let mut pes: Vec<&String> = olds.iter().map(|(p, _)| p).collect();
    pes.extend(
        news.iter()
            .map(|(p, _)| p)
            .filter(|p| !find(&olds, p).exists()),
    );
    for pe in pes {
        path.push(pe.clone());
        compare_at(
            item_shape(shape),
            find(&olds, pe),
            find(&news, pe),
            path,
            cmp,
        );
        path.pop();
    }
}

/// An applied configuration merged into the live object: the configuration's values win,
/// structs and maps merge key by key, sets and keyed lists item by item.
pub fn merge(shape: Shape, live: Option<&Value>, config: Option<&Value>) -> Option<Value> {
    match (live, config) {
        (_, Some(Value::Null)) => None,
        (None, c) => c.cloned(),
        (l, None) => l.cloned(),
        (Some(l), Some(c)) => Some(match (shape, l, c) {
            (Shape::Struct(_) | Shape::Map(_), Value::Object(lm), Value::Object(cm)) => {
                let mut out = Map::new();
                for key in union_keys(Some(l), Some(c)) {
                    let inner = child(shape, key).map_or(Shape::Leaf, |(s, _)| s);
                    if let Some(v) = merge(inner, lm.get(key), cm.get(key)) {
                        out.insert(key.to_string(), v);
                    }
                }
                Value::Object(out)
            }
            (Shape::Set(_) | Shape::Keyed(..), Value::Array(_), Value::Array(_)) => {
                Value::Array(merge_items(shape, l, c))
            }
            _ => c.clone(),
        }),
    }
}

/// Items of both lists: the configuration's in its order, live items it does not name kept
/// where they stood (structured-merge-diff's interleaving).
fn merge_items(shape: Shape, live: &Value, config: &Value) -> Vec<Value> {
    let (ls, rs) = (index(shape, Some(live)), index(shape, Some(config)));
    let in_list = |list: &[(String, &Value)], pe: &str| list.iter().any(|(p, _)| p == pe);
    let get = |list: &[(String, &'_ Value)], pe: &str| {
        list.iter()
            .find(|(p, _)| p == pe)
            .map(|(_, v)| (*v).clone())
    };
    let shared: Vec<&String> = rs
        .iter()
        .map(|(p, _)| p)
        .filter(|p| in_list(&ls, p))
        .collect();
    let mut next_shared = shared.iter();
    let mut want = next_shared.next();
    let mut done: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let (mut li, mut ri) = (0, 0);
    let inner = item_shape(shape);
    while li < ls.len() || ri < rs.len() {
        if li < ls.len() && ri < rs.len() && ls[li].0 == rs[ri].0 {
            let pe = &ls[li].0;
            out.extend(merge(inner, Some(ls[li].1), Some(rs[ri].1)));
            done.push(pe.clone());
            li += 1;
            ri += 1;
            want = next_shared.next();
            continue;
        }
        if li < ls.len() {
            let pe = &ls[li].0;
            if !in_list(&rs, pe) {
                out.push(ls[li].1.clone());
                li += 1;
                continue;
            }
            if done.contains(pe) || want.is_some_and(|w| *w != pe) {
                li += 1;
                continue;
            }
        }
        if ri < rs.len() {
            let pe = &rs[ri].0;
            out.extend(merge(inner, get(&ls, pe).as_ref(), Some(rs[ri].1)));
            done.push(pe.clone());
            ri += 1;
            if want.is_some_and(|w| *w == pe) {
                want = next_shared.next();
            }
        }
    }
    out
}

/// The object without the fields that are members of `drop` — but for those with something
/// in `keep` below them, only what is dropped below; a map left empty goes too.
pub fn remove(shape: Shape, v: &Value, drop: &Set, keep: &Set) -> Value {
    let none = Set::default();
    let gone = |sub: &Set, kept: &Set| sub.has(&[]) && kept.is_empty();
    match (shape, v) {
        (Shape::Struct(_) | Shape::Map(_), Value::Object(fields)) => {
            let mut out = Map::new();
            for (key, val) in fields {
                let pe = format!("f:{key}");
                let kept_below = keep.child(&pe).unwrap_or(&none);
                match drop.child(&pe) {
                    None => {
                        out.insert(key.clone(), val.clone());
                    }
                    Some(sub) if gone(sub, kept_below) => {}
                    Some(sub) => {
                        let inner = child(shape, key).map_or(Shape::Leaf, |(s, _)| s);
                        let kept = remove(inner, val, sub, kept_below);
                        let emptied = matches!(inner, Shape::Map(_))
                            && kept.as_object().is_some_and(Map::is_empty)
                            && !val.as_object().is_some_and(Map::is_empty);
                        if !emptied {
                            out.insert(key.clone(), kept);
                        }
                    }
                }
            }
            Value::Object(out)
        }
        (Shape::Set(_) | Shape::Keyed(..), Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter_map(|item| {
                    let Ok(pe) = item_element(shape, item) else {
                        return Some(item.clone());
                    };
                    let kept_below = keep.child(&pe).unwrap_or(&none);
                    match drop.child(&pe) {
                        None => Some(item.clone()),
                        Some(sub) if gone(sub, kept_below) => None,
                        Some(sub) => Some(remove(item_shape(shape), item, sub, kept_below)),
                    }
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}
