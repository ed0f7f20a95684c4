//! Large clusters (hundreds to thousands of nodes): the control plane runs in a Web Worker
//! (`worker.rs`) so the page never waits for it, and the map is a canvas drawn from a
//! compact [`Summary`] instead of a list of elements per node and pod.
//!
//! The summary comes from a [`MapIndex`] kept current from two watches (nodes, pods) as the
//! page's observer: each tick costs what changed, never a list of 5,000 nodes and their pods.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::cluster::Cluster;
use kubeplay_core::api::pod::{Pod, PodHealth};
use kubeplay_core::apiserver::watch::{WatchEvent, WatchId};
use kubeplay_core::scheduler::framework::{PodInfo, Resources};

/// What the page asks of the worker. Every request is answered with a [`Reply`].
///
/// On the wire, JSON: `{"advance": {"ms": 100}}`, `"share"`. The messages are written and read
/// by hand (`to_json`, `from_json`): derived serde code for them cost the page 10 KB.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Starts a cluster of `nodes` simulated nodes.
    Start { nodes: u32, seed: u64 },
    /// Starts the cluster of a shared scenario (YAML) and replays it.
    Open { scenario: String },
    /// Asks for the run so far as a `#scenario=…` fragment.
    Share,
    /// Lets `ms` of virtual time pass.
    Advance { ms: i64 },
    /// Applies a manifest, as `kubectl apply -f`.
    Apply { yaml: String },
    /// Runs a kubectl command line.
    Kubectl { line: String },
    /// Cuts or restores a node's power.
    Power { node: String, on: bool },
    /// Cuts (`cut: true`) or heals a node's network to the API server.
    Partition { node: String, cut: bool },
}

/// The worker's answer: the map as it is now, and what the request printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    pub summary: Summary,
    /// Lines for the page's console (apply results, kubectl output, errors).
    pub output: String,
    /// The run as a `#scenario=…` fragment, when asked for (`Share`).
    pub share: Option<String>,
}

/// The cluster map in a few arrays, one entry per node in the order of `names`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Virtual seconds since the start.
    pub seconds: i64,
    pub revision: i64,
    /// Node names; sent only when the set of nodes changed (`None`: same as before).
    pub names: Option<Vec<String>>,
    /// One letter per node: `R` Ready, `N` NotReady, `C` Ready but cordoned, `U` Unknown.
    pub states: String,
    /// CPU requested by the node's pods, in percent of allocatable (0–100).
    pub cpu: Vec<u8>,
    /// Pods bound to the node.
    pub pods: Vec<u32>,
    pub running: u32,
    /// Pods not running yet: waiting for a node, or being started.
    pub pending: u32,
    /// Pods failing (crashing, image pulls failing, failed).
    pub failing: u32,
}

impl Summary {
    pub fn ready_nodes(&self) -> usize {
        self.states
            .bytes()
            .filter(|s| matches!(s, b'R' | b'C'))
            .count()
    }
}

#[derive(Clone, Debug, Default)]
struct NodeRow {
    state: u8,
    allocatable_milli_cpu: i64,
    requested_milli_cpu: i64,
    pods: u32,
}

/// How the map counts a pod: where it is bound, what it requests, which total it is in.
#[derive(Clone, Debug, PartialEq)]
struct PodRow {
    node: Option<usize>,
    milli_cpu: i64,
    class: PodClass,
}

fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_slice(text.as_bytes()).map_err(|e| e.to_string())
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn small(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

impl Op {
    pub fn to_json(&self) -> String {
        let v = match self {
            Op::Start { nodes, seed } => json!({"start": {"nodes": nodes, "seed": seed}}),
            Op::Open { scenario } => json!({"open": {"scenario": scenario}}),
            Op::Share => json!("share"),
            Op::Advance { ms } => json!({"advance": {"ms": ms}}),
            Op::Apply { yaml } => json!({"apply": {"yaml": yaml}}),
            Op::Kubectl { line } => json!({"kubectl": {"line": line}}),
            Op::Power { node, on } => json!({"power": {"node": node, "on": on}}),
            Op::Partition { node, cut } => json!({"partition": {"node": node, "cut": cut}}),
        };
        v.to_string()
    }

    pub fn from_json(json: &str) -> Result<Op, String> {
        let v = parse(json)?;
        if v == "share" {
            return Ok(Op::Share);
        }
        let entry = v
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next());
        let op = entry.and_then(|(name, a)| {
            Some(match name.as_str() {
                "start" => Op::Start {
                    nodes: small(&a["nodes"])?,
                    seed: a["seed"].as_u64()?,
                },
                "open" => Op::Open {
                    scenario: text(&a["scenario"])?,
                },
                "advance" => Op::Advance {
                    ms: a["ms"].as_i64()?,
                },
                "apply" => Op::Apply {
                    yaml: text(&a["yaml"])?,
                },
                "kubectl" => Op::Kubectl {
                    line: text(&a["line"])?,
                },
                "power" => Op::Power {
                    node: text(&a["node"])?,
                    on: a["on"].as_bool()?,
                },
                "partition" => Op::Partition {
                    node: text(&a["node"])?,
                    cut: a["cut"].as_bool()?,
                },
                _ => return None,
            })
        });
        op.ok_or_else(|| format!("unknown request {v}"))
    }
}

impl Reply {
    pub fn to_json(&self) -> String {
        let s = &self.summary;
        json!({
            "summary": {
                "seconds": s.seconds, "revision": s.revision, "names": s.names,
                "states": s.states, "cpu": s.cpu, "pods": s.pods,
                "running": s.running, "pending": s.pending, "failing": s.failing,
            },
            "output": self.output,
            "share": self.share,
        })
        .to_string()
    }

    pub fn from_json(json: &str) -> Result<Reply, String> {
        let v = parse(json)?;
        let s = &v["summary"];
        let numbers = |v: &Value| -> Vec<u64> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect()
        };
        let summary = Summary {
            seconds: s["seconds"].as_i64().unwrap_or_default(),
            revision: s["revision"].as_i64().unwrap_or_default(),
            names: s["names"]
                .as_array()
                .map(|names| names.iter().filter_map(text).collect()),
            states: text(&s["states"]).unwrap_or_default(),
            cpu: numbers(&s["cpu"])
                .into_iter()
                .map(|n| n.min(255) as u8)
                .collect(),
            pods: numbers(&s["pods"]).into_iter().map(|n| n as u32).collect(),
            running: small(&s["running"]).unwrap_or_default(),
            pending: small(&s["pending"]).unwrap_or_default(),
            failing: small(&s["failing"]).unwrap_or_default(),
        };
        if !v.is_object() {
            return Err(format!("not an answer: {v}"));
        }
        Ok(Reply {
            summary,
            output: text(&v["output"]).unwrap_or_default(),
            share: text(&v["share"]),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PodClass {
    Running,
    Pending,
    Failing,
    /// Succeeded or going: counted on its node, in no total.
    Done,
}

fn pod_class(pod: &Value) -> PodClass {
    match kubeplay_core::api::pod::summarize(pod).health() {
        PodHealth::Running => PodClass::Running,
        PodHealth::Pending => PodClass::Pending,
        PodHealth::Failing => PodClass::Failing,
        PodHealth::Terminating | PodHealth::Completed => PodClass::Done,
    }
}

fn key_of(obj: &Value) -> String {
    format!(
        "{}/{}",
        kubeplay_core::api::meta::namespace(obj),
        kubeplay_core::api::meta::name(obj)
    )
}

/// The map's numbers, kept from the watches' events.
pub struct MapIndex {
    node_watch: Option<WatchId>,
    pod_watch: Option<WatchId>,
    names: Vec<String>,
    position: BTreeMap<String, usize>,
    nodes: Vec<NodeRow>,
    pods: BTreeMap<String, PodRow>,
    /// Pods Running, Pending and failing, kept as pods change (not counted per tick).
    totals: [u32; 3],
    names_sent: bool,
}

/// Where a pod class counts in `MapIndex::totals`.
fn total_slot(class: PodClass) -> Option<usize> {
    match class {
        PodClass::Running => Some(0),
        PodClass::Pending => Some(1),
        PodClass::Failing => Some(2),
        PodClass::Done => None,
    }
}

impl MapIndex {
    pub fn new(cluster: &Cluster) -> MapIndex {
        MapIndex {
            node_watch: cluster.observe("/api/v1/nodes?watch=true"),
            pod_watch: cluster.observe("/api/v1/pods?watch=true"),
            names: Vec::new(),
            position: BTreeMap::new(),
            nodes: Vec::new(),
            pods: BTreeMap::new(),
            totals: [0; 3],
            names_sent: false,
        }
    }

    /// Takes in what the watches saw since the last call.
    pub fn update(&mut self, cluster: &Cluster) {
        for event in self.node_watch.map(|w| cluster.poll(w)).unwrap_or_default() {
            self.on_node(&event);
        }
        for event in self.pod_watch.map(|w| cluster.poll(w)).unwrap_or_default() {
            self.on_pod(&event);
        }
    }

    fn node_position(&mut self, name: &str) -> usize {
        if let Some(i) = self.position.get(name) {
            return *i;
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.position.insert(name.to_string(), i);
        self.nodes.push(NodeRow {
            state: b'U',
            ..NodeRow::default()
        });
        self.names_sent = false;
        i
    }

    fn on_node(&mut self, event: &WatchEvent) {
        let node = &*event.object;
        let name = kubeplay_core::api::meta::name(node);
        if name.is_empty() {
            return;
        }
        let i = self.node_position(name);
        let row = &mut self.nodes[i];
        if event.is_deleted() {
            row.state = b'U';
            return;
        }
        let ready = kubeplay_core::api::node::ready(node);
        row.state = match (ready, node["spec"]["unschedulable"] == true) {
            (Some(true), true) => b'C',
            (Some(true), false) => b'R',
            (Some(false), _) => b'N',
            (None, _) => b'U',
        };
        row.allocatable_milli_cpu = Resources::from_list(&node["status"]["allocatable"]).milli_cpu;
    }

    fn on_pod(&mut self, event: &WatchEvent) {
        let pod = &*event.object;
        let key = key_of(pod);
        if let Some(old) = self.pods.remove(&key) {
            if let Some(row) = old.node.and_then(|i| self.nodes.get_mut(i)) {
                row.requested_milli_cpu -= old.milli_cpu;
                row.pods = row.pods.saturating_sub(1);
            }
            if let Some(slot) = total_slot(old.class) {
                self.totals[slot] = self.totals[slot].saturating_sub(1);
            }
        }
        if event.is_deleted() {
            return;
        }
        let node = Pod(pod).node_name().map(|n| self.node_position(n));
        let row = PodRow {
            node,
            milli_cpu: PodInfo::from_pod(pod).requests.milli_cpu,
            class: pod_class(pod),
        };
        if let Some(n) = node.and_then(|i| self.nodes.get_mut(i)) {
            n.requested_milli_cpu += row.milli_cpu;
            n.pods += 1;
        }
        if let Some(slot) = total_slot(row.class) {
            self.totals[slot] += 1;
        }
        self.pods.insert(key, row);
    }

    /// The map as it is now; node names only if they changed since the last summary.
    pub fn summary(&mut self, cluster: &Cluster) -> Summary {
        let s = Summary {
            seconds: cluster.elapsed_seconds(),
            revision: cluster.revision(),
            names: (!self.names_sent).then(|| self.names.clone()),
            states: self.nodes.iter().map(|n| n.state as char).collect(),
            cpu: self
                .nodes
                .iter()
                .map(|n| {
                    if n.allocatable_milli_cpu > 0 {
                        (n.requested_milli_cpu * 100 / n.allocatable_milli_cpu).clamp(0, 100) as u8
                    } else {
                        0
                    }
                })
                .collect(),
            pods: self.nodes.iter().map(|n| n.pods).collect(),
            running: self.totals[0],
            pending: self.totals[1],
            failing: self.totals[2],
        };
        self.names_sent = true;
        s
    }
}

/// A large cluster and its map index: what the worker runs (and the page itself, in tests).
pub struct Engine {
    cluster: Cluster,
    index: MapIndex,
}

impl Engine {
    pub fn start(nodes: u32, seed: u64) -> Engine {
        Engine::of(Cluster::sized(seed, nodes))
    }

    /// The cluster of a shared scenario, replayed to where it was shared.
    pub fn open(scenario: &str) -> Result<Engine, String> {
        Cluster::from_scenario(scenario).map(Engine::of)
    }

    fn of(cluster: Cluster) -> Engine {
        let index = MapIndex::new(&cluster);
        Engine { cluster, index }
    }

    /// Carries out one request; `Start` is the caller's (it makes the engine).
    pub fn handle(&mut self, op: &Op) -> Reply {
        let mut share = None;
        let output = match op {
            Op::Start { .. } | Op::Open { .. } => String::new(),
            Op::Share => {
                share = Some(self.cluster.share_fragment());
                String::new()
            }
            Op::Advance { ms } => {
                self.cluster.advance(*ms);
                String::new()
            }
            Op::Apply { yaml } => self
                .cluster
                .apply_manifest(yaml)
                .into_iter()
                .map(|r| r.unwrap_or_else(|e| format!("Error from server: {e}")))
                .collect::<Vec<_>>()
                .join("\n"),
            Op::Kubectl { line } => {
                let out = self.cluster.kubectl(line);
                format!("{}{}", out.stdout, out.stderr)
            }
            Op::Power { node, on } => {
                if self.cluster.set_power(node, *on) {
                    String::new()
                } else {
                    format!("no simulated node {node:?}")
                }
            }
            Op::Partition { node, cut } => {
                if self.cluster.set_partition(node, *cut) {
                    String::new()
                } else {
                    format!("no simulated node {node:?}")
                }
            }
        };
        self.index.update(&self.cluster);
        Reply {
            summary: self.index.summary(&self.cluster),
            output,
            share,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every request and an answer, written and read back.
    #[test]
    fn messages_read_back_as_written() {
        let ops = [
            Op::Start {
                nodes: 5000,
                seed: 7,
            },
            Op::Open {
                scenario: "seed: 1\nsteps: []\n".into(),
            },
            Op::Share,
            Op::Advance { ms: -1 },
            Op::Apply {
                yaml: "kind: Pod".into(),
            },
            Op::Kubectl {
                line: "get pods \"x\"".into(),
            },
            Op::Power {
                node: "node-1".into(),
                on: false,
            },
            Op::Partition {
                node: "node-2".into(),
                cut: true,
            },
        ];
        for op in ops {
            assert_eq!(Op::from_json(&op.to_json()), Ok(op));
        }
        assert!(Op::from_json("{\"fly\": {}}").is_err());
        assert!(Op::from_json("{\"advance\": {\"ms\": \"soon\"}}").is_err());
        let reply = Reply {
            summary: Summary {
                seconds: 12,
                revision: 345,
                names: Some(vec!["node-1".into(), "node-2".into()]),
                states: "RN".into(),
                cpu: vec![0, 100],
                pods: vec![3, 0],
                running: 2,
                pending: 1,
                failing: 0,
            },
            output: "deployment.apps/web created\n".into(),
            share: Some("#scenario=abc".into()),
        };
        assert_eq!(Reply::from_json(&reply.to_json()), Ok(reply.clone()));
        let unchanged = Reply {
            summary: Summary {
                names: None,
                ..reply.summary
            },
            share: None,
            ..reply
        };
        assert_eq!(Reply::from_json(&unchanged.to_json()), Ok(unchanged));
    }

    /// The index's numbers equal what listing the cluster shows, through a deployment
    /// running, a node losing power and its pods moving.
    #[test]
    fn the_summary_follows_the_cluster() {
        let mut e = Engine::start(12, 1);
        let s = e.handle(&Op::Advance { ms: 5_000 });
        let names = s.summary.names.clone().unwrap_or_default();
        assert_eq!(names.len(), 12);
        assert_eq!(s.summary.ready_nodes(), 12);
        // The gallery's nginx, asking for half a CPU per pod.
        let yaml = crate::components::gallery::example("nginx")
            .unwrap()
            .replace(
                "        ports:",
                "        resources: {requests: {cpu: 500m}}\n        ports:",
            );
        let r = e.handle(&Op::Apply { yaml });
        assert_eq!(r.output, "deployment.apps/nginx created");
        let s = e.handle(&Op::Advance { ms: 20_000 }).summary;
        assert_eq!(s.names, None, "names are sent once");
        assert_eq!((s.running, s.pending, s.failing), (3, 0, 0));
        assert_eq!(s.pods.iter().sum::<u32>(), 3);
        let busy: Vec<u8> = s.cpu.iter().copied().filter(|c| *c > 0).collect();
        assert_eq!(busy, [12, 12, 12], "500m of 4 CPUs on three nodes (spread)");
        let wide = e.handle(&Op::Kubectl {
            line: "get pods -o wide --no-headers".into(),
        });
        let node = wide.output.split_whitespace().nth(6).unwrap().to_string();
        let r = e.handle(&Op::Power {
            node: node.clone(),
            on: false,
        });
        assert_eq!(r.output, "");
        // NotReady after 40 s without heartbeats; evicted 300 s later (the default
        // toleration), replaced elsewhere.
        let s = e.handle(&Op::Advance { ms: 400_000 }).summary;
        let i = names.iter().position(|n| *n == node).unwrap();
        assert_eq!(s.states.as_bytes()[i], b'N', "{node} is NotReady");
        assert_eq!(s.running, 3, "the lost pod was replaced elsewhere");
        let listed = e.handle(&Op::Kubectl {
            line: "get pods --no-headers".into(),
        });
        let terminating = listed.output.matches("Terminating").count() as u32;
        assert_eq!(
            s.pods[i], terminating,
            "only a pod being deleted stays on it"
        );
        let r = e.handle(&Op::Power {
            node: "node-99".into(),
            on: false,
        });
        assert_eq!(r.output, "no simulated node \"node-99\"");
        // Shared and opened again: the same map.
        let now = e.handle(&Op::Advance { ms: 1_500 }).summary;
        let link = e.handle(&Op::Share).share.unwrap();
        let yaml = crate::cluster::fragment_yaml(&link).unwrap().unwrap();
        let mut opened = Engine::open(&yaml).unwrap();
        let again = opened.handle(&Op::Advance { ms: 0 }).summary;
        assert_eq!(again.seconds, now.seconds);
        assert_eq!(
            (again.states, again.cpu, again.pods),
            (now.states, now.cpu, now.pods)
        );
    }
}
