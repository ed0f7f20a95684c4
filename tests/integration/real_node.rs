//! The real node, end to end with real kubectl: this machine joins the door's cluster as a
//! Node whose pods are containerd containers (runc, CNI bridge networking), driven by the same
//! kubelet code as the simulated nodes. These tests start their own containerd; where it
//! cannot start they fail with the reason (`./dev test` installs containerd, runc, the CNI
//! plugins and busybox-static first).

use kubeplay::real_node::{Lender, RealNodeDoor};
use kubeplay_bridge::cri::v1;
use serde_json::Value;

const KUBECTL: &str = "/usr/bin/kubectl";

/// Runs a shell line with kubectl against the door: `(exit code, stdout, stderr)`.
fn sh(node: &RealNodeDoor, line: &str) -> (i32, String, String) {
    let out = node
        .door
        .shell(std::path::Path::new(KUBECTL), line)
        .output()
        .expect("running kubectl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(node: &RealNodeDoor, line: &str) -> String {
    let (code, out, err) = sh(node, line);
    assert_eq!(code, 0, "{line}\nstdout: {out}\nstderr: {err}");
    out
}

fn json(node: &RealNodeDoor, line: &str) -> Value {
    serde_json::from_str(&ok(node, line)).expect("kubectl's JSON")
}

/// The runtime id of a pod's first container.
fn container_id(pod: &Value) -> String {
    pod["status"]["containerStatuses"][0]["containerID"]
        .as_str()
        .expect("containerID")
        .trim_start_matches("containerd://")
        .to_string()
}

/// `kill 1` in a container through CRI `ExecSync` (its `sh` traps SIGTERM and exits 0): the
/// exec's exit code, which races the container's end.
fn kill_pid_1(node: &RealNodeDoor, id: &str) -> Result<i32, String> {
    node.cri(async |mut cri| {
        cri.runtime
            .exec_sync(v1::ExecSyncRequest {
                container_id: id.to_string(),
                cmd: vec!["kill".into(), "1".into()],
                timeout: 5,
            })
            .await
            .map(|r| r.into_inner().exit_code)
            .map_err(|e| e.message().to_string())
    })
}

/// Pods may land only on the real node: its label selected, its taint tolerated (a pod
/// spec's fields, indented by `indent` spaces, on lines of their own).
fn on_real_node(indent: usize) -> String {
    let pad = " ".repeat(indent);
    format!("\n{pad}nodeSelector: {{kubeplay.io/real-node: \"true\"}}\n{pad}tolerations: [{{key: kubeplay.io/real-node, operator: Exists, effect: NoSchedule}}]")
}

/// A Deployment of busybox web servers on the real nodes, ready when HTTP answers (sh traps
/// SIGTERM so a stop is quick, as a well-behaved entrypoint does); `spec` adds pod spec
/// fields (lines indented by six).
fn web_deployment(name: &str, replicas: u32, spec: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{}{spec}
      containers:
      - name: httpd
        image: localhost/kubeplay/busybox:1
        command: [sh, -c, 'echo serving on $(hostname); trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait']
        ports: [{{containerPort: 8080, name: http}}]
        readinessProbe: {{httpGet: {{path: /, port: http}}, periodSeconds: 1}}"#,
        on_real_node(6)
    )
}

fn apply(node: &RealNodeDoor, manifest: &str) {
    ok(
        node,
        &format!("kubectl apply -f - <<'EOF'\n{manifest}\nEOF"),
    );
}

fn running_containers(node: &RealNodeDoor, image: &str) -> Vec<v1::Container> {
    node.containers()
        .into_iter()
        .filter(|c| c.state == v1::ContainerState::ContainerRunning as i32)
        .filter(|c| {
            c.image.as_ref().is_some_and(|i| i.image.contains(image)) || c.image_ref.contains(image)
        })
        .collect()
}

fn pod_events(node: &RealNodeDoor, pod: &str) -> String {
    ok(
        node,
        &format!("kubectl get events --field-selector involvedObject.name={pod} -o custom-columns=REASON:.reason,MESSAGE:.message"),
    )
}

#[test]
fn a_deployment_runs_as_real_containers_and_leaves_nothing_behind() {
    let _turn = kubeplay::heavy();
    let node = RealNodeDoor::start(1);
    let nodes = ok(&node, "kubectl get nodes -o wide");
    assert!(
        nodes.contains(&node.node) && nodes.contains("containerd://"),
        "the machine is a Node with containerd as its runtime:\n{nodes}"
    );

    let pods = web_servers_serve(&node);
    exited_containers_restart(&node, &pods);
    probes_run_on_the_node(&node);
    every_volume_goes_through_csi(&node);
    resolver_follows_dns_config(&node);
    top_reads_container_stats(&node);
    missing_image_fails_to_pull(&node);
    nothing_is_left(node);
}

/// Three busybox web servers answer HTTP on their pod IPs; the pods.
fn web_servers_serve(node: &RealNodeDoor) -> Vec<Value> {
    apply(node, &web_deployment("web", 3, ""));
    ok(node, "kubectl rollout status deployment/web --timeout=60s");
    let pods = json(node, "kubectl get pods -l app=web -o json");
    let pods = pods["items"].as_array().expect("pods").clone();
    assert_eq!(pods.len(), 3);
    assert_eq!(
        running_containers(node, "busybox").len(),
        3,
        "CRI lists 3 running containers"
    );
    for pod in &pods {
        assert_eq!(pod["spec"]["nodeName"], node.node.as_str());
        let ip = pod["status"]["podIP"].as_str().expect("a pod IP");
        assert_eq!(pod["status"]["podIPs"][0]["ip"], ip);
        let prefix = node.pod_cidr.trim_end_matches("0/24");
        assert!(
            ip.starts_with(prefix),
            "{ip} is in the node's pod CIDR {}",
            node.pod_cidr
        );
        let body = kubeplay::wait_for(&format!("HTTP on {ip}:8080"), 10, || {
            kubeplay::http_get(ip, 8080).ok()
        });
        assert!(
            body.starts_with("HTTP/1.") && body.contains("hello from a kubeplay pod"),
            "{body}"
        );
        let name = pod["metadata"]["name"].as_str().expect("name");
        let logs = ok(node, &format!("kubectl logs {name}"));
        assert!(
            logs.contains(&format!("serving on {name}")),
            "kubectl logs {name}: {logs}"
        );
    }
    pods
}

/// A container that exits is restarted, for real, with back-off; the container GC keeps one dead attempt.
fn exited_containers_restart(node: &RealNodeDoor, pods: &[Value]) {
    // A container that exits is noticed (relist) and restarted, for real: a new CRI attempt.
    let first = pods[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let id = container_id(&pods[0]);
    let exec = kill_pid_1(node, &id);
    // Its exit code races the container's end (0, or 137 when the exec is killed with it).
    assert!(
        matches!(exec, Ok(0 | 137)),
        "ExecSync kill 1 in {id}: {exec:?}"
    );
    let restarted = kubeplay::wait_for("the restart", 20, || {
        let pod = json(node, &format!("kubectl get pod {first} -o json"));
        let s = &pod["status"]["containerStatuses"][0];
        (s["restartCount"] == 1 && s["state"]["running"].is_object()).then(|| pod.clone())
    });
    assert_eq!(
        restarted["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        0
    );
    let attempts: Vec<u32> = node
        .containers()
        .into_iter()
        .filter(|c| c.labels.get("io.kubernetes.pod.name") == Some(&first))
        .map(|c| c.metadata.map_or(0, |m| m.attempt))
        .collect();
    assert!(
        attempts.contains(&0) && attempts.contains(&1),
        "CRI attempts {attempts:?}"
    );
    // A second exit: after CrashLoopBackOff's 10 s, attempt 2; the container GC keeps only
    // the attempt before it (attempt 0 is removed, as the kubelet keeps one dead container).
    let _ = kill_pid_1(node, &container_id(&restarted));
    kubeplay::wait_for("the second restart", 30, || {
        let pod = json(node, &format!("kubectl get pod {first} -o json"));
        let s = &pod["status"]["containerStatuses"][0];
        (s["restartCount"] == 2 && s["state"]["running"].is_object()).then_some(())
    });
    let mut attempts: Vec<u32> = node
        .containers()
        .into_iter()
        .filter(|c| c.labels.get("io.kubernetes.pod.name") == Some(&first))
        .map(|c| c.metadata.map_or(0, |m| m.attempt))
        .collect();
    attempts.sort();
    assert_eq!(
        attempts,
        [1, 2],
        "CRI keeps the last dead container and the live one"
    );
}

/// Liveness (ExecSync) and readiness (HTTP) probes run on the node.
fn probes_run_on_the_node(node: &RealNodeDoor) {
    // Probes run for real: a liveness exec probe (CRI ExecSync) that starts failing restarts
    // its container; a readiness HTTP probe answered 404 keeps its container unready.
    apply(
        node,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: unhealthy}}
spec:{}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: localhost/kubeplay/busybox:1
    command: [sh, -c, 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; trap "exit 0" TERM; sleep 3600 & wait']
    livenessProbe: {{exec: {{command: [cat, /tmp/healthy]}}, periodSeconds: 1, failureThreshold: 1}}
  - name: web
    image: localhost/kubeplay/busybox:1
    command: [sh, -c, 'trap "exit 0" TERM; httpd -f -p 8081 -h /www & wait']
    readinessProbe: {{httpGet: {{path: /nothing-here, port: 8081}}, periodSeconds: 1}}"#,
            on_real_node(2)
        ),
    );
    let restarted = kubeplay::wait_for("the liveness restart", 30, || {
        let pod = json(node, "kubectl get pod unhealthy -o json");
        let app = pod["status"]["containerStatuses"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == "app")?
            .clone();
        (app["restartCount"].as_i64() >= Some(1)).then_some(pod)
    });
    let web = restarted["status"]["containerStatuses"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "web").cloned())
        .expect("web's status");
    assert_eq!(web["ready"], false, "{web}");
    let events = pod_events(node, "unhealthy");
    assert!(
        events.contains(
            "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory"
        ),
        "{events}"
    );
    assert!(
        events.contains("Container app failed liveness probe, will be restarted"),
        "{events}"
    );
    assert!(
        events.contains("Readiness probe failed: HTTP probe failed with statuscode: 404"),
        "{events}"
    );
    let attempts: Vec<u32> = node
        .containers()
        .into_iter()
        .filter(|c| c.labels.get("io.kubernetes.pod.name").map(String::as_str) == Some("unhealthy"))
        .filter(|c| {
            c.labels
                .get("io.kubernetes.container.name")
                .map(String::as_str)
                == Some("app")
        })
        .map(|c| c.metadata.map_or(0, |m| m.attempt))
        .collect();
    assert!(
        attempts.contains(&1),
        "the restarted container is CRI attempt 1: {attempts:?}"
    );
}

/// Every kind of volume goes through the node's CSI plugin.
fn every_volume_goes_through_csi(node: &RealNodeDoor) {
    // Every kind of volume goes through the node's CSI plugin (gRPC): an emptyDir, an
    // inline CSI volume, a hostPath under the node's root, and a CSI PersistentVolume bound
    // to a claim, written by one container are read by the other.
    let host_dir = node.state_dir.join("host-paths/shared");
    apply(
        node,
        r#"apiVersion: v1
kind: PersistentVolume
metadata: {name: real-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  csi: {driver: hostpath.csi.kubeplay.io, volumeHandle: real-pv-data}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: real-claim}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  resources: {requests: {storage: 1Gi}}"#,
    );
    apply(
        node,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: shared}}
spec:{}
  terminationGracePeriodSeconds: 1
  volumes:
  - {{name: data, emptyDir: {{}}}}
  - {{name: vol, csi: {{driver: hostpath.csi.kubeplay.io}}}}
  - {{name: host, hostPath: {{path: {}, type: DirectoryOrCreate}}}}
  - {{name: pv, persistentVolumeClaim: {{claimName: real-claim}}}}
  containers:
  - name: writer
    image: localhost/kubeplay/busybox:1
    command: [sh, -c, 'echo written by $(hostname) > /data/msg; echo kept by CSI > /vol/msg; echo on the host > /host/msg; echo persistent > /pv/msg; trap "exit 0" TERM; sleep 3600 & wait']
    volumeMounts: [{{name: data, mountPath: /data}}, {{name: vol, mountPath: /vol}}, {{name: host, mountPath: /host}}, {{name: pv, mountPath: /pv}}]
  - name: reader
    image: localhost/kubeplay/busybox:1
    command: [sh, -c, 'until [ -f /data/msg ] && [ -f /vol/msg ] && [ -f /host/msg ] && [ -f /pv/msg ]; do sleep 0.1; done; cat /data/msg /vol/msg /host/msg /pv/msg; trap "exit 0" TERM; sleep 3600 & wait']
    volumeMounts: [{{name: data, mountPath: /data, readOnly: true}}, {{name: vol, mountPath: /vol, readOnly: true}}, {{name: host, mountPath: /host, readOnly: true}}, {{name: pv, mountPath: /pv, readOnly: true}}]"#,
            on_real_node(2),
            host_dir.display()
        ),
    );
    let read = kubeplay::wait_for("the reader's log", 30, || {
        let (code, out, _) = sh(node, "kubectl logs shared -c reader");
        (code == 0 && !out.is_empty()).then_some(out)
    });
    assert_eq!(
        read.trim(),
        "written by shared\nkept by CSI\non the host\npersistent"
    );
    assert_eq!(
        std::fs::read_to_string(host_dir.join("msg")).unwrap_or_default(),
        "on the host\n"
    );
    let published = node.leftovers();
    for volume in ["data", "vol", "host", "pv"] {
        assert!(
            published
                .iter()
                .any(|m| m.contains(&format!("kubernetes.io~csi/{volume}/mount"))),
            "{volume} is a bind mount while the pod runs: {published:?}"
        );
    }
}

/// The pod's resolver follows its dnsConfig.
fn resolver_follows_dns_config(node: &RealNodeDoor) {
    // The pod's resolver as its dnsConfig says (CRI DNSConfig: containerd writes the
    // sandbox's /etc/resolv.conf).
    apply(
        node,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: dns}}
spec:{}
  restartPolicy: Never
  dnsPolicy: None
  dnsConfig: {{nameservers: [10.89.0.53], searches: [example.test], options: [{{name: ndots, value: "2"}}]}}
  containers: [{{name: app, image: localhost/kubeplay/busybox:1, command: [cat, /etc/resolv.conf]}}]"#,
            on_real_node(2)
        ),
    );
    let resolv = kubeplay::wait_for("the dns pod's log", 30, || {
        let (code, out, _) = sh(node, "kubectl logs dns");
        (code == 0 && out.contains("nameserver")).then_some(out)
    });
    for line in [
        "nameserver 10.89.0.53",
        "search example.test",
        "options ndots:2",
    ] {
        assert!(
            resolv.lines().any(|l| l.trim() == line),
            "{line:?} in {resolv}"
        );
    }
}

/// `kubectl top` reads what containerd says the containers use.
fn top_reads_container_stats(node: &RealNodeDoor) {
    // The kubelet's housekeeping asks containerd what the containers use (CRI
    // ListContainerStats); real kubectl's `top` reads it from the metrics API.
    apply(
        node,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: burn}}
spec:{}
  terminationGracePeriodSeconds: 1
  containers:
  - name: loop
    image: localhost/kubeplay/busybox:1
    command: [sh, -c, 'while :; do :; done']
    resources: {{limits: {{cpu: 200m, memory: 32Mi}}}}"#,
            on_real_node(2)
        ),
    );
    let top = kubeplay::wait_for("the busy pod's CPU in kubectl top", 60, || {
        let (code, out, _) = sh(node, "kubectl top pod burn --no-headers");
        let cpu: i64 = out
            .split_whitespace()
            .nth(1)?
            .trim_end_matches('m')
            .parse()
            .ok()?;
        (code == 0 && cpu >= 100).then_some(out)
    });
    assert!(top.starts_with("burn "), "{top}");
    let node_top = ok(
        node,
        &format!("kubectl top node {} --no-headers", node.node),
    );
    assert!(node_top.starts_with(&node.node), "{node_top}");
}

/// An image the node lacks fails to pull with containerd's own message.
fn missing_image_fails_to_pull(node: &RealNodeDoor) {
    // An image the node lacks: ErrImagePull with containerd's own message (its pull goes to
    // localhost, where no registry listens).
    apply(
        node,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: missing}}
spec:{}
  containers: [{{name: app, image: localhost/nothere:1}}]"#,
            on_real_node(2)
        ),
    );
    let reason = kubeplay::wait_for("ErrImagePull", 20, || {
        let pod = json(node, "kubectl get pod missing -o json");
        let r = pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"].clone();
        matches!(r.as_str(), Some("ErrImagePull" | "ImagePullBackOff")).then_some(r)
    });
    assert!(reason.is_string());
    let events = pod_events(node, "missing");
    assert!(
        events.contains(r#"Failed to pull image "localhost/nothere:1": rpc error: code = Unknown desc = failed to pull and unpack image "localhost/nothere:1""#),
        "{events}"
    );
}

/// Scaled to zero and deleted, nothing is left on the machine but the PV's data.
fn nothing_is_left(mut node: RealNodeDoor) {
    // Scaled to zero and deleted: nothing is left on the machine.
    ok(&node, "kubectl scale deployment web --replicas=0");
    ok(&node, "kubectl delete deployment web");
    ok(
        &node,
        "kubectl delete pod shared missing unhealthy dns burn",
    );
    ok(&node, "kubectl delete pvc real-claim");
    kubeplay::wait_for("every container and sandbox to go", 60, || {
        let pods = json(&node, "kubectl get pods -o json");
        (pods["items"].as_array().is_some_and(Vec::is_empty)
            && node.containers().is_empty()
            && node.sandboxes().is_empty())
        .then_some(())
    });
    assert_eq!(node.leftovers(), Vec::<String>::new());
    // The PersistentVolume's data outlives its pod (the ephemeral ones went with it).
    let volumes = node.state_dir.join("csi/volumes");
    assert_eq!(
        std::fs::read_to_string(volumes.join("real-pv-data/msg")).unwrap_or_default(),
        "persistent\n"
    );
    let left: Vec<String> = std::fs::read_dir(&volumes)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(
        left,
        ["real-pv-data"],
        "only the persistent volume's data stays"
    );
    assert_eq!(node.stop(), Ok(0), "nothing was left to reap");
}

/// What would hand the machine to a pod is refused, and nothing of it starts.
#[test]
fn hostile_pods_start_nothing() {
    let _turn = kubeplay::heavy();
    let node = RealNodeDoor::start(0);
    let root = node.state_dir.join("host-paths");
    std::fs::create_dir_all(&root).expect("host path root");
    std::os::unix::fs::symlink("/etc", root.join("etc-link")).expect("a symlink out");
    let cases = [
        (
            "privileged",
            "securityContext: {privileged: true}",
            "",
            "privileged containers are not allowed",
        ),
        (
            "caps",
            "securityContext: {capabilities: {add: [SYS_ADMIN]}}",
            "",
            "capability SYS_ADMIN is not allowed",
        ),
        (
            "hostpath",
            "volumeMounts: [{name: h, mountPath: /h}]",
            "volumes: [{name: h, hostPath: {path: /etc}}]",
            "hostPath volumes must be directly under",
        ),
        (
            "symlink",
            "volumeMounts: [{name: h, mountPath: /h}]",
            &format!(
                "volumes: [{{name: h, hostPath: {{path: {}}}}}]",
                root.join("etc-link").display()
            ),
            "a symlink, to /etc",
        ),
        (
            "subpath",
            "volumeMounts: [{name: d, mountPath: /d, subPath: inner}]",
            "volumes: [{name: d, emptyDir: {}}]",
            "subPath",
        ),
    ];
    for (name, container_extra, pod_extra, _) in &cases {
        apply(
            &node,
            &format!(
                r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:{}
  {pod_extra}
  containers:
  - name: app
    image: localhost/kubeplay/busybox:1
    command: [sleep, "3600"]
    {container_extra}"#,
                on_real_node(2)
            ),
        );
    }
    apply(
        &node,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: hostnet}}
spec:{}
  hostNetwork: true
  containers: [{{name: app, image: localhost/kubeplay/busybox:1, command: [sleep, "3600"]}}]"#,
            on_real_node(2)
        ),
    );
    apply(
        &node,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: hostport}}
spec:{}
  containers: [{{name: app, image: localhost/kubeplay/busybox:1, command: [sleep, "3600"], ports: [{{containerPort: 80, hostPort: 80}}]}}]"#,
            on_real_node(2)
        ),
    );
    for (name, _, _, message) in cases.iter().chain([
        &("hostnet", "", "", "hostNetwork is not allowed"),
        &(
            "hostport",
            "",
            "",
            "hostPort 80 (below 1024) is not allowed",
        ),
    ]) {
        let events = kubeplay::wait_for(&format!("{name}'s refusal"), 20, || {
            let e = pod_events(&node, name);
            e.contains(message).then_some(e)
        });
        assert!(events.contains("Failed"), "{name}: {events}");
    }
    refusals_wait(&node, cases.iter().map(|c| c.0));
    assert!(
        node.containers().is_empty(),
        "no container was created: {:?}",
        node.containers()
    );
}

/// Refused containers wait as upstream's do (CreateContainerError, tried again after a
/// back-off); a refused hostPath is the CSI plugin's refusal to publish it (FailedMount), so
/// the pod's sandbox never starts; refused host namespaces and ports fail the sandbox.
fn refusals_wait<'a>(node: &RealNodeDoor, names: impl Iterator<Item = &'a str>) {
    for name in names {
        let reason = ok(
            node,
            &format!("kubectl get pod {name} -o jsonpath={{.status.containerStatuses[0].state.waiting.reason}}"),
        );
        let want = match name {
            "hostpath" | "symlink" => "ContainerCreating",
            _ => "CreateContainerError",
        };
        assert_eq!(reason, want, "{name}");
    }
    for name in ["hostpath", "symlink"] {
        assert!(pod_events(node, name).contains("FailedMount"), "{name}");
    }
    for name in ["hostnet", "hostport"] {
        let events = pod_events(node, name);
        assert!(events.contains("FailedCreatePodSandBox"), "{events}");
    }
}

/// Two bridges, two containerd instances, one cluster: the door's own machine and a machine
/// another bridge lends over its node-agent door (node protocol's session). A Deployment
/// spreads over both; when the door goes, the lender reaps what it ran.
#[test]
fn two_bridges_make_a_two_node_real_cluster() {
    let _turn = kubeplay::heavy();
    let lender = Lender::start();
    let mut node = RealNodeDoor::start_borrowing(0, &[&lender]);
    let nodes = json(&node, "kubectl get nodes -o json");
    let names: Vec<&str> = nodes["items"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&node.node.as_str()) && names.contains(&lender.node.as_str()));
    let spread = "\n      topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: spread}}}]";
    apply(&node, &web_deployment("spread", 4, spread));
    ok(
        &node,
        "kubectl rollout status deployment/spread --timeout=60s",
    );
    let pods = json(&node, "kubectl get pods -l app=spread -o json");
    let pods = pods["items"].as_array().expect("pods").clone();
    for name in [&node.node, &lender.node] {
        let here: Vec<&Value> = pods
            .iter()
            .filter(|p| p["spec"]["nodeName"] == name.as_str())
            .collect();
        assert_eq!(here.len(), 2, "two replicas on {name}");
        for pod in here {
            let ip = pod["status"]["podIP"].as_str().expect("a pod IP");
            let body = kubeplay::wait_for(&format!("HTTP on {ip}"), 10, || {
                kubeplay::http_get(ip, 8080).ok()
            });
            assert!(body.contains("hello from a kubeplay pod"), "{body}");
            let pod_name = pod["metadata"]["name"].as_str().expect("name");
            let logs = ok(&node, &format!("kubectl logs {pod_name}"));
            assert!(logs.contains(&format!("serving on {pod_name}")), "{logs}");
        }
    }
    let running = |c: &v1::Container| c.state == v1::ContainerState::ContainerRunning as i32;
    assert_eq!(lender.containers().iter().filter(|c| running(c)).count(), 2);

    // The door goes: the lender notices the connection close and reaps within seconds.
    assert!(node.stop().is_ok());
    kubeplay::wait_for("the lender to reap", 20, || {
        lender.containers().is_empty().then_some(())
    });
}

/// A lending bridge answers a session's bad messages with an error and starts nothing; a
/// message over the size limit closes the connection.
#[test]
fn a_lending_bridge_refuses_bad_sessions() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let _turn = kubeplay::heavy();
    let lender = Lender::start();
    let rt = kubeplay::runtime();
    rt.block_on(async {
        let hello = |token: &str| {
            kubeplay_core::node_protocol::ToBridge::Hello {
                version: kubeplay_core::node_protocol::VERSION,
                token: token.into(),
            }
            .to_json()
        };
        let next = async |ws: &mut tokio_tungstenite::WebSocketStream<_>| loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return Some(t.to_string()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        };
        // A wrong token: refused, nothing lent.
        let (mut ws, _) = tokio_tungstenite::connect_async(&lender.url)
            .await
            .expect("connect");
        ws.send(Message::Text(hello("nope").into()))
            .await
            .expect("send");
        let answer = next(&mut ws).await.expect("an answer");
        assert!(answer.contains("wrong token"), "{answer}");

        let (mut ws, _) = tokio_tungstenite::connect_async(&lender.url)
            .await
            .expect("connect");
        ws.send(Message::Text(hello(&lender.token).into()))
            .await
            .expect("send");
        assert!(next(&mut ws).await.expect("welcome").contains("welcome"));
        for (bad, why) in [
            ("{\"call\": 1}", "not a message of node protocol"),
            ("[]", "not a message of node protocol"),
            (
                r#"{"call": {"id": 1, "call": {"StartContainer": {"container_id": "x"}}}}"#,
                "join first",
            ),
        ] {
            ws.send(Message::Text(bad.into())).await.expect("send");
            let answer = next(&mut ws).await.expect("an error");
            assert!(
                answer.contains("\"error\"") && answer.contains(why),
                "{bad}: {answer}"
            );
        }
        // A flood: past 500 messages in a second the session ends, with the reason.
        for _ in 0..600 {
            if ws
                .send(Message::Text("{\"renew\": {}}".into()))
                .await
                .is_err()
            {
                break;
            }
        }
        let answer = next(&mut ws).await.unwrap_or_default();
        assert!(answer.contains("more than 500 messages"), "{answer}");
        assert_eq!(next(&mut ws).await, None, "the flooding session is closed");
        let (mut ws, _) = tokio_tungstenite::connect_async(&lender.url)
            .await
            .expect("connect");
        ws.send(Message::Text(hello(&lender.token).into()))
            .await
            .expect("send");
        assert!(next(&mut ws).await.expect("welcome").contains("welcome"));
        // 100 KiB in one message: over the limit, the connection goes.
        let big = format!(
            "{{\"logs\": {{\"id\": 1, \"path\": \"{}\"}}}}",
            "x".repeat(100 << 10)
        );
        let _ = ws.send(Message::Text(big.into())).await;
        assert_eq!(next(&mut ws).await, None, "the connection is closed");
    });
    assert!(lender.containers().is_empty(), "nothing was started");
}
