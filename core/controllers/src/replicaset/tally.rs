//! Each ReplicaSet's counts of its pods — active, ready, labelled as its template — kept from
//! pod events as they arrive, so a sync reads its status in constant time instead of walking
//! every pod of the set (a sync follows every change of any of them: walking made the cost
//! of N pods grow as N²).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use apimachinery::api::pod::Pod;
use apimachinery::selectors::Selector;

/// What a ReplicaSet's status counts of its pods (`FilterActivePods` and the counts of
/// `calculateStatus`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub active: usize,
    pub ready: usize,
    /// Active pods whose labels include the template's (`fullyLabeledReplicas`).
    pub labeled: usize,
}

impl Tally {
    fn is_empty(&self) -> bool {
        *self == Tally::default()
    }
}

/// The tallies by ReplicaSet uid, and the template labels each was counted against.
#[derive(Debug, Default)]
pub struct Tallies {
    by_owner: BTreeMap<String, Tally>,
    templates: BTreeMap<String, Selector>,
}

/// The selector of a ReplicaSet's template labels (`{"matchLabels": labels}`).
pub fn template_selector(rs: &Value) -> Selector {
    Selector::from_label_selector(
        &json!({"matchLabels": rs["spec"]["template"]["metadata"]["labels"]}),
    )
    .unwrap_or_default()
}

impl Tallies {
    pub fn get(&self, owner_uid: &str) -> Tally {
        self.by_owner.get(owner_uid).copied().unwrap_or_default()
    }

    /// What `pod` adds to the tally of `owner_uid`.
    pub fn of(&self, owner_uid: &str, pod: &Value) -> Tally {
        if !Pod(pod).is_active() {
            return Tally::default();
        }
        let labeled = self
            .templates
            .get(owner_uid)
            .is_none_or(|labels| labels.matches(pod));
        Tally {
            active: 1,
            ready: usize::from(Pod(pod).is_ready()),
            labeled: usize::from(labeled),
        }
    }

    /// A pod of `owner_uid` appeared (`add`) or went (`!add`).
    pub fn count(&mut self, owner_uid: &str, pod: &Value, add: bool) {
        let t = self.of(owner_uid, pod);
        let entry = self.by_owner.entry(owner_uid.to_string()).or_default();
        if add {
            entry.active += t.active;
            entry.ready += t.ready;
            entry.labeled += t.labeled;
        } else {
            entry.active = entry.active.saturating_sub(t.active);
            entry.ready = entry.ready.saturating_sub(t.ready);
            entry.labeled = entry.labeled.saturating_sub(t.labeled);
        }
        if entry.is_empty() {
            self.by_owner.remove(owner_uid);
        }
    }

    /// A ReplicaSet was seen with `rs`'s template: if its labels changed, its pods are
    /// counted again against them (`pods`: all of its pods).
    pub fn template_seen<'a>(
        &mut self,
        owner_uid: &str,
        rs: &Value,
        pods: impl Iterator<Item = &'a Value>,
    ) {
        let labels = template_selector(rs);
        if self.templates.get(owner_uid) == Some(&labels) {
            return;
        }
        self.templates.insert(owner_uid.to_string(), labels);
        self.by_owner.remove(owner_uid);
        for pod in pods {
            self.count(owner_uid, pod, true);
        }
    }

    /// A ReplicaSet is gone: nothing syncs it any more.
    pub fn forget(&mut self, owner_uid: &str) {
        self.templates.remove(owner_uid);
        self.by_owner.remove(owner_uid);
    }
}
