//! The built page (`trunk build` → `dist/`) in real headless Chromium: the control plane
//! boots in the tab and the page shows what its API server stores.
//!
//! Runs when `KUBEPLAY_PAGE_TESTS=1` (`./dev test` sets it after building the page); a plain
//! `cargo test` has no page to load.

use std::path::Path;

#[test]
fn the_page_boots_the_control_plane_in_chromium() {
    if std::env::var("KUBEPLAY_PAGE_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set KUBEPLAY_PAGE_TESTS=1 after `trunk build` (./dev test does)");
        return;
    }
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
    assert!(
        dist.join("index.html").exists(),
        "dist/ is missing: run `trunk build` first"
    );
    let url = kubeplay::serve_dir(&dist);
    let dom = kubeplay::chromium_dump_dom(&url);
    // The bootstrap objects (4 namespaces, 10 cluster roles, 8 bindings, the kubernetes
    // Service) and the three simulated nodes, which registered themselves.
    assert!(
        dom.contains("Objects (26)"),
        "the object table did not render:\n{dom}"
    );
    assert!(dom.contains("<td>kube-system</td>"), "{dom}");
    assert!(
        dom.contains("<td>node-3</td><td class=\"status\">Ready</td>"),
        "{dom}"
    );
    // The clock ran while Chromium let the page's timers fire.
    assert!(dom.contains("t = ") && !dom.contains("t = 0 s"), "{dom}");
    assert!(dom.contains("id=\"apply\""), "{dom}");
}
