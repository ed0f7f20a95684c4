//! The root: owns the cluster handle and a revision counter that re-renders views after writes.

use yew::prelude::*;

use super::manifest_editor::ManifestEditor;
use super::object_table::ObjectTable;
use crate::cluster::Cluster;

#[function_component(App)]
pub fn app() -> Html {
    let cluster = use_memo((), |_| Cluster::new(1));
    let revision = use_state(|| cluster.revision());
    let on_change = {
        let (cluster, revision) = (cluster.clone(), revision.clone());
        Callback::from(move |_| revision.set(cluster.revision()))
    };
    html! {
        <div class="app">
            <header>
                <h1>{"kubeplay"}</h1>
                <p class="tagline">{"A Kubernetes control plane, compiled to WebAssembly, running in this tab."}</p>
                <span class="revision" aria-label="etcd revision">{format!("etcd revision {}", *revision)}</span>
            </header>
            <main>
                <ManifestEditor cluster={(*cluster).clone()} {on_change} />
                <ObjectTable cluster={(*cluster).clone()} revision={*revision} />
            </main>
        </div>
    }
}
