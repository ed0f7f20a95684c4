//! The kubectl terminal: type a command, read what kubectl would print. History with the
//! arrow keys; Tab completes resource types and object names; a heredoc
//! (`apply -f - <<EOF`) collects lines at a `>` prompt up to its delimiter.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::cluster::Cluster;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cluster: Cluster,
    pub on_change: Callback<()>,
}

/// One command and what it printed.
#[derive(Clone, PartialEq)]
struct Entry {
    command: String,
    output: String,
    failed: bool,
}

/// The commands so far, with what they printed; a log read on a real machine fills its
/// entry in when the machine answers.
#[derive(Default, PartialEq)]
struct Scrollback(Vec<Entry>);

enum Action {
    Push(Entry),
    /// The answer for entry `at`.
    Answer {
        at: usize,
        output: String,
        failed: bool,
    },
}

impl Reducible for Scrollback {
    type Action = Action;

    fn reduce(self: std::rc::Rc<Self>, action: Action) -> std::rc::Rc<Self> {
        let mut entries = self.0.clone();
        match action {
            Action::Push(e) => entries.push(e),
            Action::Answer { at, output, failed } => {
                if let Some(e) = entries.get_mut(at) {
                    e.output = output;
                    e.failed = failed;
                }
            }
        }
        Scrollback(entries).into()
    }
}

/// Asks the real machine for the log `kubectl logs` named (`path` on `node`) and answers
/// entry `at` with it.
fn read_real_log(
    cluster: &Cluster,
    entries: &UseReducerHandle<Scrollback>,
    at: usize,
    node: String,
    path: String,
) {
    let entries = entries.clone();
    cluster.read_real_log(
        path,
        Box::new(move |text| {
            let (output, failed) = match text {
                Some(text) => (text, false),
                None => (format!("Error from server: the log could not be read on node {node} (is the bridge still connected?)"), true),
            };
            entries.dispatch(Action::Answer { at, output, failed });
        }),
    );
}

/// Completes the last word of `line`: a resource type after a verb, else an object name.
pub fn complete(cluster: &Cluster, line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let words = if words.first() == Some(&"kubectl") {
        &words[1..]
    } else {
        &words[..]
    };
    let typing_new = line.ends_with(' ');
    let (done, partial) = if typing_new {
        (words, "")
    } else {
        (
            &words[..words.len().saturating_sub(1)],
            words.last().copied().unwrap_or(""),
        )
    };
    let candidates: Vec<String> = match done.len() {
        0 => [
            "apply",
            "replace",
            "create",
            "run",
            "expose",
            "get",
            "describe",
            "delete",
            "scale",
            "cordon",
            "uncordon",
            "taint",
            "drain",
            "label",
            "annotate",
            "patch",
            "logs",
            "exec",
            "top",
            "rollout",
            "set",
            "auth",
            "api-resources",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        1 if matches!(done[0], "cordon" | "uncordon" | "drain") => cluster.names("nodes"),
        1 if matches!(done[0], "logs" | "exec") => cluster.names("pods"),
        1 => kubeplay_core::apiserver::registry::RESOURCES
            .iter()
            .map(|r| r.name.to_string())
            .collect(),
        _ => cluster.names(done[1]),
    };
    let matching: Vec<&String> = candidates
        .iter()
        .filter(|c| c.starts_with(partial))
        .collect();
    if matching.len() != 1 {
        return None;
    }
    let prefix = &line[..line.len() - partial.len()];
    Some(format!("{prefix}{} ", matching[0]))
}

/// Runs the line typed: a heredoc's next line, or a command whose output joins the
/// scrollback (a real machine's log read filled in when it answers).
fn runner(
    props: &Props,
    entries: &UseReducerHandle<Scrollback>,
    line: &UseStateHandle<String>,
    history_at: &UseStateHandle<Option<usize>>,
    heredoc: &UseStateHandle<Option<(String, String)>>,
) -> impl Fn() {
    let (entries, line, history_at, cluster, on_change, heredoc) = (
        entries.clone(),
        line.clone(),
        history_at.clone(),
        props.cluster.clone(),
        props.on_change.clone(),
        heredoc.clone(),
    );
    move || {
        let typed = (*line).trim_end().to_string();
        let command = match &*heredoc {
            Some((text, delimiter)) => {
                let text = format!("{text}\n{typed}");
                line.set(String::new());
                // The same rule as the interpreter's: the line, trailing blanks aside.
                if typed != *delimiter {
                    heredoc.set(Some((text, delimiter.clone())));
                    return;
                }
                heredoc.set(None);
                text
            }
            None => typed.trim().to_string(),
        };
        if command.is_empty() {
            return;
        }
        if heredoc.is_none() {
            if let Some(delimiter) = kubeplay_core::kubectl::heredoc_delimiter(&command) {
                heredoc.set(Some((command, delimiter)));
                line.set(String::new());
                return;
            }
        }
        let out = cluster.kubectl(&command);
        let mut entry = Entry {
            command,
            output: out.text(),
            failed: out.code != 0,
        };
        let at = entries.0.len();
        let real_log = cluster.take_real_log_read();
        if let Some((node, _)) = &real_log {
            entry.output = format!("(reading the log on node {node}…)");
        }
        entries.dispatch(Action::Push(entry));
        if let Some((node, path)) = real_log {
            read_real_log(&cluster, &entries, at, node, path);
        }
        line.set(String::new());
        history_at.set(None);
        on_change.emit(());
    }
}

#[function_component(Terminal)]
pub fn terminal(props: &Props) -> Html {
    let entries = use_reducer(Scrollback::default);
    let line = use_state(String::new);
    let history_at = use_state(|| None::<usize>);
    // An open heredoc: the text so far and the line that ends it.
    let heredoc = use_state(|| None::<(String, String)>);
    let run = runner(props, &entries, &line, &history_at, &heredoc);
    let onkeydown = {
        let (entries, line, history_at, cluster) = (
            entries.clone(),
            line.clone(),
            history_at.clone(),
            props.cluster.clone(),
        );
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Enter" => run(),
            "Tab" => {
                e.prevent_default();
                if let Some(done) = complete(&cluster, &line) {
                    line.set(done);
                }
            }
            "ArrowUp" | "ArrowDown" => {
                e.prevent_default();
                let n = entries.0.len();
                if n == 0 {
                    return;
                }
                let at = match (e.key().as_str(), *history_at) {
                    ("ArrowUp", None) => Some(n - 1),
                    ("ArrowUp", Some(i)) => Some(i.saturating_sub(1)),
                    ("ArrowDown", Some(i)) if i + 1 < n => Some(i + 1),
                    _ => None,
                };
                history_at.set(at);
                line.set(at.map(|i| entries.0[i].command.clone()).unwrap_or_default());
            }
            _ => {}
        })
    };
    let oninput = {
        let line = line.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            line.set(input.value());
        })
    };
    html! {
        <section class="terminal" aria-label="kubectl terminal">
            <h2>{"Terminal"}</h2>
            <div class="scrollback" aria-live="polite">
                { for entries.0.iter().map(|e| html! {
                    <div class="entry">
                        <div class="command">{format!("$ kubectl {}", e.command.strip_prefix("kubectl ").unwrap_or(&e.command))}</div>
                        <pre class={classes!("output", e.failed.then_some("failed"))}>{&e.output}</pre>
                    </div>
                }) }
            </div>
            if let Some((text, _)) = &*heredoc {
                <pre class="heredoc">{text}</pre>
            }
            <div class="prompt">
                <span aria-hidden="true">{ if heredoc.is_some() { "> " } else { "$ kubectl " } }</span>
                <input id="kubectl" aria-label="kubectl command" spellcheck="false" autocomplete="off"
                    placeholder="get pods -o wide" value={(*line).clone()} {oninput} {onkeydown} />
            </div>
        </section>
    }
}
