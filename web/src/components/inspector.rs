//! The inspectors: every API request with what each stage of the pipeline said (who
//! authenticated, which RBAC rule allowed it, what admission and validation did, where it
//! was stored), and the cluster's events as `kubectl get events` lists them.

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
}

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
                                        { for stages.iter().map(|(stage, outcome)| html! {
                                            <><dt>{stage}</dt><dd>{outcome}</dd></>
                                        }) }
                                    </dl>
                                }
                            </li>
                        }
                    }) }
                </ol>
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
            </div>
            { body }
        </section>
    }
}
