//! A whole control plane in one [`World`]: the API server, kube-controller-manager's
//! controllers and the scheduler — what the page runs in the tab and the bridge runs headless.

use crate::apiserver::Config;
use crate::scheduler::framework::Decision;
use crate::scheduler::Scheduler;
use crate::sim::{ComponentId, World};

pub struct Cluster {
    pub world: World,
    scheduler: ComponentId,
}

impl Cluster {
    pub fn new(config: Config) -> Cluster {
        let mut world = World::new(config);
        for controller in crate::controllers::kube_controller_manager() {
            world.add(controller);
        }
        let scheduler = world.add(Box::new(Scheduler::default()));
        Cluster { world, scheduler }
    }

    pub fn scheduler(&self) -> Option<&Scheduler> {
        self.world.component::<Scheduler>(self.scheduler)
    }

    /// The latest scheduling decision about `namespace/name`.
    pub fn decision_for(&self, pod: &str) -> Option<&Decision> {
        self.scheduler()?.decision_for(pod)
    }
}
