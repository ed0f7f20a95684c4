//! The whole chain on simulated nodes: a Deployment becomes Running pods with IPs, and a
//! deleted pod is stopped and removed by its kubelet.

use serde_json::{json, Value};

use crate::apiserver::{Config, Method, Request, ADMIN_TOKEN};
use crate::cluster::Cluster;
use crate::kubelet::cri::{CriCall, CriResponse, CriResult};

fn call(c: &mut Cluster, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = Request::new(method, path).bearer(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    c.world.api().handle(&req).value()
}

fn nginx() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}}}
    })
}

fn pods(c: &mut Cluster) -> Vec<Value> {
    call(c, Method::Get, "/api/v1/namespaces/default/pods", None)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn nodes_register_and_renew_their_leases() {
    let mut c = Cluster::with_nodes(Config::default(), 2);
    let nodes = call(&mut c, Method::Get, "/api/v1/nodes", None);
    let names: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["node-1", "node-2"]);
    assert_eq!(
        nodes["items"][0]["status"]["conditions"][3]["type"],
        "Ready"
    );
    let before = call(
        &mut c,
        Method::Get,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
        None,
    )["spec"]["renewTime"]
        .clone();
    c.world.advance(10_500);
    let after = call(
        &mut c,
        Method::Get,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
        None,
    )["spec"]["renewTime"]
        .clone();
    assert_ne!(before, after, "the lease is renewed every 10 s");
}

#[test]
fn a_deployment_runs_on_simulated_nodes() {
    let mut c = Cluster::with_nodes(Config::default(), 3);
    call(
        &mut c,
        Method::Post,
        "/apis/apps/v1/namespaces/default/deployments",
        Some(nginx()),
    );
    c.world.advance(10_000);
    let all = pods(&mut c);
    assert_eq!(all.len(), 3);
    for p in &all {
        assert_eq!(p["status"]["phase"], "Running", "{}", p["status"]);
        assert!(p["status"]["podIP"]
            .as_str()
            .unwrap()
            .starts_with("10.244."));
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
        let ready = p["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
    }
    let d = call(
        &mut c,
        Method::Get,
        "/apis/apps/v1/namespaces/default/deployments/nginx",
        None,
    );
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        "NewReplicaSetAvailable"
    );
    // What the pod went through, as `kubectl describe pod` lists it.
    let name = all[0]["metadata"]["name"].as_str().unwrap().to_string();
    let events = call(
        &mut c,
        Method::Get,
        &format!("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D{name}"),
        None,
    );
    let reasons: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    );

    // Delete one pod: the kubelet stops it, the ReplicaSet replaces it.
    call(
        &mut c,
        Method::Delete,
        &format!("/api/v1/namespaces/default/pods/{name}"),
        None,
    );
    let terminating = call(
        &mut c,
        Method::Get,
        &format!("/api/v1/namespaces/default/pods/{name}"),
        None,
    );
    assert!(
        terminating["metadata"]["deletionTimestamp"].is_string(),
        "a running pod is deleted gracefully"
    );
    c.world.advance(10_000);
    let after = pods(&mut c);
    assert_eq!(after.len(), 3);
    assert!(after
        .iter()
        .all(|p| p["metadata"]["name"] != name.as_str() && p["status"]["phase"] == "Running"));
}

fn pod_status(c: &mut Cluster, name: &str) -> Value {
    call(
        c,
        Method::Get,
        &format!("/api/v1/namespaces/default/pods/{name}"),
        None,
    )["status"]
        .clone()
}

#[test]
fn a_crashing_container_restarts_with_doubling_back_off() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crash"},
                     "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    );
    let mut restarts_at = Vec::new();
    let mut last = 0;
    let mut saw_back_off = false;
    for _ in 0..2_000 {
        c.world.advance(100);
        let s = pod_status(&mut c, "crash");
        let n = s["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap_or(0);
        saw_back_off |=
            s["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff";
        if n > last {
            restarts_at.push(c.world.now().millis());
            last = n;
        }
    }
    assert!(saw_back_off, "the container waits in CrashLoopBackOff");
    let gaps: Vec<i64> = restarts_at.windows(2).map(|w| w[1] - w[0]).collect();
    // The first crash restarts at once; then each restart waits 10 s, 20 s, 40 s … after the
    // crash before it (which comes ~0.2 s after the restart: create, start, run 0.1 s).
    for (gap, back_off) in gaps.iter().zip([10_000, 20_000, 40_000, 80_000]) {
        assert!((back_off..back_off + 1_000).contains(gap), "gaps {gaps:?}");
    }
    assert!(gaps.len() >= 4, "{gaps:?}");
    let s = pod_status(&mut c, "crash");
    assert_eq!(
        s["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        1
    );
    assert_eq!(
        s["containerStatuses"][0]["lastState"]["terminated"]["reason"],
        "Error"
    );
    assert_eq!(s["phase"], "Running");
}

#[test]
fn pods_that_finish_succeed_or_fail_by_exit_code() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    for (name, cmd) in [("ok", "exit 0"), ("bad", "exit 3")] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", cmd]}]}});
        call(
            &mut c,
            Method::Post,
            "/api/v1/namespaces/default/pods",
            Some(pod),
        );
    }
    c.world.advance(5_000);
    let ok = pod_status(&mut c, "ok");
    assert_eq!(ok["phase"], "Succeeded");
    assert_eq!(
        ok["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    let bad = pod_status(&mut c, "bad");
    assert_eq!(bad["phase"], "Failed");
    assert_eq!(
        bad["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        3
    );
}

#[test]
fn a_failing_pull_backs_off() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "typo"}, "spec": {"containers": [{"name": "c", "image": "ngnix:1.0"}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    );
    c.world.advance(4_000);
    assert_eq!(
        pod_status(&mut c, "typo")["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ImagePullBackOff"
    );
    c.world.advance(60_000);
    let events = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DPulling",
        None,
    );
    let pulls = events["items"].as_array().unwrap().len();
    assert!(
        (3..=4).contains(&pulls),
        "pulled at 0 s, ~11 s, ~31 s (back-off 10 s, 20 s): {pulls}"
    );
}

#[test]
fn probes_gate_readiness_and_restart_on_liveness_failure() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let probe =
        json!({"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5, "failureThreshold": 3});
    let pod = |name: &str, annotations: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.14.2", "livenessProbe": probe, "readinessProbe": probe}]}})
    };
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("healthy", json!({}))),
    );
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod(
            "never-ready",
            json!({"kubeplay.io/fail-readiness": "true"}),
        )),
    );
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod(
            "dying",
            json!({"kubeplay.io/fail-liveness-after": "20s"}),
        )),
    );
    c.world.advance(3_000);
    let ready =
        |c: &mut Cluster, n: &str| pod_status(c, n)["containerStatuses"][0]["ready"].clone();
    assert_eq!(
        ready(&mut c, "healthy"),
        true,
        "ready after the first successful probe"
    );
    assert_eq!(ready(&mut c, "never-ready"), false);
    assert_eq!(
        pod_status(&mut c, "never-ready")["phase"],
        "Running",
        "running but not ready"
    );
    // Liveness fails from 20 s; three failures 5 s apart, then a restart.
    c.world.advance(40_000);
    let dying = pod_status(&mut c, "dying");
    assert_eq!(dying["containerStatuses"][0]["restartCount"], 1, "{dying}");
    assert_eq!(
        dying["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        137
    );
    let events = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Ddying",
        None,
    );
    let messages: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        messages
            .contains(&"Liveness probe failed: HTTP probe failed with statuscode: 500".to_string()),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"Container web failed liveness probe, will be restarted".to_string()),
        "{messages:?}"
    );
    assert_eq!(
        pod_status(&mut c, "healthy")["containerStatuses"][0]["restartCount"],
        0
    );
}

#[test]
fn csi_volumes_are_published_before_the_sandbox_and_unpublished_after() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let pod = |name: &str, driver: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"volumes": [{"name": "data", "csi": {"driver": driver}}],
                 "containers": [{"name": "c", "image": "nginx:1.14.2", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}})
    };
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("with-volume", "hostpath.csi.kubeplay.io")),
    );
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("bad-driver", "nfs.example.com")),
    );
    c.world.advance(5_000);
    assert_eq!(pod_status(&mut c, "with-volume")["phase"], "Running");
    assert_eq!(pod_status(&mut c, "bad-driver")["phase"], "Pending");
    let failed = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DFailedMount",
        None,
    );
    assert!(failed["items"][0]["message"]
        .as_str()
        .unwrap()
        .contains("driver name nfs.example.com not found in the list of registered CSI drivers"));
    call(
        &mut c,
        Method::Delete,
        "/api/v1/namespaces/default/pods/with-volume",
        None,
    );
    c.world.advance(5_000);
    let calls: Vec<String> = c
        .world
        .trace()
        .events()
        .filter_map(|e| match &e.kind {
            crate::trace::TraceKind::Cri { method, pod, .. } if pod == "default/with-volume" => {
                Some(method.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            "CSI NodePublishVolume",
            "CRI RunPodSandbox",
            "CRI PullImage",
            "CRI CreateContainer",
            "CRI StartContainer",
            "CRI StopContainer",
            "CRI StopPodSandbox",
            "CSI NodeUnpublishVolume",
            "CRI RemovePodSandbox"
        ]
    );
}

#[test]
fn the_kubelet_rejects_a_pod_that_does_not_fit() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    // Bound directly to the node (no scheduler check), asking for more CPU than it has.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "greedy"},
                     "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "16"}}}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    );
    let limit = c.world.now().plus_secs(5);
    let failed = c.world.run_until_condition(limit, |w| {
        let p = w
            .api()
            .handle(
                &Request::new(Method::Get, "/api/v1/namespaces/default/pods/greedy")
                    .bearer(ADMIN_TOKEN),
            )
            .value();
        p["status"]["phase"] == "Failed"
    });
    assert!(failed, "rejected within 5 s");
    let s = pod_status(&mut c, "greedy");
    assert_eq!(s["reason"], "OutOfcpu");
    assert_eq!(s["message"], "Pod was rejected: Node didn't have enough resource: cpu, requested: 16000, used: 0, capacity: 4000");
}

/// The box's NodePublishVolume calls so far, each answered Done: driver, volume id, target
/// path and context.
fn answer_publishes(
    c: &mut Cluster,
) -> Vec<(
    String,
    String,
    String,
    std::collections::BTreeMap<String, String>,
)> {
    let mut publishes = Vec::new();
    for req in c.take_remote_requests("box") {
        if let CriCall::NodePublishVolume {
            driver,
            volume_id,
            target_path,
            volume_context,
            ..
        } = &req.call
        {
            publishes.push((
                driver.clone(),
                volume_id.clone(),
                target_path.clone(),
                volume_context.clone(),
            ));
            c.deliver(
                "box",
                CriResponse {
                    id: req.id,
                    result: Ok(CriResult::Done),
                },
                3,
            );
        }
    }
    publishes
}

/// The box's calls, second by second (publishes answered Done), until a sandbox is asked for
/// or 90 s pass.
fn calls_until_sandbox(c: &mut Cluster) -> Vec<CriCall> {
    let mut seen = Vec::new();
    for _ in 0..90 {
        c.world.advance(1_000);
        for req in c.take_remote_requests("box") {
            seen.push(req.call.clone());
            if matches!(req.call, CriCall::NodePublishVolume { .. }) {
                c.deliver(
                    "box",
                    CriResponse {
                        id: req.id,
                        result: Ok(CriResult::Done),
                    },
                    3,
                );
            }
        }
        if seen
            .iter()
            .any(|c| matches!(c, CriCall::RunPodSandbox { .. }))
        {
            break;
        }
    }
    seen
}

/// Every kind of volume a node provides is published through a CSI driver before the
/// sandbox: emptyDir and hostPath through the node's own plugin, a claim through its
/// PersistentVolume's driver and handle; a claim not bound yet fails (FailedMount) and is
/// tried again until it is. Seen from the host's side of a remote node: the calls it gets.
#[test]
fn every_volume_kind_is_published_through_a_csi_driver() {
    use crate::kubelet::volumes::{HOST_PATH, NODE_VOLUME_DRIVER, VOLUME_KIND};

    let mut c = Cluster::new(Config::default());
    let node = crate::kubelet::NodeConfig::simulated("box", "2", "4Gi", "10.89.0.0/24", "10.0.0.1");
    c.add_remote_node(node, &Default::default()).unwrap();
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "resources": {"requests": {"storage": "1Gi"}}}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/persistentvolumeclaims",
        Some(pvc),
    );
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vols"},
        "spec": {"nodeName": "box",
                 "volumes": [{"name": "scratch", "emptyDir": {}},
                             {"name": "host", "hostPath": {"path": "/srv/x", "type": "DirectoryOrCreate"}},
                             {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                             {"name": "cm", "configMap": {"name": "c"}}],
                 "containers": [{"name": "c", "image": "busybox"}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    );
    c.world.advance(1_000);
    let publishes = answer_publishes(&mut c);
    assert_eq!(
        publishes.len(),
        2,
        "emptyDir and hostPath; the claim waits: {publishes:?}"
    );
    let uid = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/pods/vols",
        None,
    )["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(publishes[0].0, NODE_VOLUME_DRIVER);
    assert_eq!(publishes[0].1, format!("csi-{uid}-scratch"));
    assert_eq!(
        publishes[0].2,
        format!("/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~csi/scratch/mount")
    );
    assert_eq!(publishes[0].3[VOLUME_KIND], "emptyDir");
    assert_eq!(publishes[1].3[VOLUME_KIND], "hostPath");
    assert_eq!(publishes[1].3[HOST_PATH], "/srv/x");
    let failed = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DFailedMount",
        None,
    );
    assert_eq!(
        failed["items"][0]["message"],
        "MountVolume.SetUp failed for volume \"data\" : PersistentVolumeClaim default/data is not bound"
    );
    // A volume appears; the binder binds the claim; the retry publishes it with the
    // volume's driver and handle, then the sandbox follows.
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-1"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "csi": {"driver": "disk.csi.example.com", "volumeHandle": "vol-42", "volumeAttributes": {"tier": "fast"}}}});
    call(&mut c, Method::Post, "/api/v1/persistentvolumes", Some(pv));
    // The retries back off (0.5 s, 1 s, 2 s…).
    let seen = calls_until_sandbox(&mut c);
    let claim = seen.iter().find_map(|call| match call {
        CriCall::NodePublishVolume {
            driver,
            volume_id,
            volume_context,
            ..
        } => Some((
            driver.as_str(),
            volume_id.as_str(),
            volume_context["tier"].as_str(),
        )),
        _ => None,
    });
    assert_eq!(
        claim,
        Some(("disk.csi.example.com", "vol-42", "fast")),
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(CriCall::RunPodSandbox { .. })),
        "the sandbox after every volume: {seen:?}"
    );
}

/// A pod deleted while its sandbox is being made waits for it (`Draining`), then is taken
/// down in upstream's order — no container was made, so the sandbox stops and goes — and the
/// pod object is deleted last.
#[test]
fn a_pod_deleted_while_its_sandbox_is_made_is_taken_down_when_it_comes() {
    let mut c = Cluster::new(Config::default());
    let node = crate::kubelet::NodeConfig::simulated("box", "2", "4Gi", "10.89.0.0/24", "10.0.0.1");
    c.add_remote_node(node, &Default::default()).unwrap();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "brief"},
        "spec": {"nodeName": "box", "containers": [{"name": "c", "image": "busybox"}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod),
    );
    c.world.advance(100);
    let sandbox = c.take_remote_requests("box");
    assert!(matches!(sandbox.as_slice(), [r] if matches!(r.call, CriCall::RunPodSandbox { .. })));
    call(
        &mut c,
        Method::Delete,
        "/api/v1/namespaces/default/pods/brief",
        None,
    );
    c.world.advance(100);
    assert!(
        c.take_remote_requests("box").is_empty(),
        "nothing until the sandbox comes back"
    );
    let made = CriResult::Sandbox {
        sandbox_id: "sb-1".into(),
        ip: "10.89.0.2".into(),
    };
    c.deliver(
        "box",
        CriResponse {
            id: sandbox[0].id,
            result: Ok(made),
        },
        90,
    );
    let mut calls = Vec::new();
    for _ in 0..5 {
        c.world.advance(100);
        for req in c.take_remote_requests("box") {
            calls.push(req.call.method());
            c.deliver(
                "box",
                CriResponse {
                    id: req.id,
                    result: Ok(CriResult::Done),
                },
                5,
            );
        }
    }
    assert_eq!(calls, ["StopPodSandbox", "RemovePodSandbox"]);
    let gone = call(
        &mut c,
        Method::Get,
        "/api/v1/namespaces/default/pods/brief",
        None,
    );
    assert_eq!(gone["reason"], "NotFound", "{gone}");
}

/// `kubectl logs` goes through the API server's `pods/log` subresource — checked there as
/// kube-apiserver's LogLocation checks it — and the pod's kubelet answers.
#[test]
fn logs_are_the_api_servers_pods_log_answered_by_the_kubelet() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let lonely = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lonely"},
        "spec": {"nodeSelector": {"nowhere": "x"}, "containers": [{"name": "c", "image": "nginx"}]}});
    let two = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
        "spec": {"containers": [{"name": "a", "image": "nginx:1.14.2"}, {"name": "b", "image": "nginx:1.14.2"}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(lonely),
    );
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(two),
    );
    c.world.advance(10_000);
    let err = |c: &mut Cluster, line: &str| crate::kubectl::run(c, line).stderr;
    assert_eq!(
        err(&mut c, "logs lonely"),
        "Error from server (BadRequest): pod lonely does not have a host assigned"
    );
    assert_eq!(
        err(&mut c, "logs two"),
        "Error from server (BadRequest): a container name must be specified for pod two, choose one of: [a b]"
    );
    assert_eq!(
        err(&mut c, "logs two -c z"),
        "Error from server (BadRequest): container z is not valid for pod two"
    );
    assert_eq!(
        err(&mut c, "logs nothere"),
        "Error from server (NotFound): pods \"nothere\" not found"
    );
    let out = crate::kubectl::run(&mut c, "logs two -c b");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("Configuration complete; ready for start up"),
        "{}",
        out.stdout
    );
}

/// The kubelet's housekeeping asks the runtime what its containers use (CRI
/// `ListContainerStats`, untraced), and the metrics API serves it: `kubectl top` reads it.
#[test]
fn top_reads_the_metrics_api_from_the_kubelets_housekeeping() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let out = crate::kubectl::run(&mut c, "top pods");
    assert_eq!(out.stderr, "error: metrics not available yet");
    let web = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.14.2",
                 "resources": {"requests": {"cpu": "200m"}, "limits": {"memory": "64Mi"}}}]}});
    call(
        &mut c,
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(web),
    );
    c.world.advance(25_000);
    // A quarter of the request and of the limit: the simulated runtime's steady figures.
    assert_eq!(
        crate::kubectl::run(&mut c, "top pods").stdout,
        "NAME   CPU(cores)   MEMORY(bytes)\nweb    50m          16Mi\n"
    );
    assert_eq!(
        crate::kubectl::run(&mut c, "top pods -l app=other").stderr,
        "error: metrics not available yet"
    );
    assert_eq!(
        crate::kubectl::run(&mut c, "top node").stdout,
        "NAME     CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)\nnode-1   50m          1%       16Mi            0%\n"
    );
    assert_eq!(
        crate::kubectl::run(&mut c, "top pod nothere").stderr,
        "Error from server (NotFound): podmetrics.metrics.k8s.io \"nothere\" not found"
    );
    let pm = c
        .handle(
            &Request::new(
                Method::Get,
                "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web",
            )
            .bearer(ADMIN_TOKEN),
        )
        .value();
    assert_eq!(pm["kind"], "PodMetrics");
    assert_eq!(
        pm["containers"][0]["usage"],
        json!({"cpu": "50000000n", "memory": "16384Ki"})
    );
    let groups = call(&mut c, Method::Get, "/apis", None);
    assert!(groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "metrics.k8s.io"));
    // Housekeeping is not the pod's story: no stats call in the trace.
    assert!(!c.world.trace().events().any(|e| matches!(&e.kind,
        crate::trace::TraceKind::Cri { method, .. } if method.contains("Stats"))));
}

/// A simulated node's power switch is its `power` subresource: RBAC'd, a dry run switches
/// nothing, and a real machine's power is not the playground's to switch.
#[test]
fn the_power_switch_is_a_nodes_power_subresource() {
    let mut c = Cluster::with_nodes(Config::default(), 1);
    let node = crate::kubelet::NodeConfig::simulated("box", "2", "4Gi", "10.89.0.0/24", "10.0.0.1");
    c.add_remote_node(node, &Default::default()).unwrap();
    let power = |c: &mut Cluster, token: &str, path: &str, on: bool| {
        c.handle(
            &Request::new(Method::Post, path)
                .bearer(token)
                .json(&json!({"on": on})),
        )
    };
    let viewer = power(
        &mut c,
        crate::apiserver::VIEWER_TOKEN,
        "/api/v1/nodes/node-1/power",
        false,
    );
    assert_eq!(viewer.code, 403);
    assert!(c.node_powered("node-1"));
    let dry = power(
        &mut c,
        ADMIN_TOKEN,
        "/api/v1/nodes/node-1/power?dryRun=All",
        false,
    );
    assert_eq!((dry.code, c.node_powered("node-1")), (200, true));
    let off = power(&mut c, ADMIN_TOKEN, "/api/v1/nodes/node-1/power", false);
    assert_eq!(off.value(), json!({"node": "node-1", "powered": false}));
    assert!(!c.node_powered("node-1"));
    let real = power(&mut c, ADMIN_TOKEN, "/api/v1/nodes/box/power", false);
    assert_eq!(real.code, 400);
    assert!(c.node_powered("box"));
    assert_eq!(
        power(&mut c, ADMIN_TOKEN, "/api/v1/nodes/nothere/power", false).code,
        404
    );
}
