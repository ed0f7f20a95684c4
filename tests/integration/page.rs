//! The built page (`trunk build` → `dist/`) in real headless Chromium: the control plane
//! boots in the tab and the page shows what its API server stores.
//!
//! These tests need the built page and Chromium: they are ignored in a plain `cargo test`
//! (which says so), and `./dev test` runs them (`--include-ignored`) after building the page.
//! Run where the page is missing, they fail.

use std::path::Path;
use std::time::Duration;

use kubeplay::webdriver::{WebDriver, ENTER};

/// Where the page tests run: the screenshot folder and the built page's URL.
pub(crate) fn page_under_test() -> (std::path::PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("dist/index.html").exists(),
        "dist/ is missing: run `trunk build` first (./dev test does)"
    );
    let shots = root.join("target/e2e");
    std::fs::create_dir_all(&shots).expect("target/e2e");
    (shots, kubeplay::serve_dir(&root.join("dist")))
}

#[test]
#[ignore = "needs the built page (trunk build) and Chromium: ./dev test runs it"]
fn the_page_boots_the_control_plane_in_chromium() {
    let (_, url) = page_under_test();
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

/// A screenshot under `shots` showing the part of the page the stage is about.
fn shot(wd: &WebDriver, shots: &Path, name: &str, show: &str) {
    wd.execute(&format!(
        "document.querySelector('{show}').scrollIntoView({{block: 'start'}}); return 0;"
    ));
    wd.screenshot(&shots.join(format!("{name}.png")));
}

fn count(wd: &WebDriver, css: &str) -> usize {
    wd.find_all(css).len()
}

/// The names of the pods on the map, sorted.
fn pod_names(wd: &WebDriver) -> Vec<String> {
    let names = wd.execute(
        "return [...document.querySelectorAll('.map .pod .pod-name')].map(e => e.textContent).sort();",
    );
    serde_json::from_value(names).unwrap_or_default()
}

/// The whole path through the built page in real Chromium driven by WebDriver, with a
/// screenshot of each stage under `target/e2e/`: open the page, apply the nginx example from
/// the gallery, watch three pods run on the map, ask the terminal `kubectl get pods`, open
/// one pod's scheduling decision, cut a node's power and see its pod replaced elsewhere.
#[test]
#[ignore = "needs the built page (trunk build) and Chromium: ./dev test runs it"]
fn a_newcomer_applies_nginx_asks_kubectl_and_breaks_a_node() {
    let (shots, url) = page_under_test();
    let wd = WebDriver::start(1400, 1100);
    wd.goto(&url);
    assert!(
        wd.wait_until(Duration::from_secs(30), |wd| count(wd, ".map .node") == 3),
        "three nodes on the map"
    );
    shot(&wd, &shots, "1-opened", "body");
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
    apply_nginx(&wd, &shots);
    ask_kubectl(&wd, &shots);
    wd.click(".map .pod");
    assert!(wd.wait_until(Duration::from_secs(10), |wd| count(
        wd,
        "#decision-table tr.winner"
    ) == 1));
    assert_eq!(count(&wd, "#decision-table tbody tr"), 3);
    shot(&wd, &shots, "5-decision", ".decision");
    break_a_node(&wd, &shots);
    share_and_replay(&wd, &shots);
}

/// The nginx example from the gallery, applied: three Running pods on the map.
fn apply_nginx(wd: &WebDriver, shots: &Path) {
    wd.click("#gallery option[value=nginx]");
    wd.click("#apply");
    assert_eq!(wd.text(".results"), "deployment.apps/nginx created");
    shot(wd, shots, "2-applied", "body");
    assert!(
        wd.wait_until(Duration::from_secs(60), |wd| count(wd, ".map .pod.running")
            == 3),
        "three Running pods on the map"
    );
    shot(wd, shots, "3-running", ".map");
    // The README's picture of the page, kept current by this test.
    wd.execute("window.scrollTo(0, 0); return 0;");
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs).expect("docs/");
    wd.screenshot(&docs.join("page.png"));
    assert!(wd.text("#step-title").starts_with("Step "));
    shot(wd, shots, "3-flow", ".flow");
}

/// The terminal's `kubectl get pods` and `explain`, which reads the documentation the page
/// fetched beside its wasm.
fn ask_kubectl(wd: &WebDriver, shots: &Path) {
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
    shot(wd, shots, "4-kubectl", ".terminal");
    // `explain` reads the documentation the page fetched beside its wasm.
    wd.type_into(
        "#kubectl",
        &format!("explain deployment.spec.replicas{ENTER}"),
    );
    assert!(
        wd.wait_until(Duration::from_secs(10), |wd| count(wd, ".terminal pre")
            == 2)
    );
    let explained = wd.execute(
        "const all = document.querySelectorAll('.terminal pre'); return all[all.length - 1].textContent;",
    );
    let explained = explained.as_str().unwrap_or_default().to_string();
    assert!(
        explained.starts_with(
            "GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\nFIELD: replicas <integer>"
        ),
        "{explained}"
    );
}

/// A node's power cut at 1000×: its pods are replaced on the other nodes; then the request
/// inspector shows a request and what each pipeline stage said.
fn break_a_node(wd: &WebDriver, shots: &Path) {
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
    shot(wd, shots, "6-healed", ".map");

    // The request inspector: a request and what each pipeline stage said.
    wd.click("#play");
    wd.click(".requests button.request");
    assert!(wd.wait_until(Duration::from_secs(5), |wd| count(wd, ".stages dt") > 3));
    shot(wd, shots, "7-inspector", ".inspector");
}

/// Shares the run and opens the link: the replay reaches the same moment.
fn share_and_replay(wd: &WebDriver, shots: &Path) {
    // Share the run and open the link: the replay reaches the same moment — the same pods,
    // named the same (the replaced one, and the one stranded on the dead node).
    let shared_pods = pod_names(wd);
    assert_eq!(shared_pods.len(), 4, "{shared_pods:?}");
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
    assert_eq!(pod_names(wd), shared_pods, "the replay has the same pods");
    shot(wd, shots, "8-shared", "body");
}

/// The bridge panel against a real bridge's node agent (started in this process): a wrong
/// token is refused, the right one shows this machine, Disconnect closes the connection, and
/// a bridge that does not trust the page's origin is never reached.
#[test]
#[ignore = "needs the built page (trunk build) and Chromium: ./dev test runs it"]
fn the_bridge_panel_connects_to_a_bridge() {
    use kubeplay_bridge::node_agent::{self, AgentConfig};

    let (shots, url) = page_under_test();
    // Two agents: one that trusts the page's origin, one that trusts another.
    let origin = url.trim_end_matches('/').to_string();
    let start_agent = |allowed: String| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            let runtime = kubeplay::runtime();
            runtime.block_on(async move {
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let config = AgentConfig {
                    token: "secret".into(),
                    allowed_origins: vec![allowed],
                };
                let _ = node_agent::serve(listener, config, std::future::pending()).await;
            });
        });
        format!("ws://{address}/node-agent")
    };
    let trusted = start_agent(origin);
    let elsewhere = start_agent("http://elsewhere.test".into());

    let wd = WebDriver::start(1400, 1100);
    wd.goto(&url);
    assert!(wd.wait_until(Duration::from_secs(30), |wd| wd
        .find_all(".map .node")
        .len()
        == 3));
    assert_eq!(wd.text("#bridge-state"), "Not connected.");
    let fill = |css: &str, text: &str| {
        wd.execute(&format!(
            "const e = document.querySelector('{css}'); e.value = ''; e.dispatchEvent(new Event('input', {{bubbles: true}})); return 0;"
        ));
        wd.type_into(css, text);
    };
    let state_is = |want: &str| {
        wd.wait_until(Duration::from_secs(10), |wd| {
            wd.text("#bridge-state").starts_with(want)
        })
    };

    fill("#bridge-url", &trusted);
    fill("#bridge-token", "guess");
    wd.click("#bridge-connect");
    assert!(state_is("Refused"), "{}", wd.text("#bridge-state"));
    assert_eq!(
        wd.text("#bridge-state"),
        "Refused by the bridge: wrong token."
    );

    fill("#bridge-token", "secret");
    wd.click("#bridge-connect");
    assert!(state_is("Connected"), "{}", wd.text("#bridge-state"));
    // This bridge has no real node to lend: the page asks, and says why not.
    let not_lent = format!(
        "Connected (node protocol v{}): 1 machine behind this bridge. Not joined: this bridge lends no node: start it with --real-node.",
        kubeplay_core::node_protocol::VERSION
    );
    assert!(
        wd.wait_until(Duration::from_secs(10), |wd| wd.text("#bridge-state")
            == not_lent),
        "{}",
        wd.text("#bridge-state")
    );
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let row = wd.text("#bridge-nodes tbody tr");
    assert!(row.starts_with(hostname.trim()), "{row}");
    assert!(row.contains("linux/"), "{row}");
    assert_eq!(wd.text("#bridge-connect"), "Disconnect");
    wd.execute("document.querySelector('.bridge').scrollIntoView({block: 'start'}); return 0;");
    wd.screenshot(&shots.join("bridge-connected.png"));

    wd.click("#bridge-connect");
    assert!(state_is("Not connected."));
    assert!(wd.find_all("#bridge-nodes").is_empty());

    fill("#bridge-url", &elsewhere);
    wd.click("#bridge-connect");
    assert!(
        state_is("Could not connect"),
        "{}",
        wd.text("#bridge-state")
    );
    assert_eq!(
        wd.text("#bridge-state"),
        format!("Could not connect: no bridge answered at {elsewhere} (is it running, and does it allow this page's origin?).")
    );
}

/// A 5,000-node cluster in real Chromium: the control plane runs in a Web Worker, the map is
/// a canvas, and the page keeps drawing while the worker works. Frame times (the gaps
/// between animation frames) are recorded and written to `target/e2e/large-frames.txt` —
/// measured, not asserted. What is asserted is what a user sees: 5,000 nodes Ready, the
/// nginx example's pods Running, kubectl answering from the worker, a node powered off
/// going NotReady.
#[test]
#[ignore = "needs the built page (trunk build) and Chromium: ./dev test runs it"]
fn five_thousand_nodes_run_in_a_worker_while_the_page_draws() {
    let _turn = kubeplay::heavy();
    let (shots, url) = page_under_test();
    let wd = WebDriver::start(1400, 1100);
    wd.goto(&format!("{url}?nodes=5000"));
    // Every frame's gap from the one before, from now on.
    wd.execute(
        "window.frameGaps = []; let last = performance.now();
         const frame = t => { window.frameGaps.push(t - last); last = t; requestAnimationFrame(frame); };
         requestAnimationFrame(frame); return 0;",
    );
    let totals = |wd: &WebDriver, field: &str| -> u64 {
        let v = wd.execute(&format!(
            "const t = document.querySelector('#large-totals'); return t ? t.dataset.{field} : '0';"
        ));
        v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
    };
    assert!(
        wd.wait_until(Duration::from_secs(120), |wd| totals(wd, "ready") == 5_000),
        "5,000 nodes registered and Ready (now {} of {})",
        totals(&wd, "ready"),
        totals(&wd, "nodes")
    );
    assert!(
        wd.text(".where").contains("Web Worker"),
        "the control plane runs in a worker"
    );
    wd.screenshot(&shots.join("large-1-nodes.png"));
    wd.click("#large-apply");
    assert!(
        wd.wait_until(Duration::from_secs(60), |wd| totals(wd, "running") == 3),
        "the nginx example's three pods run"
    );
    wd.type_into("#large-kubectl", &format!("get deployment nginx{ENTER}"));
    assert!(
        wd.wait_until(Duration::from_secs(30), |wd| wd
            .text("#large-output")
            .contains("nginx   3/3")),
        "{}",
        wd.text("#large-output")
    );
    // Click the first node's cell and cut its power; at full speed it goes NotReady.
    wd.click("#large-map");
    assert!(wd.wait_until(Duration::from_secs(10), |wd| !wd
        .find_all(".node-detail")
        .is_empty()));
    // The arrow keys move the selection over the map, for keyboard users.
    let first = wd.text(".node-detail strong");
    wd.type_into("#large-map", "\u{E014}");
    assert!(
        wd.wait_until(Duration::from_secs(10), |wd| wd.text(".node-detail strong")
            != first),
        "the right arrow selects the next node"
    );
    wd.click(".node-detail .power");
    // As fast as the worker goes (1000× asks more than it can give): how much virtual time
    // passes per second of wall time while the node's heartbeats run out.
    let virtual_seconds = |wd: &WebDriver| -> f64 {
        let t = wd.text("section.large .time");
        t.trim_start_matches("t = ")
            .trim_end_matches(" s")
            .parse()
            .unwrap_or(0.0)
    };
    let (t0, wall0) = (virtual_seconds(&wd), std::time::Instant::now());
    wd.click("#large-speed option[value=\"10000\"]");
    assert!(
        wd.wait_until(Duration::from_secs(120), |wd| totals(wd, "ready") == 4_999),
        "the node without power is NotReady (Ready: {})",
        totals(&wd, "ready")
    );
    let pace = (virtual_seconds(&wd) - t0) / wall0.elapsed().as_secs_f64();
    wd.screenshot(&shots.join("large-2-node-down.png"));
    let gaps = wd.execute("return window.frameGaps;");
    let mut gaps: Vec<f64> = serde_json::from_value(gaps).unwrap_or_default();
    assert!(gaps.len() > 10, "the page drew frames throughout");
    gaps.sort_by(f64::total_cmp);
    let at = |q: f64| gaps[((gaps.len() - 1) as f64 * q) as usize];
    let report = format!(
        "frames {}; gap median {:.1} ms, p99 {:.1} ms, max {:.1} ms; over 50 ms: {}; the worker ran {pace:.1} virtual s per wall s\n",
        gaps.len(),
        at(0.5),
        at(0.99),
        at(1.0),
        gaps.iter().filter(|g| **g > 50.0).count()
    );
    eprint!("5,000 nodes: {report}");
    std::fs::write(shots.join("large-frames.txt"), report).expect("frames report");

    // Share the large run and open the link: the worker replays it to the same map.
    wd.click("#large-play");
    wd.click("#large-share");
    // The share waits behind the worker's tick in flight: on a loaded machine that can be
    // long (a liveness bound, not a measurement).
    assert!(wd.wait_until(Duration::from_secs(90), |wd| !wd
        .find_all("#large-share-link")
        .is_empty()));
    let link = wd.execute("return document.querySelector('#large-share-link').value;");
    let link = link.as_str().expect("a share link").to_string();
    assert!(link.contains("?nodes=5000#scenario="), "{link}");
    wd.goto("about:blank");
    wd.goto(&link);
    assert!(
        wd.wait_until(Duration::from_secs(240), |wd| totals(wd, "nodes") == 5_000
            && totals(wd, "ready") == 4_999
            && totals(wd, "running") == 3),
        "the shared run opens with the node down and the pods running (Ready {}, Running {})",
        totals(&wd, "ready"),
        totals(&wd, "running")
    );
    wd.screenshot(&shots.join("large-3-shared.png"));
}
