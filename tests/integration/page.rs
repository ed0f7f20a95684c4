//! The built page (`trunk build` → `dist/`) in real headless Chromium: the control plane
//! boots in the tab and the page shows what its API server stores.
//!
//! Runs when `KUBEPLAY_PAGE_TESTS=1` (`./dev test` sets it after building the page); a plain
//! `cargo test` has no page to load.

use std::path::Path;

#[test]
fn the_page_boots_the_control_plane_in_chromium() {
    if std::env::var("KUBEPLAY_PAGE_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set KUBEPLAY_PAGE_TESTS=1 after `trunk build` (./dev test does)");
        return;
    }
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
    assert!(
        dist.join("index.html").exists(),
        "dist/ is missing: run `trunk build` first"
    );
    let url = kubeplay::serve_dir(&dist);
    let dom = kubeplay::chromium_dump_dom(&url);
    // The bootstrap objects (4 namespaces, 10 cluster roles, 8 bindings, the kubernetes
    // Service) and the three simulated nodes, which registered themselves.
    assert!(
        dom.contains("Objects (26)"),
        "the object table did not render:\n{dom}"
    );
    assert!(dom.contains("<td>kube-system</td>"), "{dom}");
    assert!(
        dom.contains("<td>node-3</td><td class=\"status\">Ready</td>"),
        "{dom}"
    );
    // The clock ran while Chromium let the page's timers fire.
    assert!(dom.contains("t = ") && !dom.contains("t = 0 s"), "{dom}");
    assert!(dom.contains("id=\"apply\""), "{dom}");
}

/// The whole path through the built page in real Chromium driven by WebDriver, with a
/// screenshot of each stage under `target/e2e/`: open the page, apply the nginx example from
/// the gallery, watch three pods run on the map, ask the terminal `kubectl get pods`, open
/// one pod's scheduling decision, cut a node's power and see its pod replaced elsewhere.
#[test]
fn a_newcomer_applies_nginx_asks_kubectl_and_breaks_a_node() {
    use std::time::Duration;

    use kubeplay::webdriver::{WebDriver, ENTER};

    if std::env::var("KUBEPLAY_PAGE_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set KUBEPLAY_PAGE_TESTS=1 after `trunk build` (./dev test does)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = root.join("target/e2e");
    std::fs::create_dir_all(&shots).expect("target/e2e");
    // Each screenshot shows the part of the page the stage is about.
    let shot = |wd: &WebDriver, name: &str, show: &str| {
        wd.execute(&format!(
            "document.querySelector('{show}').scrollIntoView({{block: 'start'}}); return 0;"
        ));
        wd.screenshot(&shots.join(format!("{name}.png")));
    };
    let count = |wd: &WebDriver, css: &str| wd.find_all(css).len();
    let url = kubeplay::serve_dir(&root.join("dist"));
    let wd = WebDriver::start(1400, 1100);
    wd.goto(&url);
    assert!(
        wd.wait_until(Duration::from_secs(30), |wd| count(wd, ".map .node") == 3),
        "three nodes on the map"
    );
    shot(&wd, "1-opened", "body");
    // Measured, not asserted: when the first render was on screen.
    let interactive = wd.execute("return document.body.dataset.interactiveMs;");
    eprintln!(
        "interactive {} ms after navigation",
        interactive.as_str().unwrap_or("?")
    );
    assert!(
        interactive.is_string(),
        "the page notes when it became interactive"
    );

    wd.click("#gallery option[value=nginx]");
    wd.click("#apply");
    assert_eq!(wd.text(".results"), "deployment.apps/nginx created");
    shot(&wd, "2-applied", "body");
    assert!(
        wd.wait_until(Duration::from_secs(60), |wd| count(wd, ".map .pod.running")
            == 3),
        "three Running pods on the map"
    );
    shot(&wd, "3-running", ".map");
    let pod_names = |wd: &WebDriver| -> Vec<String> {
        let names = wd.execute(
            "return [...document.querySelectorAll('.map .pod .pod-name')].map(e => e.textContent).sort();",
        );
        serde_json::from_value(names).unwrap_or_default()
    };
    let first_pods = pod_names(&wd);
    assert!(wd.text("#step-title").starts_with("Step "));
    shot(&wd, "3-flow", ".flow");

    wd.type_into("#kubectl", &format!("get pods{ENTER}"));
    assert!(
        wd.wait_until(Duration::from_secs(10), |wd| count(wd, ".terminal pre")
            == 1)
    );
    let out = wd.text(".terminal pre");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("nginx-") && l.contains("Running")),
        "{out}"
    );
    shot(&wd, "4-kubectl", ".terminal");

    wd.click(".map .pod");
    assert!(wd.wait_until(Duration::from_secs(10), |wd| count(
        wd,
        "#decision-table tr.winner"
    ) == 1));
    assert_eq!(count(&wd, "#decision-table tbody tr"), 3);
    shot(&wd, "5-decision", ".decision");

    // Cut the power of the first node that runs a pod, then let time run at 1000×.
    let node = wd
        .execute("return document.querySelector('.map .node .pod').closest('.node').dataset.node;");
    let node = node.as_str().expect("a node with a pod").to_string();
    wd.click(&format!(".map .node[data-node=\"{node}\"] .power"));
    wd.click("#speed option[value=\"10000\"]");
    let healthy = format!(".map .node:not([data-node=\"{node}\"]) .pod.running");
    assert!(
        wd.wait_until(Duration::from_secs(60), |wd| count(wd, &healthy) == 3),
        "the pods of {node} were replaced on the other nodes"
    );
    assert_eq!(
        wd.text(&format!(".map .node[data-node=\"{node}\"] .node-status")),
        "NotReady"
    );
    shot(&wd, "6-healed", ".map");

    // The request inspector: a request and what each pipeline stage said.
    wd.click("#play");
    wd.click(".requests button.request");
    assert!(wd.wait_until(Duration::from_secs(5), |wd| count(wd, ".stages dt") > 3));
    shot(&wd, "7-inspector", ".inspector");

    // Share the run and open the link: the replay reaches the same pods, named the same.
    wd.click("#share");
    let link = wd.execute("return document.querySelector('#share-link').value;");
    let link = link.as_str().expect("a share link").to_string();
    assert!(link.contains("#scenario="), "{link}");
    wd.goto("about:blank");
    wd.goto(&link);
    assert!(
        wd.wait_until(Duration::from_secs(30), |wd| count(wd, ".map .node") == 3),
        "the shared run opens"
    );
    assert_eq!(pod_names(&wd), first_pods, "the replay has the same pods");
    shot(&wd, "8-shared", "body");
}
