//! The status manager (`pkg/kubelet/status` upstream): the pod's status as the kubelet sees
//! it — phase, conditions, container states, IPs — written to the API server when it
//! differs from what the server has.

use serde_json::{json, Value};

use super::{Kubelet, PodState, State};
use client::Ctx;

impl Kubelet {
    /// Writes every pod's status where the server's copy differs (the status manager's
    /// periodic sync; after a partition, what happened meanwhile).
    pub fn sync_statuses(&mut self, ctx: &mut Ctx) {
        let uids: Vec<String> = self.pods.keys().cloned().collect();
        for uid in uids {
            self.write_status(ctx, &uid);
        }
    }

    /// The pod's status as the kubelet sees it (`generateAPIPodStatus`).
    pub(super) fn status(&self, ps: &PodState, now: &str) -> Value {
        let statuses: Vec<Value> = ps
            .containers
            .iter()
            .map(|c| {
                let state = match &c.state {
                    State::Waiting(reason) => json!({"waiting": {"reason": reason}}),
                    State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
                    State::Terminated { exit_code, reason, finished_at } => json!({"terminated": {"exitCode": exit_code, "reason": reason, "finishedAt": finished_at}}),
                };
                let running = matches!(c.state, State::Running { .. });
                let mut s = json!({"name": c.name, "image": c.image, "imageID": c.image_ref, "ready": running && c.ready, "restartCount": c.restart_count, "started": running, "state": state});
                if let Some(State::Terminated { exit_code, reason, finished_at }) = &c.last_state {
                    s["lastState"] = json!({"terminated": {"exitCode": exit_code, "reason": reason, "finishedAt": finished_at}});
                }
                if let Some(id) = &c.id {
                    s["containerID"] = json!(format!("containerd://{id}"));
                }
                s
            })
            .collect();
        let all_running = ps
            .containers
            .iter()
            .all(|c| matches!(c.state, State::Running { .. }));
        let names_not_ready: Vec<&str> = ps
            .containers
            .iter()
            .filter(|c| !(matches!(c.state, State::Running { .. }) && c.ready))
            .map(|c| c.name.as_str())
            .collect();
        let old = ps.pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let cond = |t: &str, ok: bool, reason: Option<String>| {
            let status = if ok { "True" } else { "False" };
            let prev = old.iter().find(|c| c["type"] == t && c["status"] == status);
            let mut c = json!({"type": t, "status": status, "lastProbeTime": null, "lastTransitionTime": prev.map_or(json!(now), |p| p["lastTransitionTime"].clone())});
            if let Some(r) = reason.filter(|_| !ok) {
                c["reason"] = json!("ContainersNotReady");
                c["message"] = json!(r);
            }
            c
        };
        let not_ready = format!(
            "containers with unready status: [{}]",
            names_not_ready.join(" ")
        );
        let conditions = vec![
            cond("PodReadyToStartContainers", ps.sandbox.is_some(), None),
            cond("Initialized", true, None),
            cond("Ready", names_not_ready.is_empty(), Some(not_ready.clone())),
            cond(
                "ContainersReady",
                names_not_ready.is_empty(),
                Some(not_ready),
            ),
            cond("PodScheduled", true, None),
        ];
        // Running while a container runs or is restarted; done when all have exited.
        let terminated: Vec<i64> = ps
            .containers
            .iter()
            .filter_map(|c| match c.state {
                State::Terminated { exit_code, .. } => Some(exit_code),
                _ => None,
            })
            .collect();
        let restarting = ps.containers.iter().any(|c| c.last_state.is_some());
        let phase = if terminated.len() == ps.containers.len() && !ps.containers.is_empty() {
            if terminated.iter().all(|c| *c == 0) {
                "Succeeded"
            } else {
                "Failed"
            }
        } else if all_running
            || restarting
            || ps
                .containers
                .iter()
                .any(|c| matches!(c.state, State::Running { .. }))
        {
            "Running"
        } else {
            "Pending"
        };
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": self.node.internal_ip,
            "hostIPs": [{"ip": self.node.internal_ip}],
            "startTime": ps.start_time,
            "containerStatuses": statuses,
            "qosClass": ps.pod["status"]["qosClass"],
        });
        if let Some(ip) = &ps.ip {
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{"ip": ip}]);
        }
        status
    }

    pub(super) fn write_status(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get(uid) else { return };
        let status = self.status(ps, &ctx.now.rfc3339());
        if ps.pod["status"] == status {
            return;
        }
        let pods = client::resource("", "pods");
        let (ns, name) = (ps.namespace.clone(), ps.name.clone());
        if let Ok(updated) = self
            .client
            .replace_status(ctx, pods, Some(&ns), &name, &status)
        {
            if let Some(ps) = self.pods.get_mut(uid) {
                ps.pod = std::sync::Arc::new(updated);
            }
        }
    }
}
