//! The scheduler's decision about one pod: every node it looked at, each filter's verdict
//! (and why a node was rejected), each score plugin's normalized score and weight, the total,
//! the winner — and what preemption did.

use yew::prelude::*;

use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    pub revision: i64,
    /// `namespace/name` of the pod.
    pub pod: Option<String>,
}

#[function_component(DecisionTable)]
pub fn decision_table(props: &Props) -> Html {
    let Some(pod) = &props.pod else {
        return html! {
            <section class="decision" aria-label="Scheduler decision">
                <h2>{"Scheduler decision"}</h2>
                <p class="hint">{"Click a pod on the map to see why the scheduler put it where it is."}</p>
            </section>
        };
    };
    let Some(d) = props.cluster.decision(pod) else {
        return html! {
            <section class="decision" aria-label="Scheduler decision">
                <h2>{format!("Scheduler decision: {pod}")}</h2>
                <p class="hint">{"No decision recorded (the pod named its node, or it has not been scheduled yet)."}</p>
            </section>
        };
    };
    let filters: Vec<&str> = d
        .nodes
        .iter()
        .flat_map(|n| n.filters.iter().map(|f| f.plugin))
        .fold(Vec::new(), |mut acc, p| {
            if !acc.contains(&p) {
                acc.push(p);
            }
            acc
        });
    let scores: Vec<(&str, i64)> = d
        .nodes
        .iter()
        .find(|n| !n.scores.is_empty())
        .map(|n| n.scores.iter().map(|s| (s.plugin, s.weight)).collect())
        .unwrap_or_default();
    let chosen = d.chosen.clone().unwrap_or_default();
    html! {
        <section class="decision" aria-label="Scheduler decision">
            <h2>{format!("Scheduler decision: {pod}")}</h2>
            <p class="verdict">{
                match (&d.chosen, &d.message) {
                    (Some(node), _) => format!("Bound to {node} at {}.", d.time),
                    (None, Some(m)) => m.clone(),
                    _ => String::new(),
                }
            }</p>
            if let Some(p) = &d.preemption {
                <p class="preemption">{
                    match (&p.nominated_node, &p.message) {
                        (Some(node), _) => format!("Preemption: nominated to {node}; victims: {}", p.victims.join(", ")),
                        (None, Some(m)) => format!("Preemption: {m}"),
                        _ => String::new(),
                    }
                }</p>
            }
            <div class="table-scroll">
            <table id="decision-table">
                <thead>
                    <tr>
                        <th scope="col">{"Node"}</th>
                        { for filters.iter().map(|f| html! { <th scope="col" class="filter">{*f}</th> }) }
                        { for scores.iter().map(|(s, w)| html! { <th scope="col" class="score">{format!("{s} ×{w}")}</th> }) }
                        <th scope="col">{"Total"}</th>
                    </tr>
                </thead>
                <tbody>
                    { for d.nodes.iter().map(|n| {
                        let winner = n.node == chosen;
                        html! {
                            <tr class={classes!(winner.then_some("winner"))} data-node={n.node.clone()}>
                                <th scope="row">{&n.node}{ if winner { " ★" } else { "" } }</th>
                                { for filters.iter().map(|f| match n.filters.iter().find(|v| v.plugin == *f) {
                                    Some(v) if v.status.is_success() => html! { <td class="pass">{"✓"}</td> },
                                    Some(v) => html! { <td class="fail">{v.status.message()}</td> },
                                    None => html! { <td class="skipped">{"—"}</td> },
                                }) }
                                { for scores.iter().map(|(s, _)| match n.scores.iter().find(|x| x.plugin == *s) {
                                    Some(x) => html! { <td class="num" title={format!("raw {}", x.raw)}>{x.normalized}</td> },
                                    None => html! { <td class="skipped">{"—"}</td> },
                                }) }
                                <td class="num total">{ if n.scores.is_empty() && n.filters.iter().any(|f| !f.status.is_success()) { String::from("—") } else { n.total.to_string() } }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            </div>
        </section>
    }
}
