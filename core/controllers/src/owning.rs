//! What a controller that owns objects of another kind watches — a Deployment its
//! ReplicaSets, a StatefulSet its Pods: both kinds cached in informers, and a work queue of
//! owner keys. A change to an owner queues it; a change to an owned object queues its
//! controller (`owner::controller_key`).

use super::queue::{WorkQueue, SYNC};
use apimachinery::api::owner;
use apiserver::watch::{WatchEvent, WatchId};
use client::Ctx;
use client::{self, Client, Informer};

pub struct OwnerWatches {
    owner_kind: &'static str,
    owner_watch: Option<WatchId>,
    owned_watch: Option<WatchId>,
    pub owners: Informer,
    pub owned: Informer,
    pub queue: WorkQueue,
}

impl OwnerWatches {
    pub fn new(owner_kind: &'static str) -> OwnerWatches {
        OwnerWatches {
            owner_kind,
            owner_watch: None,
            owned_watch: None,
            owners: Informer::default(),
            owned: Informer::default(),
            queue: WorkQueue::default(),
        }
    }

    /// Opens the watches: `(group, resource)` of the owners, then of what they own.
    pub fn start(
        &mut self,
        client: &Client,
        ctx: &mut Ctx,
        owners: (&str, &str),
        owned: (&str, &str),
    ) {
        self.owner_watch = client.open_watch(ctx, owners.0, owners.1);
        self.owned_watch = client.open_watch(ctx, owned.0, owned.1);
    }

    pub fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent) {
        if Some(watch) == self.owner_watch {
            if let Some(change) = self.owners.apply(event) {
                self.queue.add(ctx, client::key_of(change.object()), 0);
            }
        } else if Some(watch) == self.owned_watch {
            let Some(change) = self.owned.apply(event) else {
                return;
            };
            if let Some(key) = owner::controller_key(change.object(), self.owner_kind) {
                self.queue.add(ctx, key, 0);
            }
        }
    }

    /// The owner keys due when the queue's timer fires (`token`), none for other timers.
    pub fn due(&mut self, ctx: &mut Ctx, token: u64) -> Vec<String> {
        if token == SYNC {
            self.queue.take(ctx)
        } else {
            Vec::new()
        }
    }
}
