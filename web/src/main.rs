//! The page's entry point (what Trunk builds). The same module also runs in the Web Worker
//! of a large cluster, where there is no window to render into: there it waits for
//! `worker_main`.

use wasm_bindgen::prelude::wasm_bindgen;

/// The worker's entry point (see `kubeplay_web::worker`).
#[wasm_bindgen]
pub fn worker_main() {
    kubeplay_web::worker::run();
}

fn main() {
    if web_sys::window().is_some() {
        kubeplay_web::start();
    }
}
