//! The scheduler (`pkg/scheduler` upstream): watches pods without a node and places each on
//! one, through the scheduling framework.
//!
//! One cycle per pod: Filter every node (until enough feasible ones are found, as
//! `percentageOfNodesToScore` allows), Score the feasible ones with each plugin, normalize,
//! weigh, pick the best (ties broken by the seeded RNG), assume the pod onto the node in the
//! snapshot, and Bind through the `binding` subresource. A pod that fits nowhere gets the
//! `FailedScheduling` event and condition Kubernetes writes, and waits in the queue for a
//! cluster event.
//!
//! The snapshot of nodes is kept from watches — a pod added or removed updates its node's
//! `NodeInfo` — never rebuilt per cycle. Every cycle leaves a [`Decision`] record: per node,
//! each filter's verdict and each score, which the page draws as a table.

pub mod framework;
pub mod plugins;
pub mod queue;

use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};

use crate::apiserver::watch::WatchId;
use crate::client::{self, Client};
use crate::controllers::events::Recorder;
use crate::sim::{Component, Ctx};
use framework::{
    CycleInput, Decision, FilterVerdict, NodeDecision, NodeInfo, PluginScore, PodInfo,
};
use plugins::Profile;
use queue::SchedulingQueue;

/// Timer tokens.
const CYCLE: u64 = 1;
const FLUSH: u64 = 2;
/// Virtual time one scheduling cycle takes.
const CYCLE_MS: i64 = 1;
/// How many decisions are kept for the page and tools.
pub const DECISIONS_KEPT: usize = 256;

pub struct Scheduler {
    client: Client,
    recorder: Recorder,
    profile: Profile,
    pod_watch: Option<WatchId>,
    node_watch: Option<WatchId>,
    /// The nodes, in the order they registered; a cycle walks them by index.
    nodes: Vec<NodeInfo>,
    node_index: BTreeMap<String, usize>,
    /// Where each assigned pod is counted, to undo it when the pod changes or goes.
    placed: BTreeMap<String, (String, PodInfo)>,
    pending: BTreeMap<String, PodInfo>,
    image_nodes: BTreeMap<String, usize>,
    queue: SchedulingQueue,
    cycle_scheduled: bool,
    next_start_node: usize,
    decisions: VecDeque<Decision>,
}

impl Default for Scheduler {
    fn default() -> Self {
        let client = Client::new("system:kube-scheduler", &[]);
        Scheduler {
            recorder: Recorder::new(client.clone(), "default-scheduler"),
            client,
            profile: Profile::default_scheduler(),
            pod_watch: None,
            node_watch: None,
            nodes: Vec::new(),
            node_index: BTreeMap::new(),
            placed: BTreeMap::new(),
            pending: BTreeMap::new(),
            image_nodes: BTreeMap::new(),
            queue: SchedulingQueue::default(),
            cycle_scheduled: false,
            next_start_node: 0,
            decisions: VecDeque::new(),
        }
    }
}

/// `numFeasibleNodesToFind` with the adaptive default of `percentageOfNodesToScore`: all
/// nodes below 100; else `max(5, 50 - nodes/125)` percent, at least 100 nodes.
pub fn num_feasible_nodes_to_find(total: usize) -> usize {
    if total < 100 {
        return total;
    }
    let pct = (50 - (total / 125) as i64).max(5) as usize;
    (total * pct / 100).max(100)
}

/// The `FailedScheduling` message (`FitError.Error`): reasons counted over nodes, sorted.
pub fn fit_error_message(total: usize, reasons: &BTreeMap<String, usize>) -> String {
    if total == 0 {
        return "no nodes available to schedule pods".into();
    }
    let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    format!("0/{total} nodes are available: {}.", parts.join(", "))
}

impl Scheduler {
    /// The most recent decisions, oldest first.
    pub fn decisions(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter()
    }

    /// The latest decision about `pod` (`namespace/name`).
    pub fn decision_for(&self, pod: &str) -> Option<&Decision> {
        self.decisions.iter().rev().find(|d| d.pod == pod)
    }

    fn ensure_cycle(&mut self, ctx: &mut Ctx) {
        if !self.cycle_scheduled && self.queue.has_active() {
            self.cycle_scheduled = true;
            ctx.after(0, CYCLE);
        }
    }

    fn node_mut(&mut self, name: &str) -> Option<&mut NodeInfo> {
        let i = *self.node_index.get(name)?;
        self.nodes.get_mut(i)
    }

    fn set_node(&mut self, node: &Value, deleted: bool) {
        let name = crate::api::meta::name(node).to_string();
        if let Some(old) = self
            .node_mut(&name)
            .map(|n| n.images.keys().cloned().collect::<Vec<_>>())
        {
            for img in old {
                if let Some(n) = self.image_nodes.get_mut(&img) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        if deleted {
            if let Some(i) = self.node_index.remove(&name) {
                self.nodes.swap_remove(i);
                if let Some(moved) = self.nodes.get(i) {
                    self.node_index.insert(moved.name.clone(), i);
                }
            }
            return;
        }
        let i = match self.node_index.get(&name) {
            Some(i) => *i,
            None => {
                self.nodes.push(NodeInfo::default());
                self.node_index.insert(name, self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        };
        let info = &mut self.nodes[i];
        info.set_node(node);
        for img in info.images.keys() {
            *self.image_nodes.entry(img.clone()).or_default() += 1;
        }
    }

    fn unplace(&mut self, key: &str) {
        if let Some((node, info)) = self.placed.remove(key) {
            if let Some(n) = self.node_mut(&node) {
                n.remove_pod(&info);
            }
        }
    }

    fn place(&mut self, info: PodInfo, node: &str) {
        let key = info.key();
        self.unplace(&key);
        if let Some(n) = self.node_mut(node) {
            n.add_pod(&info);
        }
        self.placed.insert(key, (node.to_string(), info));
    }

    fn on_pod(&mut self, ctx: &mut Ctx, event: &Value) {
        let pod = &event["object"];
        let info = PodInfo::from_pod(pod);
        let key = info.key();
        let gone = event["type"] == "DELETED" || info.terminal;
        if gone {
            self.pending.remove(&key);
            self.queue.delete(&key);
            if self.placed.contains_key(&key) {
                self.unplace(&key);
                // Room freed: pods waiting for room may fit now.
                self.cluster_event(ctx);
            }
            return;
        }
        if !info.node_name.is_empty() {
            self.pending.remove(&key);
            self.queue.delete(&key);
            let node = info.node_name.clone();
            self.place(info, &node);
            return;
        }
        if info.scheduler_name != self.profile.scheduler_name || info.deleting {
            return;
        }
        let priority = info.priority;
        self.pending.insert(key.clone(), info);
        if event["type"] == "ADDED" {
            self.queue.add(&key, priority, ctx.now);
            self.ensure_cycle(ctx);
        }
    }

    fn cluster_event(&mut self, ctx: &mut Ctx) {
        if let Some(at) = self.queue.move_all_to_active_or_backoff(ctx.now) {
            ctx.after(at.millis() - ctx.now.millis(), FLUSH);
        }
        self.ensure_cycle(ctx);
    }

    fn schedule_one(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(pod) = self.pending.get(key).cloned() else {
            return;
        };
        let total = self.nodes.len();
        let want = num_feasible_nodes_to_find(total);
        let mut decision = Decision {
            pod: key.to_string(),
            time: ctx.now.rfc3339(),
            nodes: Vec::new(),
            chosen: None,
            message: None,
        };
        let mut feasible: Vec<usize> = Vec::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        // Filter, starting where the last cycle stopped, until enough nodes fit.
        let start = if total == 0 {
            0
        } else {
            self.next_start_node % total
        };
        let mut examined = 0;
        for i in 0..total {
            if feasible.len() >= want {
                break;
            }
            let index = (start + i) % total;
            let node = &self.nodes[index];
            examined += 1;
            let mut verdicts = Vec::new();
            let mut fits = true;
            for f in &self.profile.filters {
                let status = f.filter(&pod, node);
                let ok = status.is_success();
                if !ok {
                    for r in &status.reasons {
                        *reasons.entry(r.clone()).or_default() += 1;
                    }
                }
                verdicts.push(FilterVerdict {
                    plugin: f.name(),
                    status,
                });
                if !ok {
                    fits = false;
                    break;
                }
            }
            if fits {
                feasible.push(index);
            }
            decision.nodes.push(NodeDecision {
                node: node.name.clone(),
                filters: verdicts,
                scores: Vec::new(),
                total: 0,
            });
        }
        if total > 0 {
            self.next_start_node = (start + examined) % total;
        }
        if feasible.is_empty() {
            self.unschedulable(ctx, pod, decision, fit_error_message(total, &reasons));
            return;
        }
        let chosen = self.score_and_select(ctx, &pod, &feasible, &mut decision);
        // Assume, then bind.
        self.place(pod.clone(), &chosen);
        self.pending.remove(key);
        let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod.name, "namespace": pod.namespace}, "target": {"apiVersion": "v1", "kind": "Node", "name": chosen}});
        let path = format!(
            "{}/binding",
            client::object_path(
                client::resource("", "pods"),
                Some(&pod.namespace),
                &pod.name
            )
        );
        let resp = self.client.send(
            ctx.api,
            crate::apiserver::Request::new(crate::apiserver::Method::Post, &path).json(&binding),
        );
        decision.chosen = Some(chosen.clone());
        self.record(decision);
        if resp.code == 201 {
            let pod_obj =
                json!({"metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid}});
            self.recorder.normal(
                ctx,
                &pod_obj,
                "v1",
                "Pod",
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {chosen}",
                    pod.namespace, pod.name
                ),
            );
        } else {
            // Forget the assumption and try again later.
            self.unplace(key);
            self.pending.insert(key.to_string(), pod);
            let at = self.queue.backoff(key, ctx.now);
            ctx.after(at.millis() - ctx.now.millis(), FLUSH);
        }
    }

    fn score_and_select(
        &mut self,
        ctx: &mut Ctx,
        pod: &PodInfo,
        feasible: &[usize],
        decision: &mut Decision,
    ) -> String {
        let input = CycleInput {
            pod,
            total_nodes: self.nodes.len(),
            image_nodes: &self.image_nodes,
        };
        let mut totals = vec![0i64; feasible.len()];
        let mut per_node: Vec<Vec<PluginScore>> = vec![Vec::new(); feasible.len()];
        for (plugin, weight) in &self.profile.scores {
            let raw: Vec<i64> = feasible
                .iter()
                .map(|n| plugin.score(&input, &self.nodes[*n]))
                .collect();
            let mut normalized = raw.clone();
            plugin.normalize(&mut normalized);
            for i in 0..feasible.len() {
                totals[i] += normalized[i] * weight;
                per_node[i].push(PluginScore {
                    plugin: plugin.name(),
                    raw: raw[i],
                    normalized: normalized[i],
                    weight: *weight,
                });
            }
        }
        // The best total; among equals, one at random (`selectHost` reservoir sampling).
        let mut best = 0;
        let mut ties = 1;
        for i in 1..feasible.len() {
            if totals[i] > totals[best] {
                best = i;
                ties = 1;
            } else if totals[i] == totals[best] {
                ties += 1;
                if ctx.rng.below(ties) == 0 {
                    best = i;
                }
            }
        }
        // Feasible nodes were recorded in filter order: walk both lists together.
        let mut i = 0;
        for nd in decision.nodes.iter_mut() {
            if i < feasible.len() && nd.node == self.nodes[feasible[i]].name {
                nd.scores = std::mem::take(&mut per_node[i]);
                nd.total = totals[i];
                i += 1;
            }
        }
        self.nodes[feasible[best]].name.clone()
    }

    fn unschedulable(
        &mut self,
        ctx: &mut Ctx,
        pod: PodInfo,
        mut decision: Decision,
        message: String,
    ) {
        let key = pod.key();
        decision.message = Some(message.clone());
        self.record(decision);
        self.queue.unschedulable(&key, ctx.now);
        let pod_obj =
            json!({"metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid}});
        self.recorder.warning(
            ctx,
            &pod_obj,
            "v1",
            "Pod",
            "FailedScheduling",
            message.clone(),
        );
        let condition = json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastProbeTime": null, "lastTransitionTime": ctx.now.rfc3339()});
        let patch = json!({"status": {"conditions": [condition]}});
        let path = format!(
            "{}/status",
            client::object_path(
                client::resource("", "pods"),
                Some(&pod.namespace),
                &pod.name
            )
        );
        let req = crate::apiserver::Request::new(crate::apiserver::Method::Patch, &path)
            .body("application/strategic-merge-patch+json", patch.to_string());
        self.client.send(ctx.api, req);
    }

    fn record(&mut self, d: Decision) {
        if self.decisions.len() == DECISIONS_KEPT {
            self.decisions.pop_front();
        }
        self.decisions.push_back(d);
    }
}

impl Component for Scheduler {
    fn name(&self) -> &str {
        "default-scheduler"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.node_watch = self.client.open_watch(ctx, "", "nodes");
        self.pod_watch = self.client.open_watch(ctx, "", "pods");
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &Value) {
        if Some(watch) == self.pod_watch {
            self.on_pod(ctx, event);
        } else if Some(watch) == self.node_watch {
            self.set_node(&event["object"], event["type"] == "DELETED");
            if event["type"] != "DELETED" {
                self.cluster_event(ctx);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, token: u64) {
        match token {
            CYCLE => {
                self.cycle_scheduled = false;
                if let Some(at) = self.queue.flush(ctx.now) {
                    ctx.after(at.millis() - ctx.now.millis(), FLUSH);
                }
                if let Some(key) = self.queue.pop() {
                    self.schedule_one(ctx, &key);
                }
                if self.queue.has_active() {
                    self.cycle_scheduled = true;
                    ctx.after(CYCLE_MS, CYCLE);
                }
            }
            FLUSH => {
                if let Some(at) = self.queue.flush(ctx.now) {
                    ctx.after(at.millis() - ctx.now.millis(), FLUSH);
                }
                self.ensure_cycle(ctx);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
