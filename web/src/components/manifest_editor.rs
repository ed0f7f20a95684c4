//! The manifest editor: a YAML text area and an Apply button; shows what the API server said.

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::cluster::Cluster;

pub const EXAMPLE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
";

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    pub on_change: Callback<()>,
}

#[function_component(ManifestEditor)]
pub fn manifest_editor(props: &Props) -> Html {
    let text = use_state(|| EXAMPLE.to_string());
    let results = use_state(Vec::<Result<String, String>>::new);
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            text.set(area.value());
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
            results.set(cluster.create_manifest(&text));
            on_change.emit(());
        })
    };
    html! {
        <section class="editor" aria-label="Manifest editor">
            <h2>{"Manifest"}</h2>
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
