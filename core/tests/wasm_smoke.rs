//! The control plane in a real browser: the same API server requests as natively, under
//! wasm-bindgen-test in headless Chromium. (Natively these are plain tests too.)

use kubeplay_core::apiserver::{ApiServer, Config, Method, Request, ADMIN_TOKEN};
use serde_json::json;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn deployment() -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}}
    })
}

/// Create, watch and print a Deployment; returns what a client saw, for comparison.
fn session() -> Vec<String> {
    let mut s = ApiServer::new(Config::default());
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let w = s
        .handle(&Request::new(Method::Get, &format!("{path}?watch=true")).bearer(ADMIN_TOKEN))
        .watch
        .expect("a watch");
    let created = s.handle(
        &Request::new(Method::Post, path)
            .bearer(ADMIN_TOKEN)
            .json(&deployment()),
    );
    let table = s
        .handle(
            &Request::new(Method::Get, path)
                .bearer(ADMIN_TOKEN)
                .accept("application/json;as=Table;v=v1;g=meta.k8s.io"),
        )
        .value();
    let events = s.poll_watch(w).expect("watch events");
    vec![
        created.code.to_string(),
        created.value()["metadata"]["uid"].to_string(),
        table["rows"][0]["cells"].to_string(),
        events
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>()
            .join(","),
    ]
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn the_api_server_serves_a_deployment() {
    let seen = session();
    assert_eq!(seen[0], "201");
    assert_eq!(
        seen[2],
        r#"["nginx","0/3",0,0,"0s","nginx","nginx:1.14.2","app=nginx"]"#
    );
    assert_eq!(seen[3], "ADDED");
    // Deterministic: the same seed gives the same UID, natively and in the browser.
    assert_eq!(seen, session());
    // The same UID natively and in wasm: seed 1's 25th UUID (after the 24 bootstrap objects).
    assert_eq!(seen[1], "\"530e0e61-18e9-485e-a8bf-f9ea304d9f96\"");
}

/// The nginx scenario gives, in the browser, the very trace stored from the native run.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn the_nginx_scenario_traces_the_same_in_wasm() {
    let scenario = kubeplay_core::scenario::parse(include_str!("../../tests/scenarios/nginx.yaml"))
        .expect("scenario");
    let cluster = kubeplay_core::scenario::run(&scenario).expect("run");
    let events: Vec<_> = cluster.world.trace().events().collect();
    let trace = kubeplay_core::trace::render(&events, kubeplay_core::sim::EPOCH);
    assert_eq!(trace, include_str!("../../tests/scenarios/nginx.trace"));
}
