//! InterPodAffinity: pods placed relative to other pods by topology — required affinity
//! ("in the same zone as a cache pod"), required anti-affinity ("never two on one host"), the
//! anti-affinity of pods already running, and preferred terms as scores.
//!
//! PreFilter counts, per topology pair (`zone=a`), the existing pods that match the incoming
//! pod's terms and the existing pods whose anti-affinity the incoming pod would break; Filter
//! then only looks up the node's labels.

use std::collections::BTreeMap;

use crate::framework::{CycleState, NodeInfo, PodInfo, Status, MAX_NODE_SCORE};
use crate::plugins::Plugin;
use crate::snapshot::Snapshot;

pub const NAME: &str = "InterPodAffinity";
pub const ERR_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const ERR_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub const ERR_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

pub struct InterPodAffinity {
    /// Weight of an existing pod's required affinity term matching the incoming pod.
    pub hard_pod_affinity_weight: i64,
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for InterPodAffinity {
    fn default() -> Self {
        InterPodAffinity {
            hard_pod_affinity_weight: 1,
            ignore_preferred_terms_of_existing_pods: false,
        }
    }
}

/// Counts by topology key, then topology value.
type TopologyCounts = BTreeMap<String, BTreeMap<String, i64>>;

fn bump(counts: &mut TopologyCounts, key: &str, node: &NodeInfo, delta: i64) {
    if let Some(value) = node.labels.get(key) {
        let by_value = counts.entry(key.to_string()).or_default();
        let c = by_value.entry(value.clone()).or_default();
        *c += delta;
        if *c == 0 {
            by_value.remove(value);
            if by_value.is_empty() {
                counts.remove(key);
            }
        }
    }
}

fn count(counts: &TopologyCounts, key: &str, node: &NodeInfo) -> i64 {
    node.labels
        .get(key)
        .and_then(|v| counts.get(key)?.get(v))
        .copied()
        .unwrap_or(0)
}

#[derive(Clone, Default)]
struct FilterState {
    /// Existing pods whose required anti-affinity the incoming pod matches.
    existing_anti: TopologyCounts,
    /// Existing pods matching all of the incoming pod's required affinity terms.
    affinity: TopologyCounts,
    /// Existing pods matching each of the incoming pod's required anti-affinity terms.
    anti: TopologyCounts,
    /// The incoming pod matches all its own required affinity terms.
    matches_itself: bool,
}

impl FilterState {
    /// Counts (or uncounts) `existing` on `node` for the incoming `pod`.
    fn update(
        &mut self,
        snap: &Snapshot,
        pod: &PodInfo,
        existing: &PodInfo,
        node: &NodeInfo,
        d: i64,
    ) {
        let pod_ns = snap.namespace_labels(&pod.namespace);
        for t in &existing.required_anti_affinity {
            if t.matches(pod, pod_ns) {
                bump(&mut self.existing_anti, &t.topology_key, node, d);
            }
        }
        let existing_ns = snap.namespace_labels(&existing.namespace);
        if !pod.required_affinity.is_empty()
            && pod
                .required_affinity
                .iter()
                .all(|t| t.matches(existing, existing_ns))
        {
            for t in &pod.required_affinity {
                bump(&mut self.affinity, &t.topology_key, node, d);
            }
        }
        for t in &pod.required_anti_affinity {
            if t.matches(existing, existing_ns) {
                bump(&mut self.anti, &t.topology_key, node, d);
            }
        }
    }
}

fn satisfies_affinity(s: &FilterState, pod: &PodInfo, node: &NodeInfo) -> bool {
    let mut pods_exist = true;
    for t in &pod.required_affinity {
        if !node.labels.contains_key(&t.topology_key) {
            return false;
        }
        if count(&s.affinity, &t.topology_key, node) <= 0 {
            pods_exist = false;
        }
    }
    // The first of a group: no pod anywhere matches, but the pod matches its own terms — it
    // may go anywhere that has the topology keys, or it could never be scheduled.
    pods_exist || (s.affinity.is_empty() && s.matches_itself)
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn pre_filter(&self, snap: &Snapshot, pod: &PodInfo, state: &mut CycleState) -> Status {
        let mut s = FilterState {
            matches_itself: {
                let ns = snap.namespace_labels(&pod.namespace);
                pod.required_affinity.iter().all(|t| t.matches(pod, ns))
            },
            ..FilterState::default()
        };
        let own_terms = !pod.required_affinity.is_empty() || !pod.required_anti_affinity.is_empty();
        if !own_terms && snap.pods_with_required_anti_affinity == 0 {
            return Status::skip();
        }
        for node in &snap.nodes {
            if own_terms {
                for existing in &node.pods {
                    s.update(snap, pod, existing, node, 1);
                }
            } else {
                for existing in &node.pods_with_required_anti_affinity {
                    s.update(snap, pod, existing, node, 1);
                }
            }
        }
        if s.existing_anti.is_empty() && !own_terms {
            return Status::skip();
        }
        state.write(NAME, s);
        Status::success()
    }

    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(NAME) else {
            return Status::success();
        };
        if !satisfies_affinity(s, pod, node) {
            return Status::unresolvable(ERR_AFFINITY);
        }
        if pod
            .required_anti_affinity
            .iter()
            .any(|t| count(&s.anti, &t.topology_key, node) > 0)
        {
            return Status::unschedulable(ERR_ANTI_AFFINITY);
        }
        let existing_violated = s.existing_anti.iter().any(|(key, by_value)| {
            node.labels
                .get(key)
                .is_some_and(|v| by_value.get(v).is_some_and(|c| *c > 0))
        });
        if existing_violated {
            return Status::unschedulable(ERR_EXISTING_ANTI_AFFINITY);
        }
        Status::success()
    }

    fn add_pod(
        &self,
        snap: &Snapshot,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
    ) {
        if let Some(s) = state.get_mut::<FilterState>(NAME) {
            s.update(snap, pod, added, node, 1);
        }
    }

    fn remove_pod(
        &self,
        snap: &Snapshot,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) {
        if let Some(s) = state.get_mut::<FilterState>(NAME) {
            s.update(snap, pod, removed, node, -1);
        }
    }

    fn pre_score(
        &self,
        snap: &Snapshot,
        pod: &PodInfo,
        _: &[&NodeInfo],
        state: &mut CycleState,
    ) -> Status {
        let has_preferred =
            !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
        if !has_preferred
            && (self.ignore_preferred_terms_of_existing_pods || snap.pods_with_affinity == 0)
        {
            return Status::skip();
        }
        let pod_ns = snap.namespace_labels(&pod.namespace);
        let mut scores = TopologyCounts::new();
        for node in &snap.nodes {
            let pods = if has_preferred {
                &node.pods
            } else {
                &node.pods_with_affinity
            };
            if node.labels.is_empty() {
                continue;
            }
            for existing in pods {
                let existing_ns = snap.namespace_labels(&existing.namespace);
                let mut add = |key: &str, w: i64| {
                    if w != 0 {
                        bump(&mut scores, key, node, w);
                    }
                };
                for (w, t) in &pod.preferred_affinity {
                    if t.matches(existing, existing_ns) {
                        add(&t.topology_key, *w);
                    }
                }
                for (w, t) in &pod.preferred_anti_affinity {
                    if t.matches(existing, existing_ns) {
                        add(&t.topology_key, -*w);
                    }
                }
                if self.hard_pod_affinity_weight > 0 {
                    for t in &existing.required_affinity {
                        if t.matches(pod, pod_ns) {
                            add(&t.topology_key, self.hard_pod_affinity_weight);
                        }
                    }
                }
                if !self.ignore_preferred_terms_of_existing_pods {
                    for (w, t) in &existing.preferred_affinity {
                        if t.matches(pod, pod_ns) {
                            add(&t.topology_key, *w);
                        }
                    }
                    for (w, t) in &existing.preferred_anti_affinity {
                        if t.matches(pod, pod_ns) {
                            add(&t.topology_key, -*w);
                        }
                    }
                }
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(NAME, ScoreState(scores));
        Status::success()
    }

    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(ScoreState(scores)) = state.read::<ScoreState>(NAME) else {
            return 0;
        };
        scores.keys().map(|key| count(scores, key, node)).sum()
    }

    /// `(s - min) / (max - min)` over the nodes, scaled to 0..=100.
    fn normalize(&self, state: &CycleState, _: &[&NodeInfo], scores: &mut [i64]) {
        if state.read::<ScoreState>(NAME).is_none() {
            return;
        }
        let (min, max) = scores
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
        let diff = max.saturating_sub(min);
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * (*s - min) as f64 / diff as f64) as i64
            } else {
                0
            };
        }
    }
}

#[derive(Clone)]
struct ScoreState(TopologyCounts);

#[cfg(test)]
mod tests;
