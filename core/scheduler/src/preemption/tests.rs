//! Victims and the node chosen, as DefaultPreemption chooses them.

use apiserver::watch::{EventType, WatchEvent};
use serde_json::json;

use super::*;
use crate::plugins::testing::{node_with, pod, snapshot_with};
use crate::profile::Profile;
use crate::run_filters;

fn sized(name: &str, cpu: &str, priority: i64, labels: serde_json::Value) -> PodInfo {
    let mut p = pod(
        name,
        labels,
        json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}),
    );
    p.priority = priority;
    p
}

fn node(name: &str, cpu: &str, pods: &[PodInfo]) -> crate::framework::NodeInfo {
    let mut n = node_with(name, &[], pods);
    n.allocatable = crate::framework::Resources::from_list(&json!({"cpu": cpu, "pods": "110"}));
    n
}

/// Runs the pod's cycle up to PostFilter and preemption.
fn run(snap: &Snapshot, incoming: &PodInfo) -> Result<(String, Vec<String>), String> {
    let profile = Profile::default_scheduler();
    let state = CycleState::default();
    let examined: Vec<Examined> = snap
        .nodes
        .iter()
        .map(|n| Examined {
            node: n.name.clone(),
            rejected: run_filters(&profile, &state, incoming, n),
        })
        .collect();
    let mut rng = Rng::new(1);
    preempt(
        snap,
        &profile,
        &state,
        incoming,
        &examined,
        &BTreeMap::new(),
        &mut rng,
    )
    .map(|c| {
        (
            snap.nodes[c.node].name.to_string(),
            c.victims.iter().map(|v| v.name.clone()).collect(),
        )
    })
}

#[test]
fn the_node_whose_victims_matter_least_is_chosen() {
    let snap = snapshot_with(&[
        node("n1", "2", &[sized("a", "2", 10, json!({}))]),
        node(
            "n2",
            "2",
            &[sized("b", "1", 5, json!({})), sized("c", "1", 5, json!({}))],
        ),
    ]);
    let urgent = sized("urgent", "2", 100, json!({}));
    // n2's highest victim has priority 5 < n1's 10.
    assert_eq!(
        run(&snap, &urgent),
        Ok(("n2".into(), vec!["b".into(), "c".into()]))
    );
}

#[test]
fn disruption_budgets_are_respected_when_possible() {
    let mut snap = snapshot_with(&[
        node("n1", "2", &[sized("a", "2", 10, json!({}))]),
        node(
            "n2",
            "2",
            &[
                sized("b", "1", 5, json!({"app": "db"})),
                sized("c", "1", 5, json!({"app": "db"})),
            ],
        ),
    ]);
    snap.apply(
        crate::snapshot::Kind::PodDisruptionBudget,
        &WatchEvent::new(
            EventType::Added,
            json!({"metadata": {"name": "db", "namespace": "default"},
                "spec": {"selector": {"matchLabels": {"app": "db"}}}, "status": {"disruptionsAllowed": 0}}),
        ),
    );
    let urgent = sized("urgent", "2", 100, json!({}));
    assert_eq!(run(&snap, &urgent), Ok(("n1".into(), vec!["a".into()])));
}

#[test]
fn only_as_many_victims_as_needed() {
    // A full node of 3 CPUs: the new pod needs 1 — one victim is enough, and the least
    // important (lowest priority) goes; the pod of higher priority is never a victim.
    let snap = snapshot_with(&[node(
        "n1",
        "3",
        &[
            sized("low", "1", 1, json!({})),
            sized("mid", "1", 2, json!({})),
            sized("x", "1", 200, json!({})),
        ],
    )]);
    assert_eq!(
        run(&snap, &sized("urgent", "1", 100, json!({}))),
        Ok(("n1".into(), vec!["low".into()]))
    );
}

#[test]
fn when_preemption_cannot_help_the_message_says_why() {
    let mut tainted = node("n2", "4", &[sized("b", "1", 1, json!({}))]);
    tainted.taints.push(crate::framework::Taint {
        key: "dedicated".into(),
        value: "x".into(),
        effect: "NoSchedule".into(),
    });
    let snap = snapshot_with(&[
        node("n1", "2", &[sized("a", "2", 1000, json!({}))]),
        tainted,
    ]);
    assert_eq!(
        run(&snap, &sized("urgent", "2", 100, json!({}))),
        Err("0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.".into())
    );
    let mut never = sized("polite", "2", 2000, json!({}));
    never.preempt_never = true;
    assert_eq!(
        run(&snap, &never),
        Err("not eligible due to preemptionPolicy=Never.".into())
    );
}
