//! Helpers shared by the integration tests in `tests/`: a headless control plane behind the
//! kube-API door, and a runner for kubectl scripts.
//!
//! A kubectl script is YAML, a list of steps. Each step runs a shell line with `kubectl` on
//! the PATH (the version under test) and `KUBECONFIG` pointing at the door, then compares what
//! kubectl printed with what the step expects:
//!
//! ```yaml
//! - sh: kubectl create namespace team-a
//!   out: namespace/team-a created
//! - sh: kubectl --context kubeplay-viewer delete namespace team-a
//!   code: 1
//!   err: 'Error from server (Forbidden): namespaces "team-a" is forbidden: ...'
//! ```
//!
//! `out` and `err` are compared whole, after ages (`5s`, `2m3s`) become `<age>` and trailing
//! blanks go; `out_has`/`err_has` list fragments that must appear. Set `KUBECTL_ALL_STEPS=1`
//! to run past the first failing step and print every one's output. (`UPDATE_EXPECT=1`
//! means one thing everywhere: rewrite a snapshot or generated file from what ran.)

pub mod real_node;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;

/// A running door and the kubeconfig that reaches it. The server thread lives as long as the
/// test process.
pub struct Door {
    pub url: String,
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Polls `f` every 200 ms until it gives a value; panics with `what` after `secs` seconds.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `GET /` of a pod's web server, from this host (the node) to the pod's IP.
pub fn http_get(ip: &str, port: u16) -> std::io::Result<String> {
    let addr = format!("{ip}:{port}").parse().expect("a socket address");
    let mut s = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
    std::io::Write::write_all(&mut s, b"GET / HTTP/1.0\r\n\r\n")?;
    let mut body = String::new();
    std::io::Read::read_to_string(&mut s, &mut body)?;
    Ok(body)
}

/// A current-thread Tokio runtime, as the door and the tests' clients run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Tests that load both of the machine's cores for a while (the 5,000-node page, the real
/// node's containerd) take turns, so that one's time limits do not measure the other.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh directory under the system temp dir, unique to this process and call.
pub fn temp_dir(label: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir =
        std::env::temp_dir().join(format!("kubeplay-test-{}-{label}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

impl Door {
    /// Starts a fresh control plane with `seed` and `nodes` simulated nodes behind a door on a
    /// free loopback port.
    pub fn start(seed: u64, nodes: u32, speed: u32) -> Door {
        Door::start_with(
            kubeplay_core::apiserver::Config {
                seed,
                ..Default::default()
            },
            nodes,
            speed,
        )
    }

    /// Starts a door in front of a control plane made from `config`.
    pub fn start_with(config: kubeplay_core::apiserver::Config, nodes: u32, speed: u32) -> Door {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = runtime();
            rt.block_on(async move {
                let door =
                    kubeplay_bridge::HeadlessDoor::bind_with("127.0.0.1:0", config, nodes, speed)
                        .await
                        .expect("binding the door");
                tx.send((door.url.clone(), door.kubeconfig.clone()))
                    .expect("reporting the door");
                door.serve(std::future::pending()).await.expect("serving");
            });
        });
        let (url, kubeconfig_text) = rx.recv().expect("door started");
        let dir = temp_dir("door");
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text).expect("writing kubeconfig");
        Door {
            url,
            dir,
            kubeconfig,
        }
    }

    /// A shell command with `kubectl` (of `version`, or the default) on the PATH.
    pub fn shell(&self, kubectl: &Path, line: &str) -> Command {
        let bin = self.dir.join(format!(
            "bin-{}",
            kubectl
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("kubectl")
        ));
        if !bin.exists() {
            std::fs::create_dir_all(&bin).expect("bin dir");
            std::os::unix::fs::symlink(kubectl, bin.join("kubectl")).expect("linking kubectl");
        }
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(line)
            .env("PATH", path)
            .env("KUBECONFIG", &self.kubeconfig)
            // A private discovery cache per door: never another run's answers.
            .env("KUBECACHEDIR", self.dir.join("cache"))
            .env("HOME", &self.dir)
            .current_dir(&self.dir);
        cmd
    }
}

/// The kubectl binaries of this machine: the default one, then the other minors found beside
/// it (`kubectl.1.27` … `kubectl.1.33`).
pub fn kubectl_versions() -> Vec<PathBuf> {
    let default = PathBuf::from("/usr/bin/kubectl");
    let mut out = vec![default.clone()];
    if let Some(dir) = std::fs::canonicalize(&default)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        let mut others: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("kubectl.1."))
            })
            .collect();
        others.sort();
        out.extend(others);
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub sh: String,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub code: i32,
    #[serde(default)]
    pub out: Option<String>,
    #[serde(default)]
    pub err: Option<String>,
    #[serde(default)]
    pub out_has: Vec<String>,
    #[serde(default)]
    pub err_has: Vec<String>,
}

/// The `*.yaml` files of `tests/<dir>`, in name order (scenarios, kubectl scripts).
pub fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Replaces ages (`0s`, `12m`, `2m3s`, `3h4m`, `5d`) by `<age>`, makes the column gap after
/// one three spaces, and trims line ends.
pub fn normalize(text: &str) -> String {
    let is_age = |w: &str| {
        let mut rest = w;
        let mut parts = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return false;
            }
            let unit = rest[digits..].chars().next();
            if !matches!(unit, Some('s' | 'm' | 'h' | 'd' | 'y')) {
                return false;
            }
            rest = &rest[digits + 1..];
            parts += 1;
        }
        parts > 0 && parts <= 2
    };
    text.lines()
        .map(|line| {
            let mut out = String::new();
            let mut word = String::new();
            let flush = |word: &mut String, out: &mut String| {
                if is_age(word) {
                    out.push_str("<age>");
                } else {
                    out.push_str(word);
                }
                word.clear();
            };
            for c in line.chars() {
                if c == ' ' || c == '\t' {
                    flush(&mut word, &mut out);
                    out.push(c);
                } else {
                    word.push(c);
                }
            }
            flush(&mut word, &mut out);
            // An age column's padding depends on the age's width ("9s" vs "10s"): the gap
            // after an age in a table (two spaces or more) counts as one column gap.
            let mut line = out.trim_end().to_string();
            while let Some(i) = line.find("<age>    ") {
                let rest = line[i + 5..].trim_start().to_string();
                line = format!("{}<age>   {rest}", &line[..i]);
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// A setting from a script's leading comment lines (`# nodes: 3`, `# speed: 20`).
pub fn script_setting(script: &str, name: &str) -> Option<u32> {
    script
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix('#')?
                .trim()
                .strip_prefix(name)?
                .strip_prefix(':')?
                .trim()
                .parse()
                .ok()
        })
}

/// Runs every step of a kubectl script against `door`; returns the failures, described.
pub fn run_script(door: &Door, kubectl: &Path, script: &str) -> Vec<String> {
    let steps: Vec<Step> = serde_yaml::from_str(script).expect("parsing the kubectl script");
    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let mut cmd = door.shell(kubectl, &step.sh);
        cmd.stdin(if step.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("running bash");
        if let (Some(input), Some(mut pipe)) = (&step.stdin, child.stdin.take()) {
            std::io::Write::write_all(&mut pipe, input.as_bytes()).expect("writing stdin");
        }
        let output = child.wait_with_output().expect("waiting for kubectl");
        let out = normalize(&String::from_utf8_lossy(&output.stdout));
        let err = normalize(&String::from_utf8_lossy(&output.stderr));
        let code = output.status.code().unwrap_or(-1);
        let mut problems = Vec::new();
        if code != step.code {
            problems.push(format!("exit code {code}, expected {}", step.code));
        }
        if let Some(want) = &step.out {
            if out != normalize(want) {
                problems.push(format!(
                    "stdout differs:\n--- expected\n{}\n--- actual\n{out}",
                    normalize(want)
                ));
            }
        }
        if let Some(want) = &step.err {
            if err != normalize(want) {
                problems.push(format!(
                    "stderr differs:\n--- expected\n{}\n--- actual\n{err}",
                    normalize(want)
                ));
            }
        }
        for frag in &step.out_has {
            if !out.contains(frag.as_str()) {
                problems.push(format!("stdout lacks {frag:?}:\n{out}"));
            }
        }
        for frag in &step.err_has {
            if !err.contains(frag.as_str()) {
                problems.push(format!("stderr lacks {frag:?}:\n{err}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "step {} `{}` with {}:\n{}\n(stderr: {err})",
                i + 1,
                step.sh,
                kubectl.display(),
                problems.join("\n")
            ));
            // Later steps build on earlier ones: stop at the first, unless asked for all.
            if std::env::var("KUBECTL_ALL_STEPS").as_deref() != Ok("1") {
                break;
            }
        }
    }
    failures
}

/// Serves the files of `dir` over HTTP on a free loopback port, for the browser tests;
/// returns the base URL. The server thread lives as long as the test process.
pub fn serve_dir(dir: &Path) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || serve_file(stream, &dir));
        }
    });
    url
}

fn serve_file(mut stream: std::net::TcpStream, dir: &Path) {
    use std::io::{BufRead, Write};
    let mut line = String::new();
    if std::io::BufReader::new(&stream)
        .read_line(&mut line)
        .is_err()
    {
        return;
    }
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/");
    let rel = if path == "/" {
        "index.html"
    } else {
        path.trim_start_matches('/')
    };
    let file = dir.join(rel);
    let (status, body) = match (rel.contains(".."), std::fs::read(&file)) {
        (false, Ok(b)) => ("200 OK", b),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let ct = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html",
        Some("js") => "application/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    };
    let head = format!("HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(&body));
}

/// Loads `url` in headless Chromium, lets the page run, and returns the DOM it built.
pub fn chromium_dump_dom(url: &str) -> String {
    let profile = temp_dir("chromium");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .stderr(Stdio::null())
        .output()
        .expect("running chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Compares a generated file in the repository with what generates it now;
/// `UPDATE_EXPECT=1` rewrites it first.
pub fn check_generated(relative: &str, fresh: &str, regenerate: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        std::fs::write(&path, fresh).unwrap_or_else(|e| panic!("writing {relative}: {e}"));
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == fresh,
        "{relative} is stale: run UPDATE_EXPECT=1 {regenerate}"
    );
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn ages_are_normalized() {
        assert_eq!(
            normalize("web   0/3   0s  \nx 2m3s 10.0.0.1 3h4m5s\n"),
            "web   0/3   <age>\nx <age> 10.0.0.1 3h4m5s"
        );
        // Wider ages pad their column less: the tables still compare equal.
        assert_eq!(
            normalize("node-2   Ready   0s    v1.32.0"),
            normalize("node-2   Ready   10s   v1.32.0")
        );
    }
}
