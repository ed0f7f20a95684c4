//! The persistent volume binder (`pkg/controller/volume/persistentvolume` upstream): binds
//! PersistentVolumeClaims to PersistentVolumes and keeps both phases true.
//!
//! - A claim of an `Immediate` class (or of no class) is bound at once to the smallest free
//!   volume that satisfies it.
//! - A claim of a `WaitForFirstConsumer` class waits for the scheduler, which picks a volume
//!   reachable from the pod's node and writes the volume's `claimRef`; the binder then
//!   completes the claim.
//! - A volume without a claim is `Available`; one whose claim is gone is `Released` (policy
//!   `Retain`) or deleted (policy `Delete`).

use serde_json::{json, Value};

use super::queue::{WorkQueue, SYNC};
use apimachinery::api::volume::{available_for, capacity, class_name, satisfies};
use apiserver::watch::{WatchEvent, WatchId};
use apiserver::{Method, Request};
use client::events::Recorder;
use client::{self, Client, Informer};
use client::{Component, Ctx};

const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";

pub struct PersistentVolumeController {
    client: Client,
    recorder: Recorder,
    watches: [Option<WatchId>; 3],
    claims: Informer,
    volumes: Informer,
    classes: Informer,
    queue: WorkQueue,
    /// Claims already told they wait for their first consumer.
    waiting: Vec<String>,
}

impl Default for PersistentVolumeController {
    fn default() -> Self {
        let client = super::controller_manager_client();
        PersistentVolumeController {
            recorder: Recorder::new(client.clone(), "persistentvolume-controller"),
            client,
            watches: [None; 3],
            claims: Informer::default(),
            volumes: Informer::default(),
            classes: Informer::default(),
            queue: WorkQueue::default(),
            waiting: Vec::new(),
        }
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn claim_path(ns: &str, name: &str) -> String {
    client::object_path(
        client::resource("", "persistentvolumeclaims"),
        Some(ns),
        name,
    )
}

fn volume_path(name: &str) -> String {
    client::object_path(client::resource("", "persistentvolumes"), None, name)
}

impl PersistentVolumeController {
    fn patch(&self, ctx: &mut Ctx, path: &str, patch: Value) -> bool {
        let req = Request::new(Method::Patch, path)
            .body("application/merge-patch+json", patch.to_string());
        self.client.send(ctx, req).code == 200
    }

    fn set_phase(&self, ctx: &mut Ctx, path: &str, obj: &Value, phase: &str) {
        if s(&obj["status"]["phase"]) != phase {
            self.patch(
                ctx,
                &format!("{path}/status"),
                json!({"status": {"phase": phase}}),
            );
        }
    }

    fn sync_claim(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(pvc) = self.claims.get(key).cloned() else {
            return;
        };
        let (ns, name) = (
            apimachinery::api::meta::namespace(&pvc),
            apimachinery::api::meta::name(&pvc),
        );
        let path = claim_path(ns, name);
        let bound_to = s(&pvc["spec"]["volumeName"]);
        if !bound_to.is_empty() {
            if self.volumes.get(bound_to).is_none() {
                if s(&pvc["status"]["phase"]) != "Lost" {
                    self.recorder.warning(
                        ctx,
                        &pvc,
                        "v1",
                        "PersistentVolumeClaim",
                        "ClaimLost",
                        "Bound claim has lost its PersistentVolume. Data on the volume is lost!"
                            .into(),
                    );
                }
                self.set_phase(ctx, &path, &pvc, "Lost");
            } else {
                self.set_phase(ctx, &path, &pvc, "Bound");
            }
            return;
        }
        // A volume the scheduler (or a user) promised to this claim.
        let promised = self.volumes.iter().find(|pv| {
            let r = &pv["spec"]["claimRef"];
            s(&r["namespace"]) == ns && s(&r["name"]) == name
        });
        let class = self.classes.get(class_name(&pvc));
        let waits = class.is_some_and(|c| c["volumeBindingMode"] == "WaitForFirstConsumer");
        let pv = match promised {
            Some(pv) => Some(pv.clone()),
            None if waits => {
                if !self.waiting.iter().any(|k| k == key) {
                    self.waiting.push(key.to_string());
                    self.recorder.normal(
                        ctx,
                        &pvc,
                        "v1",
                        "PersistentVolumeClaim",
                        "WaitForFirstConsumer",
                        "waiting for first consumer to be created before binding".into(),
                    );
                }
                self.set_phase(ctx, &path, &pvc, "Pending");
                return;
            }
            None => {
                let mut fits: Vec<&Value> = self
                    .volumes
                    .iter()
                    .filter(|pv| {
                        pv["spec"]["claimRef"].is_null()
                            && available_for(pv, &pvc)
                            && satisfies(pv, &pvc)
                    })
                    .collect();
                apimachinery::collections::sort_by_key(&mut fits, |pv| capacity(pv));
                fits.first().map(|pv| (*pv).clone())
            }
        };
        let Some(pv) = pv else {
            self.set_phase(ctx, &path, &pvc, "Pending");
            return;
        };
        self.bind(ctx, &pvc, &pv);
    }

    /// `bind`: the volume's claimRef, then the claim's volumeName and both phases.
    fn bind(&self, ctx: &mut Ctx, pvc: &Value, pv: &Value) {
        let meta = &pvc["metadata"];
        let pv_name = apimachinery::api::meta::name(pv);
        let pv_path = volume_path(pv_name);
        let claim_ref = json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"]});
        let mut pv_patch = json!({"spec": {"claimRef": claim_ref}});
        if pv["spec"]["claimRef"].is_null() {
            pv_patch["metadata"] = json!({"annotations": {BOUND_BY_CONTROLLER: "yes"}});
        }
        if !self.patch(ctx, &pv_path, pv_patch) {
            return;
        }
        self.set_phase(ctx, &pv_path, pv, "Bound");
        let path = claim_path(s(&meta["namespace"]), s(&meta["name"]));
        let claim_patch = json!({"metadata": {"annotations": {BIND_COMPLETED: "yes", BOUND_BY_CONTROLLER: "yes"}},
            "spec": {"volumeName": pv_name}});
        if !self.patch(ctx, &path, claim_patch) {
            return;
        }
        let status = json!({"status": {"phase": "Bound", "accessModes": pv["spec"]["accessModes"],
            "capacity": pv["spec"]["capacity"]}});
        self.patch(ctx, &format!("{path}/status"), status);
    }

    fn sync_volume(&mut self, ctx: &mut Ctx, name: &str) {
        let Some(pv) = self.volumes.get(name).cloned() else {
            return;
        };
        let path = volume_path(name);
        let claim_ref = &pv["spec"]["claimRef"];
        if claim_ref.is_null() {
            self.set_phase(ctx, &path, &pv, "Available");
            return;
        }
        let key = format!("{}/{}", s(&claim_ref["namespace"]), s(&claim_ref["name"]));
        match self.claims.get(&key) {
            // The claim is gone (or is another with the same name): release the volume.
            None => self.release(ctx, &pv, &path),
            Some(pvc)
                if !claim_ref["uid"].is_null() && pvc["metadata"]["uid"] != claim_ref["uid"] =>
            {
                self.release(ctx, &pv, &path)
            }
            Some(pvc) if s(&pvc["spec"]["volumeName"]).is_empty() => {
                // Promised but not completed: the claim's sync completes it.
                self.queue.add(ctx, format!("pvc:{key}"), 0);
            }
            Some(_) => self.set_phase(ctx, &path, &pv, "Bound"),
        }
    }

    fn release(&self, ctx: &mut Ctx, pv: &Value, path: &str) {
        if s(&pv["spec"]["persistentVolumeReclaimPolicy"]) == "Delete" {
            self.client.send(ctx, Request::new(Method::Delete, path));
        } else {
            self.set_phase(ctx, path, pv, "Released");
        }
    }
}

impl Component for PersistentVolumeController {
    fn name(&self) -> &str {
        "persistentvolume-binder-controller"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.watches = [
            self.client
                .open_watch(ctx, "storage.k8s.io", "storageclasses"),
            self.client.open_watch(ctx, "", "persistentvolumes"),
            self.client.open_watch(ctx, "", "persistentvolumeclaims"),
        ];
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        let Some(i) = self.watches.iter().position(|w| *w == Some(watch)) else {
            return;
        };
        let informer = match i {
            0 => &mut self.classes,
            1 => &mut self.volumes,
            _ => &mut self.claims,
        };
        let Some(change) = informer.apply(event) else {
            return;
        };
        let key = client::key_of(change.object());
        match i {
            1 => {
                self.queue.add(ctx, format!("pv:{key}"), 0);
                // A volume that is free now may be what a waiting claim needs (upstream
                // finds it on its 15 s resync of claims).
                if change.object()["spec"]["claimRef"].is_null() {
                    let waiting: Vec<String> = self
                        .claims
                        .iter()
                        .filter(|c| s(&c["spec"]["volumeName"]).is_empty())
                        .map(client::key_of)
                        .collect();
                    for k in waiting {
                        self.queue.add(ctx, format!("pvc:{k}"), 0);
                    }
                }
            }
            2 => {
                self.queue.add(ctx, format!("pvc:{key}"), 0);
                // Volumes promised to a claim that went away are released.
                let (ns, name) = key.split_once('/').unwrap_or_default();
                let names: Vec<String> = self
                    .volumes
                    .iter()
                    .filter(|pv| {
                        s(&pv["spec"]["claimRef"]["namespace"]) == ns
                            && s(&pv["spec"]["claimRef"]["name"]) == name
                    })
                    .map(|pv| apimachinery::api::meta::name(pv).to_string())
                    .collect();
                for n in names {
                    self.queue.add(ctx, format!("pv:{n}"), 0);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        if token == SYNC {
            for key in self.queue.take(ctx) {
                match key.split_once(':') {
                    Some(("pvc", k)) => self.sync_claim(ctx, k),
                    Some(("pv", k)) => self.sync_volume(ctx, k),
                    _ => {}
                }
            }
        }
    }
}
