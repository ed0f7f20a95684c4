//! DefaultPreemption, the PostFilter (`framework/preemption` upstream): when a pod fits
//! nowhere, find the node where evicting the fewest, least important lower-priority pods
//! makes it fit.
//!
//! For each node where preemption may help (a filter said `Unschedulable`, not
//! unresolvable), imagine every lower-priority pod gone; if the pod then fits, give pods back
//! one by one — those a PodDisruptionBudget protects first, then the rest, most important
//! first — keeping each that still leaves room. What could not be given back are the victims.
//! Among the candidates, the one with the fewest budget violations wins, then the lowest
//! highest victim priority, the smallest sum of priorities, the fewest victims, and the
//! latest-started highest-priority victims.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::framework::record::{CycleRecord, Examined};
use super::framework::{Code, CycleState, PodInfo, Status};
use super::profile::Profile;
use super::snapshot::Snapshot;
use super::{fit_error_message, imagine, run_filters_with_nominated};
use apimachinery::rng::Rng;

pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// A node where preemption makes room, and the pods it costs.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub node: usize,
    /// Most important first.
    pub victims: Vec<Arc<PodInfo>>,
    pub pdb_violations: usize,
}

/// `MoreImportantPod`: higher priority, then the one started earlier.
fn more_important_first(a: &Arc<PodInfo>, b: &Arc<PodInfo>) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then_with(|| a.start_time.cmp(&b.start_time))
}

/// Splits pods into those whose eviction would break a PodDisruptionBudget and the rest
/// (`filterPodsWithPDBViolation`), spending each budget's allowed disruptions in order.
fn split_by_budgets(
    snap: &Snapshot,
    pods: &[Arc<PodInfo>],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: BTreeMap<&str, i64> = apimachinery::collections::map_from(
        snap.budgets
            .iter()
            .map(|(k, b)| (k.as_str(), b.disruptions_allowed)),
    );
    let (mut violating, mut fine) = (Vec::new(), Vec::new());
    for p in pods {
        let mut violates = false;
        for (k, b) in &snap.budgets {
            if b.namespace != p.namespace
                || b.selector.is_empty()
                || !b.selector.matches_map(&p.labels)
            {
                continue;
            }
            let left = allowed.entry(k.as_str()).or_default();
            *left -= 1;
            if *left < 0 {
                violates = true;
            }
        }
        if violates {
            violating.push(p.clone());
        } else {
            fine.push(p.clone());
        }
    }
    (violating, fine)
}

/// `SelectVictimsOnNode`.
fn select_victims(
    snap: &Snapshot,
    profile: &Profile,
    state: &CycleState,
    pod: &PodInfo,
    index: usize,
    nominated: &[Arc<PodInfo>],
) -> Result<Candidate, Status> {
    let mut node = snap.nodes[index].clone();
    let mut state = state.clone();
    let mut lower: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    if lower.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    for p in &lower {
        imagine(snap, profile, &mut state, pod, &mut node, p, false);
    }
    if let Some((_, status)) =
        run_filters_with_nominated(snap, profile, &state, pod, &node, nominated)
    {
        return Err(status);
    }
    apimachinery::collections::sort_by(&mut lower, more_important_first);
    let (violating, fine) = split_by_budgets(snap, &lower);
    let mut victims = Vec::new();
    let mut pdb_violations = 0;
    for (group, counts) in [(violating, true), (fine, false)] {
        for p in group {
            imagine(snap, profile, &mut state, pod, &mut node, &p, true);
            if run_filters_with_nominated(snap, profile, &state, pod, &node, nominated).is_some() {
                imagine(snap, profile, &mut state, pod, &mut node, &p, false);
                pdb_violations += usize::from(counts);
                victims.push(p);
            }
        }
    }
    apimachinery::collections::sort_by(&mut victims, more_important_first);
    Ok(Candidate {
        node: index,
        victims,
        pdb_violations,
    })
}

/// `pickOneNodeForPreemption`: each criterion narrows the candidates left by the one before.
fn pick(mut candidates: Vec<Candidate>) -> Option<Candidate> {
    fn keep_min<K: Ord + Copy>(c: &mut Vec<Candidate>, key: impl Fn(&Candidate) -> K) {
        if let Some(best) = c.iter().map(&key).min() {
            c.retain(|x| key(x) == best);
        }
    }
    keep_min(&mut candidates, |c| c.pdb_violations);
    keep_min(&mut candidates, |c| {
        c.victims.first().map_or(i64::MIN, |v| v.priority)
    });
    keep_min(&mut candidates, |c| {
        c.victims
            .iter()
            .map(|v| i128::from(v.priority) + i128::from(i32::MAX) + 1)
            .sum::<i128>()
    });
    keep_min(&mut candidates, |c| c.victims.len());
    // The latest start among each candidate's highest-priority victims' earliest starts.
    if candidates.len() > 1 {
        let earliest = |c: &Candidate| -> String {
            let top = c.victims.first().map_or(i64::MIN, |v| v.priority);
            c.victims
                .iter()
                .filter(|v| v.priority == top)
                .map(|v| v.start_time.clone())
                .min()
                .unwrap_or_default()
        };
        let latest = candidates.iter().map(earliest).max().unwrap_or_default();
        candidates.retain(|c| earliest(c) == latest);
    }
    candidates.into_iter().next()
}

/// Runs preemption for `pod`, which fit on none of the `examined` nodes. `Ok` names the node
/// and the victims; `Err` is the message upstream puts after "preemption: ".
pub fn preempt(
    snap: &Snapshot,
    profile: &Profile,
    state: &CycleState,
    pod: &PodInfo,
    examined: &[Examined],
    nominated: &BTreeMap<String, Vec<Arc<PodInfo>>>,
    rng: &mut Rng,
) -> Result<Candidate, String> {
    if pod.preempt_never {
        return Err("not eligible due to preemptionPolicy=Never.".into());
    }
    if let Some(node) = snap.node(&pod.nominated_node_name) {
        let unresolvable = examined.iter().any(|e| {
            *e.node == *node.name
                && matches!(&e.rejected, Some((_, s)) if s.code == Code::UnschedulableAndUnresolvable)
        });
        if !unresolvable
            && node
                .pods
                .iter()
                .any(|p| p.deleting && p.priority < pod.priority)
        {
            return Err("not eligible due to a terminating pod on the nominated node.".into());
        }
    }
    let total = snap.nodes.len();
    let potential: Vec<usize> = examined
        .iter()
        .filter(|e| CycleRecord::preemption_may_help(e))
        .filter_map(|e| snap.node_index.get(&e.node).copied())
        .collect();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut candidates = Vec::new();
    let mut tried = 0;
    if !potential.is_empty() {
        let n = potential.len();
        let want = (n * profile.min_candidate_nodes_percentage / 100)
            .max(profile.min_candidate_nodes_absolute)
            .min(n);
        let offset = rng.below(n as u64) as usize;
        let mut non_violating = 0;
        for k in 0..n {
            let index = potential[(offset + k) % n];
            let on_node = nominated
                .get(&*snap.nodes[index].name)
                .map_or(&[][..], Vec::as_slice);
            match select_victims(snap, profile, state, pod, index, on_node) {
                Ok(c) => {
                    non_violating += usize::from(c.pdb_violations == 0);
                    candidates.push(c);
                    if non_violating > 0 && candidates.len() >= want {
                        break;
                    }
                }
                Err(status) => {
                    tried += 1;
                    for r in status.reasons {
                        *reasons.entry(r).or_default() += 1;
                    }
                }
            }
        }
    }
    if candidates.is_empty() {
        if total > tried {
            *reasons.entry(NOT_HELPFUL.to_string()).or_default() += total - tried;
        }
        return Err(fit_error_message(total, &reasons));
    }
    pick(candidates).ok_or_else(|| "no candidate node for preemption".to_string())
}

#[cfg(test)]
mod tests;
