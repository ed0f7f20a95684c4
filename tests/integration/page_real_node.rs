//! The page borrows a real machine, in real headless Chromium: the Bridge panel connects to a
//! lending bridge (its own containerd, started here), the machine joins the in-tab cluster as
//! a node whose kubelet runs in the tab, the gallery's real-node example runs there as
//! containerd containers with pod IPs from the lender's subnet that answer HTTP from this
//! host, and disconnecting reaps every container and sandbox on the machine.

use std::time::{Duration, Instant};

use kubeplay::real_node::Lender;
use kubeplay::webdriver::{WebDriver, ENTER};

#[test]
#[ignore = "needs the built page (trunk build) and Chromium: ./dev test runs it"]
fn the_page_borrows_a_real_machine() {
    let (shots, url) = crate::page::page_under_test();
    let _turn = kubeplay::heavy();
    let lender = Lender::start_for(vec![url.trim_end_matches('/').to_string()]);
    let wd = WebDriver::start(1400, 1100);
    wd.goto(&url);
    assert!(wd.wait_until(Duration::from_secs(30), |wd| count(wd, ".map .node") == 3));
    let node = lender.node.clone();
    let node = &node;
    let joined = format!("It joined this cluster as node {node}");
    let real_node = format!(".map .node.real[data-node=\"{node}\"]");
    join_the_machine(&wd, &lender, &joined, &real_node);
    wd.click("#gallery option[value=real-node]");
    wd.click("#apply");
    assert_eq!(wd.text(".results"), "deployment.apps/real-web created");
    let started = Instant::now();
    let running = format!("{real_node} .pod.real.running");
    assert!(
        wd.wait_until(Duration::from_secs(120), |wd| count(wd, &running) == 2),
        "two real pods Running: {}",
        wd.text(".map")
    );
    eprintln!(
        "apply → 2 real pods Running in the page: {} ms",
        started.elapsed().as_millis()
    );
    real_pods_answer(&wd, &lender, &running);
    // The flow diagram marks the real node's runtime; a shared run cannot go back past it.
    assert!(wd.text(".flow .runtime.real").contains("containerd"));
    assert_eq!(
        wd.execute("return document.querySelector('#timeline').disabled;"),
        serde_json::Value::Bool(true)
    );
    wd.execute(&format!(
        "document.querySelector('{real_node}').scrollIntoView({{block: 'start'}}); return 0;"
    ));
    wd.screenshot(&shots.join("real-node.png"));
    // The README shows it too.
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs).expect("docs/");
    wd.screenshot(&docs.join("real-node.png"));

    // Disconnecting: the machine is lost to the cluster, and the lender removes everything
    // the page's kubelet started there.
    wd.click("#bridge-connect");
    assert_eq!(wd.text("#bridge-state"), "Not connected.");
    let disconnected = Instant::now();
    kubeplay::wait_for("the lender to reap the page's pods", 60, || {
        (lender.containers().is_empty() && lender.sandboxes().is_empty()).then_some(())
    });
    eprintln!(
        "disconnect → no container or sandbox left: {} ms",
        disconnected.elapsed().as_millis()
    );
    assert_eq!(
        wd.execute("return document.querySelector('#timeline').disabled;"),
        serde_json::Value::Bool(false),
        "with the machine gone, the run can go back in time again"
    );

    // Connected again, the machine comes back as the same node with a fresh kubelet: the
    // Deployment's pods, still bound there, run again as new containers.
    wd.click("#bridge-connect");
    assert!(
        wd.wait_until(Duration::from_secs(20), |wd| text(wd, "#bridge-state")
            .contains(&joined)),
        "{}",
        text(&wd, "#bridge-state")
    );
    assert!(
        wd.wait_until(Duration::from_secs(120), |wd| count(wd, &running) == 2),
        "the pods run again on the machine: {}",
        wd.text(".map")
    );
    // The bridge itself going away: the page says so, and the node has lost its machine.
    let node_name = node.clone();
    drop(lender);
    assert!(
        wd.wait_until(Duration::from_secs(30), |wd| text(wd, "#bridge-state")
            == format!("The bridge closed the connection: node {node_name} lost its machine (its containers are removed there).")),
        "{}",
        text(&wd, "#bridge-state")
    );
}

fn count(wd: &WebDriver, css: &str) -> usize {
    wd.find_all(css).len()
}

/// An element's text, or nothing while it is not there.
fn text(wd: &WebDriver, css: &str) -> String {
    let v = wd.execute(&format!(
        "const e = document.querySelector('{css}'); return e ? e.textContent : '';"
    ));
    v.as_str().unwrap_or_default().to_string()
}

/// The Bridge panel connects to the lender: the machine joins the page's cluster as a node,
/// marked real, Ready once its kubelet (in the tab) registered it and renewed its lease.
fn join_the_machine(wd: &WebDriver, lender: &Lender, joined: &str, real_node: &str) {
    wd.execute(&format!(
        "const u = document.querySelector('#bridge-url'); u.value = '{}'; u.dispatchEvent(new Event('input', {{bubbles: true}})); return 0;",
        lender.url
    ));
    wd.type_into("#bridge-token", &lender.token);
    wd.click("#bridge-connect");
    assert!(
        wd.wait_until(Duration::from_secs(20), |wd| text(wd, "#bridge-state")
            .contains(joined)),
        "{}",
        wd.text("#bridge-state")
    );
    // The machine is a node of the page's cluster, marked real, Ready once its kubelet (in
    // the tab) registered it and renewed its lease.
    assert!(
        wd.wait_until(Duration::from_secs(20), |wd| text(
            wd,
            &format!("{real_node} .node-status")
        ) == "Ready"),
        "the real node on the map"
    );
    assert_eq!(count(wd, ".map .node"), 4);
    assert!(wd
        .text(&format!("{real_node} .taint"))
        .contains("kubeplay.io/real-node=true:NoSchedule"));
    assert!(
        count(wd, &format!("{real_node} .power")) == 0,
        "its power is the bridge's"
    );
}

/// The real pods' IPs come from the lender's subnet and answer HTTP from this host; the
/// terminal's `kubectl logs` reads the CRI log file on the machine.
fn real_pods_answer(wd: &WebDriver, lender: &Lender, running: &str) {
    // Real pod IPs, from the lender's subnet, answering HTTP from this host.
    let ips = wd.execute(&format!(
        "return [...document.querySelectorAll('{running}')].map(e => e.dataset.ip);"
    ));
    let ips: Vec<String> = serde_json::from_value(ips).expect("pod IPs");
    let prefix = lender.pod_cidr.trim_end_matches("0/24");
    for ip in &ips {
        assert!(ip.starts_with(prefix), "{ip} is not in {}", lender.pod_cidr);
        let body = kubeplay::wait_for(&format!("HTTP on {ip}"), 20, || {
            kubeplay::http_get(ip, 8080).ok()
        });
        assert!(body.contains("hello from a kubeplay pod"), "{body}");
    }
    // `kubectl logs` in the page's terminal reads the CRI log file on the machine.
    let pod = wd.execute(&format!(
        "return document.querySelector('{running} .pod-name').textContent;"
    ));
    let pod = pod.as_str().expect("a real pod's name").to_string();
    wd.type_into("#kubectl", &format!("logs {pod}{ENTER}"));
    let last_output = |wd: &WebDriver| text(wd, ".terminal .entry:last-child pre");
    assert!(
        wd.wait_until(Duration::from_secs(10), |wd| last_output(wd)
            == format!("serving on {pod}\n")),
        "{}",
        last_output(wd)
    );
    let live = lender
        .containers()
        .into_iter()
        .filter(|c| c.state == kubeplay_bridge::cri::v1::ContainerState::ContainerRunning as i32)
        .count();
    assert_eq!(live, 2, "two running containers in the lender's containerd");
}
