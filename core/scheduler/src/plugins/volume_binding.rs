//! VolumeBinding: a pod that mounts PersistentVolumeClaims goes only where its volumes can be.
//!
//! A bound claim's volume may be pinned to nodes (a `local` volume's node affinity). An
//! unbound claim of a `WaitForFirstConsumer` class is bound here, for the node chosen: Filter
//! finds a free matching volume reachable from the node (or accepts the node when the class
//! can provision), and PreBind writes the volume's `claimRef` — the volume binder controller
//! then completes the claim. An unbound claim of an `Immediate` class is the binder's to bind
//! first: until then the pod waits.

use serde_json::{json, Value};

use crate::framework::{CycleState, NodeInfo, PodInfo, Status, Write};
use crate::plugins::Plugin;
use crate::snapshot::Snapshot;
use apimachinery::api::volume::{available_for, capacity, class_name, node_terms, satisfies};

use super::node_affinity::term_matches;

pub const NAME: &str = "VolumeBinding";
pub const ERR_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
pub const ERR_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
pub const ERR_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
/// The class of local volumes: no provisioner, bound when a pod is scheduled.
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";

pub struct VolumeBinding;

/// A claim waiting for its first consumer: the volumes that could take it, smallest first.
#[derive(Clone)]
struct Delayed {
    claim: Value,
    candidates: Vec<Value>,
    /// The class has a provisioner: a node without a free volume can get a new one.
    provisionable: bool,
}

#[derive(Clone)]
struct ClaimsState {
    /// Volumes of the bound claims.
    bound: Vec<Value>,
    delayed: Vec<Delayed>,
}

fn reachable(pv: &Value, node: &NodeInfo) -> bool {
    node_terms(pv).is_none_or(|terms| terms.iter().any(|t| term_matches(t, node)))
}

/// For each delayed claim, the volume it would get on `node` (`None`: to be provisioned);
/// `Err` when some claim can have neither.
fn choose(state: &ClaimsState, node: &NodeInfo) -> Result<Vec<Option<Value>>, ()> {
    let mut taken: Vec<&str> = Vec::new();
    let mut chosen = Vec::new();
    for d in &state.delayed {
        let pick = d.candidates.iter().find(|pv| {
            let name = apimachinery::api::meta::name(pv);
            !taken.contains(&name) && reachable(pv, node)
        });
        match pick {
            Some(pv) => {
                taken.push(apimachinery::api::meta::name(pv));
                chosen.push(Some(pv.clone()));
            }
            None if d.provisionable => chosen.push(None),
            None => return Err(()),
        }
    }
    Ok(chosen)
}

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        NAME
    }

    fn pre_filter(&self, snap: &Snapshot, pod: &PodInfo, state: &mut CycleState) -> Status {
        if pod.claims.is_empty() {
            return Status::skip();
        }
        let mut s = ClaimsState {
            bound: Vec::new(),
            delayed: Vec::new(),
        };
        let mut unbound_immediate = false;
        for name in &pod.claims {
            let Some(pvc) = snap.claims.get(&format!("{}/{name}", pod.namespace)) else {
                return Status::unresolvable(format!("persistentvolumeclaim \"{name}\" not found"));
            };
            if apimachinery::api::meta::is_being_deleted(pvc) {
                return Status::unresolvable(format!(
                    "persistentvolumeclaim \"{name}\" is being deleted"
                ));
            }
            if let Some(volume) = pvc["spec"]["volumeName"].as_str().filter(|v| !v.is_empty()) {
                match snap.volumes.get(volume) {
                    Some(pv) => s.bound.push(pv.clone()),
                    None => {
                        return Status::unresolvable(format!(
                            "persistentvolumeclaim \"{name}\" bound to non-existent persistentvolume \"{volume}\""
                        ))
                    }
                }
                continue;
            }
            let class = snap.storage_classes.get(class_name(pvc));
            let wait = class.is_some_and(|c| c["volumeBindingMode"] == "WaitForFirstConsumer");
            if !wait {
                unbound_immediate = true;
                continue;
            }
            let mut candidates: Vec<Value> = snap
                .volumes
                .values()
                .filter(|pv| available_for(pv, pvc) && satisfies(pv, pvc))
                .cloned()
                .collect();
            apimachinery::collections::sort_by_key(&mut candidates, capacity);
            let provisioner = class
                .and_then(|c| c["provisioner"].as_str())
                .unwrap_or(NO_PROVISIONER);
            s.delayed.push(Delayed {
                claim: pvc.clone(),
                candidates,
                provisionable: provisioner != NO_PROVISIONER,
            });
        }
        if unbound_immediate {
            return Status::unresolvable(ERR_UNBOUND_IMMEDIATE);
        }
        state.write(NAME, s);
        Status::success()
    }

    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<ClaimsState>(NAME) else {
            return Status::success();
        };
        let mut reasons = Vec::new();
        if !s.bound.iter().all(|pv| reachable(pv, node)) {
            reasons.push(ERR_NODE_CONFLICT.to_string());
        }
        if choose(s, node).is_err() {
            reasons.push(ERR_BIND_CONFLICT.to_string());
        }
        if reasons.is_empty() {
            Status::success()
        } else {
            Status {
                code: crate::framework::Code::UnschedulableAndUnresolvable,
                reasons,
            }
        }
    }

    fn pre_bind(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Vec<Write> {
        let Some(s) = state.read::<ClaimsState>(NAME) else {
            return Vec::new();
        };
        let Ok(chosen) = choose(s, node) else {
            return Vec::new();
        };
        s.delayed
            .iter()
            .zip(chosen)
            .map(|(d, pv)| {
                let meta = &d.claim["metadata"];
                match pv {
                    // Bind the volume to the claim, as the binder's `BindVolumeToClaim`.
                    Some(pv) => Write {
                        path: format!("/api/v1/persistentvolumes/{}", apimachinery::api::meta::name(&pv)),
                        patch: json!({
                            "metadata": {"annotations": {"pv.kubernetes.io/bound-by-controller": "yes"}},
                            "spec": {"claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                                "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                                "resourceVersion": meta["resourceVersion"]}}
                        }),
                    },
                    // Ask the class's provisioner for a volume on this node.
                    None => Write {
                        path: format!(
                            "/api/v1/namespaces/{}/persistentvolumeclaims/{}",
                            meta["namespace"].as_str().unwrap_or_default(),
                            meta["name"].as_str().unwrap_or_default()
                        ),
                        patch: json!({"metadata": {"annotations": {"volume.kubernetes.io/selected-node": &*node.name}}}),
                    },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{filter_in, snapshot_with};

    fn local_pv(name: &str, node: &str, size: &str) -> Value {
        json!({"metadata": {"name": name}, "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local", "local": {"path": "/mnt/disk"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}},
            "status": {"phase": "Available"}})
    }

    fn claim(name: &str, class: &str, volume: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "default", "uid": "u"}, "spec": {"storageClassName": class,
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": volume}})
    }

    fn pod_with(claim: &str) -> PodInfo {
        PodInfo::from_pod(
            &json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {
            "containers": [{"name": "c", "image": "nginx"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}}),
        )
    }

    fn node(name: &str) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            labels: [("kubernetes.io/hostname".to_string(), name.to_string())].into(),
            ..Default::default()
        }
    }

    fn classes(snap: &mut Snapshot) {
        snap.storage_classes.insert("local".into(), json!({"metadata": {"name": "local"}, "provisioner": NO_PROVISIONER, "volumeBindingMode": "WaitForFirstConsumer"}));
        snap.storage_classes.insert("fast".into(), json!({"metadata": {"name": "fast"}, "provisioner": "example.com/csi", "volumeBindingMode": "Immediate"}));
    }

    #[test]
    fn claims_decide_where_a_pod_may_go() {
        let nodes = [node("n1"), node("n2")];
        let mut snap = snapshot_with(&nodes);
        classes(&mut snap);
        snap.volumes
            .insert("pv-n1".into(), local_pv("pv-n1", "n1", "10Gi"));
        snap.volumes
            .insert("pv-small".into(), local_pv("pv-small", "n2", "512Mi"));
        snap.claims
            .insert("default/wait".into(), claim("wait", "local", ""));
        snap.claims
            .insert("default/bound".into(), claim("bound", "local", "pv-n1"));
        snap.claims
            .insert("default/immediate".into(), claim("immediate", "fast", ""));
        snap.claims
            .insert("default/lost".into(), claim("lost", "local", "pv-gone"));
        let verdicts = |claim: &str| -> Vec<Status> {
            nodes
                .iter()
                .map(|n| filter_in(&snap, &VolumeBinding, &pod_with(claim), n))
                .collect()
        };
        // Waits for its consumer: only n1 has a big enough volume.
        let v = verdicts("wait");
        assert!(v[0].is_success());
        assert_eq!(v[1].reasons, [ERR_BIND_CONFLICT]);
        // Bound to n1's local volume: n2 conflicts.
        let v = verdicts("bound");
        assert!(v[0].is_success());
        assert_eq!(v[1].reasons, [ERR_NODE_CONFLICT]);
        assert_eq!(verdicts("immediate")[0].reasons, [ERR_UNBOUND_IMMEDIATE]);
        assert_eq!(
            verdicts("missing")[0].reasons,
            ["persistentvolumeclaim \"missing\" not found"]
        );
        assert_eq!(
            verdicts("lost")[0].reasons,
            ["persistentvolumeclaim \"lost\" bound to non-existent persistentvolume \"pv-gone\""]
        );
    }

    #[test]
    fn pre_bind_promises_the_chosen_volume() {
        let nodes = [node("n1")];
        let mut snap = snapshot_with(&nodes);
        classes(&mut snap);
        snap.volumes
            .insert("pv-n1".into(), local_pv("pv-n1", "n1", "10Gi"));
        snap.claims
            .insert("default/wait".into(), claim("wait", "local", ""));
        let mut state = CycleState::default();
        let pod = pod_with("wait");
        assert!(VolumeBinding
            .pre_filter(&snap, &pod, &mut state)
            .is_success());
        let writes = VolumeBinding.pre_bind(&state, &pod, &nodes[0]);
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].path, "/api/v1/persistentvolumes/pv-n1");
        assert_eq!(writes[0].patch["spec"]["claimRef"]["name"], "wait");
    }
}
