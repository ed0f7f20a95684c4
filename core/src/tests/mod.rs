//! Tests of components that need a whole world around them (the API server, other
//! components, simulated nodes): they live above every layer, where the world is.

mod deployment;
mod garbagecollector;
mod kubectl;
mod kubelet;
mod namespace;
mod nodelifecycle;
mod replicaset;
mod scheduler;
mod statefulset;
