//! A large cluster's page: the control plane in a Web Worker, its nodes on a canvas (one cell
//! per node: colour by readiness, filled by CPU requested), totals, the time controls, a
//! console for manifests and kubectl, and a node's power switch. The page only draws: every
//! request goes to the worker and comes back as a [`Reply`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement, MessageEvent, Worker};
use yew::prelude::*;

use super::gallery::EXAMPLES;
use super::speed::{speed_picker, TICK_MS};
use crate::large::{Engine, Op, Reply, Summary};

/// Where the engine runs: a Web Worker (the page), or the page's own thread (tests, and
/// browsers that cannot start the worker).
enum Transport {
    Worker {
        worker: Worker,
        /// Requests posted before the worker said it listens.
        waiting: Rc<RefCell<Option<Vec<String>>>>,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
    },
    InPage {
        engine: Rc<RefCell<Option<Engine>>>,
        on_reply: Callback<Reply>,
    },
}

/// The page's end of the engine: requests go out, replies come back to `on_reply`.
pub struct Backend {
    transport: Transport,
    /// Requests sent and not answered yet: the clock does not run ahead of the worker.
    in_flight: Rc<Cell<u32>>,
    /// Whether the engine runs in a worker.
    pub in_worker: bool,
}

impl Backend {
    /// The engine in a worker, or in the page when a worker cannot be started.
    pub fn start(in_page: bool, on_reply: Callback<Reply>) -> Backend {
        let in_flight = Rc::new(Cell::new(0u32));
        let counted = {
            let (in_flight, on_reply) = (in_flight.clone(), on_reply.clone());
            Callback::from(move |r: Reply| {
                in_flight.set(in_flight.get().saturating_sub(1));
                on_reply.emit(r);
            })
        };
        let worker = (!in_page)
            .then(|| spawn_worker(counted.clone(), on_reply.clone(), in_flight.clone()))
            .and_then(Result::ok);
        let in_worker = worker.is_some();
        let transport = worker.unwrap_or_else(|| Transport::InPage {
            engine: Rc::new(RefCell::new(None)),
            on_reply: counted,
        });
        Backend {
            transport,
            in_flight,
            in_worker,
        }
    }

    pub fn busy(&self) -> bool {
        self.in_flight.get() > 0
    }

    pub fn send(&self, op: &Op) {
        let text = op.to_json();
        self.in_flight.set(self.in_flight.get() + 1);
        match &self.transport {
            Transport::Worker {
                worker, waiting, ..
            } => {
                if let Some(queue) = waiting.borrow_mut().as_mut() {
                    queue.push(text);
                    return;
                }
                let _ = worker.post_message(&JsValue::from_str(&text));
            }
            Transport::InPage { engine, on_reply } => {
                let reply = crate::worker::answer(&mut engine.borrow_mut(), &text);
                on_reply.emit(reply);
            }
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Transport::Worker { worker, .. } = &self.transport {
            worker.terminate();
        }
    }
}

/// Starts the page's own module in a module worker: the module's and the wasm's URLs are
/// the ones Trunk's `<link rel=modulepreload>` and `<link rel=preload>` name.
fn spawn_worker(
    on_reply: Callback<Reply>,
    on_failure: Callback<Reply>,
    in_flight: Rc<Cell<u32>>,
) -> Result<Transport, JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let href = |selector: &str| -> Result<String, JsValue> {
        let link = document
            .query_selector(selector)?
            .ok_or_else(|| JsValue::from_str("no module link"))?;
        // `href` as a property is absolute, which a blob-URL worker needs.
        js_sys::Reflect::get(&link, &"href".into())?
            .as_string()
            .ok_or_else(|| "no href".into())
    };
    let module = href("link[rel=modulepreload]")?;
    let wasm = href("link[rel=preload][as=fetch]")?;
    let source = format!(
        "import init, {{ worker_main }} from {module:?};\n\
         await init({{ module_or_path: {wasm:?} }});\n\
         worker_main();\n"
    );
    let parts = js_sys::Array::of1(&JsValue::from_str(&source));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let worker_options = web_sys::WorkerOptions::new();
    worker_options.set_type(web_sys::WorkerType::Module);
    let worker = Worker::new_with_options(&url, &worker_options)?;
    let waiting = Rc::new(RefCell::new(Some(Vec::<String>::new())));
    let on_message = {
        let (worker, waiting) = (worker.clone(), waiting.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            if text == crate::worker::READY {
                for request in waiting.borrow_mut().take().unwrap_or_default() {
                    let _ = worker.post_message(&JsValue::from_str(&request));
                }
                return;
            }
            match Reply::from_json(&text) {
                Ok(reply) => on_reply.emit(reply),
                Err(e) => on_reply.emit(Reply {
                    output: format!("an answer the page does not understand: {e}"),
                    ..Reply::default()
                }),
            }
        })
    };
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // A worker that fails to start or dies answers nothing more: say so, and free the clock
    // (its requests will not be answered).
    let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
        in_flight.set(0);
        on_failure.emit(Reply {
            output: format!("the control plane's worker stopped: {}", e.message()),
            ..Reply::default()
        });
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Transport::Worker {
        worker,
        waiting,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// Cell size and columns that fit `nodes` cells in about `width` × 480 pixels.
pub fn layout(nodes: usize, width: u32) -> (u32, u32) {
    let n = nodes.max(1) as f64;
    let cell = ((f64::from(width) * 480.0 / n).sqrt().floor() as u32).clamp(4, 48);
    (cell, (width / cell).max(1))
}

fn colour(state: u8) -> &'static str {
    match state {
        b'R' => "#1f6f43",
        b'C' => "#5b6b8c",
        b'N' => "#a3312b",
        _ => "#444b55",
    }
}

fn draw(canvas: &HtmlCanvasElement, s: &Summary, selected: Option<usize>) {
    let (cell, cols) = layout(s.states.len(), canvas.width());
    let rows = (s.states.len() as u32).div_ceil(cols).max(1);
    let height = rows * cell;
    if canvas.height() != height {
        canvas.set_height(height);
    }
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    ctx.set_fill_style_str("#0d1117");
    ctx.fill_rect(0.0, 0.0, f64::from(canvas.width()), f64::from(height));
    let gap = if cell >= 8 { 1.0 } else { 0.5 };
    let size = f64::from(cell) - gap;
    // One fill style per state, then one for the CPU bars: few state changes per frame.
    for state in [b'R', b'C', b'N', b'U'] {
        ctx.set_fill_style_str(colour(state));
        for (i, _) in s.states.bytes().enumerate().filter(|(_, b)| *b == state) {
            let (x, y) = (i as u32 % cols, i as u32 / cols);
            ctx.fill_rect(f64::from(x * cell), f64::from(y * cell), size, size);
        }
    }
    ctx.set_fill_style_str("#7ee2a8");
    for (i, pct) in s.cpu.iter().enumerate().filter(|(_, p)| **p > 0) {
        let (x, y) = (i as u32 % cols, i as u32 / cols);
        let h = size * f64::from(*pct) / 100.0;
        ctx.fill_rect(
            f64::from(x * cell),
            f64::from(y * cell) + size - h,
            size,
            h.max(1.0),
        );
    }
    // A node running pods gets a light dot, so pods without requests show too.
    if cell >= 6 {
        ctx.set_fill_style_str("#e7ecf5");
        let dot = (f64::from(cell) / 3.0).floor();
        for (i, _) in s.pods.iter().enumerate().filter(|(_, p)| **p > 0) {
            let (x, y) = (i as u32 % cols, i as u32 / cols);
            ctx.fill_rect(
                f64::from(x * cell) + 1.0,
                f64::from(y * cell) + 1.0,
                dot,
                dot,
            );
        }
    }
    if let Some(i) = selected.filter(|i| *i < s.states.len()) {
        let (x, y) = (i as u32 % cols, i as u32 / cols);
        ctx.set_stroke_style_str("#ffd866");
        ctx.set_line_width(2.0);
        ctx.stroke_rect(
            f64::from(x * cell) + 1.0,
            f64::from(y * cell) + 1.0,
            size - 2.0,
            size - 2.0,
        );
    }
}

/// `5000` as people read it: `5,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn state_word(state: u8) -> &'static str {
    match state {
        b'R' => "Ready",
        b'C' => "Ready,SchedulingDisabled",
        b'N' => "NotReady",
        _ => "Unknown",
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub nodes: u32,
    pub seed: u64,
    /// A shared run to open instead of a fresh cluster (its YAML).
    #[prop_or_default]
    pub scenario: Option<String>,
    /// Run the engine on the page's thread instead of a worker (tests).
    #[prop_or_default]
    pub in_page: bool,
}

/// What picks the cluster: a change starts a new backend.
type ClusterKey = (u32, u64, bool, Option<String>);

/// The props that pick the cluster, as the memo and the clock are keyed.
fn cluster_key(props: &Props) -> ClusterKey {
    (
        props.nodes,
        props.seed,
        props.in_page,
        props.scenario.clone(),
    )
}

/// Takes in the engine's replies: the summary, the node names, a share link and the
/// console's last 200 lines.
fn reply_handler(
    summary: UseStateHandle<Summary>,
    names: Rc<RefCell<Vec<String>>>,
    log: UseStateHandle<Vec<String>>,
    share_link: UseStateHandle<Option<String>>,
) -> Callback<Reply> {
    let lines = Rc::new(RefCell::new(Vec::<String>::new()));
    Callback::from(move |r: Reply| {
        if let Some(fragment) = &r.share {
            let here = web_sys::window()
                .and_then(|w| w.location().href().ok())
                .unwrap_or_default();
            let here = here.split('#').next().unwrap_or_default().to_string();
            share_link.set(Some(format!("{here}{fragment}")));
        }
        if let Some(n) = &r.summary.names {
            *names.borrow_mut() = n.clone();
        }
        if !r.output.is_empty() {
            let mut l = lines.borrow_mut();
            l.extend(r.output.lines().map(str::to_string));
            let excess = l.len().saturating_sub(200);
            l.drain(..excess);
            log.set(l.clone());
        }
        summary.set(r.summary);
    })
}

/// Advances the engine's clock each tick while playing, at the chosen speed.
#[hook]
fn use_engine_clock(backend: Rc<Backend>, playing: bool, speed_tenths: u32, cluster: ClusterKey) {
    // Keyed by the cluster too: a new backend gets the clock.
    use_effect_with(
        (playing, speed_tenths, cluster),
        move |(playing, speed, _)| {
            let ms = i64::from(TICK_MS) * i64::from(*speed) / 10;
            let interval = playing.then(|| {
                Interval::new(TICK_MS, move || {
                    // A worker still busy with the last tick is not given another.
                    if !backend.busy() {
                        backend.send(&Op::Advance { ms });
                    }
                })
            });
            move || drop(interval)
        },
    );
}

/// Redraws the map when the summary or the selection changes.
#[hook]
fn use_map_drawing(canvas: NodeRef, summary: Summary, selected: Option<usize>) {
    use_effect_with((summary, selected), move |(s, selected)| {
        if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
            draw(&c, s, *selected);
        }
    });
}

/// Selects the node clicked on the map (none right of the last column).
fn map_click(
    canvas: &NodeRef,
    selected: &UseStateHandle<Option<usize>>,
    summary: &UseStateHandle<Summary>,
) -> Callback<MouseEvent> {
    let (canvas, selected, summary) = (canvas.clone(), selected.clone(), summary.clone());
    Callback::from(move |e: MouseEvent| {
        let Some(c) = canvas.cast::<HtmlCanvasElement>() else {
            return;
        };
        let (cell, cols) = layout(summary.states.len(), c.width());
        // The canvas may be drawn smaller than its pixels (a narrow window).
        let scale = |offset: i32, pixels: u32, shown: i32| {
            (f64::from(offset.max(0)) * f64::from(pixels) / f64::from(shown.max(1))) as u32
        };
        let x = scale(e.offset_x(), c.width(), c.client_width());
        let y = scale(e.offset_y(), c.height(), c.client_height());
        let i = (y / cell * cols + x / cell) as usize;
        // Right of the last column is no node.
        selected.set((x / cell < cols && i < summary.states.len()).then_some(i));
    })
}

/// Moves the selection over the map with the arrow keys, Home and End.
fn map_keys(
    canvas: &NodeRef,
    selected: &UseStateHandle<Option<usize>>,
    summary: &UseStateHandle<Summary>,
) -> Callback<KeyboardEvent> {
    let (canvas, selected, summary) = (canvas.clone(), selected.clone(), summary.clone());
    Callback::from(move |e: KeyboardEvent| {
        let n = summary.states.len();
        let Some(c) = canvas.cast::<HtmlCanvasElement>().filter(|_| n > 0) else {
            return;
        };
        let (_, cols) = layout(n, c.width());
        let cols = cols as usize;
        let at = selected.unwrap_or(0);
        let next = match e.key().as_str() {
            "ArrowRight" => (at + 1).min(n - 1),
            "ArrowLeft" => at.saturating_sub(1),
            "ArrowDown" if at + cols < n => at + cols,
            "ArrowUp" => at.saturating_sub(cols),
            "Home" => 0,
            "End" => n - 1,
            _ => return,
        };
        e.prevent_default();
        selected.set(Some(next));
    })
}

/// The time controls: play or pause, a step, the speed, the clock, where the engine runs,
/// and Share.
fn clock_bar(
    backend: &Rc<Backend>,
    playing: &UseStateHandle<bool>,
    speed_tenths: &UseStateHandle<u32>,
    s: &Summary,
) -> Html {
    let share = {
        let backend = backend.clone();
        Callback::from(move |_| backend.send(&Op::Share))
    };
    let toggle = {
        let playing = playing.clone();
        Callback::from(move |_| playing.set(!*playing))
    };
    let step = {
        let backend = backend.clone();
        Callback::from(move |_| backend.send(&Op::Advance { ms: 1_000 }))
    };
    html! {
        <div class="clock" role="group" aria-label="Time controls">
            <button id="large-play" onclick={toggle} aria-pressed={(**playing).to_string()}>{ if **playing { "Pause" } else { "Play" } }</button>
            <button id="large-step" onclick={step}>{"Step 1 s"}</button>
            { speed_picker("large-speed", speed_tenths) }
            <span class="time">{format!("t = {} s", s.seconds)}</span>
            <span class="revision">{format!("etcd revision {}", s.revision)}</span>
            <span class="where">{ if backend.in_worker { "control plane in a Web Worker" } else { "control plane in the page" } }</span>
            <button id="large-share" onclick={share}>{"Share"}</button>
        </div>
    }
}

/// The cluster's totals: nodes, Ready nodes, and pods by phase.
fn totals(s: &Summary) -> Html {
    let ready = s.ready_nodes();
    html! {
        <p class="totals" id="large-totals" data-nodes={s.states.len().to_string()} data-ready={ready.to_string()} data-running={s.running.to_string()}>
            {format!("{} nodes, {} Ready · pods: {} Running, {} Pending, {} failing",
                thousands(s.states.len()), thousands(ready), thousands(s.running as usize),
                thousands(s.pending as usize), thousands(s.failing as usize))}
        </p>
    }
}

/// The map's legend: what each colour means.
fn legend() -> Html {
    html! {
        <p class="legend" aria-hidden="true">
            <span class="swatch" style={format!("background: {}", colour(b'R'))}></span>{"Ready"}
            <span class="swatch" style={format!("background: {}", colour(b'C'))}></span>{"cordoned"}
            <span class="swatch" style={format!("background: {}", colour(b'N'))}></span>{"NotReady"}
            <span class="swatch" style="background: #7ee2a8"></span>{"CPU requested (fill)"}
            <span class="swatch" style="background: #e7ecf5"></span>{"runs pods"}
        </p>
    }
}

/// Node `i`'s details with its power switch and network controls (`None` if it is unknown).
fn node_detail(s: &Summary, names: &[String], backend: &Rc<Backend>, i: usize) -> Option<Html> {
    let state = *s.states.as_bytes().get(i)?;
    let name = names.get(i)?.clone();
    let power = {
        let (backend, name) = (backend.clone(), name.clone());
        let on = state == b'N';
        Callback::from(move |_| {
            backend.send(&Op::Power {
                node: name.clone(),
                on,
            })
        })
    };
    let partition = |cut: bool| {
        let (backend, name) = (backend.clone(), name.clone());
        Callback::from(move |_| {
            backend.send(&Op::Partition {
                node: name.clone(),
                cut,
            })
        })
    };
    Some(html! {
        <div class="node-detail" aria-live="polite">
            <strong>{&name}</strong>
            <span>{state_word(state)}</span>
            <span>{format!("cpu requested {}%", s.cpu.get(i).copied().unwrap_or(0))}</span>
            <span>{format!("{} pod(s)", s.pods.get(i).copied().unwrap_or(0))}</span>
            <button class="power" id="large-power" onclick={power}>
                { if state == b'N' { "Power on" } else { "Power off" } }
            </button>
            <button onclick={partition(true)} title="Cut its network to the API server">{"Partition"}</button>
            <button onclick={partition(false)} title="Heal its network">{"Heal"}</button>
        </div>
    })
}

/// Sends the kubectl line typed (on Enter) and clears the input.
fn kubectl_command(backend: &Rc<Backend>) -> Callback<KeyboardEvent> {
    let backend = backend.clone();
    Callback::from(move |e: KeyboardEvent| {
        if e.key() != "Enter" {
            return;
        }
        let input: HtmlInputElement = e.target_unchecked_into();
        let line = input.value();
        let line = line.trim().trim_start_matches("kubectl ").to_string();
        if !line.is_empty() {
            backend.send(&Op::Kubectl { line });
        }
        input.set_value("");
    })
}

/// The console: an example manifest to apply, a kubectl input and what came back.
fn console(backend: &Rc<Backend>, example: &UseStateHandle<String>, log: &[String]) -> Html {
    let on_example = {
        let example = example.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            example.set(select.value());
        })
    };
    let apply = {
        let (backend, example) = (backend.clone(), example.clone());
        Callback::from(move |_| {
            if let Some(yaml) = super::gallery::example(&example) {
                backend.send(&Op::Apply { yaml: yaml.into() });
            }
        })
    };
    html! {
        <div class="large-console">
            <label>{"Example "}
                <select onchange={on_example} aria-label="Example manifest">
                    { for EXAMPLES.iter().map(|(id, title, _)| html! {
                        <option value={*id} selected={*id == example.as_str()}>{*title}</option>
                    }) }
                </select>
            </label>
            <button id="large-apply" onclick={apply}>{"Apply"}</button>
            <input id="large-kubectl" type="text" placeholder="kubectl get deployments" onkeydown={kubectl_command(backend)}
                aria-label="kubectl command" spellcheck="false" autocomplete="off" />
            <pre id="large-output" aria-live="polite" hidden={log.is_empty()}>{ for log.iter().map(|l| html! { <>{l}{"\n"}</> }) }</pre>
        </div>
    }
}

#[function_component(LargeCluster)]
pub fn large_cluster(props: &Props) -> Html {
    let summary = use_state(Summary::default);
    let names = use_mut_ref(Vec::<String>::new);
    let log = use_state(Vec::<String>::new);
    let selected = use_state(|| None::<usize>);
    let playing = use_state(|| true);
    let speed_tenths = use_state(|| 10u32);
    let canvas = use_node_ref();
    let share_link = use_state(|| None::<String>);
    let on_reply = reply_handler(
        summary.clone(),
        names.clone(),
        log.clone(),
        share_link.clone(),
    );
    let backend = use_memo(
        cluster_key(props),
        move |(nodes, seed, in_page, scenario)| {
            let b = Backend::start(*in_page, on_reply);
            b.send(&match scenario {
                Some(yaml) => Op::Open {
                    scenario: yaml.clone(),
                },
                None => Op::Start {
                    nodes: *nodes,
                    seed: *seed,
                },
            });
            b
        },
    );
    use_engine_clock(backend.clone(), *playing, *speed_tenths, cluster_key(props));
    use_map_drawing(canvas.clone(), (*summary).clone(), *selected);
    let on_click = map_click(&canvas, &selected, &summary);
    // Arrow keys move the selection over the map (keyboard users reach every node).
    let on_key = map_keys(&canvas, &selected, &summary);
    let example = use_state(|| EXAMPLES[0].0.to_string());
    let s = &*summary;
    let detail = selected.and_then(|i| node_detail(s, &names.borrow(), &backend, i));
    html! {
        <section class="large" aria-label="Large cluster">
            { clock_bar(&backend, &playing, &speed_tenths, s) }
            <div class="notices">
                if let Some(link) = &*share_link {
                    <div class="share" role="region" aria-label="Share this run">
                        <label>{"Link that replays this run "}
                            <input id="large-share-link" readonly=true value={link.clone()} />
                        </label>
                    </div>
                }
            </div>
            { totals(s) }
            <canvas ref={canvas} id="large-map" width="960" height="480" onclick={on_click} onkeydown={on_key} tabindex="0"
                role="img" aria-label={format!("Map of {} nodes: green Ready, red NotReady, grey-blue cordoned; the bright fill is CPU requested. Click a node, or use the arrow keys, for its details.", s.states.len())}></canvas>
            { legend() }
            // Always there (empty until a node is picked), so opening it does not make Yew
            // rebuild its siblings — the canvas would lose keyboard focus.
            <div class="node-detail-slot">{ for detail }</div>
            { console(&backend, &example, &log) }
        </section>
    }
}
