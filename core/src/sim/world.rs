//! The world: a virtual clock, one event queue, the API server and the components around it.
//!
//! Every component is a state machine woken by two kinds of event: a watch delivery and a
//! timer it set. Events fire in `(time, sequence)` order, so the same inputs always give the
//! same run. Nothing here waits or spawns: progress happens only in [`World::step`],
//! [`World::run_until`] and [`World::advance`].
//!
//! Watch events are collected from the API server after every step and delivered
//! `watch_latency` later, so a component never sees its own write inside the handler that
//! made it — the lag that Kubernetes' controllers are written to tolerate.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde_json::Value;

use super::{Component, ComponentId, Ctx, Rng, Time};
use crate::apiserver::watch::{WatchEvent, WatchId};
use crate::apiserver::{ApiServer, Config};
use crate::client::Effects;
use crate::trace::{Trace, TraceKind};

#[derive(Debug)]
enum Wakeup {
    Timer {
        component: ComponentId,
        token: u64,
    },
    Watch {
        component: ComponentId,
        watch: WatchId,
        event: WatchEvent,
    },
}

#[derive(Debug)]
struct Scheduled {
    at: Time,
    seq: u64,
    wakeup: Wakeup,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Told who is working, for a host that measures where the time goes (the scale harness):
/// called with a component's name when one of its handlers starts and with `None` when it
/// returns. Core never reads a clock; the host's hook may.
pub type Profiler = Box<dyn FnMut(Option<&str>) + Send>;

pub struct World {
    now: Time,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    api: ApiServer,
    rng: Rng,
    /// `None` only while the component is handling an event.
    components: Vec<Option<Box<dyn Component>>>,
    watch_owners: BTreeMap<WatchId, ComponentId>,
    /// How long a watch event takes to reach its watcher.
    pub watch_latency_ms: i64,
    trace: Trace,
    /// The last audit event moved into the trace.
    audit_seen: u64,
    profiler: Option<Profiler>,
}

impl World {
    pub fn new(config: Config) -> World {
        let now = config.start;
        let rng = Rng::new(config.seed ^ 0x5eed_5eed);
        let api = ApiServer::new(config);
        // The bootstrap objects are the cluster's starting point, not part of its story.
        let audit_seen = api.audit().last().map_or(0, |e| e.seq);
        World {
            now,
            seq: 0,
            queue: BinaryHeap::new(),
            api,
            rng,
            components: Vec::new(),
            watch_owners: BTreeMap::new(),
            watch_latency_ms: 1,
            trace: Trace::default(),
            audit_seen,
            profiler: None,
        }
    }

    pub fn now(&self) -> Time {
        self.now
    }

    /// The API server, for requests from outside the cluster (kubectl, the page).
    pub fn api(&mut self) -> &mut ApiServer {
        &mut self.api
    }

    pub fn api_ref(&self) -> &ApiServer {
        &self.api
    }

    /// A component, by its concrete type (the page reads the scheduler's decisions this way).
    pub fn component<T: Component>(&self, id: ComponentId) -> Option<&T> {
        let c: &dyn std::any::Any = self.components.get(id.0)?.as_deref()?;
        c.downcast_ref::<T>()
    }

    /// Acts on a component from outside (chaos actions: cut a node's power), with a `Ctx` as
    /// its handlers have.
    pub fn act<T: Component>(&mut self, id: ComponentId, f: impl FnOnce(&mut T, &mut Ctx)) {
        self.dispatch(id, |c, ctx| {
            let any: &mut dyn std::any::Any = c;
            if let Some(t) = any.downcast_mut::<T>() {
                f(t, ctx);
            }
        });
    }

    pub fn add(&mut self, component: Box<dyn Component>) -> ComponentId {
        let id = ComponentId(self.components.len());
        self.components.push(Some(component));
        self.dispatch(id, |c, ctx| c.start(ctx));
        id
    }

    fn push(&mut self, at: Time, wakeup: Wakeup) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            wakeup,
        }));
    }

    /// What happened since the trace last looked, attributed to `component`: requests made
    /// outside any handler are the user's (`kubectl`).
    fn collect_requests(&mut self, component: &str) {
        let new: Vec<_> = self.api.audit().since(self.audit_seen).cloned().collect();
        for e in new {
            self.audit_seen = e.seq;
            if e.user == crate::apiserver::OBSERVER_USER {
                continue;
            }
            let kind = TraceKind::Request {
                user: e.user,
                verb: e.verb,
                resource: e.resource,
                namespace: e.namespace,
                name: e.name,
                code: e.code,
                stages: e.stages,
                revision: e.resource_version,
            };
            self.trace.record(e.time, component, kind);
        }
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Installs (or removes) the hook told which component is working.
    pub fn set_profiler(&mut self, profiler: Option<Profiler>) {
        self.profiler = profiler;
    }

    fn dispatch(&mut self, id: ComponentId, f: impl FnOnce(&mut dyn Component, &mut Ctx)) {
        self.collect_requests("kubectl");
        let Some(mut component) = self.components.get_mut(id.0).and_then(Option::take) else {
            return;
        };
        if let Some(p) = &mut self.profiler {
            p(Some(component.name()));
        }
        let mut ctx = Ctx::new(&mut self.api, self.now, &mut self.rng);
        f(component.as_mut(), &mut ctx);
        let Effects {
            timers,
            watches,
            notes,
        } = ctx.into_effects();
        if let Some(p) = &mut self.profiler {
            p(None);
        }
        let name = component.name().to_string();
        self.components[id.0] = Some(component);
        self.collect_requests(&name);
        for note in notes {
            self.trace.record(self.now, &name, note);
        }
        for (at, token) in timers {
            self.push(
                at,
                Wakeup::Timer {
                    component: id,
                    token,
                },
            );
        }
        for w in watches {
            self.watch_owners.insert(w, id);
        }
        self.collect_watch_events();
    }

    /// Moves what the API server has for each watch into the queue.
    fn collect_watch_events(&mut self) {
        let ready = self.api.take_ready_watches();
        let owners: Vec<(WatchId, ComponentId)> = ready
            .into_iter()
            .filter_map(|w| Some((w, *self.watch_owners.get(&w)?)))
            .collect();
        for (watch, component) in owners {
            match self.api.poll_watch(watch) {
                Some(events) => {
                    let at = self.now.plus_millis(self.watch_latency_ms);
                    for event in events {
                        self.push(
                            at,
                            Wakeup::Watch {
                                component,
                                watch,
                                event,
                            },
                        );
                    }
                }
                None => {
                    self.watch_owners.remove(&watch);
                }
            }
        }
    }

    /// When the next event is due, if any.
    pub fn next_event_at(&mut self) -> Option<Time> {
        self.collect_requests("kubectl");
        self.collect_watch_events();
        self.queue.peek().map(|Reverse(s)| s.at)
    }

    /// Handles the next event; `false` when there is none.
    pub fn step(&mut self) -> bool {
        self.collect_watch_events();
        let Some(Reverse(next)) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(next.at);
        self.api.set_time(self.now);
        match next.wakeup {
            Wakeup::Timer { component, token } => {
                self.dispatch(component, |c, ctx| c.on_timer(ctx, token))
            }
            Wakeup::Watch {
                component,
                watch,
                event,
            } => {
                if let Some(Some(c)) = self.components.get(component.0) {
                    let obj = &*event.object;
                    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
                    let kind = TraceKind::Delivery {
                        event: event.kind.as_str().to_string(),
                        kind: s(&obj["kind"]),
                        namespace: s(&obj["metadata"]["namespace"]),
                        name: s(&obj["metadata"]["name"]),
                        revision: s(&obj["metadata"]["resourceVersion"]),
                    };
                    let name = c.name().to_string();
                    self.trace.record(self.now, &name, kind);
                }
                self.dispatch(component, |c, ctx| c.on_watch(ctx, watch, &event))
            }
        }
        true
    }

    /// Handles every event due at or before `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Time) {
        while self.next_event_at().is_some_and(|at| at <= t) {
            self.step();
        }
        self.now = self.now.max(t);
        self.api.set_time(self.now);
    }

    /// Steps until `done` holds or the clock would pass `limit`; whether `done` held.
    pub fn run_until_condition(
        &mut self,
        limit: Time,
        mut done: impl FnMut(&mut World) -> bool,
    ) -> bool {
        loop {
            if done(self) {
                return true;
            }
            match self.next_event_at() {
                Some(at) if at <= limit => {
                    self.step();
                }
                _ => {
                    self.run_until(limit);
                    return done(self);
                }
            }
        }
    }

    /// Runs `ms` milliseconds of virtual time.
    pub fn advance(&mut self, ms: i64) {
        let t = self.now.plus_millis(ms);
        self.run_until(t);
    }
}
