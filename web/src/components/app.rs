//! The root: owns the cluster handle, runs its clock while playing (at the chosen speed),
//! and re-renders the views when the store moves.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::bridge_panel::BridgePanel;
use super::cluster_map::ClusterMap;
use super::decision_table::DecisionTable;
use super::flow::FlowDiagram;
use super::inspector::Inspector;
use super::manifest_editor::ManifestEditor;
use super::narrator::Narrator;
use super::object_table::ObjectTable;
use super::speed::{speed_picker, TICK_MS};
use super::terminal::Terminal;
use crate::cluster::Cluster;

/// Cluster sizes offered: 3 nodes with every view, or a large cluster (`?nodes=N`) run in a
/// Web Worker and drawn on a canvas.
const SIZES: &[(u32, &str)] = &[
    (3, "3 nodes — every view"),
    (500, "500 nodes — Web Worker"),
    (5_000, "5,000 nodes — Web Worker"),
];

/// The size asked for in the page's address (`?nodes=N`), within 1..=5,000.
fn size_from_address() -> u32 {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("nodes="))
        .and_then(|n| n.parse().ok())
        .map_or(crate::cluster::NODES, |n: u32| n.clamp(1, 5_000))
}

fn size_picker(nodes: u32) -> Html {
    let on_size = Callback::from(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        if let Some(location) = web_sys::window().map(|w| w.location()) {
            let _ = location.set_search(&format!("nodes={}", select.value()));
        }
    });
    html! {
        <label class="size">{"Cluster "}
            <select id="size" onchange={on_size} aria-label="Cluster size">
                { for SIZES.iter().map(|(n, label)| html! {
                    <option value={n.to_string()} selected={*n == nodes}>{*label}</option>
                }) }
            </select>
        </label>
    }
}

/// A file of the page's own origin, as text (`None` if it cannot be had).
async fn fetch_text(path: &str) -> Option<String> {
    use wasm_bindgen::JsCast;
    let window = web_sys::window()?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(path))
        .await
        .ok()?
        .dyn_into::<web_sys::Response>()
        .ok()?;
    if !response.ok() {
        return None;
    }
    let text = wasm_bindgen_futures::JsFuture::from(response.text().ok()?)
        .await
        .ok()?;
    text.as_string()
}

/// Percent-encodes text for a `data:` URL.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[function_component(App)]
pub fn app() -> Html {
    let nodes = *use_memo((), |_| size_from_address());
    if nodes > crate::cluster::NODES {
        // A shared large run comes back as `?nodes=N#scenario=…`.
        let fragment = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        let (scenario, damaged) = match crate::cluster::fragment_yaml(&fragment) {
            Some(Ok(yaml)) => (Some(yaml), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        return html! {
            <div class="app">
                <header>
                    <h1>{"kubeplay"}</h1>
                    <p class="tagline">{format!("{} simulated nodes; the control plane runs in a Web Worker, the page only draws.", super::large_map::thousands(nodes as usize))}</p>
                    { size_picker(nodes) }
                </header>
                if let Some(e) = damaged {
                    <p class="banner error" role="alert">{format!("The shared scenario could not be opened: {e}")}</p>
                }
                <super::large_map::LargeCluster nodes={nodes} seed={1} {scenario} />
            </div>
        };
    }
    html! { <SmallCluster /> }
}

/// The cluster a shared link (`#scenario=…`) replays, or a fresh one, and why the link
/// could not be opened.
#[hook]
fn use_opened_cluster() -> (Rc<Cluster>, Option<String>) {
    // A shared link (`#scenario=…`) replays its run; otherwise a fresh cluster.
    let opened = use_memo((), |_| {
        let fragment = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        match Cluster::from_fragment(&fragment) {
            Some(Ok(c)) => (c, None),
            Some(Err(e)) => (Cluster::new(1), Some(e)),
            None => (Cluster::new(1), None),
        }
    });
    let cluster = use_memo((), {
        let c = opened.0.clone();
        move |_| c
    });
    (cluster, opened.1.clone())
}

/// Advances the cluster each tick while playing, at the chosen speed.
#[hook]
fn use_cluster_clock(
    cluster: Rc<Cluster>,
    refresh: Callback<()>,
    playing: bool,
    speed_tenths: u32,
) {
    use_effect_with((playing, speed_tenths), move |(playing, speed)| {
        let virtual_ms = i64::from(TICK_MS) * i64::from(*speed) / 10;
        let interval = playing.then(|| {
            Interval::new(TICK_MS, move || {
                cluster.advance(virtual_ms);
                refresh.emit(());
            })
        });
        move || drop(interval)
    });
}

/// Fetches the API documentation the terminal's `explain` reads, once the page is up.
#[hook]
fn use_explain_docs(cluster: Rc<Cluster>) {
    use_effect_with((), move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(text) = fetch_text("explain.json").await {
                let _ = cluster.set_explain_docs(&text);
            }
        });
    });
}

/// Marks on <body> (`data-interactive-ms`) when the first render was on screen.
#[hook]
fn use_interactive_mark() {
    use_effect_with((), |_| {
        let window = web_sys::window();
        let ms = window
            .as_ref()
            .and_then(|w| w.performance())
            .map(|p| p.now());
        let body = window.and_then(|w| w.document()).and_then(|d| d.body());
        if let (Some(ms), Some(body)) = (ms, body) {
            let _ = body.set_attribute("data-interactive-ms", &(ms.round() as i64).to_string());
        }
    });
}

/// Goes back to the second picked on the timeline, and pauses there.
fn scrub(
    cluster: &Rc<Cluster>,
    refresh: &Callback<()>,
    playing: &UseStateHandle<bool>,
) -> Callback<Event> {
    let (cluster, refresh, playing) = (cluster.clone(), refresh.clone(), playing.clone());
    Callback::from(move |e: Event| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        if let Ok(t) = input.value().parse::<i64>() {
            playing.set(false);
            if cluster.rewind_to(t).is_ok() {
                refresh.emit(());
            }
        }
    })
}

/// Offers a link that replays this run, and its scenario as a file.
fn share_run(
    cluster: &Rc<Cluster>,
    share: &UseStateHandle<Option<(String, String)>>,
) -> Callback<MouseEvent> {
    let (cluster, share) = (cluster.clone(), share.clone());
    Callback::from(move |_| {
        let link = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .map(|h| h.split('#').next().unwrap_or_default().to_string())
            .unwrap_or_default();
        share.set(Some((
            format!("{link}{}", cluster.share_fragment()),
            cluster.scenario_yaml(),
        )));
    })
}

/// The time controls: play or pause, step, next event, speed, the timeline, the clock and
/// Share.
fn time_controls(
    cluster: &Rc<Cluster>,
    refresh: &Callback<()>,
    playing: &UseStateHandle<bool>,
    speed_tenths: &UseStateHandle<u32>,
    seconds: i64,
    revision: i64,
    share: &UseStateHandle<Option<(String, String)>>,
) -> Html {
    let toggle = {
        let playing = playing.clone();
        Callback::from(move |_| playing.set(!*playing))
    };
    let step = {
        let (cluster, refresh) = (cluster.clone(), refresh.clone());
        Callback::from(move |_| {
            cluster.advance(1_000);
            refresh.emit(());
        })
    };
    let next_event = {
        let (cluster, refresh) = (cluster.clone(), refresh.clone());
        Callback::from(move |_| {
            cluster.step_event();
            refresh.emit(());
        })
    };
    // Scrubbing replays the run from its seed up to the chosen second, then waits there.
    let on_scrub = scrub(cluster, refresh, playing);
    let on_share = share_run(cluster, share);
    let real_node_running = cluster.has_real_node_running();
    html! {
        <div class="clock" role="group" aria-label="Time controls">
            <button id="play" onclick={toggle} aria-pressed={(**playing).to_string()}>{ if **playing { "Pause" } else { "Play" } }</button>
            <button id="step" onclick={step}>{"Step 1 s"}</button>
            <button id="next-event" onclick={next_event} title="Run to the next thing that happens: a timer firing or a watch event delivered">{"Next event"}</button>
            { speed_picker("speed", speed_tenths) }
            <input id="timeline" type="range" min="0" max={seconds.max(1).to_string()}
                value={seconds.to_string()} onchange={on_scrub} disabled={real_node_running}
                title={if real_node_running { "A real machine is joined: its containers really ran, so this run cannot go back in time (disconnect the bridge first)" } else { "" }}
                aria-label="Timeline: go back to an earlier moment of the run" />
            <span class="time" aria-label="virtual time">{format!("t = {seconds} s")}</span>
            <span class="revision" aria-label="etcd revision">{format!("etcd revision {revision}")}</span>
            <button id="share" onclick={on_share}>{"Share"}</button>
        </div>
    }
}

/// What shows above the views: a shared link that could not be opened, or the share link
/// and its file.
fn notices(open_error: Option<&str>, share: Option<&(String, String)>) -> Html {
    // One stable slot (Yew then keeps the header's elements, and the focus on Share, when
    // it appears).
    html! {
        <div class="notices">
        if let Some(e) = open_error {
            <p class="banner error" role="alert">{format!("The shared scenario could not be opened: {e}")}</p>
        }
        if let Some((link, yaml)) = share {
            <div class="share" role="region" aria-label="Share this run">
                <label>{"Link that replays this run "}
                    <input id="share-link" readonly=true value={link.clone()} />
                </label>
                <a id="share-file" download="kubeplay-scenario.yaml"
                    href={format!("data:text/yaml;charset=utf-8,{}", percent(yaml))}>{"Download the scenario"}</a>
            </div>
        }
        </div>
    }
}

/// Three nodes with every view: the flow diagram, narrator, inspectors and terminal.
#[function_component(SmallCluster)]
fn small_cluster() -> Html {
    let (cluster, open_error) = use_opened_cluster();
    let share = use_state(|| None::<(String, String)>);
    let revision = use_state(|| cluster.revision());
    let seconds = use_state(|| cluster.elapsed_seconds());
    let playing = use_state(|| true);
    let speed_tenths = use_state(|| 10u32);
    let selected = use_state(|| None::<String>);
    let refresh = {
        let (cluster, revision, seconds) = (cluster.clone(), revision.clone(), seconds.clone());
        Callback::from(move |_: ()| {
            revision.set(cluster.revision());
            seconds.set(cluster.elapsed_seconds());
        })
    };
    use_cluster_clock(cluster.clone(), refresh.clone(), *playing, *speed_tenths);
    // The terminal's `explain` reads the API documentation: fetched once the page is up
    // (from the page's own origin: it ships beside the wasm), so it costs the first paint
    // nothing.
    use_explain_docs(cluster.clone());
    // Once the first render is on screen the page is interactive: note when, for the
    // measurements (`data-interactive-ms` on <body>, milliseconds since navigation).
    use_interactive_mark();
    let on_select = {
        let selected = selected.clone();
        Callback::from(move |pod: String| selected.set(Some(pod)))
    };
    html! {
        <div class="app">
            <header>
                <h1>{"kubeplay"}</h1>
                <p class="tagline">{"A Kubernetes control plane, compiled to WebAssembly, running in this tab."}</p>
                { time_controls(&cluster, &refresh, &playing, &speed_tenths, *seconds, *revision, &share) }
                { size_picker(crate::cluster::NODES) }
            </header>
            { notices(open_error.as_deref(), share.as_ref()) }
            <main>
                <ManifestEditor cluster={(*cluster).clone()} on_change={refresh.reform(|_| ())} />
                <ClusterMap cluster={(*cluster).clone()} revision={*revision} on_select={on_select} on_change={refresh.reform(|_| ())} selected={(*selected).clone()} />
                <FlowDiagram cluster={(*cluster).clone()} revision={*revision} now_seconds={*seconds} />
                <Narrator cluster={(*cluster).clone()} revision={*revision} />
                <Terminal cluster={(*cluster).clone()} on_change={refresh.reform(|_| ())} />
                <DecisionTable cluster={(*cluster).clone()} revision={*revision} pod={(*selected).clone()} />
                <Inspector cluster={(*cluster).clone()} revision={*revision} />
                <ObjectTable cluster={(*cluster).clone()} revision={*revision} />
                <BridgePanel cluster={(*cluster).clone()} on_change={refresh.reform(|_| ())} />
            </main>
        </div>
    }
}
