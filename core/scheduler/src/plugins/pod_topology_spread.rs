//! PodTopologySpread: keeps matching pods evenly spread over topology domains (zones, hosts).
//!
//! A `DoNotSchedule` constraint is a Filter: placing the pod in a domain may not make it
//! exceed the least-loaded domain by more than `maxSkew` (the least counts as 0 while there
//! are fewer domains than `minDomains`). `ScheduleAnyway` constraints — and, for pods without
//! constraints, the system defaults (hostname skew 3, zone skew 5, selecting the pod's
//! siblings by its Services, ReplicaSet or StatefulSet) — only score: fewer matching pods in
//! the node's domains is better.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::framework::{CycleState, NodeInfo, PodInfo, SpreadConstraint, Status, MAX_NODE_SCORE};
use crate::plugins::Plugin;
use crate::snapshot::Snapshot;
use apimachinery::selectors::Selector;

use super::node_affinity::required_matches;
use super::taint_toleration::untolerated;

pub const NAME: &str = "PodTopologySpread";
pub const ERR_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

pub const HOSTNAME: &str = "kubernetes.io/hostname";
pub const ZONE: &str = "topology.kubernetes.io/zone";

#[derive(Default)]
pub struct PodTopologySpread {
    /// `defaultingType: List` with no constraints turns system defaulting off.
    pub no_system_defaults: bool,
    /// PreFilter's counts, kept across cycles for the constraint sets seen lately.
    cache: std::sync::Mutex<Vec<CachedCounts>>,
}

impl PodTopologySpread {
    pub fn new(no_system_defaults: bool) -> PodTopologySpread {
        PodTopologySpread {
            no_system_defaults,
            ..PodTopologySpread::default()
        }
    }
}

/// What decides PreFilter's counts besides the cluster: the pod's namespace, its hard
/// constraints and what makes a node count for it (node selector, affinity, tolerations).
#[derive(Clone, PartialEq)]
struct CountsKey {
    /// Whether a node counts only with every constraint's topology key (PreFilter, and
    /// PreScore of a pod's own constraints) or with any (PreScore of the system defaults).
    require_all: bool,
    namespace: String,
    constraints: Vec<SpreadConstraint>,
    node_selector: BTreeMap<String, String>,
    affinity: serde_json::Value,
    tolerations: Vec<crate::framework::Toleration>,
}

impl CountsKey {
    fn new(pod: &PodInfo, constraints: Vec<SpreadConstraint>, require_all: bool) -> CountsKey {
        CountsKey {
            require_all,
            namespace: pod.namespace.clone(),
            constraints,
            node_selector: pod.node_selector.clone(),
            affinity: pod.affinity.clone(),
            tolerations: pod.tolerations.clone(),
        }
    }
}

/// Counts per constraint and domain, true as of change `position` of the snapshot. Every
/// pod of a workload shares the key, so a cycle replays the few changes since the last one
/// instead of recounting every node: the index that keeps spreading cheap at 5,000 nodes.
struct CachedCounts {
    key: CountsKey,
    node_generation: u64,
    position: u64,
    counts: Vec<BTreeMap<String, i64>>,
}

/// How many constraint sets are kept.
const CACHED_SETS: usize = 16;

/// Adds what `node` holds (or, with `change`, one pod placed or removed) to `counts`.
fn tally(
    key: &CountsKey,
    pod: &PodInfo,
    node: &NodeInfo,
    counts: &mut [BTreeMap<String, i64>],
    change: Option<(&PodInfo, i64)>,
) {
    let constraints = &key.constraints;
    if key.require_all && !has_all_keys(node, constraints) {
        return;
    }
    for (i, c) in constraints.iter().enumerate() {
        if !included(c, pod, node) {
            continue;
        }
        let n = match change {
            None => matching_pods(node, c, &pod.namespace),
            Some((other, delta)) => {
                let counts = other.namespace == pod.namespace
                    && !other.deleting
                    && c.selector.matches_map(&other.labels);
                if counts {
                    delta
                } else {
                    0
                }
            }
        };
        let domain = node.labels.get(&c.topology_key).map_or("", String::as_str);
        match counts[i].get_mut(domain) {
            Some(v) => *v += n,
            None => {
                counts[i].insert(domain.to_string(), n);
            }
        }
    }
}

/// The system default constraints, selecting by `selector`.
fn system_defaults(selector: Selector) -> Vec<SpreadConstraint> {
    [(HOSTNAME, 3), (ZONE, 5)]
        .into_iter()
        .map(|(key, skew)| SpreadConstraint {
            max_skew: skew,
            topology_key: key.to_string(),
            hard: false,
            selector: selector.clone(),
            min_domains: 1,
            honor_node_affinity: true,
            honor_taints: false,
        })
        .collect()
}

/// Pods on the node in the pod's namespace, not terminating, that the constraint selects
/// (each distinct label set tested once).
fn matching_pods(node: &NodeInfo, c: &SpreadConstraint, namespace: &str) -> i64 {
    node.label_sets
        .iter()
        .filter(|l| l.namespace == namespace && c.selector.matches_map(&l.labels))
        .map(|l| l.count)
        .sum::<usize>() as i64
}

fn has_all_keys(node: &NodeInfo, constraints: &[SpreadConstraint]) -> bool {
    constraints
        .iter()
        .all(|c| node.labels.contains_key(&c.topology_key))
}

/// `matchNodeInclusionPolicies`: whether the node's domain counts for this constraint.
fn included(c: &SpreadConstraint, pod: &PodInfo, node: &NodeInfo) -> bool {
    (!c.honor_node_affinity || required_matches(pod, node))
        && (!c.honor_taints || untolerated(pod, node).is_none())
}

#[derive(Clone)]
struct FilterState {
    constraints: Vec<SpreadConstraint>,
    /// Per constraint: domain → matching pods.
    counts: Vec<BTreeMap<String, i64>>,
    /// Per constraint: the least count over its domains.
    min: Vec<i64>,
}

impl FilterState {
    fn refresh_min(&mut self, i: usize) {
        self.min[i] = self.counts[i].values().copied().min().unwrap_or(0);
    }

    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        if other.namespace != pod.namespace || !has_all_keys(node, &self.constraints) {
            return;
        }
        for i in 0..self.constraints.len() {
            let c = &self.constraints[i];
            if !included(c, pod, node) || !c.selector.matches_map(&other.labels) {
                continue;
            }
            if let Some(n) = self.counts[i].get_mut(&node.labels[&c.topology_key]) {
                *n += delta;
                self.refresh_min(i);
            }
        }
    }
}

#[derive(Clone)]
struct ScoreState {
    constraints: Vec<SpreadConstraint>,
    counts: Vec<BTreeMap<String, i64>>,
    weights: Vec<f64>,
    ignored: BTreeSet<Arc<str>>,
}

impl PodTopologySpread {
    /// PreFilter's counts for `key`: from the cache brought up to date, or counted afresh
    /// when the nodes changed or the cache fell too far behind.
    fn counts(
        &self,
        snap: &Snapshot,
        pod: &PodInfo,
        key: &CountsKey,
    ) -> Vec<BTreeMap<String, i64>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let end = snap.changes_end();
        if let Some(i) = cache.iter().position(|c| c.key == *key) {
            let entry = &mut cache[i];
            if entry.node_generation == snap.node_generation {
                if let Some(changes) = snap.changes_since(entry.position) {
                    for ch in changes {
                        if let Some(node) = snap.node(&ch.node) {
                            tally(key, pod, node, &mut entry.counts, Some((&ch.pod, ch.delta)));
                        }
                    }
                    entry.position = end;
                    return entry.counts.clone();
                }
            }
            cache.remove(i);
        }
        let mut counts = vec![BTreeMap::new(); key.constraints.len()];
        for node in &snap.nodes {
            tally(key, pod, node, &mut counts, None);
        }
        if cache.len() == CACHED_SETS {
            cache.remove(0);
        }
        cache.push(CachedCounts {
            key: key.clone(),
            node_generation: snap.node_generation,
            position: end,
            counts: counts.clone(),
        });
        counts
    }
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }

    fn pre_filter(&self, snap: &Snapshot, pod: &PodInfo, state: &mut CycleState) -> Status {
        let constraints: Vec<SpreadConstraint> = pod
            .spread_constraints
            .iter()
            .filter(|c| c.hard)
            .cloned()
            .collect();
        if constraints.is_empty() {
            return Status::skip();
        }
        let key = CountsKey::new(pod, constraints, true);
        let counts = self.counts(snap, pod, &key);
        let mut s = FilterState {
            min: vec![0; key.constraints.len()],
            constraints: key.constraints,
            counts,
        };
        for i in 0..s.constraints.len() {
            s.refresh_min(i);
        }
        state.write(NAME, s);
        Status::success()
    }

    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(NAME) else {
            return Status::success();
        };
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(domain) = node.labels.get(&c.topology_key) else {
                return Status::unresolvable(ERR_NODE_LABEL_NOT_MATCH);
            };
            let self_match = i64::from(c.selector.matches_map(&pod.labels));
            let matching = s.counts[i].get(domain).copied().unwrap_or(0);
            let min = if (s.counts[i].len() as i64) < c.min_domains {
                0
            } else {
                s.min[i]
            };
            if matching + self_match - min > c.max_skew {
                return Status::unschedulable(ERR_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }

    fn add_pod(
        &self,
        _: &Snapshot,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
    ) {
        if let Some(s) = state.get_mut::<FilterState>(NAME) {
            s.update(pod, added, node, 1);
        }
    }

    fn remove_pod(
        &self,
        _: &Snapshot,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) {
        if let Some(s) = state.get_mut::<FilterState>(NAME) {
            s.update(pod, removed, node, -1);
        }
    }

    fn pre_score(
        &self,
        snap: &Snapshot,
        pod: &PodInfo,
        feasible: &[&NodeInfo],
        state: &mut CycleState,
    ) -> Status {
        let system_defaulted = pod.spread_constraints.is_empty();
        let constraints: Vec<SpreadConstraint> = if system_defaulted {
            if self.no_system_defaults {
                return Status::skip();
            }
            match snap.default_spread_selector(pod) {
                Some(sel) => system_defaults(sel),
                None => return Status::skip(),
            }
        } else {
            pod.spread_constraints
                .iter()
                .filter(|c| !c.hard)
                .cloned()
                .collect()
        };
        if constraints.is_empty() {
            return Status::skip();
        }
        // Pods with their own constraints only count nodes that have every topology key.
        let require_all = !system_defaulted;
        let mut ignored = BTreeSet::new();
        let mut counts = vec![BTreeMap::<String, i64>::new(); constraints.len()];
        for node in feasible {
            if require_all && !has_all_keys(node, &constraints) {
                ignored.insert(node.name.clone());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key != HOSTNAME {
                    let domain = node
                        .labels
                        .get(&c.topology_key)
                        .cloned()
                        .unwrap_or_default();
                    counts[i].entry(domain).or_insert(0);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == HOSTNAME {
                    feasible.len() - ignored.len()
                } else {
                    counts[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        // Matching pods per domain over every node the pod could use — from the same index
        // PreFilter keeps (a walk of every node's pods per pod, upstream's way, grew with
        // the cluster) — kept for the candidates' domains. Hostname counts are per node, in
        // Score.
        let by_domain: Vec<SpreadConstraint> = constraints
            .iter()
            .filter(|c| c.topology_key != HOSTNAME)
            .cloned()
            .collect();
        if !by_domain.is_empty() {
            let key = CountsKey::new(pod, by_domain, require_all);
            let mut all = self.counts(snap, pod, &key).into_iter();
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == HOSTNAME {
                    continue;
                }
                let all = all.next().unwrap_or_default();
                for (domain, n) in counts[i].iter_mut() {
                    *n += all.get(domain).copied().unwrap_or(0);
                }
            }
        }
        state.write(
            NAME,
            ScoreState {
                constraints,
                counts,
                weights,
                ignored,
            },
        );
        Status::success()
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(s) = state.read::<ScoreState>(NAME) else {
            return 0;
        };
        if s.ignored.contains(&node.name) {
            return 0;
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(domain) = node.labels.get(&c.topology_key) else {
                continue;
            };
            let n = if c.topology_key == HOSTNAME {
                matching_pods(node, c, &pod.namespace)
            } else {
                s.counts[i].get(domain).copied().unwrap_or(0)
            };
            score += n as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        score.round() as i64
    }

    /// Fewer matching pods is better: `100 * (max + min - s) / max`; ignored nodes get 0.
    fn normalize(&self, state: &CycleState, nodes: &[&NodeInfo], scores: &mut [i64]) {
        let Some(s) = state.read::<ScoreState>(NAME) else {
            return;
        };
        let counted = |i: usize| !s.ignored.contains(&nodes[i].name);
        let (mut min, mut max) = (i64::MAX, 0);
        for (i, v) in scores.iter().enumerate() {
            if counted(i) {
                min = min.min(*v);
                max = max.max(*v);
            }
        }
        for (i, v) in scores.iter_mut().enumerate() {
            *v = if !counted(i) {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *v) / max
            };
        }
    }
}

#[cfg(test)]
mod tests;
