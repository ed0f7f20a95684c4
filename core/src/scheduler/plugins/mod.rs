//! The in-tree plugins, one file each, and the default profile that wires them with
//! Kubernetes' default weights (`pkg/scheduler/framework/plugins`, `apis/config/v1/default_plugins.go`).

pub mod image_locality;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_balanced_allocation;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod taint_toleration;

use super::framework::{FilterPlugin, ScorePlugin};

/// A scheduling profile: the Filter plugins in order, and the Score plugins with weights.
pub struct Profile {
    pub scheduler_name: String,
    pub filters: Vec<Box<dyn FilterPlugin>>,
    pub scores: Vec<(Box<dyn ScorePlugin>, i64)>,
}

impl Profile {
    /// The `default-scheduler` profile (the plugins implemented so far).
    pub fn default_scheduler() -> Profile {
        Profile {
            scheduler_name: "default-scheduler".into(),
            filters: vec![
                Box::new(node_unschedulable::NodeUnschedulable),
                Box::new(node_name::NodeName),
                Box::new(taint_toleration::TaintToleration),
                Box::new(node_affinity::NodeAffinity),
                Box::new(node_ports::NodePorts),
                Box::new(node_resources_fit::NodeResourcesFit),
            ],
            scores: vec![
                (Box::new(taint_toleration::TaintToleration), 3),
                (Box::new(node_affinity::NodeAffinity), 2),
                (Box::new(node_resources_fit::NodeResourcesFit), 1),
                (
                    Box::new(node_resources_balanced_allocation::NodeResourcesBalancedAllocation),
                    1,
                ),
                (Box::new(image_locality::ImageLocality), 1),
            ],
        }
    }
}
