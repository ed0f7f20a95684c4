//! The record of every request (`k8s.io/apiserver/pkg/audit` upstream): who asked, what for,
//! how each stage of the pipeline answered, and the outcome. The page's request inspector and
//! the trace are drawn from it.

use std::collections::VecDeque;

use apimachinery::clock::Time;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    /// `authentication`, `authorization`, `admission/mutating/ServiceAccount`, `validation`,
    /// `admission/validating/NamespaceLifecycle`, `storage`.
    pub name: String,
    pub outcome: String,
    /// What the stage changed in the object (a mutating admission plugin), as
    /// [`apimachinery::api::diff`] lines.
    pub patch: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: u64,
    pub time: Time,
    pub user: String,
    pub verb: String,
    /// `pods`, `deployments.apps`, `pods/binding`; the path for non-resource requests.
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub code: u16,
    pub stages: Vec<Stage>,
    /// The revision the request wrote, if it wrote.
    pub resource_version: Option<i64>,
}

/// The last `capacity` requests.
#[derive(Debug)]
pub struct AuditLog {
    events: VecDeque<AuditEvent>,
    capacity: usize,
    next_seq: u64,
}

impl AuditLog {
    pub fn new(capacity: usize) -> Self {
        AuditLog {
            events: VecDeque::new(),
            capacity,
            next_seq: 1,
        }
    }

    pub fn push(&mut self, mut event: AuditEvent) {
        event.seq = self.next_seq;
        self.next_seq += 1;
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Events with `seq > after`, oldest first. Sequence numbers only grow, so the first
    /// one is found by binary search: the trace asks after every handler.
    pub fn since(&self, after: u64) -> impl Iterator<Item = &AuditEvent> {
        let first = self.events.partition_point(|e| e.seq <= after);
        self.events.range(first..)
    }

    pub fn last(&self) -> Option<&AuditEvent> {
        self.events.back()
    }
}
