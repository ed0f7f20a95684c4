//! kubeplay's control plane.
//!
//! Components, named as Kubernetes names them:
//! - [`store`]: the etcd of the playground — MVCC key-value store with watches.
//! - [`apiserver`]: the request pipeline (authentication, authorization, admission,
//!   validation) in front of the store, and the only component that touches it.
//! - [`sim`]: the virtual clock and the seeded RNG.
//!
//! Architecture invariant: this crate knows no async runtime, browser, network, thread or wall
//! clock. Progress happens only when its owner calls into it.

pub mod api;
pub mod apiserver;
pub mod client;
pub mod controllers;
pub mod sim;
pub mod store;
