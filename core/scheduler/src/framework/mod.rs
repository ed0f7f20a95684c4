//! The scheduling framework's contracts (`pkg/scheduler/framework` upstream): the extension
//! points a plugin implements, the `Status` it answers with, the per-cycle state, and the
//! record of a cycle.
//!
//! Expected outcomes are data: a Filter that rejects a node returns a `Status` with a code and
//! the reason Kubernetes prints, never an error.

pub mod record;
pub mod state;
pub mod types;

use serde::Serialize;

pub use record::{Decision, FilterVerdict, NodeDecision, PluginScore, Preemption};
pub use state::CycleState;
pub use types::{AffinityTerm, NodeInfo, PodInfo, Resources, SpreadConstraint, Taint, Toleration};

use super::snapshot::Snapshot;

/// `framework.Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Code {
    Success,
    /// The node may fit after preemption or a change of the cluster.
    Unschedulable,
    /// Preemption cannot help on this node.
    UnschedulableAndUnresolvable,
    Error,
    /// The plugin has nothing to do for this pod: its Filter or Score is not run.
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

    pub fn skip() -> Status {
        Status {
            code: Code::Skip,
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

    pub fn error(reason: impl Into<String>) -> Status {
        Status {
            code: Code::Error,
            reasons: vec![reason.into()],
        }
    }

    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// The reasons joined as upstream's `Status.Message`.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

/// A merge patch of one object, made at PreBind.
#[derive(Clone, Debug, PartialEq)]
pub struct Write {
    pub path: String,
    pub patch: serde_json::Value,
}

/// A score is in `0..=MAX_NODE_SCORE` after normalization.
pub const MAX_NODE_SCORE: i64 = 100;

/// A plugin: each extension point has a default that does nothing, so a plugin implements
/// only the points it takes part in. The profile decides at which points it is called.
///
/// State flows through [`CycleState`]: PreFilter and PreScore compute once per cycle what
/// Filter and Score read per node. `add_pod`/`remove_pod` (upstream's PreFilterExtensions)
/// keep that state true when preemption or a nominated pod imagines a node with a pod more
/// or less.
pub trait Plugin: Send {
    fn name(&self) -> &'static str;

    fn pre_filter(&self, _snap: &Snapshot, _pod: &PodInfo, _state: &mut CycleState) -> Status {
        Status::success()
    }

    fn filter(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> Status {
        Status::success()
    }

    fn add_pod(
        &self,
        _snap: &Snapshot,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _added: &PodInfo,
        _node: &NodeInfo,
    ) {
    }

    fn remove_pod(
        &self,
        _snap: &Snapshot,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _removed: &PodInfo,
        _node: &NodeInfo,
    ) {
    }

    fn pre_score(
        &self,
        _snap: &Snapshot,
        _pod: &PodInfo,
        _feasible: &[&NodeInfo],
        _state: &mut CycleState,
    ) -> Status {
        Status::success()
    }

    fn score(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> i64 {
        0
    }

    /// PreBind: API writes to make before the pod is bound to `node` (VolumeBinding binds
    /// claims to volumes). Returned as data; the scheduler sends them.
    fn pre_bind(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> Vec<Write> {
        Vec::new()
    }

    /// Maps raw scores (of `nodes`, in order) onto `0..=MAX_NODE_SCORE`; the default leaves
    /// them as they are.
    fn normalize(&self, _state: &CycleState, _nodes: &[&NodeInfo], _scores: &mut [i64]) {}
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
