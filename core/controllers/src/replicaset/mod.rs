//! The ReplicaSet controller (`pkg/controller/replicaset` upstream): keeps the number of
//! active Pods a ReplicaSet controls equal to `spec.replicas`, and reports what it sees in
//! `status`.
//!
//! - Creations go out in slow-start batches (1, 2, 4, …): if the first ones fail, the rest are
//!   not tried (`slowStartBatch`).
//! - Expectations keep a sync from counting before the watch has shown it its own writes.
//! - Deletions pick the Pods Kubernetes would pick first ([`deletion_rank`]): unscheduled
//!   before scheduled, pending before running, not ready before ready, more restarts first,
//!   newer first.
//! - Orphan Pods matching the selector are adopted (an owner reference is patched on).

mod pods;
mod tally;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::expectations::Expectations;
use super::queue::{WorkQueue, SYNC};
use apimachinery::api::owner;
use apimachinery::api::pod::Pod;
use apimachinery::selectors::Selector;
use apiserver::watch::{WatchEvent, WatchId};
use client::{self, Client, Informer, InformerEvent};
use client::{Component, Ctx};
pub use pods::{deletion_rank, is_available};
use tally::{Tallies, Tally};

/// At most this many creations or deletions per sync (`burstReplicas`).
pub const BURST_REPLICAS: usize = 500;

pub struct ReplicaSetController {
    client: Client,
    rs_watch: Option<WatchId>,
    pod_watch: Option<WatchId>,
    replicasets: Informer,
    pods: Informer,
    /// The pods' keys by their controller's uid, and per namespace the pods without a
    /// controller (the adoptable): a sync reads its own pods, not its namespace's.
    by_controller: BTreeMap<String, BTreeSet<String>>,
    orphans: BTreeMap<String, BTreeSet<String>>,
    /// Each set's counts of its pods, kept from the same events.
    tallies: Tallies,
    queue: WorkQueue,
    expectations: Expectations,
}

impl Default for ReplicaSetController {
    fn default() -> Self {
        ReplicaSetController {
            client: super::controller_manager_client(),
            rs_watch: None,
            pod_watch: None,
            replicasets: Informer::default(),
            pods: Informer::default(),
            by_controller: BTreeMap::new(),
            orphans: BTreeMap::new(),
            tallies: Tallies::default(),
            queue: WorkQueue::default(),
            expectations: Expectations::default(),
        }
    }
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl ReplicaSetController {
    /// Keeps `by_controller` and `orphans` current with a pod change.
    fn index(&mut self, change: &InformerEvent) {
        let place = |pod: &Value| {
            let ns = apimachinery::api::meta::namespace(pod).to_string();
            let key = key(&ns, apimachinery::api::meta::name(pod));
            match owner::controller_of(pod).and_then(|r| r["uid"].as_str()) {
                Some(uid) => (true, uid.to_string(), key),
                None => (false, ns, key),
            }
        };
        let (old, new): (Option<&Value>, Option<&Value>) = match change {
            InformerEvent::Added(p) => (None, Some(p)),
            InformerEvent::Updated { old, new } => (Some(old), Some(new)),
            InformerEvent::Deleted(p) => (Some(p), None),
        };
        if let Some((owned, at, key)) = old.map(place) {
            if owned {
                self.tallies.count(&at, old.unwrap_or(&Value::Null), false);
            }
            let index = if owned {
                &mut self.by_controller
            } else {
                &mut self.orphans
            };
            if let Some(keys) = index.get_mut(&at) {
                keys.remove(&key);
                if keys.is_empty() {
                    index.remove(&at);
                }
            }
        }
        if let Some((owned, at, key)) = new.map(place) {
            if owned {
                self.tallies.count(&at, new.unwrap_or(&Value::Null), true);
            }
            let index = if owned {
                &mut self.by_controller
            } else {
                &mut self.orphans
            };
            index.entry(at).or_default().insert(key);
        }
    }

    /// The ReplicaSet keys a pod event concerns: its controller, or for an orphan every
    /// ReplicaSet whose selector matches it (it may be adopted).
    fn owners_of(&self, pod: &Value) -> Vec<String> {
        let ns = apimachinery::api::meta::namespace(pod);
        if let Some(r) = owner::controller_of(pod) {
            if r["kind"] == "ReplicaSet" {
                return vec![key(ns, r["name"].as_str().unwrap_or_default())];
            }
            return Vec::new();
        }
        self.replicasets
            .in_namespace(ns)
            .filter(|rs| {
                Selector::from_label_selector(&rs["spec"]["selector"])
                    .is_ok_and(|s| !s.requirements.is_empty() && s.matches(pod))
            })
            .map(|rs| key(ns, apimachinery::api::meta::name(rs)))
            .collect()
    }

    fn sync(&mut self, ctx: &mut Ctx, rs_key: &str) {
        let Some(rs) = self.replicasets.get(rs_key).cloned() else {
            self.expectations.forget(rs_key);
            return;
        };
        let uid = apimachinery::api::meta::uid(&rs).to_string();
        let Ok(selector) = Selector::from_label_selector(&rs["spec"]["selector"]) else {
            return;
        };
        let deleting = apimachinery::api::meta::is_being_deleted(&rs);
        let adopted = if deleting {
            Vec::new()
        } else {
            self.adopt_orphans(ctx, &rs, &selector)
        };
        // The counts are the tally's, kept from events, plus the pods adopted just now.
        let mut tally = self.tallies.get(&uid);
        for pod in &adopted {
            let t = self.tallies.of(&uid, pod);
            tally.active += t.active;
            tally.ready += t.ready;
            tally.labeled += t.labeled;
        }
        // The set's active pods, borrowed from the informer: walked only when pods are to be
        // deleted or counted as available after minReadySeconds.
        let (pods, by_controller) = (&self.pods, &self.by_controller);
        let active = || -> Vec<&Value> {
            by_controller
                .get(&uid)
                .into_iter()
                .flatten()
                .filter_map(|k| pods.get(k))
                .chain(adopted.iter())
                .filter(|p| Pod(p).is_active())
                .collect()
        };
        if self.expectations.satisfied(rs_key, ctx.now) && !deleting {
            manage_replicas(
                &self.client,
                &mut self.expectations,
                ctx,
                rs_key,
                &rs,
                tally.active,
                &active,
            );
        }
        update_status(
            &self.client,
            &mut self.queue,
            ctx,
            rs_key,
            &rs,
            tally,
            &active,
        );
    }

    /// Adopts the namespace's controller-less pods that `rs`'s selector matches (an owner
    /// reference patched on); the pods as patched.
    fn adopt_orphans(&self, ctx: &mut Ctx, rs: &Value, selector: &Selector) -> Vec<Value> {
        let ns = apimachinery::api::meta::namespace(rs);
        let orphans: Vec<&Value> = self
            .orphans
            .get(ns)
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k))
            .filter(|pod| selector.matches(pod) && !apimachinery::api::meta::is_being_deleted(pod))
            .collect();
        orphans
            .into_iter()
            .filter_map(|pod| {
                let mut refs = pod
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                refs.push(owner::controller_ref(rs, "apps/v1", "ReplicaSet"));
                let patch =
                    json!({"metadata": {"ownerReferences": refs, "uid": pod["metadata"]["uid"]}});
                self.client
                    .patch(
                        ctx,
                        client::resource("", "pods"),
                        Some(ns),
                        apimachinery::api::meta::name(pod),
                        &patch,
                    )
                    .ok()
            })
            .collect()
    }
}

/// Creates or deletes pods towards `spec.replicas`, under expectations.
fn manage_replicas<'a>(
    kube: &Client,
    expectations: &mut Expectations,
    ctx: &mut Ctx,
    rs_key: &str,
    rs: &Value,
    active_count: usize,
    active: &dyn Fn() -> Vec<&'a Value>,
) {
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let ns = apimachinery::api::meta::namespace(rs).to_string();
    let pods_res = client::resource("", "pods");
    if active_count < want {
        let n = (want - active_count).min(BURST_REPLICAS);
        expectations.expect(rs_key, n as i64, 0, ctx.now);
        let pod = pods::from_template(rs);
        // slowStartBatch: 1, 2, 4, … stop at the first batch with a failure.
        let (mut done, mut batch) = (0, 1);
        while done < n {
            let size = batch.min(n - done);
            let mut failed = 0;
            for _ in 0..size {
                if kube.create(ctx, pods_res, Some(&ns), &pod).is_err() {
                    failed += 1;
                }
            }
            done += size;
            if failed > 0 {
                // The ones not created will never be observed.
                expectations.lower(rs_key, (failed + n - done) as i64, 0);
                break;
            }
            batch *= 2;
        }
    } else if active_count > want {
        let n = (active_count - want).min(BURST_REPLICAS);
        // Each pod's rank computed once (it parses timestamps), not at every comparison.
        let now = ctx.now;
        let mut ranked: Vec<_> = active()
            .into_iter()
            .map(|p| (deletion_rank(p, now), p))
            .collect();
        apimachinery::collections::sort_by_key(&mut ranked, |(rank, _)| *rank);
        expectations.expect(rs_key, 0, n as i64, ctx.now);
        for (_, pod) in ranked.into_iter().take(n) {
            let name = apimachinery::api::meta::name(pod);
            if kube
                .delete(ctx, pods_res, Some(&ns), name, &json!({}))
                .is_err()
            {
                expectations.lower(rs_key, 0, 1);
            }
        }
    }
}

/// Writes what the controller sees into the ReplicaSet's status.
fn update_status<'a>(
    kube: &Client,
    queue: &mut WorkQueue,
    ctx: &mut Ctx,
    rs_key: &str,
    rs: &Value,
    tally: Tally,
    active: &dyn Fn() -> Vec<&'a Value>,
) {
    let min_ready = rs["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let ready = tally.ready;
    // Without minReadySeconds a ready pod is available; with it, each one's time counts.
    let available = if min_ready == 0 {
        ready
    } else {
        active()
            .iter()
            .filter(|p| is_available(p, min_ready, ctx.now))
            .count()
    };
    let labeled = tally.labeled;
    let mut status = json!({
        "replicas": tally.active,
        "fullyLabeledReplicas": labeled,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": rs["metadata"]["generation"],
    });
    // Zero counts are left out, as Go's omitempty does.
    if let Some(m) = status.as_object_mut() {
        m.retain(|k, v| k == "replicas" || *v != json!(0));
    }
    if rs["status"] == status {
        return;
    }
    let mut updated = rs.clone();
    updated["status"] = status;
    match kube.update_status(ctx, client::resource("apps", "replicasets"), &updated) {
        Ok(_) => {}
        // A stale copy: the watch will bring the new one and requeue the key.
        Err(e) if e.is_conflict() || e.is_not_found() => {}
        Err(_) => queue.add(ctx, rs_key.to_string(), 1000),
    }
    // Pods turning available after minReadySeconds need a second look.
    if min_ready > 0 && ready > available {
        queue.add(ctx, rs_key.to_string(), min_ready * 1000);
    }
}

impl Component for ReplicaSetController {
    fn name(&self) -> &str {
        "replicaset-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.rs_watch = self.client.open_watch(ctx, "apps", "replicasets");
        self.pod_watch = self.client.open_watch(ctx, "", "pods");
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        if Some(watch) == self.rs_watch {
            if let Some(change) = self.replicasets.apply(event) {
                let rs = change.object();
                let uid = apimachinery::api::meta::uid(rs);
                if let InformerEvent::Deleted(_) = change {
                    self.tallies.forget(uid);
                } else {
                    let (pods, mine) = (&self.pods, self.by_controller.get(uid));
                    let of_rs = mine.into_iter().flatten().filter_map(|k| pods.get(k));
                    self.tallies.template_seen(uid, rs, of_rs);
                }
                self.queue.add(
                    ctx,
                    key(
                        apimachinery::api::meta::namespace(rs),
                        apimachinery::api::meta::name(rs),
                    ),
                    0,
                );
            }
        } else if Some(watch) == self.pod_watch {
            let Some(change) = self.pods.apply(event) else {
                return;
            };
            self.index(&change);
            let owners = self.owners_of(change.object());
            for rs_key in owners {
                match &change {
                    InformerEvent::Added(_) => self.expectations.creation_observed(&rs_key),
                    InformerEvent::Deleted(_) => self.expectations.deletion_observed(&rs_key),
                    InformerEvent::Updated { .. } => {}
                }
                self.queue.add(ctx, rs_key, 0);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        if token == SYNC {
            for k in self.queue.take(ctx) {
                self.sync(ctx, &k);
            }
        }
    }
}
