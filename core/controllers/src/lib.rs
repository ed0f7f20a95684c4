//! The controllers of kube-controller-manager, one folder each, as Kubernetes names them.
//!
//! Every controller is a [`Component`](client::Component): it keeps informers fed by
//! watches, queues the keys of objects that changed, and reconciles each key in a sync that
//! reads its caches and writes through the API client. A sync that fails is retried later;
//! nothing blocks.

pub mod daemonset;
pub mod deployment;
pub mod expectations;
pub mod garbagecollector;
pub mod namespace;
pub mod nodelifecycle;
pub mod owning;
pub mod persistentvolume;
pub mod queue;
pub mod replicaset;
pub mod statefulset;

use client::Client;
use client::Component;

/// The controllers kube-controller-manager runs, in the order they start.
pub fn kube_controller_manager() -> Vec<Box<dyn Component>> {
    vec![
        Box::new(deployment::DeploymentController::default()),
        Box::new(replicaset::ReplicaSetController::default()),
        Box::new(daemonset::DaemonSetController::default()),
        Box::new(statefulset::StatefulSetController::default()),
        Box::new(garbagecollector::GarbageCollector::default()),
        Box::new(namespace::NamespaceController::default()),
        Box::new(nodelifecycle::NodeLifecycleController::default()),
        Box::new(persistentvolume::PersistentVolumeController::default()),
    ]
}

/// The identity every controller of kube-controller-manager uses.
pub fn controller_manager_client() -> Client {
    Client::new("system:kube-controller-manager", &[])
}
