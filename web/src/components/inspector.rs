//! The inspectors: every API request with what each stage of the pipeline said (who
//! authenticated, which RBAC rule allowed it, what admission and validation did, where it
//! was stored), the cluster's events as `kubectl get events` lists them, and the etcd
//! browser (keys with their revisions, a key's value and its changes still in history).

use kubeplay_core::trace::{TraceEvent, TraceKind};
use yew::prelude::*;

use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    pub revision: i64,
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Requests,
    Events,
    Etcd,
}

/// How many keys the etcd browser lists.
const KEYS: usize = 300;

/// How many requests the inspector lists.
const REQUESTS: usize = 40;

fn requests(events: &[TraceEvent]) -> Vec<&TraceEvent> {
    events
        .iter()
        .rev()
        .filter(|e| {
            matches!(&e.kind, TraceKind::Request { verb, resource, .. }
                if verb != "watch" && !resource.starts_with("leases"))
        })
        .take(REQUESTS)
        .collect()
}

#[function_component(Inspector)]
pub fn inspector(props: &Props) -> Html {
    let tab = use_state(|| Tab::Requests);
    let open = use_state(|| None::<u64>);
    let key = use_state(|| None::<String>);
    let prefix = use_state(|| "/registry/".to_string());
    let events = props.cluster.recent_events(3_000);
    let switch = |t: Tab| {
        let tab = tab.clone();
        Callback::from(move |_| tab.set(t))
    };
    let body = match *tab {
        Tab::Requests => {
            let rows = requests(&events);
            html! {
                <ol class="requests">
                    { for rows.iter().map(|e| {
                        let TraceKind::Request { user, verb, resource, namespace, name, code, stages, .. } = &e.kind else {
                            return html! {};
                        };
                        let seq = e.seq;
                        let toggle = {
                            let open = open.clone();
                            Callback::from(move |_| open.set(if *open == Some(seq) { None } else { Some(seq) }))
                        };
                        let target = if namespace.is_empty() { name.clone() } else { format!("{namespace}/{name}") };
                        html! {
                            <li class={classes!((*code >= 400).then_some("refused"))}>
                                <button class="request" onclick={toggle} aria-expanded={(*open == Some(seq)).to_string()}>
                                    {format!("{} {verb} {resource} {target} → {code}", e.component)}
                                </button>
                                if *open == Some(seq) {
                                    <dl class="stages">
                                        <dt>{"user"}</dt><dd>{user}</dd>
                                        { for stages.iter().map(|stage| html! {
                                            <>
                                                <dt>{&stage.name}</dt>
                                                <dd>
                                                    {&stage.outcome}
                                                    if !stage.patch.is_empty() {
                                                        <pre class="patch" aria-label="what the plugin changed">
                                                            { for stage.patch.iter().map(|line| html! {
                                                                <span class={patch_class(line)}>{line}{"\n"}</span>
                                                            }) }
                                                        </pre>
                                                    }
                                                </dd>
                                            </>
                                        }) }
                                    </dl>
                                }
                            </li>
                        }
                    }) }
                </ol>
            }
        }
        Tab::Etcd => {
            let (keys, revision, compacted) = props.cluster.etcd_keys(&prefix, KEYS);
            let on_prefix = {
                let prefix = prefix.clone();
                Callback::from(move |e: InputEvent| {
                    let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                    prefix.set(input.value());
                })
            };
            let entry = key
                .as_deref()
                .map(|k| (k.to_string(), props.cluster.etcd_entry(k)));
            html! {
                <div class="etcd">
                    <p class="hint">{format!("revision {revision} · compacted at {compacted} · history keeps every change since")}</p>
                    <input id="etcd-prefix" aria-label="Key prefix" value={(*prefix).clone()} oninput={on_prefix} />
                    <div class="etcd-panes">
                        <ol class="keys">
                            { for keys.iter().map(|k| {
                                let pick = {
                                    let (key, name) = (key.clone(), k.key.clone());
                                    Callback::from(move |_| key.set(Some(name.clone())))
                                };
                                html! {
                                    <li><button class="key" onclick={pick}>
                                        {format!("{}  (create {}, mod {}, v{})", k.key, k.create_revision, k.mod_revision, k.version)}
                                    </button></li>
                                }
                            }) }
                        </ol>
                        if let Some((k, (value, history))) = entry {
                            <div class="entry">
                                <h3>{k}</h3>
                                <p class="history">{
                                    history.iter().map(|(rev, kind, version)| format!("{kind} @{rev} (v{version})")).collect::<Vec<_>>().join(" → ")
                                }</p>
                                <pre class="value">{ value.unwrap_or_else(|| "(deleted)".into()) }</pre>
                            </div>
                        }
                    </div>
                </div>
            }
        }
        Tab::Events => {
            let out = props.cluster.look_kubectl("get events");
            html! { <pre class="events">{ if out.is_empty() { "No events yet.".to_string() } else { out } }</pre> }
        }
    };
    html! {
        <section class="inspector" aria-label="Inspectors">
            <h2>{"Inspect"}</h2>
            <div role="tablist" class="tabs">
                <button role="tab" id="tab-requests" aria-selected={(*tab == Tab::Requests).to_string()} onclick={switch(Tab::Requests)}>{"API requests"}</button>
                <button role="tab" id="tab-events" aria-selected={(*tab == Tab::Events).to_string()} onclick={switch(Tab::Events)}>{"Events"}</button>
                <button role="tab" id="tab-etcd" aria-selected={(*tab == Tab::Etcd).to_string()} onclick={switch(Tab::Etcd)}>{"etcd"}</button>
            </div>
            { body }
        </section>
    }
}

/// The colour of a diff line: added, removed, replaced.
fn patch_class(line: &str) -> &'static str {
    match line.as_bytes().first() {
        Some(b'+') => "added",
        Some(b'-') => "removed",
        _ => "replaced",
    }
}
