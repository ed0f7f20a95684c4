//! The flow diagram, drawn as the seeds draw the cluster: the user, the API server, etcd,
//! the controllers, the scheduler, and a kubelet per node with CRI, CNI and CSI beneath.
//! Arrows light up for what really happened in the last moments of virtual time — requests
//! into the API server (verb, resource, resourceVersion), writes to etcd, watch events out
//! to components, calls to the runtime (a real node's with the time they really took) — and
//! clicking a box lists what passed through it.

use kubeplay_core::trace::{TraceEvent, TraceKind};
use yew::prelude::*;

use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    pub revision: i64,
    pub now_seconds: i64,
}

/// How long an arrow stays lit, in virtual milliseconds.
const LIT_MS: i64 = 1_500;
/// How many recent events the diagram looks at.
const WINDOW: usize = 400;

/// A box: its id (the component names it stands for), label and place.
struct Box_ {
    id: &'static str,
    label: &'static str,
    x: i32,
    y: i32,
}

const W: i32 = 150;
const H: i32 = 44;
const API: (i32, i32) = (380, 150);

const BOXES: &[Box_] = &[
    Box_ {
        id: "kubectl",
        label: "kubectl (you)",
        x: 20,
        y: 40,
    },
    Box_ {
        id: "apiserver",
        label: "API server",
        x: API.0,
        y: API.1,
    },
    Box_ {
        id: "etcd",
        label: "etcd",
        x: 380,
        y: 250,
    },
    Box_ {
        id: "deployment-controller",
        label: "deployment controller",
        x: 200,
        y: 20,
    },
    Box_ {
        id: "replicaset-controller",
        label: "replicaset controller",
        x: 380,
        y: 20,
    },
    Box_ {
        id: "default-scheduler",
        label: "scheduler",
        x: 560,
        y: 20,
    },
    Box_ {
        id: "controllers",
        label: "other controllers",
        x: 740,
        y: 20,
    },
];

/// Which box a trace component belongs to: its own, a node's kubelet, or "other
/// controllers".
fn box_of(component: &str, nodes: &[String]) -> String {
    match component {
        "kubectl" | "deployment-controller" | "replicaset-controller" | "default-scheduler" => {
            component.to_string()
        }
        c if nodes.iter().any(|n| n == c) => c.to_string(),
        _ => "controllers".to_string(),
    }
}

/// The kubelet boxes: one per node, in name order, up to six.
fn kubelet_boxes(nodes: &[String]) -> Vec<(String, i32, i32)> {
    let mut names: Vec<String> = nodes.to_vec();
    kubeplay_core::collections::sort(&mut names);
    names.truncate(6);
    let step = 760 / names.len().max(1) as i32;
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, 20 + step * i as i32, 360))
        .collect()
}

fn center(x: i32, y: i32) -> (i32, i32) {
    (x + W / 2, y + H / 2)
}

/// One lit arrow: from, to, label, class.
struct Arrow {
    from: (i32, i32),
    to: (i32, i32),
    label: String,
    class: &'static str,
}

/// Where a box's centre is: a fixed box's, or a kubelet's.
fn place(kubelets: &[(String, i32, i32)], id: &str) -> Option<(i32, i32)> {
    BOXES
        .iter()
        .find(|b| b.id == id)
        .map(|b| center(b.x, b.y))
        .or_else(|| {
            kubelets
                .iter()
                .find(|(n, _, _)| n == id)
                .map(|(_, x, y)| center(*x, *y))
        })
}

/// The arrow an event lights (keyed by its two ends), with the write to etcd a request
/// made; `None` for a watch request.
fn arrow_of(
    kind: &TraceKind,
    who: &str,
    at: (i32, i32),
    (api, etcd): ((i32, i32), (i32, i32)),
    real: &[String],
) -> Option<(String, Arrow, Option<Arrow>)> {
    Some(match kind {
        TraceKind::Request {
            verb,
            resource,
            revision,
            code,
            ..
        } => {
            if verb == "watch" {
                return None;
            }
            let write = revision.map(|rv| Arrow {
                from: api,
                to: etcd,
                label: format!("txn rv={rv}"),
                class: "write",
            });
            let rv = revision.map(|r| format!(" rv={r}")).unwrap_or_default();
            (
                format!("{who}>api"),
                Arrow {
                    from: at,
                    to: api,
                    label: format!("{verb} {resource}{rv} {code}"),
                    class: "request",
                },
                write,
            )
        }
        TraceKind::Delivery {
            event,
            kind,
            revision,
            ..
        } => (
            format!("api>{who}"),
            Arrow {
                from: api,
                to: at,
                label: format!("{event} {kind} rv={revision}"),
                class: "watch",
            },
            None,
        ),
        // A real node's calls carry the time they really took on the machine.
        TraceKind::Cri {
            method, took_ms, ..
        } => (
            format!("{who}>runtime"),
            Arrow {
                from: (at.0, at.1 - 10),
                to: (at.0, at.1 + 64),
                label: if real.iter().any(|r| r == who) {
                    format!("{method} {took_ms} ms")
                } else {
                    method.clone()
                },
                class: "cri",
            },
            None,
        ),
    })
}

/// The arrows lit in the last moments (the latest event per arrow), and the boxes they
/// leave or reach.
fn lit_arrows(
    events: &[TraceEvent],
    now: i64,
    nodes: &[String],
    real: &[String],
    kubelets: &[(String, i32, i32)],
) -> (Vec<(String, Arrow)>, Vec<String>) {
    let api = center(API.0, API.1);
    let etcd = place(kubelets, "etcd").unwrap_or(api);
    let mut arrows: Vec<(String, Arrow)> = Vec::new();
    let mut lit_boxes: Vec<String> = Vec::new();
    for e in events.iter().rev() {
        if now - e.time.millis() > LIT_MS {
            break;
        }
        let who = box_of(&e.component, nodes);
        let Some(at) = place(kubelets, &who) else {
            continue;
        };
        let Some((key, arrow, write)) = arrow_of(&e.kind, &who, at, (api, etcd), real) else {
            continue;
        };
        if let Some(write) = write {
            if !arrows.iter().any(|(k, _)| k == "api>etcd") {
                arrows.push(("api>etcd".into(), write));
            }
        }
        if !lit_boxes.contains(&who) {
            lit_boxes.push(who.clone());
        }
        if !arrows.iter().any(|(k, _)| *k == key) {
            arrows.push((key, arrow));
        }
    }
    (arrows, lit_boxes)
}

/// The last events that passed through box `id`, most recent first.
fn passed_through<'a>(events: &'a [TraceEvent], id: &str, nodes: &[String]) -> Vec<&'a TraceEvent> {
    match id {
        "apiserver" => events
            .iter()
            .rev()
            .filter(|e| matches!(e.kind, TraceKind::Request { .. }))
            .take(15)
            .collect(),
        "etcd" => events
            .iter()
            .rev()
            .filter(|e| {
                matches!(
                    e.kind,
                    TraceKind::Request {
                        revision: Some(_),
                        ..
                    }
                )
            })
            .take(15)
            .collect(),
        id => events
            .iter()
            .rev()
            .filter(|e| box_of(&e.component, nodes) == id)
            .take(15)
            .collect(),
    }
}

/// A box, as a button that selects it (lit when something passed through it just now).
fn render_box(
    selected: &UseStateHandle<Option<String>>,
    lit: bool,
    id: &str,
    label: &str,
    x: i32,
    y: i32,
) -> Html {
    let select = {
        let (selected, id) = (selected.clone(), id.to_string());
        Callback::from(move |_| selected.set(Some(id.clone())))
    };
    // Boxes are buttons for the keyboard too: Enter or Space opens one.
    let select_key = {
        let (selected, id) = (selected.clone(), id.to_string());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                selected.set(Some(id.clone()));
            }
        })
    };
    html! {
        <g class={classes!("box", lit.then_some("lit"), (selected.as_deref() == Some(id)).then_some("selected"))}
            data-box={id.to_string()} onclick={select} onkeydown={select_key} role="button" tabindex="0"
            aria-label={format!("{label}: show what passed through")}>
            <rect x={x.to_string()} y={y.to_string()} width={W.to_string()} height={H.to_string()} rx="8" />
            <text x={(x + W / 2).to_string()} y={(y + H / 2 + 5).to_string()} text-anchor="middle">{label.to_string()}</text>
        </g>
    }
}

/// A lit arrow from box edge to box edge, its label on a dark plate.
fn draw_arrow(key: &str, a: &Arrow) -> Html {
    // Requests and watch events between the same two boxes run side by side,
    // and each label sits near the component's end, on a dark plate.
    let (dx, dy) = ((a.to.0 - a.from.0) as f64, (a.to.1 - a.from.1) as f64);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    // From box edge to box edge, not centre to centre.
    let exit = (f64::from(W) / 2.0 / dx.abs().max(1e-9))
        .min(f64::from(H) / 2.0 / dy.abs().max(1e-9))
        .min(0.45);
    let (ex, ey) = (dx * exit, dy * exit);
    let (nx, ny) = (-dy / len, dx / len);
    let side = match a.class {
        "watch" => -5.0,
        "request" => 5.0,
        _ => 0.0,
    };
    let (x1, y1) = (
        a.from.0 as f64 + ex + nx * side,
        a.from.1 as f64 + ey + ny * side,
    );
    let (x2, y2) = (
        a.to.0 as f64 - ex + nx * side,
        a.to.1 as f64 - ey + ny * side,
    );
    let t = match a.class {
        "watch" => 0.72,
        "request" => 0.28,
        _ => 0.5,
    };
    let (lx, ly) = (
        x1 + (x2 - x1) * t + nx * side * 2.6,
        y1 + (y2 - y1) * t + ny * side * 2.6,
    );
    let width = a.label.chars().count() as f64 * 6.6 + 8.0;
    // Whole pixels, without float formatting in the page.
    let px = |v: f64| (v.round() as i64).to_string();
    html! {
        <g class={classes!("arrow", a.class)} data-arrow={key.to_string()}>
            <line x1={px(x1)} y1={px(y1)} x2={px(x2)} y2={px(y2)} marker-end="url(#head)" />
            <rect class="plate" x={px(lx - width / 2.0)} y={px(ly - 11.0)} width={px(width)} height="15" rx="3" />
            <text x={px(lx)} y={px(ly)} text-anchor="middle">{a.label.clone()}</text>
        </g>
    }
}

#[function_component(FlowDiagram)]
pub fn flow_diagram(props: &Props) -> Html {
    let selected = use_state(|| None::<String>);
    let events = props.cluster.recent_events(WINDOW);
    let now = props.cluster.now();
    let views = props.cluster.nodes();
    let nodes: Vec<String> = views.iter().map(|n| n.name.clone()).collect();
    let real: Vec<String> = views
        .into_iter()
        .filter(|n| n.real)
        .map(|n| n.name)
        .collect();
    let kubelets = kubelet_boxes(&nodes);
    let (arrows, lit_boxes) = lit_arrows(&events, now.millis(), &nodes, &real, &kubelets);
    let draw_box = |id: &str, label: &str, x: i32, y: i32| {
        let lit = lit_boxes.iter().any(|b| b == id) || (id == "apiserver" && !arrows.is_empty());
        render_box(&selected, lit, id, label, x, y)
    };
    let detail = selected
        .as_deref()
        .map(|id| passed_through(&events, id, &nodes))
        .unwrap_or_default();
    html! {
        <section class="flow" aria-label="Control-plane flow">
            <h2>{"What the control plane is doing"}</h2>
            <svg viewBox="0 0 920 470" role="img" aria-label="Flow diagram: components and the requests between them">
                <defs>
                    <marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                </defs>
                { for BOXES.iter().map(|b| draw_box(b.id, b.label, b.x, b.y)) }
                { for kubelets.iter().map(|(n, x, y)| {
                    let runtime = if real.contains(n) { "containerd · CNI · CSI (real)" } else { "CRI · CNI · CSI" };
                    html! {
                        <>
                            { draw_box(n, &format!("kubelet {n}"), *x, *y) }
                            <text class={classes!("runtime", real.contains(n).then_some("real"))} x={(x + W / 2).to_string()} y={(y + H + 58).to_string()} text-anchor="middle">{runtime}</text>
                        </>
                    }
                }) }
                { for arrows.iter().map(|(key, a)| draw_arrow(key, a)) }
            </svg>
            if let Some(id) = selected.as_deref() {
                <div class="passed">
                    <h3>{format!("Through {id}, most recent first")}</h3>
                    <ol>{ for detail.iter().map(|e| html! { <li>{describe(e)}</li> }) }</ol>
                </div>
            }
        </section>
    }
}

/// One event in words, as the box's list shows it: its virtual time, then the trace's line.
pub fn describe(e: &TraceEvent) -> String {
    let t = e.time.rfc3339();
    let t = t.get(11..19).unwrap_or(&t).to_string();
    format!("{t} {}", kubeplay_core::trace::line(e))
}
