//! The bottom layer: what every component shares about Kubernetes API values, as
//! `k8s.io/apimachinery` is upstream — object metadata and owner references ([`api`]),
//! quantities, label and field selectors, the API's errors ([`status`]), the YAML reader and
//! writer — plus the two things that make the control plane deterministic: the virtual
//! [`clock`] and the seeded [`rng`].
//!
//! Architecture invariant: no wall clock, no threads, no I/O; it depends on nothing of
//! kubeplay.

pub mod api;
pub mod clock;
pub mod collections;
pub mod rng;
pub mod selectors;
pub mod shell;
pub mod status;
pub mod yaml;
