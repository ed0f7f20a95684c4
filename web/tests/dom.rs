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

    // Applying again is refused by the API server, and the page says why.
    apply.click();
    yew::scheduler::flush().await;
    assert_eq!(
        text_of(&root, ".results"),
        "deployments.apps \"nginx\" already exists"
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
