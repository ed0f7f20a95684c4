//! A node loses power: heartbeats stop → Unknown → unreachable taints → eviction after 300 s
//! → replacements on healthy nodes; nothing new lands on the dead node; power back → Ready.

use serde_json::{json, Value};

use crate::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use crate::cluster::Cluster;

fn get(c: &mut Cluster, path: &str) -> Value {
    c.world
        .api()
        .handle(&Request::new(Method::Get, path).bearer(ADMIN_TOKEN))
        .value()
}

fn pods(c: &mut Cluster) -> Vec<Value> {
    get(c, "/api/v1/namespaces/default/pods")["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ready(node: &Value) -> String {
    node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_node_loses_power_and_its_pods_are_replaced() {
    let mut c = Cluster::with_nodes(Config::default(), 3);
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}}
    });
    c.world.api().handle(
        &Request::new(Method::Post, "/apis/apps/v1/namespaces/default/deployments")
            .bearer(ADMIN_TOKEN)
            .json(&d),
    );
    c.world.advance(10_000);
    let on_node_2: Vec<String> = pods(&mut c)
        .iter()
        .filter(|p| p["spec"]["nodeName"] == "node-2")
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(on_node_2.len(), 1, "one pod per node");

    let t0 = c.world.now();
    assert!(c.set_node_power("node-2", false));
    let mut became_unknown = None;
    let mut evicted_at = None;
    for _ in 0..80 {
        c.world.advance(5_000);
        let node = get(&mut c, "/api/v1/nodes/node-2");
        if became_unknown.is_none() && ready(&node) == "Unknown" {
            became_unknown = Some(c.world.now().millis() - t0.millis());
            let taints: Vec<String> = node["spec"]["taints"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    format!(
                        "{}:{}",
                        t["key"].as_str().unwrap(),
                        t["effect"].as_str().unwrap()
                    )
                })
                .collect();
            assert!(
                taints.is_empty()
                    || taints.contains(&"node.kubernetes.io/unreachable:NoSchedule".to_string()),
                "{taints:?}"
            );
        }
        let all = pods(&mut c);
        // Nothing new is scheduled to the dead node.
        for p in &all {
            if p["spec"]["nodeName"] == "node-2" {
                assert!(
                    on_node_2.contains(&p["metadata"]["name"].as_str().unwrap().to_string()),
                    "a new pod landed on the dead node"
                );
            }
        }
        let victim = all
            .iter()
            .find(|p| p["metadata"]["name"] == on_node_2[0].as_str())
            .unwrap();
        if evicted_at.is_none() && victim["metadata"].get("deletionTimestamp").is_some() {
            evicted_at = Some(c.world.now().millis() - t0.millis());
        }
    }
    let unknown = became_unknown.expect("node-2 went Unknown");
    assert!(
        (50_000..=60_000).contains(&unknown),
        "Unknown after the 50 s grace period, at {unknown} ms"
    );
    let evicted = evicted_at.expect("the pod was evicted");
    assert!(
        (350_000..=365_000).contains(&evicted),
        "evicted 300 s after the taint, at {evicted} ms"
    );
    let running: Vec<Value> = pods(&mut c)
        .into_iter()
        .filter(|p| {
            p["status"]["phase"] == "Running" && p["metadata"].get("deletionTimestamp").is_none()
        })
        .collect();
    assert_eq!(running.len(), 3, "three Running again");
    assert!(running.iter().all(|p| p["spec"]["nodeName"] != "node-2"));
    // The evicted pod stays Terminating while its node is down, as in Kubernetes.
    assert_eq!(pods(&mut c).len(), 4);

    // Power back: the kubelet reports Ready, the taints go, the old pod is cleaned up.
    assert!(c.set_node_power("node-2", true));
    c.world.advance(20_000);
    let node = get(&mut c, "/api/v1/nodes/node-2");
    assert_eq!(ready(&node), "True");
    assert!(node["spec"].get("taints").is_none(), "{}", node["spec"]);
    assert_eq!(pods(&mut c).len(), 3);
}
