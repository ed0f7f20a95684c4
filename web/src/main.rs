//! The page's entry point (what Trunk builds).

fn main() {
    kubeplay_web::start();
}
