//! kubeplay's control plane.
//!
//! Components, named as Kubernetes names them:
//! - [`store`]: the etcd of the playground — MVCC key-value store with watches.
//! - [`apiserver`]: the request pipeline (authentication, authorization, admission,
//!   validation) in front of the store, and the only component that touches it.
//! - [`controllers`]: kube-controller-manager's controllers (deployment, replicaset,
//!   daemonset, statefulset, garbage collector, namespace, node lifecycle, volume binder).
//! - [`kubectl`]: a kubectl interpreter for the page's terminal.
//! - [`kubelet`]: the sans-IO kubelet and the simulated node it drives.
//! - [`trace`], [`scenario`]: the record of what happened, and scenarios as data.
//! - [`scheduler`]: the scheduling framework and its in-tree plugins.
//! - [`client`]: how components talk to the API server (requests, informers).
//! - [`sim`]: the virtual clock, the seeded RNG and the event loop ([`sim::World`]).
//! - [`cluster`]: all of it together.
//!
//! Architecture invariant: this crate knows no async runtime, browser, network, thread or wall
//! clock. Progress happens only when its owner calls into it.

pub mod api;
pub mod apiserver;
pub mod client;
pub mod cluster;
pub mod collections;
pub mod controllers;
pub mod kubectl;
pub mod kubelet;
pub mod node_protocol;
pub mod scenario;
pub mod scheduler;
pub mod sim;
pub mod store;
pub mod trace;
pub mod yaml;
