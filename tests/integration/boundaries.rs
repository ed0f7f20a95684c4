//! Architecture invariants, checked: core knows no async runtime, browser, network, thread or
//! wall clock (ARCHITECTURE.md, invariant 1).

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
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("core/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("core/src").flatten() {
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
