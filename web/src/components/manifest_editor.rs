//! The manifest editor: a gallery of examples, a YAML text area and an Apply button; shows
//! what the API server said, line by line, as `kubectl apply` does.

use web_sys::{HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::gallery::{example, EXAMPLES};
use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    pub on_change: Callback<()>,
}

#[function_component(ManifestEditor)]
pub fn manifest_editor(props: &Props) -> Html {
    let text = use_state(|| EXAMPLES[0].2.to_string());
    let results = use_state(Vec::<Result<String, String>>::new);
    let picked = use_state(|| EXAMPLES[0].0);
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            text.set(area.value());
        })
    };
    let onpick = {
        let (text, results, picked) = (text.clone(), results.clone(), picked.clone());
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let id = select.value();
            if let (Some(m), Some((id, _, _))) =
                (example(&id), EXAMPLES.iter().find(|(i, _, _)| *i == id))
            {
                picked.set(id);
                text.set(m.to_string());
                results.set(Vec::new());
            }
        })
    };
    let onclick = {
        let (text, results, cluster, on_change) = (
            text.clone(),
            results.clone(),
            props.cluster.clone(),
            props.on_change.clone(),
        );
        Callback::from(move |_| {
            results.set(cluster.apply_manifest(&text));
            on_change.emit(());
        })
    };
    html! {
        <section class="editor" aria-label="Manifest editor">
            <h2>{"Manifest"}</h2>
            <label class="gallery">{"Example "}
                <select id="gallery" onchange={onpick} aria-label="Example manifests">
                    { for EXAMPLES.iter().map(|(id, title, _)| html! { <option value={*id} selected={*id == *picked}>{*title}</option> }) }
                </select>
            </label>
            <textarea id="manifest" aria-label="Manifest YAML" spellcheck="false" value={(*text).clone()} {oninput} />
            <button id="apply" {onclick}>{"Apply"}</button>
            <ul class="results" aria-live="polite">
                { for results.iter().map(|r| match r {
                    Ok(line) => html! { <li class="ok">{line}</li> },
                    Err(msg) => html! { <li class="error">{msg}</li> },
                }) }
            </ul>
        </section>
    }
}
