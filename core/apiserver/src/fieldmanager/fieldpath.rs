//! Sets of field paths (structured-merge-diff's `fieldpath.Set`): what each manager owns,
//! as a tree written in the `FieldsV1` form `metadata.managedFields` holds.
//!
//! A path element is kept in its `FieldsV1` spelling: `f:name` (a field or map key),
//! `k:{"name":"web"}` (a list item by its keys), `v:"x"` (a set item), `i:3` (an index).
//! A node is a *member* when the path to it is in the set itself (`.` in `FieldsV1`, or a
//! leaf `{}`), and may have children besides.

use serde_json::{Map, Value};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Set {
    member: bool,
    /// Sorted by element: a vector, not a `BTreeMap` (one more map type in the page's wasm
    /// costs more than these small sorted lists gain).
    children: Vec<(String, Set)>,
}

impl Set {
    fn get(&self, pe: &str) -> Option<&Set> {
        let i = self.find(pe).ok()?;
        Some(&self.children[i].1)
    }

    fn find(&self, pe: &str) -> Result<usize, usize> {
        self.children.binary_search_by(|(p, _)| p.as_str().cmp(pe))
    }

    fn entry(&mut self, pe: &str) -> &mut Set {
        let i = match self.find(pe) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (pe.to_string(), Set::default()));
                i
            }
        };
        &mut self.children[i].1
    }

    pub fn is_empty(&self) -> bool {
        !self.member && self.children.iter().all(|(_, c)| c.is_empty())
    }

    /// Adds `path` (elements in their `FieldsV1` spelling) as a member.
    pub fn insert(&mut self, path: &[String]) {
        let mut node = self;
        for pe in path {
            node = node.entry(pe);
        }
        node.member = true;
    }

    pub fn has(&self, path: &[String]) -> bool {
        let mut node = self;
        for pe in path {
            match node.get(pe) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.member
    }

    /// The subtree under one element, if any.
    pub fn child(&self, pe: &str) -> Option<&Set> {
        self.get(pe)
    }

    /// The set restricted to the paths under one top element (`f:status`).
    pub fn only(&self, pe: &str) -> Set {
        let mut out = Set::default();
        if let Some(child) = self.get(pe) {
            out.children.push((pe.to_string(), child.clone()));
        }
        out
    }

    pub fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.member |= other.member;
        for (pe, child) in &other.children {
            let mine = out.entry(pe);
            *mine = mine.union(child);
        }
        out
    }

    pub fn difference(&self, other: &Set) -> Set {
        let mut out = Set {
            member: self.member && !other.member,
            children: Vec::new(),
        };
        for (pe, child) in &self.children {
            let rest = match other.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.push((pe.clone(), rest));
            }
        }
        out
    }

    pub fn intersection(&self, other: &Set) -> Set {
        let mut out = Set {
            member: self.member && other.member,
            children: Vec::new(),
        };
        for (pe, child) in &self.children {
            if let Some(theirs) = other.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.push((pe.clone(), both));
                }
            }
        }
        out
    }

    /// Every member path, in order.
    pub fn paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The `FieldsV1` form: `{"f:spec": {"f:replicas": {}}, "f:metadata": {...}}`.
    pub fn to_fields_v1(&self) -> Value {
        let mut out = Map::new();
        if self.member && !self.children.is_empty() {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for (pe, child) in &self.children {
            if !child.is_empty() {
                out.insert(pe.clone(), child.to_fields_v1());
            }
        }
        Value::Object(out)
    }

    /// Reads `FieldsV1`; `None` if it is not that form.
    pub fn from_fields_v1(v: &Value) -> Option<Set> {
        let mut set = Set::default();
        set.read(v.as_object()?)?;
        Some(set)
    }

    fn read(&mut self, fields: &Map<String, Value>) -> Option<()> {
        for (pe, child) in fields {
            if pe == "." {
                self.member = true;
                continue;
            }
            if !matches!(pe.get(..2), Some("f:" | "k:" | "v:" | "i:")) {
                return None;
            }
            let node = self.entry(pe);
            let inner = child.as_object()?;
            if inner.is_empty() {
                node.member = true;
            } else {
                node.read(inner)?;
            }
        }
        Some(())
    }
}

/// A path as Kubernetes prints it in a conflict: `.spec.replicas`,
/// `.spec.template.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`.
pub fn display(path: &[String]) -> String {
    let mut out = String::new();
    for pe in path {
        let (kind, rest) = pe.split_at(2.min(pe.len()));
        match kind {
            "f:" => {
                out.push('.');
                out.push_str(rest);
            }
            "k:" => {
                let keys: Map<String, Value> =
                    serde_json::from_slice(rest.as_bytes()).unwrap_or_default();
                let parts: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", parts.join(",")));
            }
            "v:" => out.push_str(&format!("[={rest}]")),
            _ => out.push_str(&format!("[{rest}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(s: &[&str]) -> Vec<String> {
        s.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn fields_v1_round_trips_and_marks_members_with_a_dot() {
        let v = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                       "f:spec": {"f:replicas": {}}});
        let set = Set::from_fields_v1(&v).unwrap();
        assert!(set.has(&path(&["f:metadata", "f:labels"])));
        assert!(set.has(&path(&["f:metadata", "f:labels", "f:app"])));
        assert!(!set.has(&path(&["f:metadata"])));
        assert_eq!(set.to_fields_v1(), v);
        assert_eq!(Set::from_fields_v1(&json!({"spec": {}})), None);
    }

    #[test]
    fn set_algebra() {
        let mut a = Set::default();
        a.insert(&path(&["f:spec", "f:replicas"]));
        a.insert(&path(&["f:spec", "f:paused"]));
        let mut b = Set::default();
        b.insert(&path(&["f:spec", "f:replicas"]));
        assert_eq!(a.intersection(&b), b);
        let rest = a.difference(&b);
        assert_eq!(rest.paths(), vec![path(&["f:spec", "f:paused"])]);
        assert_eq!(rest.union(&b), a);
        assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn paths_print_as_kubernetes_prints_them() {
        let p = path(&["f:spec", "f:containers", r#"k:{"name":"web"}"#, "f:image"]);
        assert_eq!(display(&p), r#".spec.containers[name="web"].image"#);
        let p = path(&["f:ports", r#"k:{"containerPort":80,"protocol":"TCP"}"#]);
        assert_eq!(display(&p), r#".ports[containerPort=80,protocol="TCP"]"#);
        let p = path(&["f:metadata", "f:finalizers", r#"v:"x""#]);
        assert_eq!(display(&p), r#".metadata.finalizers[="x"]"#);
    }
}
