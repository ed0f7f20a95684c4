//! NodeAffinity: `spec.nodeSelector` and required node affinity decide where a pod may go;
//! preferred node affinity adds each matching term's weight to the score.

use serde_json::Value;

use crate::framework::{default_normalize, CycleState, NodeInfo, PodInfo, Status};
use crate::plugins::Plugin;

pub const ERR_REASON: &str = "node(s) didn't match Pod's node affinity/selector";

pub struct NodeAffinity;

/// One `NodeSelectorRequirement` against a value (`None`: the label is absent).
fn requirement_matches(req: &Value, value: Option<&str>) -> bool {
    let values: Vec<&str> = req["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match req["operator"].as_str().unwrap_or_default() {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => value.is_none_or(|v| !values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if op == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// A `NodeSelectorTerm`: every expression on labels and every field requirement holds. An
/// empty term matches nothing.
pub fn term_matches(term: &Value, node: &NodeInfo) -> bool {
    let exprs = term["matchExpressions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let fields = term["matchFields"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| {
        requirement_matches(
            r,
            node.labels
                .get(r["key"].as_str().unwrap_or_default())
                .map(String::as_str),
        )
    }) && fields
        .iter()
        .all(|r| r["key"] == "metadata.name" && requirement_matches(r, Some(&node.name)))
}

/// Whether `node` satisfies the pod's node selector and required node affinity.
pub fn required_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    if !pod
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
    {
        return false;
    }
    let required = &pod.affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    match required["nodeSelectorTerms"].as_array() {
        None => true,
        Some(terms) => terms.iter().any(|t| term_matches(t, node)),
    }
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if required_matches(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let preferred =
            &pod.affinity["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
        preferred
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| term_matches(&p["preference"], node))
            .map(|p| p["weight"].as_i64().unwrap_or(0))
            .sum()
    }

    fn normalize(&self, _: &CycleState, _: &[&NodeInfo], scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::framework::Code;
    use crate::plugins::testing::{filter, node_with, scores};

    fn node(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
        node_with(name, labels, &[])
    }

    fn pod(spec: serde_json::Value) -> PodInfo {
        PodInfo::from_pod(&json!({"metadata": {"name": "p"}, "spec": spec}))
    }

    #[test]
    fn filter_table() {
        let zone_a = node("n1", &[("zone", "a"), ("gen", "5")]);
        let required = |exprs: serde_json::Value| json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": exprs}]}}}});
        let cases = [
            (json!({}), Code::Success),
            (json!({"nodeSelector": {"zone": "a"}}), Code::Success),
            (
                json!({"nodeSelector": {"zone": "b"}}),
                Code::UnschedulableAndUnresolvable,
            ),
            (
                required(json!([{"key": "zone", "operator": "In", "values": ["a", "b"]}])),
                Code::Success,
            ),
            (
                required(json!([{"key": "zone", "operator": "NotIn", "values": ["a"]}])),
                Code::UnschedulableAndUnresolvable,
            ),
            (
                required(json!([{"key": "gpu", "operator": "DoesNotExist"}])),
                Code::Success,
            ),
            (
                required(json!([{"key": "gen", "operator": "Gt", "values": ["4"]}])),
                Code::Success,
            ),
            (
                required(json!([{"key": "gen", "operator": "Lt", "values": ["4"]}])),
                Code::UnschedulableAndUnresolvable,
            ),
            (
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}}),
                Code::Success,
            ),
            (
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}}}),
                Code::UnschedulableAndUnresolvable,
            ),
        ];
        for (i, (spec, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                filter(&NodeAffinity, &pod(spec), &zone_a).code,
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn preferred_terms_add_their_weights() {
        let p = pod(
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 80, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
                {"weight": 20, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}
            ]}}}),
        );
        let (a, b) = (
            node("a", &[("zone", "a")]),
            node("b", &[("zone", "b"), ("disk", "ssd")]),
        );
        let (raw, normalized) = scores(&NodeAffinity, &p, &[a, b]);
        assert_eq!(raw, [80, 20]);
        assert_eq!(normalized, [100, 25]);
    }
}
