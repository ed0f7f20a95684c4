//! ImageLocality: prefers nodes that already hold the pod's images, weighted by image size and
//! by how few nodes have them (so one node is not always the favourite).

use crate::framework::{CycleState, NodeInfo, PodInfo, Status, MAX_NODE_SCORE};
use crate::plugins::Plugin;
use crate::snapshot::Snapshot;

const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

pub struct ImageLocality;

/// Each of the pod's images with the share of nodes that hold it (`scaledImageScore`).
#[derive(Clone)]
struct Spread(Vec<(String, f64)>);

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        "ImageLocality"
    }

    fn pre_score(
        &self,
        snap: &Snapshot,
        pod: &PodInfo,
        _: &[&NodeInfo],
        state: &mut CycleState,
    ) -> Status {
        let total = snap.nodes.len().max(1) as f64;
        let spread = pod
            .images
            .iter()
            .map(|name| {
                let holders = snap.image_nodes.get(name).copied().unwrap_or(1);
                (name.clone(), holders as f64 / total)
            })
            .collect();
        state.write(self.name(), Spread(spread));
        Status::success()
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(Spread(images)) = state.read::<Spread>(self.name()) else {
            return 0;
        };
        let sum: i64 = images
            .iter()
            .filter_map(|(name, spread)| Some((*node.images.get(name)? as f64 * spread) as i64))
            .sum();
        let max = MAX_CONTAINER_THRESHOLD * pod.images.len().max(1) as i64;
        let clamped = sum.clamp(MIN_THRESHOLD, max);
        MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plugins::testing::{node_with, pod, scores_in, snapshot_with};

    /// A 500 MB image on one node of two scores that node; one below the 23 MB threshold
    /// scores nothing anywhere.
    #[test]
    fn big_images_already_present_attract_the_pod() {
        let mut with = node_with("with", &[], &[]);
        with.images
            .insert("docker.io/library/big:1".into(), 500 * MB);
        with.images
            .insert("docker.io/library/small:1".into(), 5 * MB);
        let without = node_with("without", &[], &[]);
        let mut snap = snapshot_with(&[with, without]);
        snap.image_nodes.insert("docker.io/library/big:1".into(), 1);
        snap.image_nodes
            .insert("docker.io/library/small:1".into(), 1);
        let big = pod(
            "p",
            json!({}),
            json!({"containers": [{"name": "c", "image": "big:1"}]}),
        );
        let (raw, _) = scores_in(&snap, &ImageLocality, &big);
        // 500 MB × (1 of 2 nodes) = 250 MB, scaled between 23 MB and 1000 MB.
        assert_eq!(
            raw,
            [
                (250 * MB - MIN_THRESHOLD) * 100 / (MAX_CONTAINER_THRESHOLD - MIN_THRESHOLD),
                0
            ]
        );
        let small = pod(
            "p",
            json!({}),
            json!({"containers": [{"name": "c", "image": "small:1"}]}),
        );
        assert_eq!(scores_in(&snap, &ImageLocality, &small).0, [0, 0]);
    }
}
