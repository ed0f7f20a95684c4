//! The record of a scheduling cycle. The cycle writes a compact [`CycleRecord`] — node
//! names shared, verdicts only where a node was rejected, scores in one flat vector — and
//! the [`Decision`] the page and tools read is built from it only when asked for.

use std::sync::Arc;

use serde::Serialize;

use super::{Code, Status};

/// One plugin's verdict on one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FilterVerdict {
    pub plugin: &'static str,
    pub status: Status,
}

/// One plugin's score of one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PluginScore {
    pub plugin: &'static str,
    pub raw: i64,
    pub normalized: i64,
    pub weight: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeDecision {
    pub node: String,
    /// Filters in order, up to and including the first that rejected the node.
    pub filters: Vec<FilterVerdict>,
    /// Empty when the node was filtered out.
    pub scores: Vec<PluginScore>,
    pub total: i64,
}

/// What PostFilter (DefaultPreemption) did for a pod that fit nowhere.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Preemption {
    /// The node the pod was nominated to, once its victims are gone.
    pub nominated_node: Option<String>,
    /// `namespace/name` of each pod evicted to make room.
    pub victims: Vec<String>,
    /// Why preemption could not help, when it could not (upstream's PostFilter message).
    pub message: Option<String>,
}

/// The record of one scheduling cycle: what the page's decision table shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub pod: String,
    pub scheduler_name: String,
    pub time: String,
    pub nodes: Vec<NodeDecision>,
    pub chosen: Option<String>,
    /// The `FailedScheduling` message when no node fits.
    pub message: Option<String>,
    pub preemption: Option<Preemption>,
}

/// A node the cycle looked at; `rejected` names the filter (by position in the profile) and
/// its status when the node was filtered out.
#[derive(Clone, Debug)]
pub struct Examined {
    pub node: Arc<str>,
    pub rejected: Option<(u16, Status)>,
}

/// A rejection that came before the per-node filters: PreFilter, for every node alike.
#[derive(Clone, Debug)]
pub struct PreFilterRejection {
    pub plugin: &'static str,
    pub status: Status,
}

#[derive(Clone, Debug, Default)]
pub struct CycleRecord {
    pub pod: String,
    pub time: String,
    pub profile: usize,
    pub examined: Vec<Examined>,
    pub pre_filter: Option<PreFilterRejection>,
    /// For each feasible node (in `examined` order) and each score plugin: raw, normalized.
    pub scores: Vec<(i64, i64)>,
    pub totals: Vec<i64>,
    pub chosen: Option<Arc<str>>,
    pub message: Option<String>,
    pub preemption: Option<Preemption>,
}

/// The names and weights the record's indices refer to (the profile of the cycle).
pub struct RecordLegend<'a> {
    pub scheduler_name: &'a str,
    pub filters: &'a [&'static str],
    pub scores: &'a [(&'static str, i64)],
}

impl CycleRecord {
    pub fn decision(&self, legend: &RecordLegend) -> Decision {
        let plugins = legend.scores.len();
        let mut feasible = 0;
        let nodes = self
            .examined
            .iter()
            .map(|e| {
                let passed = |n: usize| {
                    legend.filters[..n.min(legend.filters.len())]
                        .iter()
                        .map(|p| FilterVerdict {
                            plugin: p,
                            status: Status::success(),
                        })
                        .collect::<Vec<_>>()
                };
                match &e.rejected {
                    Some((i, status)) => {
                        let mut filters = passed(*i as usize);
                        filters.push(FilterVerdict {
                            plugin: legend.filters.get(*i as usize).copied().unwrap_or("?"),
                            status: status.clone(),
                        });
                        NodeDecision {
                            node: e.node.to_string(),
                            filters,
                            scores: Vec::new(),
                            total: 0,
                        }
                    }
                    None => {
                        let base = feasible * plugins;
                        let scores = legend
                            .scores
                            .iter()
                            .enumerate()
                            .filter_map(|(j, (plugin, weight))| {
                                let (raw, normalized) = *self.scores.get(base + j)?;
                                Some(PluginScore {
                                    plugin,
                                    raw,
                                    normalized,
                                    weight: *weight,
                                })
                            })
                            .collect();
                        let total = self.totals.get(feasible).copied().unwrap_or(0);
                        feasible += 1;
                        NodeDecision {
                            node: e.node.to_string(),
                            filters: passed(legend.filters.len()),
                            scores,
                            total,
                        }
                    }
                }
            })
            .collect();
        let mut nodes: Vec<NodeDecision> = nodes;
        if let Some(pf) = &self.pre_filter {
            // PreFilter rejected the pod before any node was looked at: every node shares it.
            nodes.clear();
            nodes.push(NodeDecision {
                node: "*".into(),
                filters: vec![FilterVerdict {
                    plugin: pf.plugin,
                    status: pf.status.clone(),
                }],
                scores: Vec::new(),
                total: 0,
            });
        }
        Decision {
            pod: self.pod.clone(),
            scheduler_name: legend.scheduler_name.to_string(),
            time: self.time.clone(),
            nodes,
            chosen: self.chosen.as_deref().map(str::to_string),
            message: self.message.clone(),
            preemption: self.preemption.clone(),
        }
    }

    /// Whether preemption may help on this examined node (`Unschedulable`, not unresolvable).
    pub fn preemption_may_help(e: &Examined) -> bool {
        matches!(&e.rejected, Some((_, s)) if s.code == Code::Unschedulable)
    }
}
