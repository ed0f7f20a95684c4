//! The object browser: every object the API server stores, with its resourceVersion.

use yew::prelude::*;

use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    /// The store revision this view shows; a new one re-renders it.
    pub revision: i64,
}

#[function_component(ObjectTable)]
pub fn object_table(props: &Props) -> Html {
    let rows = props.cluster.objects();
    html! {
        <section class="objects" aria-label="Objects in etcd">
            <h2>{format!("Objects ({})", rows.len())}</h2>
            <table>
                <thead><tr><th>{"Kind"}</th><th>{"Namespace"}</th><th>{"Name"}</th><th>{"Status"}</th><th>{"resourceVersion"}</th></tr></thead>
                <tbody>
                    { for rows.iter().map(|r| html! {
                        <tr data-kind={r.kind.clone()}>
                            <td>{&r.kind}</td><td>{&r.namespace}</td><td>{&r.name}</td><td class="status">{&r.status}</td><td>{&r.resource_version}</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}
