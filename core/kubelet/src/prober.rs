//! The prober (`pkg/kubelet/prober` upstream): each container's startup, liveness and
//! readiness probes, run on their periods. A run is a call the node carries out (a command
//! through CRI `ExecSync`, an HTTP GET or a TCP connection to the pod); its verdict counts
//! against the probe's thresholds: readiness flips the container's Ready, a liveness or
//! startup failure past its threshold restarts the container.

use serde_json::Value;

use super::cri::{CriCall, ProbeAction};
use super::kuberuntime::items;
use super::{str_of, Kubelet, KubeletTimer, State, Step};
use client::Ctx;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
}

/// A probe of a container spec, with its counters.
#[derive(Clone, Debug)]
pub(super) struct Probe {
    pub(super) kind: ProbeKind,
    pub(super) initial_delay_ms: i64,
    pub(super) period_ms: i64,
    pub(super) failure_threshold: u32,
    pub(super) success_threshold: u32,
    pub(super) failures: u32,
    pub(super) successes: u32,
    /// How a failure reads in the `Unhealthy` event when the runtime gives no reason.
    pub(super) failure_message: String,
    /// What the probe checks; an HTTP or TCP probe's host is the pod's IP unless it names
    /// one.
    pub(super) action: ProbeAction,
    pub(super) timeout_seconds: i64,
}

/// A probe's port: a number, or the name of one of the container's ports.
pub(super) fn probe_port(c: &Value, port: &Value) -> i32 {
    match port {
        Value::String(name) => items(&c["ports"])
            .iter()
            .find(|p| p["name"] == name.as_str())
            .and_then(|p| p["containerPort"].as_i64())
            .unwrap_or(0) as i32,
        other => other.as_i64().unwrap_or(0) as i32,
    }
}

pub(super) fn probe_action(c: &Value, p: &Value) -> ProbeAction {
    if p["httpGet"].is_object() {
        let h = &p["httpGet"];
        ProbeAction::HttpGet {
            scheme: h["scheme"].as_str().unwrap_or("HTTP").to_string(),
            host: str_of(&h["host"]),
            port: probe_port(c, &h["port"]),
            path: h["path"].as_str().unwrap_or("/").to_string(),
        }
    } else if p["tcpSocket"].is_object() {
        ProbeAction::TcpSocket {
            host: str_of(&p["tcpSocket"]["host"]),
            port: probe_port(c, &p["tcpSocket"]["port"]),
        }
    } else {
        ProbeAction::Exec {
            command: items(&p["exec"]["command"]).iter().map(str_of).collect(),
        }
    }
}

pub(super) fn probes_of(c: &Value) -> Vec<Probe> {
    [
        ("startupProbe", ProbeKind::Startup),
        ("livenessProbe", ProbeKind::Liveness),
        ("readinessProbe", ProbeKind::Readiness),
    ]
    .iter()
    .filter(|(key, _)| c[*key].is_object())
    .map(|(key, kind)| {
        let p = &c[*key];
        let failure_message = if p["httpGet"].is_object() {
            "HTTP probe failed with statuscode: 500".to_string()
        } else if p["tcpSocket"].is_object() {
            format!(
                "dial tcp: connect: connection refused (port {})",
                p["tcpSocket"]["port"]
            )
        } else {
            "command exited with non-zero code 1".to_string()
        };
        Probe {
            kind: *kind,
            initial_delay_ms: p["initialDelaySeconds"].as_i64().unwrap_or(0) * 1000,
            period_ms: p["periodSeconds"].as_i64().unwrap_or(10).max(1) * 1000,
            failure_threshold: p["failureThreshold"].as_u64().unwrap_or(3).max(1) as u32,
            success_threshold: p["successThreshold"].as_u64().unwrap_or(1).max(1) as u32,
            failures: 0,
            successes: 0,
            failure_message,
            action: probe_action(c, p),
            timeout_seconds: p["timeoutSeconds"].as_i64().unwrap_or(1).max(1),
        }
    })
    .collect()
}

/// Whether a simulated probe succeeds: `kubeplay.io/fail-liveness-after: 30s` makes liveness
/// fail from 30 s after the container started; `kubeplay.io/fail-readiness: "true"` makes
/// readiness fail. Everything else succeeds.
pub(super) fn probe_succeeds(pod: &Value, kind: ProbeKind, running_ms: i64) -> bool {
    let annotation = |k: &str| {
        pod["metadata"]["annotations"][k]
            .as_str()
            .map(str::to_string)
    };
    match kind {
        ProbeKind::Liveness => annotation("kubeplay.io/fail-liveness-after")
            .and_then(|d| apimachinery::clock::parse_duration(&d).ok())
            .is_none_or(|after| running_ms < after),
        ProbeKind::Readiness => annotation("kubeplay.io/fail-readiness").as_deref() != Some("true"),
        ProbeKind::Startup => true,
    }
}

impl Kubelet {
    /// A (re)started container: its probes start counting, readiness starts false.
    pub(super) fn start_probes(&mut self, ctx: &mut Ctx, uid: &str, i: usize) {
        let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) else {
            return;
        };
        c.started_at = Some(ctx.now);
        c.ready = !c.probes.iter().any(|p| p.kind == ProbeKind::Readiness);
        let id = c.id.clone().unwrap_or_default();
        let mut wakeups = Vec::new();
        for p in c.probes.iter_mut() {
            p.failures = 0;
            p.successes = 0;
            wakeups.push((p.initial_delay_ms.max(p.period_ms.min(1_000)), p.kind));
        }
        for (ms, kind) in wakeups {
            self.timers.push((
                ms,
                KubeletTimer::Probe {
                    uid: uid.to_string(),
                    index: i,
                    kind,
                    container_id: id.clone(),
                },
            ));
        }
    }

    /// One probe run (`prober.runProbe`): the runtime carries it out on the node (a simulated
    /// node decides it from the pod's annotations); [`Kubelet::on_probe_result`] takes it on.
    pub(super) fn probe(
        &mut self,
        ctx: &mut Ctx,
        uid: &str,
        i: usize,
        kind: ProbeKind,
        container_id: &str,
    ) {
        let Some(ps) = self.pods.get(uid) else { return };
        let Some(c) = ps.containers.get(i) else {
            return;
        };
        if ps.worker.terminating()
            || c.id.as_deref() != Some(container_id)
            || !matches!(c.state, State::Running { .. })
        {
            return;
        }
        let Some(probe) = c.probes.iter().find(|p| p.kind == kind) else {
            return;
        };
        let running_ms = ctx.now.millis() - c.started_at.map_or(ctx.now.millis(), |t| t.millis());
        let pod_ip = ps.ip.clone().unwrap_or_default();
        let mut action = probe.action.clone();
        if let ProbeAction::HttpGet { host, .. } | ProbeAction::TcpSocket { host, .. } = &mut action
        {
            if host.is_empty() {
                *host = pod_ip;
            }
        }
        let call = CriCall::Probe {
            container_id: container_id.to_string(),
            action,
            timeout_seconds: probe.timeout_seconds,
            simulated_success: probe_succeeds(&ps.pod, kind, running_ms),
        };
        let incarnation = c.restart_count;
        self.call(uid, Step::Probe(i, kind, incarnation), call);
    }

    /// A probe's verdict: counted against its thresholds; readiness flips Ready, a liveness or
    /// startup failure past its threshold restarts the container; the next run a period later.
    pub(super) fn on_probe_result(
        &mut self,
        ctx: &mut Ctx,
        uid: &str,
        (i, kind, incarnation): (usize, ProbeKind, i64),
        ok: bool,
        reason: String,
    ) {
        let Some(ps) = self.pods.get(uid) else { return };
        let Some(c) = ps.containers.get(i) else {
            return;
        };
        // The container may have been restarted or stopped while the probe ran.
        if ps.worker.terminating()
            || c.restart_count != incarnation
            || !matches!(c.state, State::Running { .. })
        {
            return;
        }
        let Some(container_id) = c.id.clone() else {
            return;
        };
        let name = c.name.clone();
        let Some(probe) = self
            .pods
            .get_mut(uid)
            .and_then(|p| p.containers.get_mut(i))
            .and_then(|c| c.probes.iter_mut().find(|p| p.kind == kind))
        else {
            return;
        };
        let period = probe.period_ms;
        let message = if reason.is_empty() {
            probe.failure_message.clone()
        } else {
            reason
        };
        let (mut became_ready, mut became_unready, mut kill) = (false, false, false);
        if ok {
            probe.failures = 0;
            probe.successes += 1;
            became_ready =
                kind == ProbeKind::Readiness && probe.successes >= probe.success_threshold;
        } else {
            probe.successes = 0;
            probe.failures += 1;
            let over = probe.failures >= probe.failure_threshold;
            became_unready = kind == ProbeKind::Readiness && over;
            kill = kind != ProbeKind::Readiness && over;
        }
        if !ok {
            self.event(
                ctx,
                uid,
                "Warning",
                "Unhealthy",
                format!("{} probe failed: {message}", kind.title()),
            );
        }
        if became_ready || became_unready {
            let was = self.pods[uid].containers[i].ready;
            if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
                c.ready = became_ready;
            }
            if was != became_ready {
                self.write_status(ctx, uid);
            }
        }
        if kill {
            let incarnation = self.pods[uid].containers[i].restart_count;
            self.event(
                ctx,
                uid,
                "Normal",
                "Killing",
                format!(
                    "Container {name} failed {} probe, will be restarted",
                    kind.title().to_ascii_lowercase()
                ),
            );
            let grace = self.pods[uid].pod["spec"]["terminationGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(30);
            self.call(
                uid,
                Step::LivenessKill(i, incarnation),
                CriCall::StopContainer {
                    container_id,
                    timeout_seconds: grace,
                },
            );
            return;
        }
        self.timers.push((
            period,
            KubeletTimer::Probe {
                uid: uid.to_string(),
                index: i,
                kind,
                container_id,
            },
        ));
    }
}
