//! Helpers over Kubernetes API values shared by every component: resource quantities and the
//! accessors of object metadata.

pub mod diff;
pub mod image;
pub mod meta;
pub mod node;
pub mod owner;
pub mod pod;
pub mod quantity;
pub mod volume;
