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
