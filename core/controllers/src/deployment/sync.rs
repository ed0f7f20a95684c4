//! What every Deployment strategy shares (`sync.go` upstream): finding or creating the
//! ReplicaSet of the current pod template, scaling ReplicaSets, the status and its
//! conditions, and the cleanup of old ReplicaSets past `revisionHistoryLimit`.

use serde_json::{json, Value};

use apimachinery::api::owner;
use apimachinery::clock::Time;
use client::events::Recorder;
use client::Ctx;
use client::{self, Client, ClientError};

pub type SyncResult = Result<(), ClientError>;

use super::util::{
    available, max_surge, max_unavailable, replicas, revision, split, status_count, template_hash,
    DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION,
};

/// The replica counts a Deployment's progress is judged by.
#[derive(Clone, Copy)]
struct Progress {
    want: i64,
    total: i64,
    updated: i64,
    available: i64,
    ready: i64,
}

/// The controller's hands for one sync.
pub struct Sync<'a, 'c> {
    pub client: &'a Client,
    pub recorder: &'a mut Recorder,
    pub ctx: &'a mut Ctx<'c>,
}

impl Sync<'_, '_> {
    /// Creates the ReplicaSet of the Deployment's current template with `replicas`.
    pub fn create_new_rs(
        &mut self,
        d: &Value,
        olds: &[Value],
        count: i64,
    ) -> Result<Value, ClientError> {
        let collision = d["status"]["collisionCount"].as_i64().unwrap_or(0);
        let hash = template_hash(&d["spec"]["template"], collision);
        let name = format!("{}-{hash}", apimachinery::api::meta::name(d));
        let ns = apimachinery::api::meta::namespace(d).to_string();
        let max_revision = olds.iter().map(revision).max().unwrap_or(0);
        let mut template = d["spec"]["template"].clone();
        template["metadata"]["labels"][POD_TEMPLATE_HASH] = json!(hash);
        let mut selector = d["spec"]["selector"].clone();
        selector["matchLabels"][POD_TEMPLATE_HASH] = json!(hash);
        let max_surge = max_surge(d);
        let rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": name, "namespace": ns, "labels": template["metadata"]["labels"],
                "annotations": {
                    REVISION: (max_revision + 1).to_string(),
                    DESIRED_REPLICAS: replicas(d).to_string(),
                    MAX_REPLICAS: (replicas(d) + max_surge).to_string(),
                },
                "ownerReferences": [owner::controller_ref(d, "apps/v1", "Deployment")],
            },
            "spec": {"replicas": count, "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
                     "selector": selector, "template": template},
        });
        let created = self.client.create(
            self.ctx,
            client::resource("apps", "replicasets"),
            Some(&ns),
            &rs,
        )?;
        if count > 0 {
            self.scaled_event(d, &name, 0, count);
        }
        self.set_deployment_revision(d, max_revision + 1)?;
        Ok(created)
    }

    /// An existing ReplicaSet that becomes the current one again (a rollback, or a template
    /// changed back) takes the next revision, as `getNewReplicaSet` does.
    pub fn bump_revision(&mut self, new: Value, olds: &[Value]) -> Result<Value, ClientError> {
        let max_old = olds.iter().map(revision).max().unwrap_or(0);
        if revision(&new) > max_old {
            return Ok(new);
        }
        let patch = json!({"metadata": {"annotations": {REVISION: (max_old + 1).to_string()}}});
        let ns = apimachinery::api::meta::namespace(&new).to_string();
        self.client.patch(
            self.ctx,
            client::resource("apps", "replicasets"),
            Some(&ns),
            apimachinery::api::meta::name(&new),
            &patch,
        )
    }

    /// The Deployment carries the revision of its newest ReplicaSet.
    pub fn set_deployment_revision(&mut self, d: &Value, rev: i64) -> SyncResult {
        if d["metadata"]["annotations"][REVISION].as_str() == Some(rev.to_string().as_str()) {
            return Ok(());
        }
        let patch = json!({"metadata": {"annotations": {REVISION: rev.to_string()}}});
        let ns = apimachinery::api::meta::namespace(d);
        self.client.patch(
            self.ctx,
            client::resource("apps", "deployments"),
            Some(ns),
            apimachinery::api::meta::name(d),
            &patch,
        )?;
        Ok(())
    }

    fn scaled_event(&mut self, d: &Value, rs_name: &str, from: i64, to: i64) {
        let direction = if to > from { "up" } else { "down" };
        let message = format!("Scaled {direction} replica set {rs_name} from {from} to {to}");
        self.recorder.normal(
            self.ctx,
            d,
            "apps/v1",
            "Deployment",
            "ScalingReplicaSet",
            message,
        );
    }

    /// Sets a ReplicaSet's replicas (and the annotations that record the Deployment's size).
    pub fn scale(&mut self, d: &Value, rs: &Value, to: i64) -> Result<Value, ClientError> {
        let from = replicas(rs);
        let desired = replicas(d).to_string();
        let max = (replicas(d) + max_surge(d)).to_string();
        if from == to
            && rs["metadata"]["annotations"][DESIRED_REPLICAS].as_str() == Some(desired.as_str())
        {
            return Ok(rs.clone());
        }
        let patch = json!({"metadata": {"annotations": {DESIRED_REPLICAS: desired, MAX_REPLICAS: max}}, "spec": {"replicas": to}});
        let ns = apimachinery::api::meta::namespace(rs);
        let scaled = self.client.patch(
            self.ctx,
            client::resource("apps", "replicasets"),
            Some(ns),
            apimachinery::api::meta::name(rs),
            &patch,
        )?;
        if from != to {
            self.scaled_event(d, apimachinery::api::meta::name(rs), from, to);
        }
        Ok(scaled)
    }

    /// A paused Deployment is only scaled, never rolled (`sync` upstream).
    pub fn sync_paused(&mut self, d: &Value, owned: Vec<Value>) -> SyncResult {
        let (new, olds) = split(d, owned);
        let mut all = olds.clone();
        if let Some(new) = &new {
            let updated = if replicas(new) != replicas(d) && olds.iter().all(|o| replicas(o) == 0) {
                self.scale(d, new, replicas(d))?
            } else {
                new.clone()
            };
            all.push(updated);
        }
        let new = all.last().filter(|_| new.is_some()).cloned();
        self.sync_status(d, &all, new.as_ref(), false)
    }

    /// Deletes old, scaled-down ReplicaSets beyond `revisionHistoryLimit`, oldest revision
    /// first (`cleanupDeployment`): of the `len - limit` oldest, those with no replicas.
    pub fn cleanup(&mut self, d: &Value, olds: &[Value]) -> SyncResult {
        let limit = d["spec"]["revisionHistoryLimit"]
            .as_i64()
            .unwrap_or(10)
            .max(0) as usize;
        let mut cleanable: Vec<&Value> = olds
            .iter()
            .filter(|rs| !apimachinery::api::meta::is_being_deleted(rs))
            .collect();
        if cleanable.len() <= limit {
            return Ok(());
        }
        apimachinery::collections::sort_by_key(&mut cleanable, |rs| revision(rs));
        let diff = cleanable.len() - limit;
        for rs in cleanable.into_iter().take(diff) {
            if replicas(rs) != 0 || status_count(rs, "replicas") != 0 {
                continue;
            }
            let ns = apimachinery::api::meta::namespace(rs);
            match self.client.delete(
                self.ctx,
                client::resource("apps", "replicasets"),
                Some(ns),
                apimachinery::api::meta::name(rs),
                &json!({}),
            ) {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Computes and writes the Deployment's status (`syncRolloutStatus`).
    pub fn sync_status(
        &mut self,
        d: &Value,
        all: &[Value],
        new: Option<&Value>,
        created_now: bool,
    ) -> SyncResult {
        let want = replicas(d);
        let sum = |f: &str| all.iter().map(|rs| status_count(rs, f)).sum::<i64>();
        let total = sum("replicas");
        let updated = new.map_or(0, |rs| status_count(rs, "replicas"));
        let available_count = sum("availableReplicas");
        let max_unavailable = max_unavailable(d);
        let now = self.ctx.now.rfc3339();
        let old_conditions = d["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut conditions = Vec::new();
        let (avail_status, avail_reason, avail_message) =
            if available_count >= want - max_unavailable {
                (
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                )
            } else {
                (
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                )
            };
        conditions.push(condition(
            &old_conditions,
            "Available",
            avail_status,
            avail_reason,
            avail_message.to_string(),
            &now,
        ));
        let progress = Progress {
            want,
            total,
            updated,
            available: available_count,
            ready: sum("readyReplicas"),
        };
        let progressing = self.progressing(d, &old_conditions, new, progress, created_now, &now);
        conditions.push(progressing);
        let mut status = json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": sum("readyReplicas"),
            "availableReplicas": available_count,
            "unavailableReplicas": (want - available_count).max(0),
            "conditions": conditions,
        });
        if let Some(c) = d["status"].get("collisionCount") {
            status["collisionCount"] = c.clone();
        }
        if let Some(m) = status.as_object_mut() {
            m.retain(|k, v| k == "observedGeneration" || k == "conditions" || *v != json!(0));
        }
        if d["status"] == status {
            return Ok(());
        }
        let ns = apimachinery::api::meta::namespace(d);
        self.client.replace_status(
            self.ctx,
            client::resource("apps", "deployments"),
            Some(ns),
            apimachinery::api::meta::name(d),
            &status,
        )?;
        Ok(())
    }

    /// The `Progressing` condition (`DeploymentProgressing` and `DeploymentTimedOut`): complete,
    /// a new ReplicaSet created or found, progress made, or the deadline passed without any.
    fn progressing(
        &self,
        d: &Value,
        old_conditions: &[Value],
        new: Option<&Value>,
        progress: Progress,
        created_now: bool,
        now: &str,
    ) -> Value {
        let new_name = new
            .map(|rs| apimachinery::api::meta::name(rs).to_string())
            .unwrap_or_default();
        let Progress {
            want,
            total,
            updated,
            available: available_count,
            ready,
        } = progress;
        let complete =
            updated == want && available(new.unwrap_or(&Value::Null)) == want && total == want;
        let previous = old_conditions
            .iter()
            .find(|c| c["type"] == "Progressing")
            .cloned();
        let progressed = d["status"]["updatedReplicas"].as_i64().unwrap_or(0) != updated
            || d["status"]["availableReplicas"].as_i64().unwrap_or(0) != available_count
            || d["status"]["readyReplicas"].as_i64().unwrap_or(0) != ready;
        let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
        if complete {
            condition(
                old_conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                now,
            )
        } else if created_now {
            condition(
                old_conditions,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                format!("Created new replica set \"{new_name}\""),
                now,
            )
        } else if previous.is_none() {
            condition(
                old_conditions,
                "Progressing",
                "True",
                "FoundNewReplicaSet",
                format!("Found new replica set \"{new_name}\""),
                now,
            )
        } else if progressed {
            condition(
                old_conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{new_name}\" is progressing."),
                now,
            )
        } else {
            let prev = previous.clone().unwrap_or_default();
            let last = prev["lastUpdateTime"]
                .as_str()
                .and_then(Time::parse_rfc3339)
                .unwrap_or(self.ctx.now);
            if prev["reason"] != "NewReplicaSetAvailable"
                && last.plus_secs(deadline) <= self.ctx.now
            {
                condition(
                    old_conditions,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                    now,
                )
            } else {
                prev
            }
        }
    }
}

/// A condition, keeping `lastTransitionTime` when the status did not flip and
/// `lastUpdateTime` when nothing changed at all.
fn condition(
    old: &[Value],
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: &str,
) -> Value {
    let prev = old.iter().find(|c| c["type"] == type_);
    let same_status = prev.is_some_and(|p| p["status"] == status);
    let unchanged = same_status
        && prev.is_some_and(|p| p["reason"] == reason && p["message"] == message.as_str());
    let transition = if same_status {
        prev.map_or(json!(now), |p| p["lastTransitionTime"].clone())
    } else {
        json!(now)
    };
    let update = if unchanged {
        prev.map_or(json!(now), |p| p["lastUpdateTime"].clone())
    } else {
        json!(now)
    };
    json!({"type": type_, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition, "reason": reason, "message": message})
}
