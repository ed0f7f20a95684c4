//! Real kubectl against the kube-API door: every script in `tests/kubectl/` with the default
//! kubectl, and the version smoke script with every kubectl minor on the machine.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use kubeplay::{kubectl_versions, run_script, Door};

fn scripts() -> Vec<PathBuf> {
    kubeplay::yaml_files("kubectl")
}

fn check(script: &Path, kubectl: &Path) {
    let text = std::fs::read_to_string(script).expect("reading script");
    let nodes = kubeplay::script_setting(&text, "nodes").unwrap_or(0);
    let door = Door::start(
        1,
        nodes,
        kubeplay::script_setting(&text, "speed").unwrap_or(1),
    );
    let failures = run_script(&door, kubectl, &text);
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        script.display(),
        failures.join("\n\n")
    );
}

#[test]
fn kubectl_scripts_with_the_default_kubectl() {
    let default = kubectl_versions().remove(0);
    for script in scripts() {
        check(&script, &default);
    }
}

#[test]
fn every_kubectl_minor_applies_gets_and_explains() {
    let versions = kubectl_versions();
    assert!(
        versions.len() > 1,
        "expected kubectl.1.27 … kubectl.1.33 beside /usr/bin/kubectl"
    );
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubectl/versions/smoke.yaml");
    for kubectl in &versions[1..] {
        check(&smoke, kubectl);
    }
}

/// `kubectl get -w` prints the list, then one line per change, as the changes happen.
#[test]
fn kubectl_get_watch_streams_changes() {
    let door = Door::start(1, 0, 1);
    let kubectl = kubectl_versions().remove(0);
    let run = |line: &str| {
        let out = door.shell(&kubectl, line).output().expect("kubectl");
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run("kubectl create configmap settings --from-literal=a=1");
    let mut watch = door
        .shell(&kubectl, "kubectl get configmaps -w")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl get -w");
    let stdout = watch.stdout.take().expect("watch stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let next_line = |lines: &mut Vec<String>| {
        lines.push(
            rx.recv_timeout(Duration::from_secs(20))
                .expect("a line from kubectl get -w"),
        )
    };
    next_line(&mut lines); // the header
    next_line(&mut lines); // settings, from the initial list
    run("kubectl create configmap other --from-literal=b=2");
    next_line(&mut lines);
    run("kubectl label configmap settings tier=web");
    next_line(&mut lines);
    run("kubectl delete configmap other");
    next_line(&mut lines);
    watch.kill().expect("stopping the watch");
    let out = watch.wait_with_output().expect("watch output");
    let text = kubeplay::normalize(&lines.join("\n"));
    assert_eq!(
        text,
        "NAME       DATA   AGE\n\
         settings   1      <age>\n\
         other      1      <age>\n\
         settings   1      <age>\n\
         other      1      <age>",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A watch from a revision the store has compacted away gets Kubernetes' 410: one `ERROR`
/// event carrying an `Expired` Status, then the stream ends.
#[test]
fn a_watch_from_a_compacted_revision_is_gone() {
    let door = Door::start_with(
        kubeplay_core::apiserver::Config {
            history_limit: 5,
            ..Default::default()
        },
        0,
        1,
    );
    let kubectl = kubectl_versions().remove(0);
    let out = door.shell(&kubectl, "for i in 1 2 3 4 5 6 7 8; do kubectl create configmap c$i >/dev/null; done; kubectl get --raw '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=3'").output().expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON event");
    assert_eq!(event["type"], "ERROR");
    assert_eq!(event["object"]["code"], 410);
    assert_eq!(event["object"]["reason"], "Expired");
    assert!(
        event["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version: 3 ("),
        "{event}"
    );
}

/// `kubectl exec` with every kubectl minor: 1.30 and newer speak WebSocket by default and
/// run the command; 1.27–1.29 ask for SPDY and are told what to do — and 1.29 with its
/// WebSocket flag set runs it too.
#[test]
fn exec_with_every_kubectl_minor() {
    let door = Door::start(1, 1, 20);
    let default = kubectl_versions().remove(0);
    let ok = door
        .shell(&default, "kubectl run web --image=nginx:1.27 && kubectl wait --for=condition=Ready pod/web --timeout=60s")
        .output()
        .expect("kubectl");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for kubectl in kubectl_versions() {
        let minor = kubectl
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("kubectl.1."))
            .and_then(|m| m.parse::<u32>().ok());
        let out = door
            .shell(&kubectl, "kubectl exec web -- echo hi")
            .output()
            .expect("kubectl exec");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if minor.is_none_or(|m| m >= 30) {
            assert_eq!(stdout, "hi\n", "{}: {stderr}", kubectl.display());
            continue;
        }
        assert!(
            stderr.contains("not SPDY: use kubectl 1.30 or newer, or set KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true"),
            "{}: {stdout} {stderr}",
            kubectl.display()
        );
        if minor == Some(29) {
            let out = door
                .shell(
                    &kubectl,
                    "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true kubectl exec web -- echo hi",
                )
                .output()
                .expect("kubectl exec");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "hi\n",
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
