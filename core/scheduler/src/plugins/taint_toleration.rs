//! TaintToleration: a node's `NoSchedule`/`NoExecute` taints keep out pods that do not tolerate
//! them; `PreferNoSchedule` taints only lower the score.

use crate::framework::{default_normalize, CycleState, NodeInfo, PodInfo, Status, Taint};
use crate::plugins::Plugin;

pub struct TaintToleration;

/// The first `NoSchedule`/`NoExecute` taint of the node the pod does not tolerate.
pub fn untolerated<'n>(pod: &PodInfo, node: &'n NodeInfo) -> Option<&'n Taint> {
    node.taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !pod.tolerations.iter().any(|tol| tol.tolerates(t)))
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match untolerated(pod, node) {
            None => Status::success(),
            Some(t) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key, t.value
            )),
        }
    }

    /// The number of `PreferNoSchedule` taints the pod does not tolerate; fewer is better.
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let tolerated = |t: &Taint| {
            pod.tolerations.iter().any(|tol| {
                (tol.effect.is_empty() || tol.effect == "PreferNoSchedule") && tol.tolerates(t)
            })
        };
        node.taints
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerated(t))
            .count() as i64
    }

    fn normalize(&self, _: &CycleState, _: &[&NodeInfo], scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{Code, Toleration};
    use crate::plugins::testing::filter;

    fn node(taints: &[(&str, &str, &str)]) -> NodeInfo {
        NodeInfo {
            name: "n".into(),
            taints: taints
                .iter()
                .map(|(k, v, e)| Taint {
                    key: k.to_string(),
                    value: v.to_string(),
                    effect: e.to_string(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn pod(tols: &[(&str, &str, &str, &str)]) -> PodInfo {
        let mut p = PodInfo::from_pod(&serde_json::json!({"metadata": {"name": "p"}, "spec": {}}));
        p.tolerations = tols
            .iter()
            .map(|(k, op, v, e)| Toleration {
                key: k.to_string(),
                operator: op.to_string(),
                value: v.to_string(),
                effect: e.to_string(),
            })
            .collect();
        p
    }

    #[test]
    fn filter_table() {
        let gpu = [("gpu", "true", "NoSchedule")];
        let cases = [
            (node(&[]), pod(&[]), Code::Success),
            (node(&gpu), pod(&[]), Code::UnschedulableAndUnresolvable),
            (
                node(&gpu),
                pod(&[("gpu", "Equal", "true", "NoSchedule")]),
                Code::Success,
            ),
            (
                node(&gpu),
                pod(&[("gpu", "Equal", "false", "NoSchedule")]),
                Code::UnschedulableAndUnresolvable,
            ),
            (node(&gpu), pod(&[("gpu", "Exists", "", "")]), Code::Success),
            (node(&gpu), pod(&[("", "Exists", "", "")]), Code::Success),
            (
                node(&[("soft", "", "PreferNoSchedule")]),
                pod(&[]),
                Code::Success,
            ),
            (
                node(&[("x", "", "NoExecute")]),
                pod(&[("x", "Exists", "", "NoSchedule")]),
                Code::UnschedulableAndUnresolvable,
            ),
        ];
        for (i, (n, p, want)) in cases.into_iter().enumerate() {
            assert_eq!(filter(&TaintToleration, &p, &n).code, want, "case {i}");
        }
        assert_eq!(
            filter(&TaintToleration, &pod(&[]), &node(&gpu)).reasons,
            ["node(s) had untolerated taint {gpu: true}"]
        );
    }
}
