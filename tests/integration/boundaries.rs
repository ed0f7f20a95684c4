//! Architecture invariants, checked: core knows no async runtime, browser, network, thread or
//! wall clock (ARCHITECTURE.md, invariant 1), and its crates follow the layers.

use std::path::Path;
use std::process::Command;

const FORBIDDEN_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "web-sys",
    "js-sys",
    "wasm-bindgen",
    "hyper",
    "reqwest",
    "axum",
    "tonic",
    "getrandom",
];
const FORBIDDEN_CALLS: &[&str] = &[
    "Instant::now",
    "SystemTime::now",
    "thread::spawn",
    "std::thread",
];

#[test]
fn core_has_no_runtime_browser_or_network_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "kubeplay-core",
            "-e",
            "normal",
            "--target",
            "all",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"kubeplay-core") && crates.contains(&"serde"),
        "unexpected cargo tree output:\n{tree}"
    );
    let found: Vec<&&str> = FORBIDDEN_CRATES
        .iter()
        .filter(|c| crates.contains(c))
        .collect();
    assert!(found.is_empty(), "core depends on {found:?}:\n{tree}");
}

#[test]
fn core_never_reads_the_wall_clock_or_spawns() {
    let mut offenders = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("core")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("core/").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("reading source");
                for (n, line) in text.lines().enumerate() {
                    if line.trim_start().starts_with("//") {
                        continue;
                    }
                    for call in FORBIDDEN_CALLS {
                        if line.contains(call) {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "core must run on the virtual clock, single-threaded:\n{}",
        offenders.join("\n")
    );
}

/// The layers of core, bottom first. A crate may depend on crates of the layers below it;
/// Cargo refuses cycles, this test refuses the upward and sideways edges Cargo would allow.
const LAYERS: &[&[&str]] = &[
    &["kubeplay-apimachinery"],
    &["kubeplay-store"],
    &["kubeplay-apiserver"],
    &["kubeplay-client"],
    &["kubeplay-scheduler"],
    &[
        "kubeplay-controllers",
        "kubeplay-kubelet",
        "kubeplay-kubectl",
    ],
    &["kubeplay-core"],
];

#[test]
fn core_crates_depend_only_on_the_layers_below() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--offline",
            "--no-deps",
            "--format-version",
            "1",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let layer_of = |name: &str| LAYERS.iter().position(|l| l.contains(&name));
    let mut seen = Vec::new();
    let mut wrong = Vec::new();
    for package in meta["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(layer) = layer_of(name) else {
            continue;
        };
        seen.push(name.to_string());
        for dep in package["dependencies"].as_array().expect("dependencies") {
            // Dev-dependencies may reach up (a test may build a whole world); the crates may not.
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if dep_name.starts_with("kubeplay-") && layer_of(dep_name).is_none_or(|l| l >= layer) {
                wrong.push(format!("{name} -> {dep_name}"));
            }
        }
    }
    let expected: usize = LAYERS.iter().map(|l| l.len()).sum();
    assert_eq!(seen.len(), expected, "core crates found: {seen:?}");
    assert!(wrong.is_empty(), "edges against the layers: {wrong:?}");
}

/// A module of one crate, as the file that holds it: its path from the crate root.
struct Module {
    path: Vec<String>,
    text: String,
}

/// Every module of the crate rooted at `src`, test modules left out.
fn modules(src: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder").flatten() {
            let file = entry.path();
            if file.is_dir() {
                if !file.ends_with("tests") {
                    stack.push(file);
                }
                continue;
            }
            let Some(rel) = file.strip_prefix(src).ok().and_then(|r| r.to_str()) else {
                continue;
            };
            let Some(rel) = rel.strip_suffix(".rs") else {
                continue;
            };
            let mut path: Vec<String> = rel.split('/').map(str::to_string).collect();
            if path.last().is_some_and(|l| l.ends_with("tests")) {
                continue;
            }
            if path
                .last()
                .is_some_and(|l| matches!(l.as_str(), "mod" | "lib" | "main"))
            {
                path.pop();
            }
            let text = std::fs::read_to_string(&file).expect("reading source");
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.push(Module { path, text });
        }
    }
    out
}

/// The module paths a module names with `crate::…` and `super::…`, outside comments.
fn named_paths(m: &Module) -> Vec<Vec<String>> {
    let parent = m.path[..m.path.len().saturating_sub(1)].to_vec();
    let mut out = Vec::new();
    for line in m.text.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent.clone())] {
            let mut rest = line;
            while let Some(i) = rest.find(prefix) {
                // A word before it (`$crate`, `my_super`) makes it something else.
                let before = rest[..i].chars().last();
                rest = &rest[i + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                let mut path = base.clone();
                for part in rest.split("::") {
                    let word: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if word.is_empty() {
                        break;
                    }
                    let whole = word.len() == part.len();
                    path.push(word);
                    if !whole {
                        break;
                    }
                }
                out.push(path);
            }
        }
    }
    out
}

/// No module imports one that imports it back, directly or round a loop: within a crate too,
/// imports run one way. (Imports of a module's own ancestors — the items its parent defines
/// — are the parent's business and not counted.)
#[test]
fn no_import_cycles_between_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut crates: Vec<std::path::PathBuf> = ["core/src", "web/src", "bridge/src"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    for entry in std::fs::read_dir(root.join("core"))
        .expect("core/")
        .flatten()
    {
        if entry.path().join("src/lib.rs").exists() {
            crates.push(entry.path().join("src"));
        }
    }
    let mut cycles = Vec::new();
    for src in crates {
        let mods = modules(&src);
        let known: Vec<&Vec<String>> = mods.iter().map(|m| &m.path).collect();
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (i, m) in mods.iter().enumerate() {
            for named in named_paths(m) {
                // The longest prefix of the named path that is a module of the crate.
                let Some(j) = (1..=named.len())
                    .rev()
                    .find_map(|k| known.iter().position(|p| **p == named[..k]))
                else {
                    continue;
                };
                let target = &mods[j].path;
                if j != i && !m.path.starts_with(target) {
                    edges.push((i, j));
                }
            }
        }
        // A module on a loop reaches itself.
        for start in 0..mods.len() {
            let mut seen = vec![false; mods.len()];
            let mut stack: Vec<usize> = edges
                .iter()
                .filter(|(a, _)| *a == start)
                .map(|(_, b)| *b)
                .collect();
            while let Some(n) = stack.pop() {
                if n == start {
                    cycles.push(format!(
                        "{}: {}",
                        src.display(),
                        mods[start].path.join("::")
                    ));
                    break;
                }
                if !std::mem::replace(&mut seen[n], true) {
                    stack.extend(edges.iter().filter(|(a, _)| *a == n).map(|(_, b)| *b));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "modules on an import loop: {cycles:#?}");
}
