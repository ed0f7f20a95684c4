//! What the scheduler knows of the cluster (upstream's cache and its snapshot): nodes with the
//! pods placed on them, and the objects plugins consult — namespaces' labels, the selectors of
//! services and workload controllers (for default topology spreading), PodDisruptionBudgets,
//! and the volume objects. Kept from watch events; a cycle only reads it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::framework::{NodeInfo, PodInfo};
use apimachinery::selectors::Selector;

/// A PodDisruptionBudget as preemption weighs it.
#[derive(Clone, Debug)]
pub struct Budget {
    pub namespace: String,
    pub selector: Selector,
    pub disruptions_allowed: i64,
}

/// A pod placed on (`+1`) or taken off (`-1`) a node, in the order it happened: plugins that
/// keep counts across cycles replay these instead of recounting every node.
#[derive(Clone, Debug)]
pub struct PodChange {
    pub pod: Arc<PodInfo>,
    pub node: Arc<str>,
    pub delta: i64,
}

/// How many changes are kept; a cache further behind rebuilds.
const CHANGES_KEPT: usize = 16_384;

#[derive(Default)]
pub struct Snapshot {
    /// The nodes, in the order they registered; a cycle walks them by index.
    pub nodes: Vec<NodeInfo>,
    pub node_index: BTreeMap<Arc<str>, usize>,
    /// How many nodes hold each image.
    pub image_nodes: BTreeMap<String, usize>,
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Selectors of Services, ReplicaSets and StatefulSets by namespace, keyed by
    /// `kind/name`: the default spreading constraints select a pod's siblings by them.
    pub workload_selectors: BTreeMap<String, BTreeMap<String, Selector>>,
    pub budgets: BTreeMap<String, Budget>,
    /// PersistentVolumeClaims (`namespace/name`), PersistentVolumes and StorageClasses.
    pub claims: BTreeMap<String, Value>,
    pub volumes: BTreeMap<String, Value>,
    pub storage_classes: BTreeMap<String, Value>,
    changes: std::collections::VecDeque<PodChange>,
    /// The sequence number of `changes[0]`.
    changes_base: u64,
    /// Bumped whenever a node is added, changed or removed: caches keyed on nodes rebuild.
    pub node_generation: u64,
    /// Placed pods with any inter-pod (anti-)affinity term, and with required anti-affinity:
    /// when there are none, InterPodAffinity need not look at any node.
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
}

const NO_LABELS: &BTreeMap<String, String> = &BTreeMap::new();

impl Snapshot {
    /// A snapshot holding these nodes with the pods already on them (tests, tools).
    pub fn from_nodes(nodes: &[NodeInfo]) -> Snapshot {
        let mut snap = Snapshot::default();
        for n in nodes {
            snap.node_index.insert(n.name.clone(), snap.nodes.len());
            snap.nodes.push(n.clone());
            snap.pods_with_affinity += n.pods_with_affinity.len();
            snap.pods_with_required_anti_affinity += n.pods_with_required_anti_affinity.len();
        }
        snap
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.node_index.get(name).map(|i| &self.nodes[*i])
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut NodeInfo> {
        let i = *self.node_index.get(name)?;
        self.nodes.get_mut(i)
    }

    pub fn namespace_labels(&self, ns: &str) -> &BTreeMap<String, String> {
        self.namespace_labels.get(ns).unwrap_or(NO_LABELS)
    }

    /// The sequence number the next change will get.
    pub fn changes_end(&self) -> u64 {
        self.changes_base + self.changes.len() as u64
    }

    /// The changes from sequence number `from` on; `None` if they are no longer kept.
    pub fn changes_since(&self, from: u64) -> Option<impl Iterator<Item = &PodChange>> {
        let skip = from.checked_sub(self.changes_base)? as usize;
        (skip <= self.changes.len()).then(|| self.changes.iter().skip(skip))
    }

    fn log(&mut self, pod: Arc<PodInfo>, node: Arc<str>, delta: i64) {
        let count = |n: &mut usize, yes: bool| {
            if yes {
                *n = n.saturating_add_signed(delta as isize);
            }
        };
        count(&mut self.pods_with_affinity, pod.has_affinity_terms());
        count(
            &mut self.pods_with_required_anti_affinity,
            !pod.required_anti_affinity.is_empty(),
        );
        if self.changes.len() == CHANGES_KEPT {
            self.changes.pop_front();
            self.changes_base += 1;
        }
        self.changes.push_back(PodChange { pod, node, delta });
    }

    pub fn set_node(&mut self, node: &Value, deleted: bool) {
        self.node_generation += 1;
        let name = apimachinery::api::meta::name(node);
        if let Some(&i) = self.node_index.get(name) {
            for img in self.nodes[i].images.keys() {
                if let Some(n) = self.image_nodes.get_mut(img) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        if deleted {
            if let Some(i) = self.node_index.remove(name) {
                self.nodes.swap_remove(i);
                if let Some(moved) = self.nodes.get(i) {
                    self.node_index.insert(moved.name.clone(), i);
                }
            }
            return;
        }
        let i = match self.node_index.get(name) {
            Some(i) => *i,
            None => {
                self.nodes.push(NodeInfo::default());
                self.nodes.len() - 1
            }
        };
        let info = &mut self.nodes[i];
        info.set_node(node);
        self.node_index.insert(info.name.clone(), i);
        for img in info.images.keys() {
            *self.image_nodes.entry(img.clone()).or_default() += 1;
        }
    }

    /// Counts `pod` on `node`; returns false when the node is unknown.
    pub fn add_pod(&mut self, pod: &Arc<PodInfo>, node: &str) -> bool {
        let Some(n) = self.node_mut(node) else {
            return false;
        };
        n.add_pod(pod);
        let name = n.name.clone();
        self.log(pod.clone(), name, 1);
        true
    }

    pub fn remove_pod(&mut self, pod: &Arc<PodInfo>, node: &str) {
        if let Some(n) = self.node_mut(node) {
            n.remove_pod(pod);
            let name = n.name.clone();
            self.log(pod.clone(), name, -1);
        }
    }

    /// Applies a watch event on one of the plugin-consulted kinds.
    pub fn apply(&mut self, kind: Kind, event: &apiserver::watch::WatchEvent) {
        let obj = &*event.object;
        let deleted = event.is_deleted();
        let name = apimachinery::api::meta::name(obj).to_string();
        let ns = apimachinery::api::meta::namespace(obj).to_string();
        let key = format!("{ns}/{name}");
        match kind {
            Kind::Namespace => {
                if deleted {
                    self.namespace_labels.remove(&name);
                } else {
                    let labels = super::framework::types::string_map(&obj["metadata"]["labels"]);
                    self.namespace_labels.insert(name, labels);
                }
            }
            Kind::Service | Kind::ReplicaSet | Kind::StatefulSet => {
                let id = format!("{kind:?}/{name}");
                let selectors = self.workload_selectors.entry(ns).or_default();
                // A Service selects by a plain map; the workloads by a LabelSelector.
                let selector = match kind {
                    Kind::Service => obj["spec"]["selector"]
                        .as_object()
                        .filter(|m| !m.is_empty())
                        .and_then(|m| {
                            Selector::from_label_selector(&serde_json::json!({"matchLabels": m}))
                                .ok()
                        }),
                    _ => Selector::from_label_selector(&obj["spec"]["selector"])
                        .ok()
                        .filter(|s| !s.is_empty()),
                };
                match selector {
                    Some(sel) if !deleted => {
                        selectors.insert(id, sel);
                    }
                    _ => {
                        selectors.remove(&id);
                    }
                }
            }
            Kind::PodDisruptionBudget => {
                if deleted {
                    self.budgets.remove(&key);
                } else {
                    let selector = Selector::from_label_selector(&obj["spec"]["selector"])
                        .unwrap_or_else(|_| Selector {
                            requirements: vec![],
                            nothing: true,
                        });
                    let budget = Budget {
                        namespace: ns,
                        selector,
                        disruptions_allowed: obj["status"]["disruptionsAllowed"]
                            .as_i64()
                            .unwrap_or(0),
                    };
                    self.budgets.insert(key, budget);
                }
            }
            Kind::PersistentVolumeClaim => put(&mut self.claims, key, obj, deleted),
            Kind::PersistentVolume => put(&mut self.volumes, name, obj, deleted),
            Kind::StorageClass => put(&mut self.storage_classes, name, obj, deleted),
        }
    }

    /// `DefaultSelector`: the union of the selectors of the Services, ReplicaSets and
    /// StatefulSets in the pod's namespace that select it; `None` when none does.
    pub fn default_spread_selector(&self, pod: &PodInfo) -> Option<Selector> {
        let mut merged: Option<Selector> = None;
        for sel in self.workload_selectors.get(&pod.namespace)?.values() {
            if sel.matches_map(&pod.labels) {
                let m = merged.get_or_insert_with(Selector::default);
                for r in &sel.requirements {
                    if !m.requirements.contains(r) {
                        m.requirements.push(r.clone());
                    }
                }
            }
        }
        merged
    }
}

fn put(map: &mut BTreeMap<String, Value>, key: String, obj: &Value, deleted: bool) {
    if deleted {
        map.remove(&key);
    } else {
        map.insert(key, obj.clone());
    }
}

/// The kinds the snapshot follows besides nodes and pods, with where they are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Namespace,
    Service,
    ReplicaSet,
    StatefulSet,
    PodDisruptionBudget,
    PersistentVolumeClaim,
    PersistentVolume,
    StorageClass,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Namespace,
        Kind::Service,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::PodDisruptionBudget,
        Kind::PersistentVolumeClaim,
        Kind::PersistentVolume,
        Kind::StorageClass,
    ];

    /// `(group, resource)`.
    pub fn resource(self) -> (&'static str, &'static str) {
        match self {
            Kind::Namespace => ("", "namespaces"),
            Kind::Service => ("", "services"),
            Kind::ReplicaSet => ("apps", "replicasets"),
            Kind::StatefulSet => ("apps", "statefulsets"),
            Kind::PodDisruptionBudget => ("policy", "poddisruptionbudgets"),
            Kind::PersistentVolumeClaim => ("", "persistentvolumeclaims"),
            Kind::PersistentVolume => ("", "persistentvolumes"),
            Kind::StorageClass => ("storage.k8s.io", "storageclasses"),
        }
    }
}
