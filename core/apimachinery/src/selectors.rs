//! Label and field selectors (`k8s.io/apimachinery/pkg/labels` and `pkg/fields`).
//!
//! A selector is a conjunction of requirements. Label selectors come from a query string
//! (`app=web,tier in (a,b),!canary`) or from a `metav1.LabelSelector`; field selectors only
//! from a query string and only over the fields each kind supports (see [`field_value`]).

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
    pub values: Vec<String>,
}

impl Requirement {
    pub fn matches(&self, value: Option<&str>) -> bool {
        match self.op {
            Op::Equals | Op::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Op::NotEquals | Op::NotIn => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
            Op::GreaterThan | Op::LessThan => {
                let (Some(v), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|b| b.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Op::GreaterThan {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

/// A label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
    /// A `LabelSelector` can also select nothing (`nil` upstream); never true for parsed ones.
    pub nothing: bool,
}

impl Selector {
    pub fn everything() -> Selector {
        Selector::default()
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && !self.nothing
    }

    /// Parses the string form (`labels.Parse`).
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for term in split_terms(s) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_term(term)?);
        }
        Ok(Selector {
            requirements,
            nothing: false,
        })
    }

    /// Converts a `metav1.LabelSelector` (`metav1.LabelSelectorAsSelector`).
    pub fn from_label_selector(ls: &Value) -> Result<Selector, String> {
        if ls.is_null() {
            return Ok(Selector {
                requirements: vec![],
                nothing: true,
            });
        }
        let mut requirements = Vec::new();
        if let Some(m) = ls.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                requirements.push(Requirement {
                    key: k.clone(),
                    op: Op::Equals,
                    values: vec![v.as_str().unwrap_or_default().to_string()],
                });
            }
        }
        for e in ls
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let op = match e
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default()
            {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => return Err(format!("{other:?} is not a valid label selector operator")),
            };
            requirements.push(Requirement { key, op, values });
        }
        Ok(Selector {
            requirements,
            nothing: false,
        })
    }

    pub fn matches_labels(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        !self.nothing
            && self
                .requirements
                .iter()
                .all(|r| r.matches(labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str)))
    }

    /// Whether labels held as a map (the scheduler's parsed pods and nodes) match.
    pub fn matches_map(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        !self.nothing
            && self
                .requirements
                .iter()
                .all(|r| r.matches(labels.get(&r.key).map(String::as_str)))
    }

    /// Whether an object's `metadata.labels` match.
    pub fn matches(&self, obj: &Value) -> bool {
        self.matches_labels(obj.pointer("/metadata/labels").and_then(Value::as_object))
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> = self
            .requirements
            .iter()
            .map(|r| match r.op {
                Op::Equals => format!("{}={}", r.key, r.values.join(",")),
                Op::NotEquals => format!("{}!={}", r.key, r.values.join(",")),
                Op::In => format!("{} in ({})", r.key, r.values.join(",")),
                Op::NotIn => format!("{} notin ({})", r.key, r.values.join(",")),
                Op::Exists => r.key.clone(),
                Op::DoesNotExist => format!("!{}", r.key),
                Op::GreaterThan => format!("{}>{}", r.key, r.values.join(",")),
                Op::LessThan => format!("{}<{}", r.key, r.values.join(",")),
            })
            .collect();
        f.write_str(&terms.join(","))
    }
}

/// Splits on commas outside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_term(term: &str) -> Result<Requirement, String> {
    let set_values = |rest: &str| -> Result<Vec<String>, String> {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("unable to parse requirement: found '{rest}', expected: '('"))?;
        Ok(inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect())
    };
    let words: Vec<&str> = term.split_whitespace().collect();
    if words.len() >= 2 && (words[1] == "in" || words[1] == "notin") {
        let rest = term[term.find(words[1]).unwrap_or(0) + words[1].len()..].to_string();
        let key = words[0].to_string();
        validate_key(&key)?;
        let op = if words[1] == "in" { Op::In } else { Op::NotIn };
        return Ok(Requirement {
            key,
            op,
            values: set_values(&rest)?,
        });
    }
    for (sym, op) in [
        ("!=", Op::NotEquals),
        ("==", Op::Equals),
        ("=", Op::Equals),
        (">", Op::GreaterThan),
        ("<", Op::LessThan),
    ] {
        if let Some((k, v)) = term.split_once(sym) {
            let key = k.trim().to_string();
            validate_key(&key)?;
            return Ok(Requirement {
                key,
                op,
                values: vec![v.trim().to_string()],
            });
        }
    }
    if let Some(k) = term.strip_prefix('!') {
        let key = k.trim().to_string();
        validate_key(&key)?;
        return Ok(Requirement {
            key,
            op: Op::DoesNotExist,
            values: vec![],
        });
    }
    validate_key(term)?;
    Ok(Requirement {
        key: term.to_string(),
        op: Op::Exists,
        values: vec![],
    })
}

fn validate_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.contains(|c: char| c.is_whitespace() || "()!=<>".contains(c)) {
        return Err(format!(
            "unable to parse requirement: invalid label key {key:?}"
        ));
    }
    Ok(())
}

/// A field selector: `spec.nodeName=node-1,status.phase!=Running`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub requirements: Vec<(String, bool, String)>,
}

impl FieldSelector {
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut requirements = Vec::new();
        for term in split_unescaped(s, ',') {
            if term.is_empty() {
                continue;
            }
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                ));
            };
            requirements.push((field.trim().to_string(), equal, unescape(value)));
        }
        Ok(FieldSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Checks that `kind` supports every field named.
    pub fn check_supported(&self, kind: &str) -> Result<(), String> {
        match self
            .requirements
            .iter()
            .find(|(f, _, _)| !supported(kind, f))
        {
            Some((field, _, _)) => Err(format!("field label not supported: {field}")),
            None => Ok(()),
        }
    }

    pub fn matches(&self, kind: &str, obj: &Value) -> bool {
        self.requirements.iter().all(|(field, equal, value)| {
            let actual = field_value(kind, obj, field).unwrap_or_default();
            (actual == *value) == *equal
        })
    }

    /// The value a requirement pins `field` to, if any (`spec.nodeName=x` → `x`).
    pub fn pinned(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|(f, eq, _)| f == field && *eq)
            .map(|(_, _, v)| v.as_str())
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if let Some(l) = out.last_mut() {
                l.push('\\');
                l.push(c);
            }
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(String::new());
        } else if let Some(l) = out.last_mut() {
            l.push(c);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}

fn supported(kind: &str, field: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || match kind {
            "Pod" => matches!(
                field,
                "spec.nodeName"
                    | "spec.restartPolicy"
                    | "spec.schedulerName"
                    | "spec.serviceAccountName"
                    | "spec.hostNetwork"
                    | "status.phase"
                    | "status.podIP"
                    | "status.nominatedNodeName"
            ),
            "Event" => matches!(
                field,
                "involvedObject.kind"
                    | "involvedObject.namespace"
                    | "involvedObject.name"
                    | "involvedObject.uid"
                    | "involvedObject.apiVersion"
                    | "involvedObject.resourceVersion"
                    | "involvedObject.fieldPath"
                    | "reason"
                    | "reportingComponent"
                    | "source"
                    | "type"
            ),
            "Node" => field == "spec.unschedulable",
            "Namespace" => field == "status.phase",
            "Secret" => field == "type",
            "ReplicaSet" | "StatefulSet" => field == "status.replicas",
            _ => false,
        }
}

/// The value of a selectable field of an object; `None` when `kind` does not support it.
/// Absent fields read as `""`, as Kubernetes' field sets have them.
pub fn field_value(kind: &str, obj: &Value, field: &str) -> Option<String> {
    if !supported(kind, field) {
        return None;
    }
    let pointer = match field {
        "source" => "/source/component".to_string(),
        f => format!("/{}", f.replace('.', "/")),
    };
    Some(match obj.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ if field == "spec.unschedulable" || field == "spec.hostNetwork" => "false".into(),
        _ => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selector_table() {
        let obj = json!({"metadata": {"labels": {"app": "web", "tier": "front", "n": "5"}}});
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app=web,tier=back", false),
            ("tier in (front, back)", true),
            ("tier notin (front)", false),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("missing!=x", true),
            ("n>4", true),
            ("n<4", false),
            ("app in (web),tier", true),
        ];
        for (sel, want) in cases {
            let s = Selector::parse(sel).unwrap();
            assert_eq!(s.matches(&obj), want, "{sel}");
        }
        assert!(Selector::parse("app in web").is_err());
        assert!(Selector::parse("a b").is_err());
    }

    #[test]
    fn label_selector_object() {
        let s = Selector::from_label_selector(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]
        }))
        .unwrap();
        assert_eq!(s.to_string(), "app=web,tier notin (db)");
        assert!(s.matches(&json!({"metadata": {"labels": {"app": "web"}}})));
        assert!(!Selector::from_label_selector(&Value::Null)
            .unwrap()
            .matches(&json!({})));
    }

    #[test]
    fn field_selector_table() {
        let pod = json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let cases = [
            ("metadata.name=a", true),
            ("spec.nodeName=n1,status.phase!=Succeeded", true),
            ("spec.nodeName=", false),
            ("status.phase==Pending", false),
        ];
        for (sel, want) in cases {
            assert_eq!(
                FieldSelector::parse(sel).unwrap().matches("Pod", &pod),
                want,
                "{sel}"
            );
        }
        let s = FieldSelector::parse("spec.bogus=1").unwrap();
        assert_eq!(
            s.check_supported("Pod"),
            Err("field label not supported: spec.bogus".into())
        );
        assert_eq!(
            FieldSelector::parse("spec.nodeName=n1")
                .unwrap()
                .pinned("spec.nodeName"),
            Some("n1")
        );
    }
}
