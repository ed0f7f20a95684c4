//! The in-page cluster: the whole control plane (API server, controllers, scheduler, three
//! simulated nodes) on the virtual clock, and the client actions the page takes on it — the
//! same requests kubectl makes, with the same answers.

use kubeplay_core::api::pod::{Pod, PodHealth};
use std::cell::RefCell;
use std::rc::Rc;

use kubeplay_core::apiserver::registry;
use kubeplay_core::apiserver::{Config, Method, Request, OBSERVER_TOKEN};
use kubeplay_core::client::{collection_path, object_path};
use serde_json::Value;

mod real_node;

pub use real_node::{LogDone, LogReader};

/// Simulated nodes the page starts with.
pub const NODES: u32 = 3;

/// Shared handle to the in-page cluster; cloned into components as a property.
#[derive(Clone)]
pub struct Cluster {
    inner: Rc<RefCell<kubeplay_core::cluster::Cluster>>,
    /// What the user did, as scenario steps, so the run can be shared and replayed.
    recording: Rc<RefCell<Recording>>,
    /// The last `kubectl logs` of a pod on a real machine: `(node, path)` to read there.
    real_log_read: Rc<RefCell<Option<(String, String)>>>,
    /// Reads a log file on a real machine (the bridge connection, while joined).
    real_log_reader: Rc<RefCell<Option<real_node::LogReader>>>,
}

/// The user's actions as scenario steps (`apply`, `kubectl`, `power_off`, with `advance`
/// between them for the virtual time that passed).
#[derive(Default)]
struct Recording {
    seed: u64,
    /// The scenario's cluster as it was given (`nodes`, `scheduler_config`), written back
    /// unchanged into what is shared.
    cluster: serde_json::Map<String, Value>,
    steps: Vec<Value>,
    /// Virtual milliseconds since the start at the last recorded step.
    at_ms: i64,
}

/// The scenario YAML in a `#scenario=<base64url>` fragment, if there is one.
pub fn fragment_yaml(fragment: &str) -> Option<Result<String, String>> {
    use base64::Engine;
    let encoded = fragment.trim_start_matches('#').strip_prefix("scenario=")?;
    Some(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|e| format!("the shared link is damaged: {e}"))
            .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string())),
    )
}

/// A scenario document: seed, the cluster as given, steps.
fn scenario_doc(seed: u64, cluster: serde_json::Map<String, Value>, steps: Vec<Value>) -> Value {
    let mut doc = cluster;
    doc.insert("seed".into(), seed.into());
    doc.insert("steps".into(), Value::Array(steps));
    Value::Object(doc)
}

impl PartialEq for Cluster {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster::new(1)
    }
}

#[cfg(test)]
mod tests {
    use super::Cluster;

    /// A shared run replays identically: the same trace, event for event.
    #[test]
    fn a_shared_scenario_replays_the_same_run() {
        let page = Cluster::new(1);
        page.advance(750);
        page.apply_manifest(crate::components::gallery::example("nginx").unwrap());
        page.advance(5_250);
        page.kubectl("scale deployment nginx --replicas=5");
        page.advance(3_000);
        page.set_power("node-2", false);
        page.advance(20_000);
        let first = page.kubectl("get pods -o name").stdout;
        let first = first.lines().next().unwrap().trim_start_matches("pod/");
        assert!(page.crash("default", first));
        page.set_partition("node-1", true);
        page.set_registry(false);
        page.advance(60_000);
        page.set_partition("node-1", false);
        page.set_registry(true);
        page.advance(40_000);
        page.kubectl("get pods");
        // Time after the last action is shared too.
        page.advance(2_500);
        let fragment = page.share_fragment();
        let replay = Cluster::from_fragment(&fragment).unwrap().unwrap();
        let render = |c: &Cluster| {
            let inner = c.inner.borrow();
            let events: Vec<_> = inner.world.trace().events().collect();
            kubeplay_core::trace::render(&events, kubeplay_core::sim::EPOCH)
        };
        assert_eq!(replay.elapsed_seconds(), page.elapsed_seconds());
        assert!(
            render(&page).contains("deployments/scale"),
            "the run did something"
        );
        assert_eq!(render(&replay), render(&page));
        // Back to 3 s: the same pods as then, and time is 3 s again.
        let fresh = Cluster::new(1);
        fresh.advance(750);
        fresh.apply_manifest(crate::components::gallery::example("nginx").unwrap());
        fresh.advance(2_250);
        let at_three = fresh.kubectl("get pods -o name").stdout;
        fresh.kubectl("scale deployment nginx --replicas=1");
        fresh.advance(60_000);
        assert_ne!(fresh.kubectl("get pods -o name").stdout, at_three);
        fresh.rewind_to(3).unwrap();
        assert_eq!(fresh.elapsed_seconds(), 3);
        assert_eq!(fresh.kubectl("get pods -o name").stdout, at_three);
        // A damaged link says so instead of opening something else.
        assert!(Cluster::from_fragment("#scenario=!!!").unwrap().is_err());
        assert!(Cluster::from_fragment("#other").is_none());
    }

    /// A shared run keeps its cluster as given: named nodes stay named when it is shared on
    /// or rewound, so steps naming them still work; a crash that could not happen is not
    /// recorded (its replay would fail).
    #[test]
    fn a_shared_run_keeps_its_described_nodes() {
        let yaml = "seed: 3\nnodes: [{name: worker-a}, {name: worker-b, zone: zone-b}]\nsteps:\n  - advance: 2s\n  - partition: worker-a\n";
        let page = Cluster::from_scenario(yaml).unwrap();
        assert!(!page.crash("default", "no-such-pod"));
        page.advance(1_000);
        let shared = page.scenario_yaml();
        assert!(
            shared.contains("name: worker-a") && shared.contains("zone: zone-b"),
            "{shared}"
        );
        assert!(!shared.contains("crash"), "{shared}");
        page.rewind_to(2).unwrap();
        assert_eq!(page.elapsed_seconds(), 2);
        assert!(Cluster::from_scenario(&shared).is_ok());
        let huge = Cluster::from_scenario("nodes: 5001\nsteps: []\n");
        assert!(huge.err().unwrap().contains("more than the 5000"));
    }
}

/// A key in the etcd browser.
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdKey {
    pub key: String,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
}

/// A node on the cluster map.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    pub name: String,
    /// `Ready` or `NotReady` (as kubectl prints it, also when heartbeats stopped).
    pub status: String,
    pub unschedulable: bool,
    pub taints: Vec<String>,
    /// Whether the simulated machine has power (the chaos switch).
    pub powered: bool,
    /// Whether its network to the API server is cut (chaos).
    pub partitioned: bool,
    pub milli_cpu_requested: i64,
    pub milli_cpu_allocatable: i64,
    pub pods: Vec<PodChip>,
    /// A machine a bridge lends: its pods are real containers.
    pub real: bool,
}

/// A pod on the map, coloured by what `kubectl get pods` shows as its status.
#[derive(Clone, Debug, PartialEq)]
pub struct PodChip {
    pub namespace: String,
    pub name: String,
    /// The STATUS kubectl shows, and the colour it takes on the map.
    pub status: String,
    pub health: PodHealth,
    /// `status.podIP`, once the sandbox has one.
    pub ip: String,
}

impl PodChip {
    fn of(pod: &Value) -> PodChip {
        let meta = |field: &str| {
            pod["metadata"][field]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let summary = kubeplay_core::api::pod::summarize(pod);
        PodChip {
            namespace: meta("namespace"),
            name: meta("name"),
            health: summary.health(),
            status: summary.status,
            ip: pod["status"]["podIP"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// One row of the object browser.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRow {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// What `kubectl get` would show first: a pod's phase, a node's readiness, replicas.
    pub status: String,
    pub resource_version: String,
}

fn status_of(kind: &str, o: &Value) -> String {
    let s = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let n = |p: &str| o.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    match kind {
        "Pod" => kubeplay_core::api::pod::summarize(o).status,
        "Node" => kubeplay_core::api::node::status(o).into(),
        "Deployment" | "StatefulSet" => format!(
            "{}/{} ready",
            n("/status/readyReplicas"),
            n("/spec/replicas")
        ),
        "ReplicaSet" => format!(
            "{}/{} ready",
            n("/status/readyReplicas"),
            n("/spec/replicas")
        ),
        "Namespace" => s("/status/phase"),
        _ => String::new(),
    }
}

impl Cluster {
    pub fn new(seed: u64) -> Cluster {
        Cluster::sized(seed, NODES)
    }

    /// A cluster of `nodes` simulated nodes (4 CPUs, 8 GiB each).
    pub fn sized(seed: u64, nodes: u32) -> Cluster {
        let mut cluster = kubeplay_core::cluster::Cluster::with_nodes(
            Config {
                seed,
                ..Config::default()
            },
            nodes,
        );
        // The request inspector shows what each admission plugin changed; a large cluster
        // (no inspector) does without the copies that costs.
        cluster.world.api().record_admission_patches(nodes <= NODES);
        Cluster {
            inner: Rc::new(RefCell::new(cluster)),
            recording: Rc::new(RefCell::new(Recording {
                seed,
                cluster: [("nodes".to_string(), serde_json::json!(nodes))]
                    .into_iter()
                    .collect(),
                ..Recording::default()
            })),
            real_log_read: Rc::default(),
            real_log_reader: Rc::default(),
        }
    }

    /// Replays a shared scenario (YAML): the same seed and steps give the same cluster.
    pub fn from_scenario(yaml: &str) -> Result<Cluster, String> {
        let scenario = kubeplay_core::scenario::parse(yaml)?;
        let mut cluster = kubeplay_core::scenario::build(&scenario)?;
        let small = match &scenario.nodes {
            kubeplay_core::scenario::Nodes::Count(n) => *n <= NODES,
            kubeplay_core::scenario::Nodes::List(l) => l.len() <= NODES as usize,
        };
        cluster.world.api().record_admission_patches(small);
        kubeplay_core::scenario::play(&mut cluster, &scenario)?;
        let doc: Value = kubeplay_core::yaml::from_str(yaml).map_err(|e| e.to_string())?;
        let at_ms = cluster.world.now().millis() - kubeplay_core::sim::EPOCH.millis();
        Ok(Cluster {
            inner: Rc::new(RefCell::new(cluster)),
            recording: Rc::new(RefCell::new(Recording {
                seed: scenario.seed,
                cluster: ["nodes", "scheduler_config"]
                    .into_iter()
                    .filter(|k| !doc[*k].is_null())
                    .map(|k| (k.to_string(), doc[k].clone()))
                    .collect(),
                steps: doc["steps"].as_array().cloned().unwrap_or_default(),
                at_ms,
            })),
            real_log_read: Rc::default(),
            real_log_reader: Rc::default(),
        })
    }

    /// Opens the scenario in a `#scenario=<base64url>` fragment, if there is a valid one.
    pub fn from_fragment(fragment: &str) -> Option<Result<Cluster, String>> {
        Some(fragment_yaml(fragment)?.and_then(|y| Cluster::from_scenario(&y)))
    }

    fn record(&self, step: Value) {
        let now = self.inner.borrow().world.now().millis() - kubeplay_core::sim::EPOCH.millis();
        let mut r = self.recording.borrow_mut();
        if now > r.at_ms {
            let waited = now - r.at_ms;
            r.steps
                .push(serde_json::json!({"advance": format!("{waited}ms")}));
            r.at_ms = now;
        }
        r.steps.push(step);
    }

    /// Goes back (or forward, up to now) to `seconds` of virtual time by replaying the run
    /// from its seed: the actions before that moment, then time up to it. Actions recorded
    /// after it are dropped, as the run now continues from there.
    pub fn rewind_to(&self, seconds: i64) -> Result<(), String> {
        if self.has_real_node_running() {
            return Err(
                "a real machine is joined: its containers really ran, and cannot be replayed"
                    .into(),
            );
        }
        let target = seconds.max(0) * 1000;
        let (seed, cluster, steps) = {
            let r = self.recording.borrow();
            let mut kept = Vec::new();
            let mut at = 0;
            for step in &r.steps {
                match step["advance"].as_str() {
                    Some(d) => {
                        let ms = kubeplay_core::scenario::parse_duration(d)?;
                        if at + ms > target {
                            break;
                        }
                        at += ms;
                        kept.push(step.clone());
                    }
                    None => kept.push(step.clone()),
                }
            }
            if target > at {
                kept.push(serde_json::json!({"advance": format!("{}ms", target - at)}));
            }
            (r.seed, r.cluster.clone(), kept)
        };
        let doc = scenario_doc(seed, cluster, steps);
        let yaml = kubeplay_core::yaml::to_string(&doc);
        let replayed = Cluster::from_scenario(&yaml)?;
        let docs = self.inner.borrow_mut().explain_docs.take();
        *self.inner.borrow_mut() = Rc::try_unwrap(replayed.inner)
            .map_err(|_| "the replay is shared".to_string())?
            .into_inner();
        self.inner.borrow_mut().explain_docs = docs;
        *self.recording.borrow_mut() = Rc::try_unwrap(replayed.recording)
            .map_err(|_| "the replay is shared".to_string())?
            .into_inner();
        Ok(())
    }

    /// What the user did so far, as a scenario (YAML) that replays it.
    pub fn scenario_yaml(&self) -> String {
        let now = self.inner.borrow().world.now().millis() - kubeplay_core::sim::EPOCH.millis();
        let r = self.recording.borrow();
        let mut steps = r.steps.clone();
        // The time since the last action, so the replay ends where this run stands.
        if now > r.at_ms {
            steps.push(serde_json::json!({"advance": format!("{}ms", now - r.at_ms)}));
        }
        let doc = scenario_doc(r.seed, r.cluster.clone(), steps);
        kubeplay_core::yaml::to_string(&doc)
    }

    /// The scenario as a URL fragment (`#scenario=…`).
    pub fn share_fragment(&self) -> String {
        use base64::Engine;
        let yaml = self.scenario_yaml();
        format!(
            "#scenario={}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(yaml)
        )
    }

    /// Hands `kubectl explain` its documentation (`explain.json`, fetched by the page).
    pub fn set_explain_docs(&self, json: &str) -> Result<(), String> {
        let docs = serde_json::from_slice(json.as_bytes()).map_err(|e| e.to_string())?;
        self.inner.borrow_mut().explain_docs = Some(docs);
        Ok(())
    }

    pub fn revision(&self) -> i64 {
        self.inner.borrow().world.api_ref().revision()
    }

    /// Runs to the next thing that happens (a timer, a watch delivery) and handles
    /// everything due then; the virtual seconds it took.
    pub fn step_event(&self) -> f64 {
        let mut inner = self.inner.borrow_mut();
        let before = inner.world.now();
        if let Some(at) = inner.world.next_event_at() {
            inner.world.run_until(at);
        }
        (inner.world.now().millis() - before.millis()) as f64 / 1000.0
    }

    /// Lets `ms` of virtual time pass: every control loop runs what falls due.
    pub fn advance(&self, ms: i64) {
        self.inner.borrow_mut().world.advance(ms);
    }

    /// Virtual seconds since the cluster started.
    pub fn elapsed_seconds(&self) -> i64 {
        let now = self.inner.borrow().world.now();
        (now.millis() - kubeplay_core::sim::EPOCH.millis()) / 1000
    }

    /// Opens a watch as the page's observer (left out of the story, like `look`).
    pub fn observe(&self, path: &str) -> Option<kubeplay_core::apiserver::watch::WatchId> {
        let req = Request::new(Method::Get, path).bearer(OBSERVER_TOKEN);
        self.inner.borrow_mut().world.api().handle(&req).watch
    }

    /// The events an observer's watch has gathered since the last call.
    pub fn poll(
        &self,
        watch: kubeplay_core::apiserver::watch::WatchId,
    ) -> Vec<kubeplay_core::apiserver::watch::WatchEvent> {
        let mut inner = self.inner.borrow_mut();
        inner.world.api().poll_watch(watch).unwrap_or_default()
    }

    /// A read the page's views make to draw the cluster: not part of the story it tells.
    fn look(&self, req: Request) -> Value {
        let resp = self
            .inner
            .borrow_mut()
            .world
            .api()
            .handle(&req.bearer(OBSERVER_TOKEN));
        resp.into_value()
    }

    /// Applies every document of a YAML manifest, as `kubectl apply -f` does; returns one
    /// line per document, `deployment.apps/web created` (or `configured`, `unchanged`) or the
    /// server's error message.
    pub fn apply_manifest(&self, yaml: &str) -> Vec<Result<String, String>> {
        self.record(serde_json::json!({"apply": yaml}));
        let mut inner = self.inner.borrow_mut();
        kubeplay_core::kubectl::apply::apply_manifest(&mut *inner, yaml, "default")
            .into_iter()
            .map(|r| r.map_err(|e| e.message))
            .collect()
    }

    /// Names of the objects of a resource type (in `default`), for tab completion.
    pub fn names(&self, resource: &str) -> Vec<String> {
        let Some(res) = kubeplay_core::kubectl::resolve(resource) else {
            return Vec::new();
        };
        let path = collection_path(res, res.namespaced.then_some("default"));
        let list = self.look(Request::new(Method::Get, &path));
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    /// The last `n` things the control plane did (requests, watch deliveries, CRI calls).
    pub fn recent_events(&self, n: usize) -> Vec<kubeplay_core::trace::TraceEvent> {
        let inner = self.inner.borrow();
        let trace = inner.world.trace();
        let skip = trace.len().saturating_sub(n);
        trace.events().skip(skip).cloned().collect()
    }

    /// The current virtual time.
    pub fn now(&self) -> kubeplay_core::sim::Time {
        self.inner.borrow().world.now()
    }

    /// An object as YAML, for the narrator (`resource` as the trace names it: `pods`,
    /// `pods/binding`, `deployments`).
    pub fn object_yaml(&self, resource: &str, namespace: &str, name: &str) -> Option<String> {
        let base = resource.split('/').next().unwrap_or(resource);
        let res = kubeplay_core::kubectl::resolve(base)?;
        let ns = (res.namespaced && !namespace.is_empty()).then_some(namespace);
        let obj = self.look(Request::new(Method::Get, &object_path(res, ns, name)));
        (obj["kind"] != "Status").then(|| kubeplay_core::yaml::to_string(&obj))
    }

    /// A kubectl command the page runs to draw a view (as the observer: not in the trace).
    pub fn look_kubectl(&self, line: &str) -> String {
        struct Observer<'a>(&'a Cluster);
        impl kubeplay_core::kubectl::Api for Observer<'_> {
            fn send(&mut self, req: Request) -> kubeplay_core::apiserver::Response {
                let req = req.bearer(OBSERVER_TOKEN);
                self.0.inner.borrow_mut().handle(&req)
            }
            fn now(&self) -> kubeplay_core::sim::Time {
                self.0.inner.borrow().world.now()
            }
        }
        kubeplay_core::kubectl::run(&mut Observer(self), line).stdout
    }

    /// etcd's keys under `prefix` (at most `limit`), as `(key, create rev, mod rev, version)`,
    /// with the store's revision and compaction revision.
    pub fn etcd_keys(&self, prefix: &str, limit: usize) -> (Vec<EtcdKey>, i64, i64) {
        let inner = self.inner.borrow();
        let store = inner.world.api_ref().store();
        let keys = store
            .range(prefix, None, limit)
            .kvs
            .into_iter()
            .map(|kv| EtcdKey {
                key: kv.key.to_string(),
                create_revision: kv.create_revision,
                mod_revision: kv.mod_revision,
                version: kv.version,
            })
            .collect();
        (keys, store.revision(), store.compact_revision())
    }

    /// One key's value (pretty JSON) and its changes still in history:
    /// `(revision, PUT|DELETE, version)`.
    pub fn etcd_entry(&self, key: &str) -> (Option<String>, Vec<(i64, &'static str, i64)>) {
        let inner = self.inner.borrow();
        let store = inner.world.api_ref().store();
        let value = store.get(key).map(|kv| {
            serde_json::from_slice::<Value>(&kv.value)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| String::from_utf8_lossy(&kv.value).to_string())
        });
        let history = store
            .history_of(key)
            .map(|e| {
                let kind = match e.kind {
                    kubeplay_core::store::EventType::Put => "PUT",
                    kubeplay_core::store::EventType::Delete => "DELETE",
                };
                (e.revision.main, kind, e.kv.version)
            })
            .collect();
        (value, history)
    }

    /// Runs a kubectl command line in the terminal. `kubectl logs` of a pod on a real
    /// machine prints nothing here: its log file is on the machine, and the terminal asks
    /// for it ([`Cluster::take_real_log_read`]).
    pub fn kubectl(&self, line: &str) -> kubeplay_core::kubectl::Output {
        self.record(serde_json::json!({"kubectl": line}));
        let mut inner = self.inner.borrow_mut();
        let mut terminal = real_node::Terminal {
            cluster: &mut inner,
            log_read: None,
        };
        let out = kubeplay_core::kubectl::run(&mut terminal, line);
        let read = terminal.log_read.take();
        drop(inner);
        *self.real_log_read.borrow_mut() = read;
        out
    }

    /// The scheduler's latest decision about `namespace/name`.
    pub fn decision(&self, pod: &str) -> Option<kubeplay_core::scheduler::framework::Decision> {
        self.inner.borrow().decision_for(pod)
    }

    /// Cuts or restores a node's power (its kubelet stops; heartbeats stop).
    pub fn set_power(&self, node: &str, on: bool) -> bool {
        let step = if on { "power_on" } else { "power_off" };
        // Recorded only if it happened: a replay of a step on no node is an error.
        let done = self.inner.borrow_mut().set_node_power(node, on);
        if done {
            self.record(serde_json::json!({ step: node }));
        }
        done
    }

    /// Cuts (`true`) or heals a node's network to the API server.
    pub fn set_partition(&self, node: &str, on: bool) -> bool {
        let step = if on { "partition" } else { "heal" };
        let done = self.inner.borrow_mut().set_node_partitioned(node, on);
        if done {
            self.record(serde_json::json!({ step: node }));
        }
        done
    }

    /// Kills a pod's (first) container: it exits with 137 and its kubelet restarts it.
    pub fn crash(&self, namespace: &str, pod: &str) -> bool {
        // Recorded only if it happened: a replay of a crash that could not be is an error.
        let crashed = self
            .inner
            .borrow_mut()
            .crash_container(namespace, pod, None);
        if crashed {
            self.record(serde_json::json!({"crash": {"pod": pod, "namespace": namespace}}));
        }
        crashed
    }

    /// Takes the image registry down (`false`: every pull fails) or brings it back.
    pub fn set_registry(&self, up: bool) {
        self.record(serde_json::json!({"registry": if up { "up" } else { "down" }}));
        self.inner.borrow_mut().set_registry_reachable(up);
    }

    pub fn registry_up(&self) -> bool {
        self.inner.borrow().registry_reachable()
    }

    /// The nodes with their pods, for the cluster map.
    pub fn nodes(&self) -> Vec<NodeView> {
        let nodes = self.look(Request::new(Method::Get, "/api/v1/nodes"));
        let pods = self.look(Request::new(Method::Get, "/api/v1/pods"));
        let pods: Vec<Value> = pods["items"].as_array().cloned().unwrap_or_default();
        let powered = |name: &str| self.inner.borrow().node_powered(name);
        nodes["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                let name = n["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let mut requested = 0;
                let chips: Vec<PodChip> = pods
                    .iter()
                    .filter(|p| Pod(p).node_name() == Some(name.as_str()))
                    .map(|p| {
                        requested += kubeplay_core::scheduler::framework::PodInfo::from_pod(p)
                            .requests
                            .milli_cpu;
                        PodChip::of(p)
                    })
                    .collect();
                let allocatable = kubeplay_core::scheduler::framework::Resources::from_list(
                    &n["status"]["allocatable"],
                )
                .milli_cpu;
                NodeView {
                    status: status_of("Node", n),
                    unschedulable: n["spec"]["unschedulable"] == true,
                    taints: n["spec"]["taints"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|t| {
                            format!(
                                "{}={}:{}",
                                t["key"].as_str().unwrap_or_default(),
                                t["value"].as_str().unwrap_or_default(),
                                t["effect"].as_str().unwrap_or_default()
                            )
                        })
                        .collect(),
                    powered: powered(&name),
                    real: self.inner.borrow().is_remote_node(&name),
                    partitioned: self.inner.borrow().node_partitioned(&name),
                    name,
                    milli_cpu_requested: requested,
                    milli_cpu_allocatable: allocatable,
                    pods: chips,
                }
            })
            .collect()
    }

    /// Pending pods (no node yet), for the map's waiting area.
    pub fn pending_pods(&self) -> Vec<PodChip> {
        let pods = self.look(Request::new(Method::Get, "/api/v1/pods"));
        pods["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| Pod(p).node_name().is_none())
            .map(PodChip::of)
            .collect()
    }

    /// Every object in the store, as the etcd browser lists it (events and leases aside: they
    /// change all the time and are shown elsewhere).
    pub fn objects(&self) -> Vec<ObjectRow> {
        let mut rows = Vec::new();
        for res in registry::RESOURCES
            .iter()
            .filter(|r| r.serves("list") && r.name != "events" && r.name != "leases")
        {
            let list = self.look(Request::new(Method::Get, &collection_path(res, None)));
            for item in list["items"].as_array().into_iter().flatten() {
                rows.push(ObjectRow {
                    kind: res.kind.to_string(),
                    namespace: item["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    name: item["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    status: status_of(res.kind, item),
                    resource_version: item["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                });
            }
        }
        rows
    }
}
