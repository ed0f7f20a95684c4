//! kubeplay's control plane, put together.
//!
//! `core/` is a folder of crates, one per layer, each depending only on those below it (a
//! cycle or an upward import does not compile):
//!
//! - `kubeplay-apimachinery` ([`api`], [`yaml`], [`selectors`](apiserver::selectors),
//!   [`clock`], [`rng`]): what every component shares about API values, and determinism.
//! - `kubeplay-store` ([`store`]): the etcd of the playground — MVCC key-value store with
//!   watches.
//! - `kubeplay-apiserver` ([`apiserver`]): the request pipeline (authentication,
//!   authorization, admission, validation) in front of the store, and the only component
//!   that touches it.
//! - `kubeplay-client` ([`client`], [`trace`]): what a component has — the API client,
//!   informers, the event recorder, its [`Ctx`](client::Ctx) — and the record it adds to.
//! - `kubeplay-scheduler` ([`scheduler`]): the scheduling framework and its in-tree plugins.
//! - `kubeplay-controllers` ([`controllers`]): kube-controller-manager's controllers.
//! - `kubeplay-kubelet` ([`kubelet`], [`node_protocol`]): the sans-IO kubelet, the simulated
//!   runtime, and the protocol its calls cross to a real node.
//! - `kubeplay-kubectl` ([`kubectl`]): a kubectl interpreter over any API.
//! - this crate: the event loop that runs them ([`sim::World`]), the [`cluster`], the
//!   [`scenario`]s.
//!
//! The page and the bridge use this crate; its re-exports keep one name per layer.
//!
//! Architecture invariant: no crate of core knows an async runtime, browser, network, thread
//! or wall clock. Progress happens only when its owner calls into it.

pub use apimachinery::{api, clock, collections, rng, yaml};
pub use apiserver;
pub use client;
pub use client::trace;
pub use controllers;
pub use kubectl;
pub use kubelet;
pub use kubelet::node_protocol;
pub use scheduler;
pub use store;

pub mod cluster;
pub mod scenario;
pub mod sim;

#[cfg(test)]
mod tests;
