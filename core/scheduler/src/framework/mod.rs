//! The scheduling framework's data (`pkg/scheduler/framework` upstream): the `Status` a
//! plugin answers with, the pods and nodes as plugins read them, the per-cycle state, and the
//! record of a cycle. The extension points themselves, which read the scheduler's
//! snapshot, are the [`Plugin`](crate::plugins::Plugin) trait beside the plugins.
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
