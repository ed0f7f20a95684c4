//! What the scheduler knows of pods and nodes, parsed once from the API objects when a watch
//! event arrives — never per scheduling cycle (`framework/types.go` upstream).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::quantity::parse_milli;

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

/// A pod as the scheduler sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node_name: String,
    pub scheduler_name: String,
    pub priority: i64,
    pub labels: BTreeMap<String, String>,
    pub requests: Resources,
    /// Requests with the scoring defaults for containers that request nothing.
    pub non_zero_requests: Resources,
    pub tolerations: Vec<Toleration>,
    pub node_selector: BTreeMap<String, String>,
    pub affinity: Value,
    /// `(protocol, hostIP, hostPort)` of every container port with a host port.
    pub host_ports: Vec<(String, String, i64)>,
    /// Container images, normalized as the runtime names them (`docker.io/library/nginx:1.14`).
    pub images: Vec<String>,
    pub created: String,
    pub terminal: bool,
    pub deleting: bool,
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
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
            images.push(crate::scheduler::plugins::image_locality::normalized_image(
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
        PodInfo {
            namespace: s(&pod["metadata"]["namespace"]),
            name: s(&pod["metadata"]["name"]),
            uid: s(&pod["metadata"]["uid"]),
            node_name: s(&spec["nodeName"]),
            scheduler_name: spec["schedulerName"]
                .as_str()
                .unwrap_or("default-scheduler")
                .to_string(),
            priority: spec["priority"].as_i64().unwrap_or(0),
            labels: string_map(&pod["metadata"]["labels"]),
            requests,
            non_zero_requests: non_zero,
            tolerations,
            node_selector: string_map(&spec["nodeSelector"]),
            affinity: spec["affinity"].clone(),
            host_ports,
            images,
            created: s(&pod["metadata"]["creationTimestamp"]),
            terminal: phase == "Succeeded" || phase == "Failed",
            deleting: pod.pointer("/metadata/deletionTimestamp").is_some(),
        }
    }
}

/// A node with what is placed on it, kept up to date as pods are bound and removed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `metadata.name` as a field, for `matchFields`.
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resources,
    pub requested: Resources,
    pub non_zero_requested: Resources,
    /// Keys of the pods on the node.
    pub pods: Vec<String>,
    pub used_ports: Vec<(String, String, i64)>,
    /// Image name → size in bytes, from `status.images`.
    pub images: BTreeMap<String, i64>,
}

impl NodeInfo {
    pub fn set_node(&mut self, node: &Value) {
        self.name = s(&node["metadata"]["name"]);
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

    pub fn add_pod(&mut self, pod: &PodInfo) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.add(&pod.non_zero_requests);
        self.requested.pods += 1;
        self.pods.push(pod.key());
        self.used_ports.extend(pod.host_ports.iter().cloned());
    }

    pub fn remove_pod(&mut self, pod: &PodInfo) {
        let key = pod.key();
        if let Some(i) = self.pods.iter().position(|p| *p == key) {
            self.pods.remove(i);
            self.requested.sub(&pod.requests);
            self.non_zero_requested.sub(&pod.non_zero_requests);
            self.requested.pods -= 1;
            for port in &pod.host_ports {
                if let Some(j) = self.used_ports.iter().position(|p| p == port) {
                    self.used_ports.remove(j);
                }
            }
        }
    }
}
