//! ImageLocality: prefers nodes that already hold the pod's images, weighted by image size and
//! by how few nodes have them (so one node is not always the favourite).

use crate::scheduler::framework::{CycleInput, NodeInfo, ScorePlugin, MAX_NODE_SCORE};

const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

pub struct ImageLocality;

/// `nginx:1.14` → `docker.io/library/nginx:1.14`, as the container runtime names it.
pub fn normalized_image(image: &str) -> String {
    let mut name = image.to_string();
    let first = name.split('/').next().unwrap_or_default();
    if !name.contains('/') {
        name = format!("docker.io/library/{name}");
    } else if !(first.contains('.') || first.contains(':') || first == "localhost") {
        name = format!("docker.io/{name}");
    }
    let last = name.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !name.contains('@') {
        name.push_str(":latest");
    }
    name
}

impl ScorePlugin for ImageLocality {
    fn name(&self) -> &'static str {
        "ImageLocality"
    }

    fn score(&self, input: &CycleInput, node: &NodeInfo) -> i64 {
        let total = input.total_nodes.max(1) as f64;
        let sum: i64 = input
            .pod
            .images
            .iter()
            .filter_map(|name| {
                let size = *node.images.get(name)?;
                let spread = *input.image_nodes.get(name).unwrap_or(&1) as f64 / total;
                Some((size as f64 * spread) as i64)
            })
            .sum();
        let max = MAX_CONTAINER_THRESHOLD * input.pod.images.len().max(1) as i64;
        let clamped = sum.clamp(MIN_THRESHOLD, max);
        MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::normalized_image;

    #[test]
    fn image_names_are_normalized() {
        assert_eq!(
            normalized_image("nginx:1.14.2"),
            "docker.io/library/nginx:1.14.2"
        );
        assert_eq!(normalized_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            normalized_image("bitnami/redis:7"),
            "docker.io/bitnami/redis:7"
        );
        assert_eq!(
            normalized_image("localhost/busybox:1"),
            "localhost/busybox:1"
        );
        assert_eq!(
            normalized_image("registry.k8s.io/pause:3.9"),
            "registry.k8s.io/pause:3.9"
        );
    }
}
