//! The scheduling framework's contracts (`pkg/scheduler/framework` upstream): the plugin
//! extension points, the `Status` a plugin answers with, and the record of a cycle.
//!
//! Expected outcomes are data: a Filter that rejects a node returns a `Status` with a code and
//! the reason Kubernetes prints, never an error.

pub mod types;

use serde::Serialize;

pub use types::{NodeInfo, PodInfo, Resources, Taint, Toleration};

/// `framework.Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Code {
    Success,
    /// The node may fit after preemption or a change of the cluster.
    Unschedulable,
    /// Preemption cannot help on this node.
    UnschedulableAndUnresolvable,
    Error,
    Skip,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<String>,
}

impl Status {
    pub fn success() -> Status {
        Status {
            code: Code::Success,
            reasons: Vec::new(),
        }
    }

    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status {
            code: Code::Unschedulable,
            reasons: vec![reason.into()],
        }
    }

    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status {
            code: Code::UnschedulableAndUnresolvable,
            reasons: vec![reason.into()],
        }
    }

    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
}

/// A score is in `0..=MAX_NODE_SCORE` after normalization.
pub const MAX_NODE_SCORE: i64 = 100;

/// Everything the plugins may read during a cycle.
pub struct CycleInput<'a> {
    pub pod: &'a PodInfo,
    /// How many nodes the snapshot holds.
    pub total_nodes: usize,
    /// How many nodes hold each image (kept by the snapshot, not counted per cycle).
    pub image_nodes: &'a std::collections::BTreeMap<String, usize>,
}

pub trait FilterPlugin: Send {
    fn name(&self) -> &'static str;
    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status;
}

pub trait ScorePlugin: Send {
    fn name(&self) -> &'static str;
    fn score(&self, input: &CycleInput, node: &NodeInfo) -> i64;
    /// Maps raw scores onto `0..=MAX_NODE_SCORE`; the default leaves them as they are.
    fn normalize(&self, _scores: &mut [i64]) {}
}

/// Spreads raw scores over `0..=100`, the highest becoming 100 (`DefaultNormalizeScore`);
/// `reverse` makes the lowest raw score the best.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}

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
    /// Empty when the node was filtered out (or not scored).
    pub scores: Vec<PluginScore>,
    pub total: i64,
}

/// The record of one scheduling cycle: what the page's decision table shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub pod: String,
    pub time: String,
    pub nodes: Vec<NodeDecision>,
    pub chosen: Option<String>,
    /// The `FailedScheduling` message when no node fits.
    pub message: Option<String>,
}
