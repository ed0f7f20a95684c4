//! How each field merges under server-side apply, over the API server's types: a struct's
//! fields and a map's keys one by one, a list as a whole (atomic), by value (set) or by its
//! keys (associative) — structured-merge-diff's schema, from `merge-rules.json`.

use std::sync::OnceLock;

use serde_json::Value;

use crate::schema::{self, Def, Schema, Ty};

/// The shape of a value for merging.
#[derive(Clone, Copy)]
pub enum Shape {
    /// A scalar, or anything replaced as a whole (an atomic list, map or struct).
    Leaf,
    Struct(&'static Def),
    /// `map[string]T`: each key on its own.
    Map(&'static Ty),
    /// Items merged by value.
    Set(&'static Ty),
    /// Items merged by these keys.
    Keyed(&'static [Key], &'static Ty),
}

/// A list's key field and the value it has when an item leaves it out.
#[derive(Debug)]
pub struct Key {
    pub name: String,
    pub default: Option<Value>,
}

enum FieldRule {
    Atomic,
    Set,
    Keys(Vec<Key>),
}

enum TypeRule {
    Atomic,
    /// By field name, as the file lists them.
    Fields(Vec<(String, FieldRule)>),
}

/// By type name, sorted as the file is. (Vectors, not maps: the page's wasm carries no map
/// type or decoder just for this.)
fn rules() -> &'static [(String, TypeRule)] {
    static RULES: OnceLock<Vec<(String, TypeRule)>> = OnceLock::new();
    RULES.get_or_init(|| {
        let text = include_bytes!("merge-rules.json");
        let doc: Value = serde_json::from_slice(text).unwrap_or_default();
        let mut rules: Vec<(String, TypeRule)> = doc
            .as_object()
            .into_iter()
            .flatten()
            .map(|(ty, rule)| {
                let rule = match rule {
                    Value::Object(fields) => TypeRule::Fields(
                        fields
                            .iter()
                            .map(|(f, r)| (f.clone(), field_rule(r)))
                            .collect(),
                    ),
                    _ => TypeRule::Atomic,
                };
                (ty.clone(), rule)
            })
            .collect();
        apimachinery::collections::sort_by(&mut rules, |a, b| a.0.cmp(&b.0));
        rules
    })
}

fn type_rule(name: &str) -> Option<&'static TypeRule> {
    let rules = rules();
    let i = rules.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok()?;
    Some(&rules[i].1)
}

fn field_rule(v: &Value) -> FieldRule {
    match v {
        Value::Array(keys) => FieldRule::Keys(
            keys.iter()
                .filter_map(Value::as_str)
                .map(|k| match k.split_once('=') {
                    Some((name, d)) => Key {
                        name: name.into(),
                        default: Some(d.parse::<i64>().map_or_else(|_| d.into(), Value::from)),
                    },
                    None => Key {
                        name: k.into(),
                        default: None,
                    },
                })
                .collect(),
        ),
        Value::String(s) if s == "set" => FieldRule::Set,
        _ => FieldRule::Atomic,
    }
}

fn types() -> &'static Schema {
    schema::schema()
}

/// The shape of a kind's object (`api.apps.v1.Deployment`).
pub fn root(def_name: &str) -> Shape {
    let Some(d) = types().def(def_name) else {
        return Shape::Leaf;
    };
    struct_shape(&types().defs[d])
}

fn struct_shape(def: &'static Def) -> Shape {
    match type_rule(&def.name) {
        Some(TypeRule::Atomic) => Shape::Leaf,
        _ => Shape::Struct(def),
    }
}

/// A named field of a struct: its shape, and whether Go's zero value of the struct holds it
/// (a field Go writes even when unset, as `null` or a zero), which decides whether a
/// manager that sets it creates it or only changes it.
pub fn field(def: &'static Def, name: &str) -> Option<(Shape, bool)> {
    let f = def.fields.iter().find(|f| f.name == name)?;
    Some((shape(&f.ty, Some((def, name))), f.required))
}

/// The shape of a map's or list's items.
pub fn item(ty: &'static Ty) -> Shape {
    shape(ty, None)
}

fn shape(ty: &'static Ty, field: Option<(&Def, &str)>) -> Shape {
    let rule = field.and_then(|(def, name)| match type_rule(&def.name) {
        Some(TypeRule::Fields(fields)) => fields.iter().find(|(f, _)| f == name).map(|(_, r)| r),
        _ => None,
    });
    match ty {
        Ty::Struct(d) => struct_shape(&types().defs[*d]),
        Ty::Map(elem) => match rule {
            Some(FieldRule::Atomic) => Shape::Leaf,
            _ => Shape::Map(elem),
        },
        Ty::List(elem) => match rule {
            Some(FieldRule::Set) => Shape::Set(elem),
            Some(FieldRule::Keys(keys)) => Shape::Keyed(keys, elem),
            _ => Shape::Leaf,
        },
        _ => Shape::Leaf,
    }
}
