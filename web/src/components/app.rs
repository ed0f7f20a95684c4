//! The root: owns the cluster handle, runs its clock while playing, and re-renders the views
//! when the store moves.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use super::manifest_editor::ManifestEditor;
use super::object_table::ObjectTable;
use crate::cluster::Cluster;

/// How often the page moves the virtual clock while playing, in milliseconds (real and
/// virtual: the page runs at 1×).
const TICK_MS: u32 = 250;

#[function_component(App)]
pub fn app() -> Html {
    let cluster = use_memo((), |_| Cluster::new(1));
    let revision = use_state(|| cluster.revision());
    let seconds = use_state(|| cluster.elapsed_seconds());
    let playing = use_state(|| true);
    let refresh = {
        let (cluster, revision, seconds) = (cluster.clone(), revision.clone(), seconds.clone());
        Callback::from(move |_: ()| {
            revision.set(cluster.revision());
            seconds.set(cluster.elapsed_seconds());
        })
    };
    {
        let (cluster, refresh) = (cluster.clone(), refresh.clone());
        use_effect_with(*playing, move |playing| {
            let interval = playing.then(|| {
                Interval::new(TICK_MS, move || {
                    cluster.advance(i64::from(TICK_MS));
                    refresh.emit(());
                })
            });
            move || drop(interval)
        });
    }
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
    html! {
        <div class="app">
            <header>
                <h1>{"kubeplay"}</h1>
                <p class="tagline">{"A Kubernetes control plane, compiled to WebAssembly, running in this tab."}</p>
                <div class="clock" role="group" aria-label="Time controls">
                    <button id="play" onclick={toggle} aria-pressed={(*playing).to_string()}>{ if *playing { "Pause" } else { "Play" } }</button>
                    <button id="step" onclick={step}>{"Step 1 s"}</button>
                    <span class="time" aria-label="virtual time">{format!("t = {} s", *seconds)}</span>
                    <span class="revision" aria-label="etcd revision">{format!("etcd revision {}", *revision)}</span>
                </div>
            </header>
            <main>
                <ManifestEditor cluster={(*cluster).clone()} on_change={refresh.reform(|_| ())} />
                <ObjectTable cluster={(*cluster).clone()} revision={*revision} />
            </main>
        </div>
    }
}
