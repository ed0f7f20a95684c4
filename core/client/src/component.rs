//! The contract between a component and the world that runs it: a component is a state
//! machine woken by its watches' events and its own timers, and it acts through a [`Ctx`].
//!
//! Architecture invariant: a component never holds the API server. The `Ctx` carries it
//! privately; the only way to reach it is the [`Client`](crate::Client), whose requests the
//! server authenticates, authorizes, admits and audits like anyone else's.

use apimachinery::clock::Time;
use apimachinery::rng::Rng;
use apiserver::watch::{WatchEvent, WatchId};
use apiserver::ApiServer;

use crate::trace::TraceKind;

/// Index of a component in its world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(pub usize);

/// A control-plane component: a controller, the scheduler, a kubelet.
pub trait Component: std::any::Any + Send {
    fn name(&self) -> &str;
    /// Called once when added: open watches, set the first timers.
    fn start(&mut self, ctx: &mut Ctx);
    /// One event of one of this component's watches.
    fn on_watch(&mut self, ctx: &mut Ctx, watch: WatchId, event: &WatchEvent);
    /// A timer this component set fired.
    fn on_timer(&mut self, ctx: &mut Ctx, token: u64);
}

/// What a component may do while handling an event.
pub struct Ctx<'a> {
    api: &'a mut ApiServer,
    pub now: Time,
    pub rng: &'a mut Rng,
    effects: Effects,
}

/// What a handler asked of the world, applied by it once the handler returns.
#[derive(Debug, Default)]
pub struct Effects {
    /// Timers to set: when, and the token to wake the component with.
    pub timers: Vec<(Time, u64)>,
    /// Watches opened by the handler, to be routed to its component.
    pub watches: Vec<WatchId>,
    /// Events for the trace (a CRI call, say).
    pub notes: Vec<TraceKind>,
}

impl<'a> Ctx<'a> {
    /// The world hands each handler a fresh context over its API server and RNG.
    pub fn new(api: &'a mut ApiServer, now: Time, rng: &'a mut Rng) -> Ctx<'a> {
        Ctx {
            api,
            now,
            rng,
            effects: Effects::default(),
        }
    }

    /// What the handler asked for, once it has returned.
    pub fn into_effects(self) -> Effects {
        self.effects
    }

    /// The server, for the client's requests only.
    pub(crate) fn server(&mut self) -> &mut ApiServer {
        self.api
    }

    /// Adds an event of this component to the trace (a CRI call, say).
    pub fn trace(&mut self, kind: TraceKind) {
        self.effects.notes.push(kind);
    }

    /// Wakes this component with `token` after `ms` milliseconds of virtual time.
    pub fn after(&mut self, ms: i64, token: u64) {
        self.effects
            .timers
            .push((self.now.plus_millis(ms.max(0)), token));
    }

    /// Routes a watch opened through the API server to this component.
    pub fn own_watch(&mut self, id: WatchId) {
        self.effects.watches.push(id);
    }
}
