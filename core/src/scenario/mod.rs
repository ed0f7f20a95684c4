//! Scenarios: a cluster, and what happens to it — manifests applied, time passing, nodes
//! losing power — as data (YAML). The same scenario with the same seed gives the same trace,
//! natively and in the browser; tests compare that trace with a stored snapshot, and the page
//! will share scenarios by URL.
//!
//! ```yaml
//! seed: 1
//! nodes: 3              # or each node: [{cpu: "2", memory: 4Gi, zone: zone-a,
//!                       #   labels: {...}, taints: [...], images: [nginx:1.14.2]}]
//! steps:
//!   - apply: |
//!       apiVersion: apps/v1
//!       kind: Deployment
//!       ...
//!   - advance: 10s
//!   - power_off: node-2       # also power_on, partition, heal
//!   - crash: {pod: web-0}     # its container exits 137 (optional namespace, container)
//!   - registry: down          # every image pull fails until `registry: up`
//!   - add_node: {cpu: "8", memory: 16Gi}
//!   - kubectl: scale deployment/web --replicas=5
//!   - expect: {selector: app=web, pods_per_node: {node-1: 2, node-2: 1}}
//! ```
//!
//! `expect` steps check what a user would see at that moment (see [`expect::Expect`]); a
//! scenario whose expectation fails stops with an error naming it. `scheduler_config` holds
//! a `KubeSchedulerConfiguration` for the scheduler's profiles.

mod expect;

pub use expect::Expect;

use serde::Deserialize;
use serde_json::Value;

use crate::apiserver::{registry, Config, Method, Request, ADMIN_TOKEN};
use crate::client;
pub use crate::clock::parse_duration;
use crate::cluster::Cluster;
use crate::kubelet::node::NodeSpec;
use crate::scheduler::profile::SchedulerConfig;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "one")]
    pub seed: u64,
    #[serde(default)]
    pub nodes: Nodes,
    /// A `KubeSchedulerConfiguration` (YAML) for the scheduler; the default profile if none.
    #[serde(default)]
    pub scheduler_config: Option<String>,
    /// Each step a one-key map (`- advance: 10s`).
    pub steps: Vec<Step>,
}

fn one() -> u64 {
    1
}

/// The cluster's nodes: a count of default nodes (4 CPUs, 8 GiB), or each described.
#[derive(Clone, Debug)]
pub enum Nodes {
    Count(u32),
    List(Vec<NodeSpec>),
}

impl Default for Nodes {
    fn default() -> Self {
        Nodes::Count(0)
    }
}

#[derive(Clone, Debug)]
pub enum Step {
    /// Creates (or, if it exists, merge-patches) every document of a manifest, as kubectl.
    Apply(String),
    /// Lets virtual time pass: `500ms`, `10s`, `6m`.
    Advance(String),
    /// Deletes `kind/name` in `default` (`deployment/nginx`), as kubectl.
    Delete(String),
    /// Cuts a node's power.
    PowerOff(String),
    /// Restores a node's power.
    PowerOn(String),
    /// Cuts the network between a node and the API server.
    Partition(String),
    /// Heals a node's partition.
    Heal(String),
    /// Kills a pod's container (exit code 137).
    Crash(CrashTarget),
    /// The image registry goes `down` (every pull fails) or comes back `up`.
    Registry(String),
    /// Adds a simulated node, described as in `nodes`.
    AddNode(NodeSpec),
    /// Runs a kubectl command line (the page's terminal); what it prints is not checked.
    Kubectl(String),
    /// Checks the cluster as a user would see it now.
    Expect(Box<Expect>),
}

// `Nodes` and `Step` are read from the document by hand: serde's derived decoders for an
// untagged enum and a twelve-way enum cost the page more than the scenarios' own code.

impl<'de> Deserialize<'de> for Nodes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Nodes::Count)
                .ok_or_else(|| D::Error::custom(format!("nodes: want a count, got {n}"))),
            Value::Array(mut list) => {
                list.iter_mut().for_each(node_spec_texts);
                serde_json::from_value(Value::Array(list))
                    .map(Nodes::List)
                    .map_err(|e| D::Error::custom(format!("nodes: {e}")))
            }
            other => Err(D::Error::custom(format!(
                "nodes: want a count or a list of nodes, got {other}"
            ))),
        }
    }
}

/// A number or boolean where text is meant (`cpu: 8`, `rack: 1` in YAML), as text.
fn to_text(v: &mut Value) {
    if matches!(v, Value::Number(_) | Value::Bool(_)) {
        *v = Value::String(v.to_string());
    }
}

fn texts(v: &mut Value, fields: &[&str]) {
    for f in fields {
        if let Some(x) = v.get_mut(*f) {
            to_text(x);
        }
    }
}

/// A node's description with its text fields as text.
fn node_spec_texts(v: &mut Value) {
    texts(v, &["name", "cpu", "memory", "zone"]);
    if let Some(Value::Object(labels)) = v.get_mut("labels") {
        labels.values_mut().for_each(to_text);
    }
    if let Some(Value::Array(images)) = v.get_mut("images") {
        images.iter_mut().for_each(to_text);
    }
}

/// An `expect` step with its text fields as text.
fn expect_texts(v: &mut Value) {
    texts(v, &["selector"]);
    if let Some(Value::Object(pods)) = v.get_mut("pods") {
        pods.values_mut()
            .for_each(|p| texts(p, &["node", "phase", "nominated_node"]));
    }
    if let Some(Value::Object(objects)) = v.get_mut("objects") {
        for fields in objects.values_mut() {
            if let Value::Object(fields) = fields {
                fields.values_mut().for_each(to_text);
            }
        }
    }
}

const STEPS: &str = "apply, advance, delete, power_off, power_on, partition, heal, crash, registry, add_node, kubectl, expect";

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Value::deserialize(d)?;
        let one_key = v.as_object().filter(|m| m.len() == 1);
        let Some((name, arg)) = one_key.and_then(|m| m.iter().next()) else {
            return Err(D::Error::custom(format!(
                "a step is a map with one key ({STEPS}), got {v}"
            )));
        };
        let text = || match arg {
            Value::String(s) => Ok(s.clone()),
            Value::Number(_) | Value::Bool(_) => Ok(arg.to_string()),
            _ => Err(D::Error::custom(format!(
                "{name}: want a string, got {arg}"
            ))),
        };
        let typed = |what| D::Error::custom(format!("{name}: {what}"));
        let with_texts = |fix: fn(&mut Value)| {
            let mut arg = arg.clone();
            fix(&mut arg);
            arg
        };
        Ok(match name.as_str() {
            "apply" => Step::Apply(text()?),
            "advance" => Step::Advance(text()?),
            "delete" => Step::Delete(text()?),
            "power_off" => Step::PowerOff(text()?),
            "power_on" => Step::PowerOn(text()?),
            "partition" => Step::Partition(text()?),
            "heal" => Step::Heal(text()?),
            "registry" => Step::Registry(text()?),
            "kubectl" => Step::Kubectl(text()?),
            "crash" => Step::Crash(
                serde_json::from_value(with_texts(|v| {
                    texts(v, &["pod", "namespace", "container"])
                }))
                .map_err(typed)?,
            ),
            "add_node" => {
                Step::AddNode(serde_json::from_value(with_texts(node_spec_texts)).map_err(typed)?)
            }
            "expect" => {
                Step::Expect(serde_json::from_value(with_texts(expect_texts)).map_err(typed)?)
            }
            other => {
                return Err(D::Error::custom(format!(
                    "unknown step `{other}`, expected one of {STEPS}"
                )))
            }
        })
    }
}

/// The container a `crash` step kills: `{pod: web-0}`, optionally `namespace` (`default`)
/// and `container` (the first).
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CrashTarget {
    pub pod: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default)]
    pub container: Option<String>,
}

fn default_namespace() -> String {
    "default".into()
}

pub(crate) fn send(cluster: &mut Cluster, req: Request) -> Value {
    cluster.world.api().handle(&req.bearer(ADMIN_TOKEN)).value()
}

/// Applies a manifest as `kubectl apply -f` does; the first document refused stops the run.
fn apply(cluster: &mut Cluster, manifest: &str) -> Result<(), String> {
    crate::kubectl::apply::apply_manifest(cluster, manifest, "default")
        .into_iter()
        .try_for_each(|r| r.map(drop).map_err(|e| e.message))
}

/// Runs a scenario from the start; returns the cluster as it ends.
pub fn run(scenario: &Scenario) -> Result<Cluster, String> {
    let mut cluster = build(scenario)?;
    play(&mut cluster, scenario)?;
    Ok(cluster)
}

/// The scenario's cluster before its first step: control plane, scheduler profiles, nodes.
pub fn build(scenario: &Scenario) -> Result<Cluster, String> {
    let scheduler = match &scenario.scheduler_config {
        Some(text) => SchedulerConfig::parse(text).map_err(|e| format!("scheduler_config: {e}"))?,
        None => SchedulerConfig::default(),
    };
    let config = Config {
        seed: scenario.seed,
        ..Config::default()
    };
    let mut cluster = Cluster::with_scheduler(config, scheduler);
    match &scenario.nodes {
        Nodes::Count(n) => (0..*n).for_each(|_| {
            cluster.add_node(&NodeSpec::default());
        }),
        Nodes::List(specs) => specs.iter().for_each(|spec| {
            cluster.add_node(spec);
        }),
    }
    Ok(cluster)
}

/// Plays the scenario's steps on `cluster`.
pub fn play(cluster: &mut Cluster, scenario: &Scenario) -> Result<(), String> {
    for step in &scenario.steps {
        match step {
            Step::Apply(manifest) => apply(cluster, manifest)?,
            Step::Advance(d) => cluster.world.advance(parse_duration(d)?),
            Step::Delete(target) => {
                let path = object_path(target)?;
                send(cluster, Request::new(Method::Delete, &path));
            }
            Step::AddNode(spec) => {
                cluster.add_node(spec);
            }
            Step::Expect(e) => e.check(cluster)?,
            Step::Kubectl(line) => {
                crate::kubectl::run(cluster, line);
            }
            Step::PowerOff(node) | Step::PowerOn(node) => {
                if !cluster.set_node_power(node, matches!(step, Step::PowerOn(_))) {
                    return Err(format!("no simulated node {node:?}"));
                }
            }
            Step::Partition(node) | Step::Heal(node) => {
                if !cluster.set_node_partitioned(node, matches!(step, Step::Partition(_))) {
                    return Err(format!("no simulated node {node:?}"));
                }
            }
            Step::Crash(t) => {
                if !cluster.crash_container(&t.namespace, &t.pod, t.container.as_deref()) {
                    return Err(format!(
                        "no running container of pod {}/{}",
                        t.namespace, t.pod
                    ));
                }
            }
            Step::Registry(state) => match state.as_str() {
                "down" => cluster.set_registry_reachable(false),
                "up" => cluster.set_registry_reachable(true),
                other => return Err(format!("registry: want down or up, got {other:?}")),
            },
        }
    }
    Ok(())
}

/// `kind/name` (kind as kubectl takes it: `deployment`, `pvc`, `persistentvolumes`) → the
/// object's path, in `default` when namespaced.
pub(crate) fn object_path(target: &str) -> Result<String, String> {
    let (kind, name) = target
        .split_once('/')
        .ok_or_else(|| format!("want kind/name, got {target:?}"))?;
    let res = registry::RESOURCES
        .iter()
        .find(|r| r.singular == kind || r.name == kind || r.short_names.contains(&kind))
        .ok_or_else(|| format!("no resource {kind:?}"))?;
    Ok(client::object_path(
        res,
        res.namespaced.then_some("default"),
        name,
    ))
}

/// The most simulated nodes a scenario may ask for (pod subnets stay clear of the service
/// range up to 24,575; the page's largest cluster is 5,000).
pub const MAX_NODES: u32 = 5_000;

pub fn parse(yaml: &str) -> Result<Scenario, String> {
    let doc = crate::yaml::from_str(yaml).map_err(|e| format!("scenario: {e}"))?;
    let scenario: Scenario = serde_json::from_value(doc).map_err(|e| format!("scenario: {e}"))?;
    let count = match &scenario.nodes {
        Nodes::Count(n) => *n as usize,
        Nodes::List(l) => l.len(),
    };
    if count > MAX_NODES as usize {
        return Err(format!(
            "scenario: nodes: {count} is more than the {MAX_NODES} simulated nodes a cluster may have"
        ));
    }
    Ok(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_nodes_read_by_hand_say_what_is_wrong() {
        let s = parse(
            "nodes: 2\nsteps:\n- advance: 1s\n- crash: {pod: web-0}\n- add_node: {cpu: \"8\"}\n",
        )
        .expect("parses");
        assert!(matches!(s.nodes, Nodes::Count(2)));
        assert!(matches!(&s.steps[0], Step::Advance(d) if d == "1s"));
        assert!(
            matches!(&s.steps[1], Step::Crash(t) if t.pod == "web-0" && t.namespace == "default")
        );
        assert!(matches!(&s.steps[2], Step::AddNode(n) if n.cpu == "8"));
        let listed = parse("nodes: [{cpu: \"2\"}, {zone: zone-b}]\nsteps: []\n").expect("parses");
        assert!(matches!(&listed.nodes, Nodes::List(l) if l.len() == 2));
        // Numbers where text is meant, as YAML reads `cpu: 8`.
        let loose = parse(
            "nodes: [{cpu: 8, memory: 16, labels: {rack: 1}}]\nsteps:\n- power_off: 2\n- add_node: {cpu: 4}\n\
             - expect: {objects: {pod/x: {restartCount: 1}}}\n",
        )
        .expect("parses");
        assert!(
            matches!(&loose.nodes, Nodes::List(l) if l[0].cpu == "8" && l[0].labels["rack"] == "1")
        );
        assert!(matches!(&loose.steps[0], Step::PowerOff(n) if n == "2"));
        assert!(matches!(&loose.steps[1], Step::AddNode(n) if n.cpu == "4"));
        assert!(
            matches!(&loose.steps[2], Step::Expect(e) if e.objects["pod/x"]["restartCount"] == "1")
        );
        for (text, want) in [
            (
                "steps:\n- fly: away\n",
                "unknown step `fly`, expected one of apply, advance",
            ),
            (
                "steps:\n- advance: [10]\n",
                "advance: want a string, got [10]",
            ),
            (
                "steps:\n- advance: 1s\n  apply: x\n",
                "a step is a map with one key",
            ),
            (
                "nodes: many\nsteps: []\n",
                "nodes: want a count or a list of nodes",
            ),
            (
                "steps:\n- crash: {pod: p, colour: red}\n",
                "crash: unknown field `colour`",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
