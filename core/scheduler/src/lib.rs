//! The scheduler (`pkg/scheduler` upstream): watches pods without a node and places each on
//! one, through the scheduling framework.
//!
//! One cycle per pod, with the profile its `schedulerName` picks: PreFilter, Filter every node
//! (until enough feasible ones are found, as `percentageOfNodesToScore` allows — nominated
//! pods of at least the pod's priority counted in), PostFilter (preemption) when none fits,
//! PreScore, Score, NormalizeScore, weigh, pick the best (ties broken by the seeded RNG),
//! Reserve (assume the pod onto the node in the snapshot), Permit (always allowed), PreBind
//! (VolumeBinding's writes) and Bind through the `binding` subresource.
//!
//! The snapshot is kept from watches — a pod added or removed updates its node's `NodeInfo`
//! — never rebuilt per cycle. Every cycle leaves a record: per node, each filter's verdict
//! and each score, which the page draws as a table.

pub mod framework;
pub mod plugins;
pub mod preemption;
pub mod profile;
pub mod queue;
pub mod snapshot;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{json, Value};

use apiserver::watch::{EventType, WatchEvent, WatchId};
use apiserver::{Method, Request};
use client::events::Recorder;
use client::{self, Client};
use client::{Component, Ctx};
use framework::record::{CycleRecord, Examined, PreFilterRejection, RecordLegend};
use framework::{Code, CycleState, Decision, NodeInfo, PodInfo, Preemption, Status};
use profile::{Profile, SchedulerConfig};
use queue::SchedulingQueue;
use snapshot::{Kind, Snapshot};

/// Timer tokens.
const CYCLE: u64 = 1;
const FLUSH: u64 = 2;
/// Virtual time one scheduling cycle takes.
const CYCLE_MS: i64 = 1;
/// How many cycle records are kept for the page and tools.
pub const DECISIONS_KEPT: usize = 256;

pub struct Scheduler {
    client: Client,
    recorder: Recorder,
    config: SchedulerConfig,
    pod_watch: Option<WatchId>,
    node_watch: Option<WatchId>,
    other_watches: Vec<(WatchId, Kind)>,
    snap: Snapshot,
    /// Where each assigned pod is counted, to undo it when the pod changes or goes.
    placed: BTreeMap<String, (Arc<str>, Arc<PodInfo>)>,
    pending: BTreeMap<String, Arc<PodInfo>>,
    /// Pending pods nominated to a node by preemption, by node: they hold their room there.
    nominated: BTreeMap<String, Vec<Arc<PodInfo>>>,
    queue: SchedulingQueue,
    cycle_scheduled: bool,
    next_start_node: usize,
    records: VecDeque<CycleRecord>,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::new(SchedulerConfig::default())
    }
}

/// `numFeasibleNodesToFind`: all nodes below 100; else the profile's percentage, or the
/// adaptive default `max(5, 50 - nodes/125)` percent; at least 100 nodes.
pub fn num_feasible_nodes_to_find(total: usize, percentage: usize) -> usize {
    if total < 100 || percentage >= 100 {
        return total;
    }
    let pct = if percentage > 0 {
        percentage
    } else {
        (50 - (total / 125) as i64).max(5) as usize
    };
    (total * pct / 100).max(100)
}

/// The `FailedScheduling` message (`FitError.Error`): reasons counted over nodes, sorted.
pub fn fit_error_message(total: usize, reasons: &BTreeMap<String, usize>) -> String {
    if total == 0 {
        return "no nodes available to schedule pods".into();
    }
    let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    apimachinery::collections::sort(&mut parts);
    format!("0/{total} nodes are available: {}.", parts.join(", "))
}

/// What Filter said of one node: `None` when it fits, else the rejecting filter's position
/// in the profile and its status.
pub(crate) fn run_filters(
    profile: &Profile,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Option<(u16, Status)> {
    for (k, &i) in profile.filter.iter().enumerate() {
        let plugin = &profile.plugins[i];
        if state.filter_skipped(plugin.name()) {
            continue;
        }
        let status = plugin.filter(state, pod, node);
        if !status.is_success() {
            return Some((k as u16, status));
        }
    }
    None
}

/// Imagines `other` added to (or removed from) `node`, for the filters' state too.
pub(crate) fn imagine(
    snap: &Snapshot,
    profile: &Profile,
    state: &mut CycleState,
    pod: &PodInfo,
    node: &mut NodeInfo,
    other: &Arc<PodInfo>,
    add: bool,
) {
    if add {
        node.add_pod(other);
    } else {
        node.remove_pod(other);
    }
    for &i in &profile.pre_filter {
        let plugin = &profile.plugins[i];
        if add {
            plugin.add_pod(snap, state, pod, other, node);
        } else {
            plugin.remove_pod(snap, state, pod, other, node);
        }
    }
}

/// Filter with the node's nominated pods of at least the pod's priority counted in
/// (`RunFilterPluginsWithNominatedPods`): the pod must fit with them, and without them.
pub(crate) fn run_filters_with_nominated(
    snap: &Snapshot,
    profile: &Profile,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    nominated: &[Arc<PodInfo>],
) -> Option<(u16, Status)> {
    let ahead: Vec<&Arc<PodInfo>> = nominated
        .iter()
        .filter(|p| {
            p.priority >= pod.priority && !(p.name == pod.name && p.namespace == pod.namespace)
        })
        .collect();
    if !ahead.is_empty() {
        let (mut with, mut st) = (node.clone(), state.clone());
        for p in ahead {
            imagine(snap, profile, &mut st, pod, &mut with, p, true);
        }
        if let Some(rejected) = run_filters(profile, &st, pod, &with) {
            return Some(rejected);
        }
    }
    run_filters(profile, state, pod, node)
}

impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Scheduler {
        let client = Client::new("system:kube-scheduler", &[]);
        Scheduler {
            recorder: Recorder::new(client.clone(), "default-scheduler"),
            client,
            config,
            pod_watch: None,
            node_watch: None,
            other_watches: Vec::new(),
            snap: Snapshot::default(),
            placed: BTreeMap::new(),
            pending: BTreeMap::new(),
            nominated: BTreeMap::new(),
            queue: SchedulingQueue::default(),
            cycle_scheduled: false,
            next_start_node: 0,
            records: VecDeque::new(),
        }
    }

    fn decision(&self, r: &CycleRecord) -> Decision {
        let profile = &self.config.profiles[r.profile];
        r.decision(&RecordLegend {
            scheduler_name: &profile.scheduler_name,
            filters: &profile.filter_names,
            scores: &profile.score_legend,
        })
    }

    /// The most recent decisions, oldest first.
    pub fn decisions(&self) -> impl Iterator<Item = Decision> + '_ {
        self.records.iter().map(|r| self.decision(r))
    }

    /// Pods waiting for a node.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The latest decision about `pod` (`namespace/name`).
    pub fn decision_for(&self, pod: &str) -> Option<Decision> {
        self.records
            .iter()
            .rev()
            .find(|r| r.pod == pod)
            .map(|r| self.decision(r))
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    fn ensure_cycle(&mut self, ctx: &mut Ctx) {
        if !self.cycle_scheduled && self.queue.has_active() {
            self.cycle_scheduled = true;
            ctx.after(0, CYCLE);
        }
    }

    fn unplace(&mut self, key: &str) {
        if let Some((node, info)) = self.placed.remove(key) {
            self.snap.remove_pod(&info, &node);
        }
    }

    fn place(&mut self, info: Arc<PodInfo>, node: &str) {
        let key = info.key();
        self.unplace(&key);
        if self.snap.add_pod(&info, node) {
            let name = self.snap.nodes[self.snap.node_index[node]].name.clone();
            self.placed.insert(key, (name, info));
        }
    }

    fn forget_nomination(&mut self, key: &str) {
        for pods in self.nominated.values_mut() {
            pods.retain(|p| p.key() != key);
        }
        self.nominated.retain(|_, pods| !pods.is_empty());
    }

    fn nominate(&mut self, pod: &PodInfo, node: &str) {
        self.forget_nomination(&pod.key());
        if !node.is_empty() {
            let mut p = pod.clone();
            p.nominated_node_name = node.to_string();
            self.nominated
                .entry(node.to_string())
                .or_default()
                .push(Arc::new(p));
        }
    }

    fn on_pod(&mut self, ctx: &mut Ctx, event: &WatchEvent) {
        let pod = &*event.object;
        let info = PodInfo::from_pod(pod);
        let key = info.key();
        let gone = event.is_deleted() || info.terminal;
        if gone {
            self.pending.remove(&key);
            self.queue.delete(&key);
            self.forget_nomination(&key);
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
            self.forget_nomination(&key);
            let node = info.node_name.clone();
            self.place(Arc::new(info), &node);
            return;
        }
        if self.config.profile(&info.scheduler_name).is_none() || info.deleting {
            return;
        }
        let priority = info.priority;
        let nominated = info.nominated_node_name.clone();
        self.nominate(&info, &nominated);
        self.pending.insert(key.clone(), Arc::new(info));
        if event.kind == EventType::Added {
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

    fn nominated_on(&self, node: &str) -> &[Arc<PodInfo>] {
        self.nominated.get(node).map_or(&[], Vec::as_slice)
    }

    fn schedule_one(&mut self, ctx: &mut Ctx, key: &str) {
        let Some(pod) = self.pending.get(key).cloned() else {
            return;
        };
        let Some(pi) = self.config.profile(&pod.scheduler_name) else {
            return;
        };
        let profile = &self.config.profiles[pi];
        let total = self.snap.nodes.len();
        let mut record = CycleRecord {
            pod: key.to_string(),
            time: ctx.now.rfc3339(),
            profile: pi,
            ..CycleRecord::default()
        };
        let mut state = CycleState::default();
        for &i in &profile.pre_filter {
            let plugin = &profile.plugins[i];
            let status = plugin.pre_filter(&self.snap, &pod, &mut state);
            match status.code {
                Code::Success => {}
                Code::Skip => state.skip_filter(plugin.name()),
                _ => {
                    let message = if total == 0 {
                        "no nodes available to schedule pods".to_string()
                    } else {
                        format!("0/{total} nodes are available: {}.", status.message())
                    };
                    record.pre_filter = Some(PreFilterRejection {
                        plugin: plugin.name(),
                        status,
                    });
                    self.unschedulable(ctx, &pod, record, message, None);
                    return;
                }
            }
        }
        let filter_node = |node: &NodeInfo| {
            let nominated = self.nominated_on(&node.name);
            run_filters_with_nominated(&self.snap, profile, &state, &pod, node, nominated)
        };
        // A pod nominated by an earlier preemption tries its node first.
        let mut feasible: Vec<usize> = Vec::new();
        if let Some(&i) = self.snap.node_index.get(pod.nominated_node_name.as_str()) {
            let node = &self.snap.nodes[i];
            if filter_node(node).is_none() {
                feasible.push(i);
                record.examined.push(Examined {
                    node: node.name.clone(),
                    rejected: None,
                });
            }
        }
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        if feasible.is_empty() {
            // Filter, starting where the last cycle stopped, until enough nodes fit.
            let want = num_feasible_nodes_to_find(total, profile.percentage_of_nodes_to_score);
            let start = if total == 0 {
                0
            } else {
                self.next_start_node % total
            };
            let mut examined = 0;
            record.examined.reserve(want.min(total));
            while examined < total && feasible.len() < want {
                let index = (start + examined) % total;
                examined += 1;
                let node = &self.snap.nodes[index];
                let rejected = filter_node(node);
                match &rejected {
                    None => feasible.push(index),
                    Some((_, status)) => {
                        for r in &status.reasons {
                            *reasons.entry(r.clone()).or_default() += 1;
                        }
                    }
                }
                record.examined.push(Examined {
                    node: node.name.clone(),
                    rejected,
                });
            }
            if total > 0 {
                self.next_start_node = (start + examined) % total;
            }
        }
        if feasible.is_empty() {
            self.post_filter(ctx, pi, &pod, &state, record, &reasons);
            return;
        }
        let chosen = self.score_and_select(ctx, pi, &pod, &mut state, &feasible, &mut record);
        self.reserve_and_bind(ctx, pi, pod, &state, chosen, record);
    }

    /// No node fits: PostFilter (preemption, if the profile has it) and the pod marked
    /// unschedulable with upstream's `FitError` message, preemption's part included.
    fn post_filter(
        &mut self,
        ctx: &mut Ctx,
        pi: usize,
        pod: &Arc<PodInfo>,
        state: &CycleState,
        mut record: CycleRecord,
        reasons: &BTreeMap<String, usize>,
    ) {
        let profile = &self.config.profiles[pi];
        let total = self.snap.nodes.len();
        let mut message = fit_error_message(total, reasons);
        let mut nominated = None;
        if profile.preemption && total > 0 {
            let outcome = preemption::preempt(
                &self.snap,
                profile,
                state,
                pod,
                &record.examined,
                &self.nominated,
                &mut *ctx.rng,
            );
            match outcome {
                Ok(c) => {
                    let node = self.snap.nodes[c.node].name.to_string();
                    record.preemption = Some(Preemption {
                        nominated_node: Some(node.clone()),
                        victims: c.victims.iter().map(|v| v.key()).collect(),
                        message: None,
                    });
                    self.evict_victims(ctx, pod, &node, &c.victims);
                    nominated = Some(node);
                }
                Err(msg) => {
                    message = format!("{message} preemption: {msg}");
                    record.preemption = Some(Preemption {
                        message: Some(msg),
                        ..Preemption::default()
                    });
                }
            }
        }
        self.unschedulable(ctx, pod, record, message, nominated);
    }

    /// PreScore, Score, NormalizeScore and the weighted pick; returns the chosen node's index.
    fn score_and_select(
        &self,
        ctx: &mut Ctx,
        pi: usize,
        pod: &PodInfo,
        state: &mut CycleState,
        feasible: &[usize],
        record: &mut CycleRecord,
    ) -> usize {
        // One feasible node: nothing to compare (upstream skips scoring too).
        if feasible.len() == 1 {
            return feasible[0];
        }
        let profile = &self.config.profiles[pi];
        let nodes: Vec<&NodeInfo> = feasible.iter().map(|i| &self.snap.nodes[*i]).collect();
        for &i in &profile.pre_score {
            let plugin = &profile.plugins[i];
            if plugin.pre_score(&self.snap, pod, &nodes, state).code == Code::Skip {
                state.skip_score(plugin.name());
            }
        }
        let plugins = profile.score.len();
        let mut totals = vec![0i64; nodes.len()];
        let mut scores = vec![(0i64, 0i64); nodes.len() * plugins];
        let mut column = vec![0i64; nodes.len()];
        for (j, &(i, weight)) in profile.score.iter().enumerate() {
            let plugin = &profile.plugins[i];
            if state.score_skipped(plugin.name()) {
                continue;
            }
            for (n, node) in nodes.iter().enumerate() {
                column[n] = plugin.score(state, pod, node);
                scores[n * plugins + j].0 = column[n];
            }
            plugin.normalize(state, &nodes, &mut column);
            for n in 0..nodes.len() {
                scores[n * plugins + j].1 = column[n];
                totals[n] += column[n] * weight;
            }
        }
        // The best total; among equals, one at random (`selectHost` reservoir sampling).
        let mut best = 0;
        let mut ties = 1;
        for i in 1..nodes.len() {
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
        record.scores = scores;
        record.totals = totals;
        feasible[best]
    }

    /// Reserve (assume), PreBind, Bind — and undo the assumption if a write fails.
    fn reserve_and_bind(
        &mut self,
        ctx: &mut Ctx,
        pi: usize,
        pod: Arc<PodInfo>,
        state: &CycleState,
        chosen: usize,
        mut record: CycleRecord,
    ) {
        let key = pod.key();
        let node_name = self.snap.nodes[chosen].name.clone();
        let profile = &self.config.profiles[pi];
        let writes: Vec<framework::Write> = profile
            .pre_bind
            .iter()
            .filter(|i| !state.filter_skipped(profile.plugins[**i].name()))
            .flat_map(|i| profile.plugins[*i].pre_bind(state, &pod, &self.snap.nodes[chosen]))
            .collect();
        self.place(pod.clone(), &node_name);
        self.pending.remove(&key);
        self.forget_nomination(&key);
        let mut ok = true;
        for w in writes {
            let req = Request::new(Method::Patch, &w.path)
                .body("application/merge-patch+json", w.patch.to_string());
            let resp = self.client.send(ctx, req);
            ok &= resp.code == 200;
            // Assume the volume taken until its watch event says so.
            if let Some(name) = w.path.strip_prefix("/api/v1/persistentvolumes/") {
                if let Some(pv) = self.snap.volumes.get_mut(name) {
                    *pv = apiserver::patch::merge::apply(pv, &w.patch);
                }
            }
        }
        let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod.name, "namespace": pod.namespace}, "target": {"apiVersion": "v1", "kind": "Node", "name": &*node_name}});
        let path = format!("{}/binding", pod_path(&pod));
        let bound = ok
            && self
                .client
                .send(ctx, Request::new(Method::Post, &path).json(&binding))
                .code
                == 201;
        record.chosen = Some(node_name.clone());
        self.record(record);
        if bound {
            self.recorder.normal(
                ctx,
                &pod_ref(&pod),
                "v1",
                "Pod",
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {node_name}",
                    pod.namespace, pod.name
                ),
            );
        } else {
            // Forget the assumption and try again later.
            self.unplace(&key);
            self.pending.insert(key.clone(), pod);
            let at = self.queue.backoff(&key, ctx.now);
            ctx.after(at.millis() - ctx.now.millis(), FLUSH);
        }
    }

    /// Preemption's effects (`PrepareCandidate`): each victim is marked with the
    /// `DisruptionTarget` condition, told why, and deleted; lower-priority pods nominated to
    /// the node lose their nomination.
    fn evict_victims(
        &mut self,
        ctx: &mut Ctx,
        pod: &PodInfo,
        node: &str,
        victims: &[Arc<PodInfo>],
    ) {
        for v in victims {
            let condition = json!({"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                "message": format!("{}: preempting to accommodate a higher priority pod", pod.scheduler_name),
                "lastTransitionTime": ctx.now.rfc3339()});
            let patch = json!({"status": {"conditions": [condition]}});
            let status = Request::new(Method::Patch, &format!("{}/status", pod_path(v)))
                .body("application/strategic-merge-patch+json", patch.to_string());
            self.client.send(ctx, status);
            self.client
                .send(ctx, Request::new(Method::Delete, &pod_path(v)));
            self.recorder.normal(
                ctx,
                &pod_ref(v),
                "v1",
                "Pod",
                "Preempted",
                format!("Preempted by pod {} on node {node}", pod.uid),
            );
        }
        let lower: Vec<Arc<PodInfo>> = self
            .nominated_on(node)
            .iter()
            .filter(|p| p.priority < pod.priority)
            .cloned()
            .collect();
        for p in lower {
            let clear = Request::new(Method::Patch, &format!("{}/status", pod_path(&p))).body(
                "application/merge-patch+json",
                r#"{"status":{"nominatedNodeName":null}}"#,
            );
            self.client.send(ctx, clear);
            self.forget_nomination(&p.key());
        }
        self.nominate(pod, node);
    }

    fn unschedulable(
        &mut self,
        ctx: &mut Ctx,
        pod: &PodInfo,
        mut record: CycleRecord,
        message: String,
        nominated: Option<String>,
    ) {
        let key = pod.key();
        record.message = Some(message.clone());
        self.record(record);
        self.queue.unschedulable(&key, ctx.now);
        self.recorder.warning(
            ctx,
            &pod_ref(pod),
            "v1",
            "Pod",
            "FailedScheduling",
            message.clone(),
        );
        let condition = json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastProbeTime": null, "lastTransitionTime": ctx.now.rfc3339()});
        let mut patch = json!({"status": {"conditions": [condition]}});
        if let Some(node) = nominated {
            patch["status"]["nominatedNodeName"] = json!(node);
        }
        let req = Request::new(Method::Patch, &format!("{}/status", pod_path(pod)))
            .body("application/strategic-merge-patch+json", patch.to_string());
        self.client.send(ctx, req);
    }

    fn record(&mut self, r: CycleRecord) {
        if self.records.len() == DECISIONS_KEPT {
            self.records.pop_front();
        }
        self.records.push_back(r);
    }
}

fn pod_path(pod: &PodInfo) -> String {
    client::object_path(
        client::resource("", "pods"),
        Some(&pod.namespace),
        &pod.name,
    )
}

fn pod_ref(pod: &PodInfo) -> Value {
    json!({"metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid}})
}

impl Component for Scheduler {
    fn name(&self) -> &str {
        "default-scheduler"
    }

    fn start(&mut self, ctx: &mut Ctx) {
        // What plugins consult first, so the first pods are scheduled knowing it.
        for kind in Kind::ALL {
            let (group, resource) = kind.resource();
            if let Some(w) = self.client.open_watch(ctx, group, resource) {
                self.other_watches.push((w, kind));
            }
        }
        self.node_watch = self.client.open_watch(ctx, "", "nodes");
        self.pod_watch = self.client.open_watch(ctx, "", "pods");
    }

    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        if Some(watch) == self.pod_watch {
            self.on_pod(ctx, event);
        } else if Some(watch) == self.node_watch {
            self.snap.set_node(&event.object, event.is_deleted());
            if !event.is_deleted() {
                self.cluster_event(ctx);
            }
        } else if let Some((_, kind)) = self.other_watches.iter().find(|(w, _)| *w == watch) {
            let kind = *kind;
            self.snap.apply(kind, event);
            // A volume or claim that appears, or a budget that changes, may unblock pods.
            if matches!(
                kind,
                Kind::PersistentVolume | Kind::PersistentVolumeClaim | Kind::StorageClass
            ) {
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
