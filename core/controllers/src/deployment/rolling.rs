//! RollingUpdate (`rolling.go` upstream): scale the new ReplicaSet up and the old ones down
//! while the total stays within `replicas + maxSurge` and the available pods stay at or above
//! `replicas - maxUnavailable`.
//!
//! Worked example: replicas 10, maxSurge 25%, maxUnavailable 25%. Surge rounds up (3),
//! unavailability rounds down (2). With 10 old pods available, the new ReplicaSet may grow to
//! 3 (13 pods in all); the old ones may shrink by `available - (10 - 2)` = 2, to 8. As new
//! pods become available, each sync moves the bounds again, until the new ReplicaSet holds 10
//! and the old ones none.

use serde_json::Value;

use super::sync::{Sync, SyncResult};
use super::util::{available, max_surge, max_unavailable, replicas, revision, split};

/// How big the new ReplicaSet may be now (`NewRSNewReplicas`).
pub fn new_rs_new_replicas(d: &Value, all_pods: i64, new_rs_replicas: i64) -> i64 {
    let max_total = replicas(d) + max_surge(d);
    if all_pods >= max_total {
        return new_rs_replicas;
    }
    let up = (max_total - all_pods).min(replicas(d) - new_rs_replicas);
    new_rs_replicas + up.max(0)
}

pub fn rollout(s: &mut Sync, d: &Value, owned: Vec<Value>) -> SyncResult {
    let (new, mut olds) = split(d, owned);
    let mut created_now = false;
    let mut new = match new {
        Some(rs) => s.bump_revision(rs, &olds)?,
        None => {
            let all: i64 = olds.iter().map(replicas).sum();
            created_now = true;
            let n = new_rs_new_replicas(d, all, 0);
            s.create_new_rs(d, &olds, n)?
        }
    };
    if !created_now {
        s.set_deployment_revision(d, revision(&new))?;
    }

    // Scale up (`reconcileNewReplicaSet`).
    let all_pods: i64 = olds.iter().map(replicas).sum::<i64>() + replicas(&new);
    let target = if replicas(&new) > replicas(d) {
        replicas(d)
    } else {
        new_rs_new_replicas(d, all_pods, replicas(&new))
    };
    if target != replicas(&new) {
        new = s.scale(d, &new, target)?;
    }

    // Scale down (`reconcileOldReplicaSets`).
    reconcile_old(s, d, &mut olds, &new)?;

    if replicas(&new) == replicas(d) && olds.iter().all(|rs| replicas(rs) == 0) {
        s.cleanup(d, &olds)?;
    }
    let mut all = olds;
    all.push(new.clone());
    s.sync_status(d, &all, Some(&new), created_now)
}

fn reconcile_old(s: &mut Sync, d: &Value, olds: &mut [Value], new: &Value) -> SyncResult {
    let old_pods: i64 = olds.iter().map(replicas).sum();
    if old_pods == 0 {
        return Ok(());
    }
    let all_pods = old_pods + replicas(new);
    let min_available = replicas(d) - max_unavailable(d);
    let new_unavailable = replicas(new) - available(new);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Ok(());
    }
    // First the old pods that are not available anyway (`cleanupUnhealthyReplicas`).
    let mut cleaned = 0;
    for rs in olds.iter_mut() {
        if cleaned >= max_scaled_down {
            break;
        }
        let unhealthy = replicas(rs) - available(rs);
        if replicas(rs) == 0 || unhealthy <= 0 {
            continue;
        }
        let down = unhealthy.min(max_scaled_down - cleaned);
        *rs = s.scale(d, rs, replicas(rs) - down)?;
        cleaned += down;
    }
    // Then available ones, while enough stay available (`scaleDownOldReplicaSetsForRollingUpdate`).
    let available_pods: i64 = olds.iter().map(available).sum::<i64>() + available(new);
    if available_pods <= min_available {
        return Ok(());
    }
    let total_down = available_pods - min_available;
    let mut done = 0;
    for rs in olds.iter_mut() {
        if done >= total_down {
            break;
        }
        if replicas(rs) == 0 {
            continue;
        }
        let down = replicas(rs).min(total_down - done);
        *rs = s.scale(d, rs, replicas(rs) - down)?;
        done += down;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(replicas: i64, surge: Value, unavailable: Value) -> Value {
        json!({"spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}})
    }

    #[test]
    fn fenceposts_round_as_kubernetes_does() {
        let cases = [
            (10, json!("25%"), json!("25%"), (3, 2)),
            (3, json!("25%"), json!("25%"), (1, 0)),
            (1, json!("25%"), json!("25%"), (1, 0)),
            (4, json!(1), json!(0), (1, 0)),
            (4, json!(0), json!(0), (0, 1)),
            (5, json!("0%"), json!("0%"), (0, 1)),
        ];
        for (r, s, u, want) in cases {
            assert_eq!(
                (
                    max_surge(&d(r, s.clone(), u.clone())),
                    max_unavailable(&d(r, s.clone(), u.clone()))
                ),
                want,
                "{r} {s} {u}"
            );
        }
    }

    #[test]
    fn new_replica_set_grows_within_the_surge() {
        let dep = d(10, json!("25%"), json!("25%"));
        assert_eq!(new_rs_new_replicas(&dep, 10, 0), 3);
        assert_eq!(new_rs_new_replicas(&dep, 13, 3), 3);
        assert_eq!(new_rs_new_replicas(&dep, 11, 3), 5);
        assert_eq!(new_rs_new_replicas(&dep, 0, 0), 10);
    }
}
