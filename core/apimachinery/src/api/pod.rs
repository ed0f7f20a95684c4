//! A Pod as people read it: the READY, STATUS and RESTARTS columns of `kubectl get pods`
//! (`printPod` upstream) and the colour a map gives that status. One definition, used by the
//! API server's printer and by both of the page's maps, so the page never says something
//! kubectl would not.

use serde_json::Value;

use super::meta::{self, is_condition_true};
use crate::clock::Time;

/// A borrowed view of a Pod held as JSON: the fields components read, by name, with the
/// defaults the API gives them — so no component indexes `["spec"]["nodeName"]` itself.
#[derive(Clone, Copy, Debug)]
pub struct Pod<'a>(pub &'a Value);

impl<'a> Pod<'a> {
    pub fn name(self) -> &'a str {
        meta::name(self.0)
    }

    pub fn namespace(self) -> &'a str {
        meta::namespace(self.0)
    }

    pub fn uid(self) -> &'a str {
        meta::uid(self.0)
    }

    /// The node it is bound to, if it is.
    pub fn node_name(self) -> Option<&'a str> {
        self.0["spec"]["nodeName"]
            .as_str()
            .filter(|n| !n.is_empty())
    }

    pub fn phase(self) -> &'a str {
        self.0["status"]["phase"].as_str().unwrap_or_default()
    }

    /// Succeeded or Failed: nothing of it runs any more.
    pub fn is_finished(self) -> bool {
        matches!(self.phase(), "Succeeded" | "Failed")
    }

    /// Counts toward its controller's replicas: not finished and not being deleted
    /// (`FilterActivePods`).
    pub fn is_active(self) -> bool {
        !self.is_finished() && !meta::is_being_deleted(self.0)
    }

    pub fn is_ready(self) -> bool {
        is_condition_true(self.0, "Ready")
    }

    /// What `kubectl get pods` shows of it.
    pub fn summary(self) -> PodSummary {
        summarize(self.0)
    }
}

/// What `kubectl get pods` shows of a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSummary {
    /// Containers running and ready.
    pub ready: usize,
    /// Containers in the spec.
    pub total: usize,
    /// The STATUS column: a phase, or the reason a container waits or ended
    /// (`CrashLoopBackOff`, `Completed`, `Init:0/1`, `Terminating`, …).
    pub status: String,
    pub restarts: i64,
    /// When a container last ended before restarting, if one did.
    pub last_restart: Option<Time>,
}

/// How a map colours a pod's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodHealth {
    Running,
    Pending,
    Failing,
    Terminating,
    Completed,
}

impl PodSummary {
    pub fn health(&self) -> PodHealth {
        let s = self.status.as_str();
        let init_progress = s.strip_prefix("Init:").is_some_and(|rest| {
            rest.split_once('/').is_some_and(|(a, b)| {
                a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
            })
        });
        match s {
            "Running" => PodHealth::Running,
            "Pending" | "ContainerCreating" | "PodInitializing" | "NotReady" => PodHealth::Pending,
            _ if init_progress => PodHealth::Pending,
            "Terminating" | "Unknown" => PodHealth::Terminating,
            "Completed" | "Succeeded" => PodHealth::Completed,
            _ => PodHealth::Failing,
        }
    }
}

/// The reason a terminated container state shows (`Error`, `ExitCode:1`, `Signal:9`).
fn terminated_reason(term: &Value) -> String {
    match term["reason"].as_str() {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => match term["signal"].as_i64() {
            Some(s) if s != 0 => format!("Signal:{s}"),
            _ => format!("ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0)),
        },
    }
}

/// The status an init container that has not succeeded gives its pod, if one has not.
fn init_status(pod: &Value, restarts: &mut i64) -> Option<String> {
    let inits = pod["status"]["initContainerStatuses"].as_array()?;
    let total = pod["spec"]["initContainers"].as_array().map_or(0, Vec::len);
    for (i, c) in inits.iter().enumerate() {
        *restarts += c["restartCount"].as_i64().unwrap_or(0);
        let term = &c["state"]["terminated"];
        if term.is_object() && term["exitCode"].as_i64() == Some(0) {
            continue;
        }
        return Some(if term.is_object() {
            match term["reason"].as_str() {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => format!("Init:ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0)),
            }
        } else if let Some(r) = c["state"]["waiting"]["reason"]
            .as_str()
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            format!("Init:{r}")
        } else {
            format!("Init:{i}/{total}")
        });
    }
    None
}

/// The pod as `kubectl get pods` shows it (`printPod`).
pub fn summarize(pod: &Value) -> PodSummary {
    let statuses = pod["status"]["containerStatuses"].as_array();
    let mut out = PodSummary {
        ready: 0,
        total: pod["spec"]["containers"].as_array().map_or(0, Vec::len),
        status: pod["status"]["reason"]
            .as_str()
            .unwrap_or_else(|| pod["status"]["phase"].as_str().unwrap_or_default())
            .to_string(),
        restarts: 0,
        last_restart: None,
    };
    if let Some(init) = init_status(pod, &mut out.restarts) {
        out.status = init;
        for c in statuses.into_iter().flatten() {
            out.restarts += c["restartCount"].as_i64().unwrap_or(0);
        }
    } else {
        let mut has_running = false;
        for c in statuses.into_iter().flatten().rev() {
            out.restarts += c["restartCount"].as_i64().unwrap_or(0);
            if let Some(t) = c["lastState"]["terminated"]["finishedAt"]
                .as_str()
                .and_then(Time::parse_rfc3339)
            {
                out.last_restart = Some(out.last_restart.map_or(t, |l| l.max(t)));
            }
            let st = &c["state"];
            if let Some(r) = st["waiting"]["reason"].as_str().filter(|r| !r.is_empty()) {
                out.status = r.to_string();
            } else if st["terminated"].is_object() {
                out.status = terminated_reason(&st["terminated"]);
            } else if st["running"].is_object() {
                has_running = true;
                if c["ready"].as_bool() == Some(true) {
                    out.ready += 1;
                }
            }
        }
        if out.status == "Completed" && has_running {
            out.status = if is_condition_true(pod, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    if crate::api::meta::is_being_deleted(pod) && !matches!(phase, "Succeeded" | "Failed") {
        out.status = if pod["status"]["reason"] == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(status: Value) -> Value {
        json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": status})
    }

    #[test]
    fn every_container_counts_not_only_the_first() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
            {"name": "b", "ready": false, "restartCount": 3,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-01-01T00:00:10Z"}}},
        ]}));
        let s = summarize(&p);
        assert_eq!((s.ready, s.total, s.restarts), (1, 2, 3));
        assert_eq!(s.status, "CrashLoopBackOff");
        assert_eq!(s.health(), PodHealth::Failing);
        assert!(s.last_restart.is_some());
    }

    #[test]
    fn statuses_read_as_kubectl_prints_them() {
        let cases = [
            (json!({"phase": "Pending"}), "Pending", PodHealth::Pending),
            (
                json!({"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}),
                "ContainerCreating",
                PodHealth::Pending,
            ),
            (
                json!({"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
                "Completed",
                PodHealth::Completed,
            ),
            (
                json!({"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 2}}}]}),
                "ExitCode:2",
                PodHealth::Failing,
            ),
            (
                json!({"phase": "Pending", "initContainerStatuses": [{"state": {"waiting": {}}}]}),
                "Init:0/0",
                PodHealth::Pending,
            ),
        ];
        for (status, want, health) in cases {
            let s = summarize(&pod(status));
            assert_eq!((s.status.as_str(), s.health()), (want, health));
        }
        let mut going = pod(json!({"phase": "Running"}));
        going["metadata"] = json!({"deletionTimestamp": "2024-01-01T00:00:00Z"});
        assert_eq!(summarize(&going).health(), PodHealth::Terminating);
    }
}
