//! What the scheduler knows of pods and nodes, parsed once from the API objects when a watch
//! event arrives — never per scheduling cycle (`framework/types.go` upstream).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use apimachinery::api::quantity::parse_milli;
use apimachinery::selectors::{Op, Requirement, Selector};

/// Requests or capacity: CPU in millicores, memory and storage in bytes, a pod count, and
/// extended resources by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    pub scalar: BTreeMap<String, i64>,
}

/// A quantity as an `i64`, saturating (no quantity a node has comes near the bounds).
fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

impl Resources {
    /// Reads a `ResourceList` (`{"cpu": "500m", "memory": "1Gi"}`).
    pub fn from_list(list: &Value) -> Resources {
        let mut r = Resources::default();
        for (name, q) in list.as_object().into_iter().flatten() {
            let Some(milli) = q
                .as_str()
                .and_then(parse_milli)
                .or_else(|| q.as_i64().map(|n| i128::from(n) * 1000))
            else {
                continue;
            };
            match name.as_str() {
                "cpu" => r.milli_cpu = clamp(milli),
                "memory" => r.memory = clamp(milli / 1000),
                "ephemeral-storage" => r.ephemeral_storage = clamp(milli / 1000),
                "pods" => r.pods = clamp(milli / 1000),
                other => {
                    r.scalar.insert(other.to_string(), clamp(milli / 1000));
                }
            }
        }
        r
    }

    pub fn add(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(o.milli_cpu);
        self.memory = self.memory.saturating_add(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(o.ephemeral_storage);
        self.pods = self.pods.saturating_add(o.pods);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = e.saturating_add(*v);
        }
    }

    pub fn sub(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(o.milli_cpu);
        self.memory = self.memory.saturating_sub(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_sub(o.ephemeral_storage);
        self.pods = self.pods.saturating_sub(o.pods);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = e.saturating_sub(*v);
        }
    }

    fn max(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }
}

/// Requests of a container without any count as these when scoring (`schedutil`'s
/// `DefaultMilliCPURequest`, `DefaultMemoryRequest`), so empty pods still spread.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct Toleration {
    pub key: String,
    pub operator: String,
    pub value: String,
    pub effect: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

impl Toleration {
    /// `Toleration.ToleratesTaint`.
    pub fn tolerates(&self, t: &Taint) -> bool {
        if !self.effect.is_empty() && self.effect != t.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != t.key {
            return false;
        }
        match self.operator.as_str() {
            "Exists" => true,
            "" | "Equal" => self.value == t.value,
            _ => false,
        }
    }
}

/// `matchLabelKeys` and the like: for each listed key the owner has, a requirement `key op
/// (owner's value)` joins the selector.
fn owner_values(selector: &mut Selector, keys: &Value, owner: &PodInfo, op: Op) {
    for key in keys
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if let Some(v) = owner.labels.get(key) {
            selector.requirements.push(Requirement {
                key: key.to_string(),
                op: op.clone(),
                values: vec![v.clone()],
            });
        }
    }
}

/// A `PodAffinityTerm` with its namespaces resolved as upstream's `AffinityTerm`: the listed
/// namespaces, or the pod's own when neither they nor a namespace selector are given.
#[derive(Clone, Debug, PartialEq)]
pub struct AffinityTerm {
    pub selector: Selector,
    pub namespaces: Vec<String>,
    /// `None`: no selector given (selects no namespace); `Some(empty)`: every namespace.
    pub namespace_selector: Option<Selector>,
    pub topology_key: String,
}

impl AffinityTerm {
    fn parse(term: &Value, owner: &PodInfo) -> AffinityTerm {
        let mut selector =
            Selector::from_label_selector(&term["labelSelector"]).unwrap_or_else(|_| Selector {
                requirements: vec![],
                nothing: true,
            });
        // matchLabelKeys / mismatchLabelKeys: the owner's values become part of the selector.
        owner_values(&mut selector, &term["matchLabelKeys"], owner, Op::In);
        owner_values(&mut selector, &term["mismatchLabelKeys"], owner, Op::NotIn);
        let mut namespaces: Vec<String> = term["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let namespace_selector = term
            .get("namespaceSelector")
            .filter(|v| !v.is_null())
            .map(|ns| Selector::from_label_selector(ns).unwrap_or_default());
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.push(owner.namespace.clone());
        }
        AffinityTerm {
            selector,
            namespaces,
            namespace_selector,
            topology_key: s(&term["topologyKey"]),
        }
    }

    /// `AffinityTerm.Matches`: `pod` is in one of the term's namespaces (or one its selector
    /// picks, by `ns_labels` — the labels of `pod`'s namespace) and has matching labels.
    pub fn matches(&self, pod: &PodInfo, ns_labels: &BTreeMap<String, String>) -> bool {
        (self.namespaces.contains(&pod.namespace)
            || self
                .namespace_selector
                .as_ref()
                .is_some_and(|sel| sel.matches_map(ns_labels)))
            && self.selector.matches_map(&pod.labels)
    }
}

/// A `TopologySpreadConstraint`, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct SpreadConstraint {
    pub max_skew: i64,
    pub topology_key: String,
    /// `whenUnsatisfiable: DoNotSchedule` (a Filter) rather than `ScheduleAnyway` (a Score).
    pub hard: bool,
    pub selector: Selector,
    pub min_domains: i64,
    /// `nodeAffinityPolicy: Honor` (the default): only nodes the pod may go to count.
    pub honor_node_affinity: bool,
    /// `nodeTaintsPolicy: Honor` (default Ignore): only nodes whose taints it tolerates count.
    pub honor_taints: bool,
}

impl SpreadConstraint {
    fn parse(c: &Value, owner: &PodInfo) -> SpreadConstraint {
        let mut selector = Selector::from_label_selector(&c["labelSelector"]).unwrap_or_default();
        owner_values(&mut selector, &c["matchLabelKeys"], owner, Op::In);
        SpreadConstraint {
            max_skew: c["maxSkew"].as_i64().unwrap_or(1).max(1),
            topology_key: s(&c["topologyKey"]),
            hard: c["whenUnsatisfiable"].as_str() != Some("ScheduleAnyway"),
            selector,
            min_domains: c["minDomains"].as_i64().unwrap_or(1).max(1),
            honor_node_affinity: c["nodeAffinityPolicy"].as_str() != Some("Ignore"),
            honor_taints: c["nodeTaintsPolicy"].as_str() == Some("Honor"),
        }
    }
}

/// A pod as the scheduler sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node_name: String,
    pub nominated_node_name: String,
    pub scheduler_name: String,
    pub priority: i64,
    /// `preemptionPolicy: Never` keeps the pod from preempting others.
    pub preempt_never: bool,
    pub labels: BTreeMap<String, String>,
    pub requests: Resources,
    /// Requests with the scoring defaults for containers that request nothing.
    pub non_zero_requests: Resources,
    pub tolerations: Vec<Toleration>,
    pub node_selector: BTreeMap<String, String>,
    pub affinity: Value,
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<(i64, AffinityTerm)>,
    pub preferred_anti_affinity: Vec<(i64, AffinityTerm)>,
    pub spread_constraints: Vec<SpreadConstraint>,
    /// `(protocol, hostIP, hostPort)` of every container port with a host port.
    pub host_ports: Vec<(String, String, i64)>,
    /// Container images, normalized as the runtime names them (`docker.io/library/nginx:1.14`).
    pub images: Vec<String>,
    /// Names of the PersistentVolumeClaims the pod mounts.
    pub claims: Vec<String>,
    pub created: String,
    /// `status.startTime` (or creation): preemption spares the longest-running pods.
    pub start_time: String,
    pub terminal: bool,
    pub deleting: bool,
}

/// A `map[string]string` (labels, a selector's `matchLabels`).
pub fn string_map(v: &Value) -> BTreeMap<String, String> {
    apimachinery::collections::map_from(
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
    )
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

impl PodInfo {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn from_pod(pod: &Value) -> PodInfo {
        let spec = &pod["spec"];
        let mut requests = Resources::default();
        let mut non_zero = Resources::default();
        let mut host_ports = Vec::new();
        let mut images = Vec::new();
        for c in spec["containers"].as_array().into_iter().flatten() {
            let r = Resources::from_list(&c["resources"]["requests"]);
            requests.add(&r);
            let mut nz = r.clone();
            if nz.milli_cpu == 0 {
                nz.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
            }
            if nz.memory == 0 {
                nz.memory = DEFAULT_MEMORY_REQUEST;
            }
            non_zero.add(&nz);
            images.push(apimachinery::api::image::normalized_image(
                c["image"].as_str().unwrap_or_default(),
            ));
            for p in c["ports"].as_array().into_iter().flatten() {
                if let Some(hp) = p["hostPort"].as_i64().filter(|p| *p > 0) {
                    host_ports.push((
                        p["protocol"].as_str().unwrap_or("TCP").to_string(),
                        s(&p["hostIP"]),
                        hp,
                    ));
                }
            }
        }
        // Init containers run one at a time: a pod needs the most any one of them asks.
        for c in spec["initContainers"].as_array().into_iter().flatten() {
            let r = Resources::from_list(&c["resources"]["requests"]);
            requests.max(&r);
            non_zero.max(&r);
        }
        let overhead = Resources::from_list(&spec["overhead"]);
        requests.add(&overhead);
        non_zero.add(&overhead);
        let tolerations = spec["tolerations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| Toleration {
                key: s(&t["key"]),
                operator: s(&t["operator"]),
                value: s(&t["value"]),
                effect: s(&t["effect"]),
            })
            .collect();
        let phase = pod["status"]["phase"].as_str().unwrap_or_default();
        let claims = spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
            .map(str::to_string)
            .collect();
        let created = s(&pod["metadata"]["creationTimestamp"]);
        let mut info = PodInfo {
            namespace: s(&pod["metadata"]["namespace"]),
            name: s(&pod["metadata"]["name"]),
            uid: s(&pod["metadata"]["uid"]),
            node_name: s(&spec["nodeName"]),
            scheduler_name: spec["schedulerName"]
                .as_str()
                .unwrap_or("default-scheduler")
                .to_string(),
            nominated_node_name: s(&pod["status"]["nominatedNodeName"]),
            priority: spec["priority"].as_i64().unwrap_or(0),
            preempt_never: spec["preemptionPolicy"] == "Never",
            labels: string_map(&pod["metadata"]["labels"]),
            requests,
            non_zero_requests: non_zero,
            tolerations,
            node_selector: string_map(&spec["nodeSelector"]),
            affinity: spec["affinity"].clone(),
            host_ports,
            images,
            claims,
            start_time: pod["status"]["startTime"]
                .as_str()
                .map_or_else(|| created.clone(), str::to_string),
            created,
            terminal: phase == "Succeeded" || phase == "Failed",
            deleting: apimachinery::api::meta::is_being_deleted(pod),
            ..PodInfo::default()
        };
        let pod_affinity = &spec["affinity"]["podAffinity"];
        let anti = &spec["affinity"]["podAntiAffinity"];
        let required = |v: &Value, owner: &PodInfo| -> Vec<AffinityTerm> {
            let list = &v["requiredDuringSchedulingIgnoredDuringExecution"];
            let terms = list.as_array().into_iter().flatten();
            terms.map(|t| AffinityTerm::parse(t, owner)).collect()
        };
        let preferred = |v: &Value, owner: &PodInfo| -> Vec<(i64, AffinityTerm)> {
            let list = &v["preferredDuringSchedulingIgnoredDuringExecution"];
            let terms = list.as_array().into_iter().flatten();
            terms
                .map(|t| {
                    let weight = t["weight"].as_i64().unwrap_or(0);
                    (weight, AffinityTerm::parse(&t["podAffinityTerm"], owner))
                })
                .collect()
        };
        info.required_affinity = required(pod_affinity, &info);
        info.required_anti_affinity = required(anti, &info);
        info.preferred_affinity = preferred(pod_affinity, &info);
        info.preferred_anti_affinity = preferred(anti, &info);
        info.spread_constraints = spec["topologySpreadConstraints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| SpreadConstraint::parse(c, &info))
            .collect();
        info
    }

    /// Whether the pod has any inter-pod affinity or anti-affinity term.
    pub fn has_affinity_terms(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }
}

/// A node with what is placed on it, kept up to date as pods are bound and removed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeInfo {
    /// Shared with the decision records, which name nodes without copying the string.
    pub name: Arc<str>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resources,
    pub requested: Resources,
    pub non_zero_requested: Resources,
    pub pods: Vec<Arc<PodInfo>>,
    /// The pods with any inter-pod (anti-)affinity term, and those with required
    /// anti-affinity: InterPodAffinity looks only at these (`PodsWithAffinity` upstream).
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    pub used_ports: Vec<(String, String, i64)>,
    /// Image name → size in bytes, from `status.images`.
    pub images: BTreeMap<String, i64>,
    /// The node's pods that are not terminating, grouped by namespace and labels: a
    /// workload's pods share one entry, so counting the pods a selector matches (spreading's
    /// per-node count, for every scored node of every cycle) tests each label set once.
    pub label_sets: Vec<LabelSet>,
}

/// Pods of one namespace with the same labels, and how many.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSet {
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub count: usize,
}

impl NodeInfo {
    pub fn set_node(&mut self, node: &Value) {
        let name = node["metadata"]["name"].as_str().unwrap_or_default();
        if &*self.name != name {
            self.name = Arc::from(name);
        }
        self.labels = string_map(&node["metadata"]["labels"]);
        self.taints = node["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| Taint {
                key: s(&t["key"]),
                value: s(&t["value"]),
                effect: s(&t["effect"]),
            })
            .collect();
        self.unschedulable = node["spec"]["unschedulable"] == Value::Bool(true);
        self.allocatable = Resources::from_list(&node["status"]["allocatable"]);
        self.images = BTreeMap::new();
        for img in node["status"]["images"].as_array().into_iter().flatten() {
            let size = img["sizeBytes"].as_i64().unwrap_or(0);
            for name in img["names"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                self.images.insert(name.to_string(), size);
            }
        }
    }

    pub fn add_pod(&mut self, pod: &Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.add(&pod.non_zero_requests);
        self.requested.pods += 1;
        self.pods.push(pod.clone());
        if pod.has_affinity_terms() {
            self.pods_with_affinity.push(pod.clone());
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if !pod.deleting {
            self.count_labels(pod, true);
        }
    }

    /// Adds `pod` to (or takes it from) the count of its namespace and labels.
    fn count_labels(&mut self, pod: &PodInfo, add: bool) {
        let same = |l: &LabelSet| l.namespace == pod.namespace && l.labels == pod.labels;
        match self.label_sets.iter().position(same) {
            Some(i) if add => self.label_sets[i].count += 1,
            Some(i) => {
                self.label_sets[i].count -= 1;
                if self.label_sets[i].count == 0 {
                    self.label_sets.swap_remove(i);
                }
            }
            None if add => self.label_sets.push(LabelSet {
                namespace: pod.namespace.clone(),
                labels: pod.labels.clone(),
                count: 1,
            }),
            None => {}
        }
    }

    pub fn remove_pod(&mut self, pod: &PodInfo) {
        let same = |p: &Arc<PodInfo>| p.name == pod.name && p.namespace == pod.namespace;
        let Some(i) = self.pods.iter().position(same) else {
            return;
        };
        let stored = self.pods.swap_remove(i);
        self.pods_with_affinity.retain(|p| !same(p));
        self.pods_with_required_anti_affinity.retain(|p| !same(p));
        self.requested.sub(&stored.requests);
        self.non_zero_requested.sub(&stored.non_zero_requests);
        self.requested.pods -= 1;
        for port in &stored.host_ports {
            if let Some(j) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(j);
            }
        }
        if !stored.deleting {
            self.count_labels(&stored, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(name: &str, app: &str, deleting: bool) -> Arc<PodInfo> {
        let mut p =
            json!({"metadata": {"name": name, "namespace": "default", "labels": {"app": app}}});
        if deleting {
            p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        }
        Arc::new(PodInfo::from_pod(&p))
    }

    /// The label-set counts follow the pods placed and removed; terminating pods are not
    /// counted.
    #[test]
    fn label_sets_count_a_nodes_live_pods() {
        let mut n = NodeInfo::default();
        let (a1, a2, b, going) = (
            pod("a1", "a", false),
            pod("a2", "a", false),
            pod("b", "b", false),
            pod("c", "a", true),
        );
        for p in [&a1, &a2, &b, &going] {
            n.add_pod(p);
        }
        let counts = |n: &NodeInfo| -> Vec<(String, usize)> {
            n.label_sets
                .iter()
                .map(|l| (l.labels["app"].clone(), l.count))
                .collect()
        };
        assert_eq!(counts(&n), [("a".into(), 2), ("b".into(), 1)]);
        n.remove_pod(&a1);
        n.remove_pod(&going);
        assert_eq!(counts(&n), [("a".into(), 1), ("b".into(), 1)]);
        n.remove_pod(&b);
        assert_eq!(counts(&n), [("a".to_string(), 1)]);
    }
}
