//! Recreate (`recreate.go` upstream): scale every old ReplicaSet to zero, wait until their
//! pods are gone, then scale the new one up.

use serde_json::Value;

use super::sync::{Sync, SyncResult};
use super::util::{replicas, revision, split};

pub fn rollout(s: &mut Sync, d: &Value, owned: Vec<Value>) -> SyncResult {
    let (new, mut olds) = split(d, owned);
    for rs in olds.iter_mut() {
        if replicas(rs) != 0 {
            *rs = s.scale(d, rs, 0)?;
        }
    }
    let old_pods_running = olds
        .iter()
        .any(|rs| rs["status"]["replicas"].as_i64().unwrap_or(0) > 0);
    let mut created_now = false;
    let new = match new {
        Some(rs) => Some(s.bump_revision(rs, &olds)?),
        None if !old_pods_running => {
            created_now = true;
            Some(s.create_new_rs(d, &olds, replicas(d))?)
        }
        None => None,
    };
    let mut all = olds.clone();
    if let Some(mut rs) = new {
        s.set_deployment_revision(d, revision(&rs))?;
        if !old_pods_running && replicas(&rs) != replicas(d) {
            rs = s.scale(d, &rs, replicas(d))?;
        }
        if replicas(&rs) == replicas(d) {
            s.cleanup(d, &olds)?;
        }
        all.push(rs.clone());
        return s.sync_status(d, &all, Some(&rs), created_now);
    }
    s.sync_status(d, &all, None, false)
}
