//! A kubectl interpreter for the page's terminal: parses a command line as kubectl does and
//! prints what kubectl prints, making the same requests to the API server (tables for `get`,
//! `binding`-free writes through the same pipeline). It talks through [`Api`], so the page's
//! in-tab cluster and tests drive it alike.
//!
//! Verbs: apply (`-f -` with a heredoc, `--server-side`), replace, create, run, expose, get,
//! describe, explain, delete, scale, set image, patch, cordon, uncordon, taint, drain, label,
//! annotate, logs, exec, top, rollout status|history|undo|restart, auth can-i|whoami,
//! api-resources, api-versions, cluster-info, version. Unknown ones answer as kubectl does.
//! Each write names its field manager as kubectl does (`kubectl-create`…).

pub mod apply;
mod args;
mod create;
mod describe;
mod exec;
pub mod explain;
mod get;
mod info;
mod jsonpath;
mod patch;
mod replace;
mod rollout;
mod set;
mod taint;
mod top;
mod verbs;

use serde_json::Value;

use apiserver::registry::{Resource, RESOURCES};
use apiserver::{Impersonation, Method, Request, Response};

pub use args::split;

/// What the interpreter needs from a cluster.
pub trait Api {
    /// Sends a request as the terminal's user.
    fn send(&mut self, req: Request) -> Response;
    /// The client's clock (`rollout restart` stamps it).
    fn now(&self) -> apimachinery::clock::Time;
    /// The API documentation `explain` reads (`static/explain.json`), once the host has it.
    fn explain_docs(&self) -> Option<&Value> {
        None
    }
}

/// What a command printed, and its exit code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Output {
    fn ok(stdout: impl Into<String>) -> Output {
        Output {
            stdout: stdout.into(),
            ..Output::default()
        }
    }

    fn error(stderr: impl Into<String>) -> Output {
        Output {
            stderr: stderr.into(),
            code: 1,
            ..Output::default()
        }
    }

    /// Both streams, as a terminal shows them.
    pub fn text(&self) -> String {
        match (self.stdout.is_empty(), self.stderr.is_empty()) {
            (_, true) => self.stdout.clone(),
            (true, false) => self.stderr.clone(),
            (false, false) => format!("{}\n{}", self.stdout.trim_end(), self.stderr),
        }
    }
}

/// The delimiter of a heredoc the command line opens (`apply -f - <<EOF` → `EOF`).
pub fn heredoc_delimiter(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("<<")?;
    let word = rest.trim().trim_start_matches('-');
    let word = word.trim_matches(|c| c == '\'' || c == '"');
    (!word.is_empty() && !word.contains(char::is_whitespace)).then(|| word.to_string())
}

/// The command line and its standard input: a heredoc's lines up to its delimiter, as a
/// shell reads `kubectl apply -f - <<EOF` … `EOF`.
fn split_heredoc(text: &str) -> (&str, String) {
    let (first, body) = text.split_once('\n').unwrap_or((text, ""));
    let Some(delimiter) = heredoc_delimiter(first) else {
        return (first, String::new());
    };
    let command = first.split_once("<<").map_or(first, |(c, _)| c);
    let stdin: Vec<&str> = body
        .lines()
        .take_while(|l| l.trim_end() != delimiter)
        .collect();
    (command, stdin.join("\n") + "\n")
}

/// Runs one command (`kubectl get pods -o wide`; the leading `kubectl` is optional). A
/// command opening a heredoc takes the lines after it, up to the delimiter, as its input.
pub fn run(api: &mut dyn Api, text: &str) -> Output {
    let (line, stdin) = split_heredoc(text);
    let words = match split(line) {
        Ok(w) => w,
        Err(e) => return Output::error(format!("error: {e}")),
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let words = match words.first() {
        Some(&"kubectl") => &words[1..],
        _ => &words[..],
    };
    let parsed = match args::parse(words) {
        Ok(p) => p,
        Err(e) => return Output::error(format!("error: {e}")),
    };
    let Some(verb) = parsed.positional.first().cloned() else {
        return Output::ok(HELP);
    };
    let dry_run = match parsed.flag("dry-run") {
        None | Some("none") => false,
        Some("server") => true,
        Some(other) => {
            return Output::error(format!(
                "error: --dry-run={other} is not supported in this terminal: use --dry-run=server (the API server checks everything and stores nothing)"
            ))
        }
    };
    let impersonate = parsed.flag("as").map(|user| Impersonation {
        user: user.to_string(),
        groups: parsed
            .flag("as-group")
            .map(str::to_string)
            .into_iter()
            .collect(),
        uid: parsed.flag("as-uid").unwrap_or_default().to_string(),
        extra: Vec::new(),
    });
    // kubectl names itself as each write's field manager: `kubectl-create`, `kubectl-edit`…
    // (`kubectl apply` is the client-side applier), unless `--field-manager` says otherwise.
    let field_manager = match parsed.flag("field-manager") {
        Some(m) => m.to_string(),
        None if verb == "apply" => "kubectl-client-side-apply".into(),
        None => format!("kubectl-{verb}"),
    };
    let mut flagged = Flagged {
        api,
        dry_run,
        impersonate,
        field_manager,
    };
    let mut out = dispatch(&mut flagged, &parsed, &verb, &stdin);
    if dry_run && out.code == 0 {
        out.stdout = mark_dry_run(&out.stdout);
    }
    out
}

/// `--dry-run=server`, `--as`/`--as-group`/`--as-uid` and the field manager: every request
/// of the command carries them, as kubectl's client sets them.
struct Flagged<'a> {
    api: &'a mut dyn Api,
    dry_run: bool,
    impersonate: Option<Impersonation>,
    field_manager: String,
}

impl Api for Flagged<'_> {
    fn send(&mut self, mut req: Request) -> Response {
        let writes = matches!(req.method, Method::Post | Method::Put | Method::Patch)
            && !req.path.ends_with("/exec");
        if writes && !req.query.contains("fieldManager=") {
            let sep = if req.query.is_empty() { "" } else { "&" };
            req.query = format!("{}{sep}fieldManager={}", req.query, self.field_manager);
        }
        if self.dry_run && req.method != Method::Get {
            let sep = if req.query.is_empty() { "" } else { "&" };
            req.query = format!("{}{sep}dryRun=All", req.query);
        }
        if let Some(who) = &self.impersonate {
            req.impersonate = Some(who.clone());
        }
        self.api.send(req)
    }

    fn now(&self) -> apimachinery::clock::Time {
        self.api.now()
    }

    fn explain_docs(&self) -> Option<&Value> {
        self.api.explain_docs()
    }
}

/// kubectl's `(server dry run)` after each line that reports a change.
fn mark_dry_run(stdout: &str) -> String {
    const DONE: &[&str] = &[
        "created",
        "configured",
        "scaled",
        "labeled",
        "annotated",
        "deleted",
        "patched",
        "cordoned",
        "uncordoned",
        "drained",
        "updated",
        "restarted",
        "evicted",
    ];
    let mut out = String::new();
    for line in stdout.lines() {
        out.push_str(line);
        if line
            .split_whitespace()
            .last()
            .is_some_and(|w| DONE.contains(&w))
        {
            out.push_str(" (server dry run)");
        }
        out.push('\n');
    }
    out
}

fn dispatch(api: &mut dyn Api, parsed: &args::Parsed, verb: &str, stdin: &str) -> Output {
    let rest = &parsed.positional[1..];
    match verb {
        "apply" => apply::apply(api, parsed, stdin),
        "replace" => replace::replace(api, parsed, stdin),
        "get" => get::get(api, parsed, rest),
        "describe" => describe::describe(api, parsed, rest),
        "explain" => explain::explain(api, rest),
        "delete" => verbs::delete(api, parsed, rest),
        "scale" => verbs::scale(api, parsed, rest),
        "cordon" | "uncordon" => verbs::cordon(api, rest, verb == "cordon"),
        "drain" => verbs::drain(api, parsed, rest),
        "label" | "annotate" => verbs::label(api, parsed, rest, verb == "label"),
        "patch" => patch::patch(api, parsed, rest),
        "taint" => taint::taint(api, parsed, rest),
        "exec" => exec::exec(api, parsed),
        "logs" => verbs::logs(api, parsed, rest),
        "top" => top::top(api, parsed, rest),
        "rollout" => rollout::rollout(api, parsed, rest),
        "set" => set::set(api, parsed, rest),
        "auth" if rest.first().is_some_and(|w| w == "whoami") => info::whoami(api),
        "auth" => verbs::can_i(api, parsed, rest),
        "create" => create::create(api, parsed, rest),
        "run" => create::run(api, parsed),
        "expose" => create::expose(api, parsed, rest),
        "api-versions" => info::api_versions(api),
        "cluster-info" => info::cluster_info(),
        "api-resources" => Output::ok(verbs::api_resources()),
        "version" => Output::ok(
            "Client Version: v1.32.0 (kubeplay terminal)\nServer Version: v1.32.0\n",
        ),
        "help" => Output::ok(HELP),
        other => Output::error(format!(
            "error: unknown command \"{other}\" for \"kubectl\"\n\nDid you mean one of: apply, create, run, expose, get, describe, explain, delete, scale, set, patch, cordon, drain, logs, exec, rollout?"
        )),
    }
}

pub const HELP: &str = "kubectl controls the Kubernetes cluster running in this tab.

 Basic Commands:
  create          Create a namespace, deployment, configmap, secret generic or service clusterip
  expose          Make a deployment or pod a Service (--port)
  run             Run a particular image in a pod (--image, -- COMMAND)
  apply           Apply a configuration by file name or stdin (-f - <<EOF … EOF)
  replace         Replace objects with a manifest (-f - <<EOF … EOF)
  get             Display one or many resources
  describe        Show details of a specific resource or group of resources
  explain         Get documentation for a resource (explain pods.spec.containers)
  delete          Delete resources by names or label selectors
  scale           Set a new size for a deployment, replica set, or stateful set
  label           Update the labels on a resource
  annotate        Update the annotations on a resource
  set image       Update the image of a pod template's containers
  patch           Update fields of a resource (-p PATCH, --type strategic|merge|json)

 Cluster Management Commands:
  cordon          Mark node as unschedulable
  uncordon        Mark node as schedulable
  taint           Update the taints on a node (key=value:Effect, key:Effect-)
  drain           Drain node in preparation for maintenance
  top             Display resource (CPU/memory) usage

 Troubleshooting and Debugging Commands:
  logs            Print the logs for a container in a pod
  exec            Run a command in a container (exec POD -- COMMAND)
  auth can-i      Check whether an action is allowed
  auth whoami     Show who the cluster sees you as
  cluster-info    Display cluster information

 Deploy Commands:
  rollout         Manage the rollout of a deployment: status, history, undo, restart

 Other Commands:
  api-resources   Print the supported API resources on the server
  api-versions    Print the supported API versions on the server, as group/version
  version         Print the client and server version information
";

/// A resource as kubectl names it: plural, singular, short name or kind, optionally with a
/// group (`deployments.apps`, `deploy`, `Pod`).
pub fn resolve(name: &str) -> Option<&'static Resource> {
    let lower = name.to_ascii_lowercase();
    let (base, group) = match lower.split_once('.') {
        Some((b, g)) => (b.to_string(), Some(g.to_string())),
        None => (lower, None),
    };
    RESOURCES.iter().find(|r| {
        (r.name == base
            || r.singular == base
            || r.short_names.contains(&base.as_str())
            || r.kind.eq_ignore_ascii_case(&base))
            && group.as_deref().is_none_or(|g| r.group == g)
    })
}

/// `deployment.apps/web`, as kubectl names an object in what it prints.
pub fn object_ref(res: &Resource, name: &str) -> String {
    if res.group.is_empty() {
        format!("{}/{name}", res.singular)
    } else {
        format!("{}.{}/{name}", res.singular, res.group)
    }
}

fn server_error(resp: &Response) -> Output {
    let v = resp.value();
    let message = v["message"]
        .as_str()
        .unwrap_or("the server could not answer");
    let reason = v["reason"].as_str().unwrap_or_default();
    let text = match reason {
        "NotFound" | "AlreadyExists" | "Forbidden" | "Conflict" | "Invalid" | "BadRequest" => {
            format!("Error from server ({reason}): {message}")
        }
        _ => format!("Error from server: {message}"),
    };
    Output::error(text)
}

fn send(api: &mut dyn Api, method: Method, path: &str) -> Response {
    api.send(Request::new(method, path))
}

fn resource_not_found(name: &str) -> Output {
    Output::error(format!(
        "error: the server doesn't have a resource type \"{name}\""
    ))
}

/// Splits `type/name` or `type name...` into the resource and names.
fn targets(rest: &[String]) -> Result<(&'static Resource, Vec<&str>), Output> {
    let Some(first) = rest.first() else {
        return Err(Output::error(
            "error: you must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.",
        ));
    };
    if let Some((kind, name)) = first.split_once('/') {
        let res = resolve(kind).ok_or_else(|| resource_not_found(kind))?;
        let mut names = vec![name];
        for more in &rest[1..] {
            names.push(more.split_once('/').map_or(more.as_str(), |(_, n)| n));
        }
        return Ok((res, names));
    }
    let res = resolve(first).ok_or_else(|| resource_not_found(first))?;
    Ok((res, rest[1..].iter().map(String::as_str).collect()))
}

fn value_str(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}
