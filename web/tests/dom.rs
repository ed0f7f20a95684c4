//! The page's components mounted in headless Chromium, driven as a person would: apply the
//! example manifest, see the API server's answer and the new object in the table.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    gloo::utils::document()
}

fn mount() -> web_sys::Element {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<kubeplay_web::components::app::App>::with_root(root.clone()).render();
    root
}

fn text_of(root: &web_sys::Element, selector: &str) -> String {
    root.query_selector(selector)
        .unwrap()
        .map(|e| e.text_content().unwrap_or_default())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn applying_the_example_creates_a_deployment() {
    let root = mount();
    yew::scheduler::flush().await;
    assert!(root
        .query_selector("tr[data-kind=Deployment]")
        .unwrap()
        .is_none());
    let before = text_of(&root, ".revision");
    let apply: web_sys::HtmlButtonElement = root
        .query_selector("#apply")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    apply.click();
    yew::scheduler::flush().await;
    assert_eq!(text_of(&root, ".results"), "deployment.apps/nginx created");
    let row = root
        .query_selector("tr[data-kind=Deployment]")
        .unwrap()
        .expect("a Deployment row");
    assert!(row.text_content().unwrap().contains("nginx"));
    assert_ne!(
        text_of(&root, ".revision"),
        before,
        "the etcd revision moved"
    );

    // Applying again changes nothing, as kubectl apply says.
    apply.click();
    yew::scheduler::flush().await;
    assert_eq!(
        text_of(&root, ".results"),
        "deployment.apps/nginx unchanged"
    );
}

#[wasm_bindgen_test]
async fn invalid_manifests_show_the_validation_error() {
    let root = mount();
    yew::scheduler::flush().await;
    let area: web_sys::HtmlTextAreaElement = root
        .query_selector("#manifest")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    area.set_value("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Bad_Name\n");
    area.dispatch_event(&web_sys::InputEvent::new("input").unwrap())
        .unwrap();
    yew::scheduler::flush().await;
    let apply: web_sys::HtmlButtonElement = root
        .query_selector("#apply")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    apply.click();
    yew::scheduler::flush().await;
    assert!(
        text_of(&root, ".results .error").starts_with(
            "Namespace \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ),
        "{}",
        text_of(&root, ".results")
    );
}

#[wasm_bindgen_test]
async fn stepping_the_clock_runs_the_pods_on_the_simulated_nodes() {
    let root = mount();
    yew::scheduler::flush().await;
    let click = |id: &str| {
        let b: web_sys::HtmlButtonElement = root
            .query_selector(id)
            .unwrap()
            .unwrap()
            .dyn_into()
            .unwrap();
        b.click();
    };
    click("#play"); // pause: only the Step button moves time now
    yew::scheduler::flush().await;
    assert_eq!(text_of(&root, "#play"), "Play");
    let nodes = root
        .query_selector_all("tr[data-kind=Node]")
        .unwrap()
        .length();
    assert_eq!(nodes, 3, "three simulated nodes registered themselves");
    click("#apply");
    yew::scheduler::flush().await;
    for _ in 0..5 {
        click("#step");
        yew::scheduler::flush().await;
    }
    assert_eq!(text_of(&root, ".time"), "t = 5 s");
    let pods = root.query_selector_all("tr[data-kind=Pod]").unwrap();
    assert_eq!(pods.length(), 3);
    for i in 0..pods.length() {
        let row = pods.item(i).unwrap().text_content().unwrap_or_default();
        assert!(row.contains("Running"), "{row}");
    }
    let deployment = root
        .query_selector("tr[data-kind=Deployment]")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap_or_default();
    assert!(deployment.contains("3/3 ready"), "{deployment}");
}

fn count(root: &web_sys::Element, selector: &str) -> u32 {
    root.query_selector_all(selector).unwrap().length()
}

fn button(root: &web_sys::Element, selector: &str) -> web_sys::HtmlButtonElement {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
        .dyn_into()
        .unwrap()
}

/// Mounts the app, pauses its clock, applies the example and steps `seconds` of time.
async fn applied(seconds: u32) -> web_sys::Element {
    let root = mount();
    yew::scheduler::flush().await;
    button(&root, "#play").click();
    button(&root, "#apply").click();
    yew::scheduler::flush().await;
    for _ in 0..seconds {
        button(&root, "#step").click();
        yew::scheduler::flush().await;
    }
    root
}

/// Types a command into the terminal and presses Enter.
async fn kubectl(root: &web_sys::Element, command: &str) -> String {
    let input: web_sys::HtmlInputElement = root
        .query_selector("#kubectl")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    input.set_value(command);
    input
        .dispatch_event(&web_sys::InputEvent::new("input").unwrap())
        .unwrap();
    yew::scheduler::flush().await;
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    let enter =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    input.dispatch_event(&enter).unwrap();
    yew::scheduler::flush().await;
    let outputs = root.query_selector_all(".terminal pre").unwrap();
    outputs
        .item(outputs.length() - 1)
        .and_then(|n| n.text_content())
        .unwrap_or_default()
}

/// The path a newcomer takes: apply the example, watch the pods run on the map, ask kubectl,
/// open a pod's scheduling decision, cut a node's power and see its pods replaced elsewhere.
#[wasm_bindgen_test]
async fn terminal_map_decision_and_a_node_failure() {
    let root = applied(5).await;
    assert_eq!(count(&root, ".map .pod.running"), 3);

    let out = kubectl(&root, "get pods").await;
    let lines: Vec<&str> = out.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(lines.len(), 4, "{out}");
    // Columns line up as kubectl's: each row's READY cell starts under the header's.
    let ready_at = lines[0].find("READY").unwrap();
    assert!(
        lines[1..].iter().all(|l| l[ready_at..].starts_with("1/1 ")),
        "{out}"
    );
    assert!(lines[1..].iter().all(|l| l.contains("Running")), "{out}");
    let err = kubectl(&root, "get widgets").await;
    assert_eq!(
        err,
        "error: the server doesn't have a resource type \"widgets\""
    );

    button(&root, ".map .pod").click();
    yew::scheduler::flush().await;
    assert_eq!(count(&root, "#decision-table tr.winner"), 1);
    assert_eq!(
        count(&root, "#decision-table tbody tr"),
        3,
        "three nodes weighed"
    );

    // Cut the power of a node that runs a pod; at 1000× the node goes Unknown after its
    // lease expires, its pods are evicted after 300 s, and the ReplicaSet replaces them.
    let victim = root
        .query_selector(".map .node .pod")
        .unwrap()
        .unwrap()
        .closest(".node")
        .unwrap()
        .unwrap();
    let node = victim.get_attribute("data-node").unwrap();
    button(&victim, ".power").click();
    yew::scheduler::flush().await;
    let speed: web_sys::HtmlSelectElement = root
        .query_selector("#speed")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    speed.set_value("10000");
    speed
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    button(&root, "#play").click();
    yew::scheduler::flush().await;
    let healthy = format!(".map .node:not([data-node=\"{node}\"]) .pod.running");
    for _ in 0..100 {
        if count(&root, &healthy) == 3 {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(100).await;
    }
    assert_eq!(
        count(&root, &healthy),
        3,
        "replacements run on the other nodes"
    );
    let down = root
        .query_selector(&format!(".map .node[data-node=\"{node}\"] .node-status"))
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap_or_default();
    assert_eq!(down, "NotReady");
}

/// The diagram lights arrows for what really happened, and the narrator tells the steps —
/// back to the first, the user's submission.
#[wasm_bindgen_test]
async fn the_flow_lights_up_and_the_narrator_steps_back() {
    let root = applied(1).await;
    assert!(count(&root, ".flow .arrow") > 0, "arrows lit");
    assert!(count(&root, ".flow .arrow.write") == 1, "a write to etcd");
    let title = text_of(&root, "#step-title");
    assert!(title.starts_with("Step "), "{title}");
    // Back through the run to the user's submission (the nodes' start-up comes before it).
    for _ in 0..1_000 {
        let back = button(&root, "#step-back");
        if back.disabled() || text_of(&root, "#step-title").starts_with("Step 1 /") {
            break;
        }
        back.click();
        yew::scheduler::flush().await;
    }
    assert_eq!(
        text_of(&root, "#step-title"),
        "Step 1 / 10 — The user submits a manifest"
    );
    assert!(text_of(&root, ".narration .object").contains("kind: Deployment"));
    button(&root, "#step-next").click();
    yew::scheduler::flush().await;
    assert_eq!(
        text_of(&root, "#step-title"),
        "Step 2 / 10 — The API server checks the request"
    );
    // Clicking a box lists what passed through it.
    let scheduler = root
        .query_selector(".flow [data-box=default-scheduler]")
        .unwrap()
        .unwrap();
    scheduler
        .dispatch_event(&web_sys::Event::new("click").unwrap())
        .unwrap();
    yew::scheduler::flush().await;
    assert!(
        text_of(&root, ".flow .passed").contains("pods/binding"),
        "{}",
        text_of(&root, ".flow .passed")
    );
}

/// The request inspector shows what each stage of the pipeline said about the user's create;
/// the events tab lists what the controllers recorded.
#[wasm_bindgen_test]
async fn the_inspector_opens_a_request_and_lists_events() {
    let root = applied(1).await;
    let requests = root.query_selector_all(".requests button.request").unwrap();
    let create = (0..requests.length())
        .filter_map(|i| requests.item(i))
        .find(|n| {
            n.text_content()
                .unwrap_or_default()
                .starts_with("kubectl create deployments default/nginx")
        })
        .expect("the user's create is listed");
    create
        .dyn_into::<web_sys::HtmlButtonElement>()
        .unwrap()
        .click();
    yew::scheduler::flush().await;
    let stages = text_of(&root, ".stages");
    for stage in [
        "user",
        "authentication",
        "authorization",
        "validation",
        "storage",
    ] {
        assert!(stages.contains(stage), "{stage} missing from {stages}");
    }
    assert!(stages.contains("kubernetes-admin"), "{stages}");
    // A pod's create: what each mutating admission plugin changed, as a diff.
    let requests = root.query_selector_all(".requests button.request").unwrap();
    let pod_create = (0..requests.length())
        .filter_map(|i| requests.item(i))
        .find(|n| {
            n.text_content()
                .unwrap_or_default()
                .starts_with("replicaset-controller create pods default/")
        })
        .expect("the replicaset controller's pod create is listed");
    pod_create
        .dyn_into::<web_sys::HtmlButtonElement>()
        .unwrap()
        .click();
    yew::scheduler::flush().await;
    let patches = root.query_selector_all(".stages pre.patch").unwrap();
    let patch: String = (0..patches.length())
        .filter_map(|i| patches.item(i)?.text_content())
        .collect();
    assert!(
        patch.starts_with("+ /spec/serviceAccountName: \"default\""),
        "ServiceAccount's change first: {patch}"
    );
    assert!(
        patch.contains("+ /spec/tolerations: [{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}"),
        "DefaultTolerationSeconds' tolerations shown as added: {patch}"
    );
    button(&root, "#tab-events").click();
    yew::scheduler::flush().await;
    let events = text_of(&root, "pre.events");
    assert!(events.contains("ScalingReplicaSet"), "{events}");
    assert!(events.starts_with("LAST SEEN"), "{events}");
}

/// Scrubbing the timeline back replays the run up to that second: the pods of then.
#[wasm_bindgen_test]
async fn the_timeline_goes_back_in_the_run() {
    let root = applied(5).await;
    assert_eq!(count(&root, ".map .pod.running"), 3);
    let timeline: web_sys::HtmlInputElement = root
        .query_selector("#timeline")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    timeline.set_value("0");
    timeline
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    yew::scheduler::flush().await;
    assert_eq!(text_of(&root, ".time"), "t = 0 s");
    assert_eq!(count(&root, ".map .pod"), 0, "before the pods existed");
}

/// The etcd browser lists keys with their revisions and shows a key's value and history.
#[wasm_bindgen_test]
async fn the_etcd_browser_shows_a_keys_value_and_history() {
    let root = applied(1).await;
    button(&root, "#tab-etcd").click();
    yew::scheduler::flush().await;
    let keys = root.query_selector_all(".keys button.key").unwrap();
    let deployment = (0..keys.length())
        .filter_map(|i| keys.item(i))
        .find(|n| {
            n.text_content()
                .unwrap_or_default()
                .starts_with("/registry/deployments/default/nginx ")
        })
        .expect("the Deployment's key");
    deployment
        .dyn_into::<web_sys::HtmlButtonElement>()
        .unwrap()
        .click();
    yew::scheduler::flush().await;
    let history = text_of(&root, ".etcd .history");
    assert!(history.starts_with("PUT @"), "{history}");
    assert!(
        history.contains("(v2)"),
        "status writes followed: {history}"
    );
    assert!(text_of(&root, ".etcd pre.value").contains("\"kind\": \"Deployment\""));
}

/// Clicks the large map at a point in the canvas's own pixels (it may be drawn smaller).
async fn click_map(root: &web_sys::Element, x: f64, y: f64) {
    let canvas: web_sys::HtmlCanvasElement = root
        .query_selector("#large-map")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(canvas.height() > 0, "the map is drawn");
    let rect = canvas.get_bounding_client_rect();
    let scale = rect.width() / f64::from(canvas.width());
    let init = web_sys::MouseEventInit::new();
    init.set_client_x((rect.left() + x * scale) as i32);
    init.set_client_y((rect.top() + y * scale) as i32);
    init.set_bubbles(true);
    let click = web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).unwrap();
    canvas.dispatch_event(&click).unwrap();
    yew::scheduler::flush().await;
}

/// A large cluster's view (here 60 nodes, run on the page's thread as the worker would run
/// it): the canvas map, the totals, an example applied and running, kubectl answering, and a
/// node clicked on the map and powered off going NotReady.
#[wasm_bindgen_test]
async fn the_large_cluster_map_runs_and_a_clicked_node_goes_down() {
    use kubeplay_web::components::large_map::{LargeCluster, Props};
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<LargeCluster>::with_root_and_props(
        root.clone(),
        Props {
            nodes: 60,
            seed: 1,
            scenario: None,
            in_page: true,
        },
    )
    .render();
    yew::scheduler::flush().await;
    button(&root, "#large-play").click();
    let step = |n: u32| {
        let root = root.clone();
        async move {
            for _ in 0..n {
                button(&root, "#large-step").click();
                yew::scheduler::flush().await;
            }
        }
    };
    step(5).await;
    let first_canvas = root.query_selector("#large-map").unwrap().unwrap();
    step(1).await;
    let same = root.query_selector("#large-map").unwrap().unwrap();
    assert!(
        first_canvas.is_same_node(Some(&same)),
        "the canvas element stays (keyboard focus stays on it)"
    );
    assert!(
        text_of(&root, "#large-totals").starts_with("60 nodes, 60 Ready"),
        "{}",
        text_of(&root, "#large-totals")
    );
    assert!(text_of(&root, ".where").contains("in the page"));
    button(&root, "#large-apply").click();
    step(20).await;
    assert!(
        text_of(&root, "#large-totals").ends_with("pods: 3 Running, 0 Pending, 0 failing"),
        "{}",
        text_of(&root, "#large-totals")
    );
    assert!(text_of(&root, "#large-output").contains("deployment.apps/nginx created"));
    // Click the top-left cell: the first node's details and its power switch.
    let before_click = root.query_selector("#large-map").unwrap().unwrap();
    click_map(&root, 3.0, 3.0).await;
    let after_click = root.query_selector("#large-map").unwrap().unwrap();
    assert!(
        before_click.is_same_node(Some(&after_click)),
        "the canvas stays when details open"
    );
    assert!(text_of(&root, ".node-detail").contains("Ready"));
    button(&root, "#large-power").click();
    step(60).await;
    assert!(
        text_of(&root, "#large-totals").starts_with("60 nodes, 59 Ready"),
        "{}",
        text_of(&root, "#large-totals")
    );
    assert!(text_of(&root, ".node-detail").contains("NotReady"));
    // Click the second cell (48-pixel cells for 60 nodes) and cut that node's network.
    click_map(&root, 51.0, 3.0).await;
    assert!(text_of(&root, ".node-detail").contains("Ready"));
    assert!(!text_of(&root, ".node-detail").contains("NotReady"));
    button(&root, ".node-detail button[title^=Cut]").click();
    step(60).await;
    assert!(
        text_of(&root, "#large-totals").starts_with("60 nodes, 58 Ready"),
        "{}",
        text_of(&root, "#large-totals")
    );
}

/// A heredoc in the terminal: `apply -f - <<EOF`, the manifest line by line at the `>`
/// prompt, `EOF` — and kubectl's answer; then `set image` and `rollout history`.
#[wasm_bindgen_test]
async fn the_terminal_applies_a_heredoc() {
    let root = mount();
    yew::scheduler::flush().await;
    button(&root, "#play").click();
    for line in [
        "apply -f - <<EOF",
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: {name: web}",
        "spec:",
        "  selector: {matchLabels: {app: web}}",
        "  template:",
        "    metadata: {labels: {app: web}}",
        "    spec: {containers: [{name: nginx, image: 'nginx:1.14.2'}]}",
    ] {
        kubectl(&root, line).await;
        assert_eq!(count(&root, ".terminal .entry"), 0, "still collecting");
    }
    assert!(text_of(&root, ".prompt").starts_with("> "));
    let out = kubectl(&root, "EOF").await;
    assert_eq!(out, "deployment.apps/web created\n");
    assert!(text_of(&root, ".prompt").starts_with("$ kubectl"));
    button(&root, "#step").click();
    yew::scheduler::flush().await;
    let out = kubectl(&root, "set image deployment/web nginx=nginx:1.25").await;
    assert_eq!(out, "deployment.apps/web image updated\n");
    for _ in 0..3 {
        button(&root, "#step").click();
        yew::scheduler::flush().await;
    }
    let out = kubectl(&root, "rollout history deployment/web").await;
    assert!(
        out.contains("REVISION  CHANGE-CAUSE\n1         <none>\n2         <none>"),
        "{out}"
    );
}

/// Chaos from the map: crash a pod's container (restarted, RESTARTS 1), partition its node
/// (NotReady while the pod runs on; Ready again when healed), take the registry down (a new
/// image cannot be pulled) and bring it back (it can).
#[wasm_bindgen_test]
async fn chaos_crash_partition_and_registry() {
    let root = applied(10).await;
    let step = |n: u32| {
        let root = root.clone();
        async move {
            for _ in 0..n {
                button(&root, "#step").click();
                yew::scheduler::flush().await;
            }
        }
    };
    button(&root, ".map .pod").click();
    yew::scheduler::flush().await;
    let selected = text_of(&root, ".pod-actions span");
    let pod = selected.trim_start_matches("default/").to_string();
    button(&root, "#crash-pod").click();
    step(2).await;
    let pods = kubectl(&root, &format!("get pod {pod}")).await;
    assert!(
        pods.lines()
            .nth(1)
            .is_some_and(|l| l.contains("Running   1 (")),
        "restarted once: {pods}"
    );
    // Cut the network of the pod's node: NotReady, yet the pod runs on.
    let nodes = root.query_selector_all(".map .node").unwrap();
    let node = (0..nodes.length())
        .filter_map(|i| nodes.item(i)?.dyn_into::<web_sys::Element>().ok())
        .find(|n| n.text_content().unwrap_or_default().contains(&pod))
        .and_then(|n| n.get_attribute("data-node"))
        .expect("the pod's node on the map");
    let partition = format!(".map .node[data-node=\"{node}\"] .partition");
    button(&root, &partition).click();
    step(60).await;
    assert_eq!(
        text_of(
            &root,
            &format!(".map .node[data-node=\"{node}\"] .node-status")
        ),
        "NotReady"
    );
    assert_eq!(button(&root, &partition).text_content().unwrap(), "Heal");
    button(&root, &partition).click();
    step(5).await;
    assert_eq!(
        text_of(
            &root,
            &format!(".map .node[data-node=\"{node}\"] .node-status")
        ),
        "Ready"
    );
    // No registry: the new image cannot be pulled.
    button(&root, "#registry").click();
    yew::scheduler::flush().await;
    kubectl(&root, "set image deployment/nginx nginx=redis:7").await;
    step(15).await;
    assert!(
        count(
            &root,
            ".map .pod[data-status=ImagePullBackOff], .map .pod[data-status=ErrImagePull]"
        ) > 0,
        "pulls fail while the registry is down"
    );
    button(&root, "#registry").click();
    step(60).await;
    let out = kubectl(&root, "get pods").await;
    assert!(
        !out.contains("ImagePull") && !out.contains("ErrImage"),
        "{out}"
    );
}

/// "Next event" runs the cluster one happening at a time: after applying, the store's
/// revision moves as the controllers react, a click at a time.
#[wasm_bindgen_test]
async fn next_event_steps_one_happening_at_a_time() {
    let root = mount();
    yew::scheduler::flush().await;
    button(&root, "#play").click();
    button(&root, "#apply").click();
    yew::scheduler::flush().await;
    let revision = || text_of(&root, ".revision");
    let applied = revision();
    let mut clicks = 0;
    while revision() == applied && clicks < 20 {
        button(&root, "#next-event").click();
        yew::scheduler::flush().await;
        clicks += 1;
    }
    assert!(revision() != applied, "the controllers wrote something");
    assert!(
        text_of(&root, ".time") == "t = 0 s",
        "within the first second: {}",
        text_of(&root, ".time")
    );
}

/// The bridge panel with no bridge: it says so, for a URL that is not one and for a port
/// where nothing listens, and never claims a connection.
#[wasm_bindgen_test]
async fn the_bridge_panel_says_when_no_bridge_answers() {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    let props = kubeplay_web::components::bridge_panel::Props {
        cluster: kubeplay_web::cluster::Cluster::new(1),
        on_change: yew::Callback::noop(),
    };
    yew::Renderer::<kubeplay_web::components::bridge_panel::BridgePanel>::with_root_and_props(
        root.clone(),
        props,
    )
    .render();
    yew::scheduler::flush().await;
    assert_eq!(text_of(&root, "#bridge-state"), "Not connected.");
    let url: web_sys::HtmlInputElement = root
        .query_selector("#bridge-url")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let set_url = |value: &str| {
        url.set_value(value);
        url.dispatch_event(&web_sys::InputEvent::new("input").unwrap())
            .unwrap();
    };
    set_url("not a url");
    yew::scheduler::flush().await;
    button(&root, "#bridge-connect").click();
    yew::scheduler::flush().await;
    let state = text_of(&root, "#bridge-state");
    assert_eq!(
        state,
        "Could not connect: \"not a url\" is not a bridge's URL, which starts with ws:// or wss:// (ws://127.0.0.1:6444/node-agent)."
    );

    set_url("ws://127.0.0.1:9/node-agent");
    yew::scheduler::flush().await;
    button(&root, "#bridge-connect").click();
    yew::scheduler::flush().await;
    assert_eq!(
        text_of(&root, "#bridge-state"),
        "Connecting to ws://127.0.0.1:9/node-agent…"
    );
    assert_eq!(text_of(&root, "#bridge-connect"), "Disconnect");
    for _ in 0..50 {
        if text_of(&root, "#bridge-state").starts_with("Could not") {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(100).await;
        yew::scheduler::flush().await;
    }
    assert_eq!(
        text_of(&root, "#bridge-state"),
        "Could not connect: no bridge answered at ws://127.0.0.1:9/node-agent (is it running, and does it allow this page's origin?)."
    );
    assert_eq!(text_of(&root, "#bridge-connect"), "Connect");
    assert_eq!(count(&root, "#bridge-nodes"), 0);
}
