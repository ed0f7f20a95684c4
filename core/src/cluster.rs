//! A whole control plane in one [`World`]: the API server, kube-controller-manager's
//! controllers and the scheduler — what the page runs in the tab and the bridge runs headless.

use crate::apiserver::{Config, Delegated, Request, Response};
use std::collections::BTreeMap;

use crate::kubelet::cri::{CriRequest, CriResponse};
use crate::kubelet::node::{Node, NodeSpec};
use crate::kubelet::NodeConfig;
use crate::scheduler::framework::Decision;
use crate::scheduler::profile::SchedulerConfig;
use crate::scheduler::Scheduler;
use crate::sim::{ComponentId, World};

pub struct Cluster {
    pub world: World,
    scheduler: ComponentId,
    nodes: Vec<ComponentId>,
    /// The nodes whose runtime is the host's (a subset of `nodes`).
    remote: Vec<ComponentId>,
    /// The API documentation `kubectl explain` reads, once the host provides it.
    pub explain_docs: Option<serde_json::Value>,
}

impl Cluster {
    pub fn new(config: Config) -> Cluster {
        Cluster::with_scheduler(config, SchedulerConfig::default())
    }

    /// A control plane whose scheduler runs the profiles of `scheduler`.
    pub fn with_scheduler(config: Config, scheduler: SchedulerConfig) -> Cluster {
        let mut world = World::new(config);
        for controller in crate::controllers::kube_controller_manager() {
            world.add(controller);
        }
        let scheduler = world.add(Box::new(Scheduler::new(scheduler)));
        Cluster {
            world,
            scheduler,
            nodes: Vec::new(),
            remote: Vec::new(),
            explain_docs: None,
        }
    }

    /// A cluster with `nodes` simulated nodes of 4 CPUs and 8 GiB each.
    pub fn with_nodes(config: Config, nodes: u32) -> Cluster {
        let mut c = Cluster::new(config);
        for _ in 0..nodes {
            c.add_simulated_node("4", "8Gi");
        }
        c
    }

    /// Adds a simulated node (`node-<n>`), which registers itself through the API server.
    pub fn add_simulated_node(&mut self, cpu: &str, memory: &str) -> ComponentId {
        let spec = NodeSpec {
            cpu: cpu.into(),
            memory: memory.into(),
            ..NodeSpec::default()
        };
        self.add_node(&spec)
    }

    /// Adds a simulated node described by `spec`.
    pub fn add_node(&mut self, spec: &NodeSpec) -> ComponentId {
        let index = u32::try_from(self.nodes.len() + 1).unwrap_or(u32::MAX);
        let id = self.world.add(Box::new(Node::from_spec(index, spec)));
        self.nodes.push(id);
        id
    }

    /// Adds a real machine's node, whose kubelet's calls the host carries out
    /// ([`Cluster::take_remote_requests`], [`Cluster::deliver`]); `images` are what its
    /// runtime holds (name → size).
    /// A remote node of that name that lost its machine (powered off) comes back: its
    /// kubelet starts afresh, as a rebooted node's does. Refused when any other node of that
    /// name is there (two kubelets would manage the same pods).
    pub fn add_remote_node(
        &mut self,
        config: NodeConfig,
        images: &BTreeMap<String, i64>,
    ) -> Result<ComponentId, String> {
        if let Some(id) = self.node_id(&config.name) {
            let back = self
                .world
                .component::<Node>(id)
                .is_some_and(|n| n.is_remote() && !n.powered);
            if !back {
                return Err(format!(
                    "the cluster already has a node named {:?}",
                    config.name
                ));
            }
            self.world.act::<Node>(id, |n, ctx| {
                n.set_images(images);
                n.set_power(ctx, true);
            });
            return Ok(id);
        }
        let id = self.world.add(Box::new(Node::remote(config, images)));
        self.nodes.push(id);
        self.remote.push(id);
        Ok(id)
    }

    /// Whether `name` is a node whose runtime is the host's.
    pub fn is_remote_node(&self, name: &str) -> bool {
        self.remote_nodes().any(|n| n.kubelet.node.name == name)
    }

    fn remote_nodes(&self) -> impl Iterator<Item = &Node> {
        self.remote
            .iter()
            .filter_map(|id| self.world.component::<Node>(*id))
    }

    /// Whether a remote node is joined and powered (its machine really runs containers).
    pub fn has_remote_node_running(&self) -> bool {
        self.remote_nodes().any(|n| n.powered)
    }

    /// Whether a remote node's kubelet has calls waiting for the host.
    pub fn has_remote_requests(&self) -> bool {
        self.remote_nodes().any(Node::has_requests)
    }

    /// The calls remote node `node`'s kubelet made since the last time.
    pub fn take_remote_requests(&mut self, node: &str) -> Vec<CriRequest> {
        let mut out = Vec::new();
        if let Some(id) = self.node_id(node) {
            self.world.act::<Node>(id, |n, _| out = n.take_requests());
        }
        out
    }

    /// The host's result of a call of remote node `node`'s kubelet; it took `took_ms`.
    pub fn deliver(&mut self, node: &str, resp: CriResponse, took_ms: i64) {
        if let Some(id) = self.node_id(node) {
            self.world
                .act::<Node>(id, |n, ctx| n.deliver(ctx, resp, took_ms));
        }
    }

    /// The host saw a container of remote node `node` exit by itself (with the runtime's
    /// reason, if it gave one).
    pub fn remote_container_exited(
        &mut self,
        node: &str,
        container_id: &str,
        exit_code: i64,
        reason: Option<&str>,
    ) {
        if let Some(id) = self.node_id(node) {
            self.world.act::<Node>(id, |n, ctx| {
                n.container_exited(ctx, container_id, exit_code, reason)
            });
        }
    }

    /// The node component named `name`, simulated or real.
    fn node(&self, name: &str) -> Option<&Node> {
        self.node_id(name)
            .and_then(|id| self.world.component::<Node>(id))
    }

    fn node_id(&self, name: &str) -> Option<ComponentId> {
        self.nodes.iter().copied().find(|id| {
            self.world
                .component::<Node>(*id)
                .is_some_and(|n| n.kubelet.node.name == name)
        })
    }

    /// Cuts (`on: false`) or restores a simulated node's power; `false` if there is no such
    /// node.
    pub fn set_node_power(&mut self, name: &str, on: bool) -> bool {
        let Some(id) = self.node_id(name) else {
            return false;
        };
        self.world.act::<Node>(id, |n, ctx| n.set_power(ctx, on));
        true
    }

    /// Cuts (`true`) or heals the network between a simulated node and the API server;
    /// `false` if there is no such node.
    pub fn set_node_partitioned(&mut self, name: &str, on: bool) -> bool {
        let Some(id) = self.node_id(name) else {
            return false;
        };
        self.world
            .act::<Node>(id, |n, ctx| n.set_partitioned(ctx, on));
        true
    }

    /// Whether the simulated node `name` is cut off from the API server.
    pub fn node_partitioned(&self, name: &str) -> bool {
        self.node(name).is_some_and(|n| n.partitioned)
    }

    /// Kills a pod's running container (the first, or `container`) with exit code 137;
    /// `false` if no node runs it.
    pub fn crash_container(&mut self, namespace: &str, pod: &str, container: Option<&str>) -> bool {
        let mut crashed = false;
        for id in self.nodes.clone() {
            self.world.act::<Node>(id, |n, ctx| {
                crashed = crashed || n.crash(ctx, namespace, pod, container);
            });
        }
        crashed
    }

    /// Makes every simulated node's image pulls fail (`false`: the registry is down) or
    /// work again.
    pub fn set_registry_reachable(&mut self, on: bool) {
        for id in self.nodes.clone() {
            self.world
                .act::<Node>(id, |n, _| n.set_registry_reachable(on));
        }
    }

    /// Whether image pulls reach the registry.
    pub fn registry_reachable(&self) -> bool {
        self.nodes
            .iter()
            .filter_map(|id| self.world.component::<Node>(*id))
            .all(|n| n.registry_reachable())
    }

    /// Whether the simulated node `name` has power (`true` for nodes it does not run).
    pub fn node_powered(&self, name: &str) -> bool {
        self.node(name).is_none_or(|n| n.powered)
    }

    /// Serves a request as the API server does, and answers what the API server hands to a
    /// component: a pod's log from its node's kubelet (a simulated node's at once, a real
    /// node's as the path of the log file there, [`Delegated::RemoteLog`], for the host to
    /// read), the metrics API from the kubelets, a scheduling decision from the scheduler, a
    /// simulated node's power switch.
    pub fn handle(&mut self, req: &Request) -> Response {
        let mut resp = self.world.api().handle(req);
        match resp.delegated.take() {
            Some(Delegated::Logs {
                node,
                namespace,
                pod,
                container,
            }) => resp = self.kubelet_logs(&node, &namespace, &pod, &container),
            Some(Delegated::Exec {
                node,
                namespace,
                pod,
                container,
                command,
            }) => resp = self.kubelet_exec(&node, [&namespace, &pod, &container], command),
            Some(query @ Delegated::Metrics { .. }) => resp = self.metrics(&query),
            Some(Delegated::Power { node, on }) => {
                if self.is_remote_node(&node) {
                    resp = Response::error(&crate::apiserver::ApiError::bad_request(format!(
                        "node {node} is a real machine: its power is not the playground's to switch"
                    )));
                } else {
                    self.set_node_power(&node, on);
                }
            }
            Some(Delegated::Decision { namespace, pod }) => {
                resp = match self.decision_for(&format!("{namespace}/{pod}")) {
                    Some(d) => {
                        Response::json_value(200, serde_json::to_value(&d).unwrap_or_default())
                    }
                    None => Response::error(&crate::apiserver::ApiError::NotFound {
                        group: String::new(),
                        resource: "schedulingdecisions".into(),
                        name: pod,
                    }),
                }
            }
            // Not the kubelets' to answer here: for the host.
            other => resp.delegated = other,
        }
        resp
    }

    /// `metrics.k8s.io`, from each powered node's housekeeping figures.
    fn metrics(&mut self, query: &Delegated) -> Response {
        let nodes_list = self.world.api().handle(
            &Request::new(crate::apiserver::Method::Get, "/api/v1/nodes")
                .bearer(crate::apiserver::ADMIN_TOKEN),
        );
        let labels_of = |name: &str| {
            nodes_list.value()["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|n| n["metadata"]["name"] == name)
                .map_or(serde_json::Value::Null, |n| n["metadata"]["labels"].clone())
        };
        let usage: Vec<crate::apiserver::metrics::NodeUsage> = self
            .nodes
            .iter()
            .filter_map(|id| self.world.component::<Node>(*id))
            .filter(|n| n.powered)
            .map(|n| {
                let (at, pods) = n.kubelet.usage();
                crate::apiserver::metrics::NodeUsage {
                    node: n.kubelet.node.name.clone(),
                    labels: labels_of(&n.kubelet.node.name),
                    at,
                    pods,
                }
            })
            .collect();
        crate::apiserver::metrics::answer(query, &usage, self.world.now())
    }

    /// The kubelet's answer to an exec in `[namespace, pod, container]`: what the command
    /// wrote and its exit code (`{"stdout", "stderr", "exitCode"}`), from a simulated node.
    fn kubelet_exec(&self, node: &str, target: [&str; 3], command: Vec<String>) -> Response {
        let [namespace, pod, container] = target;
        let not_found = || {
            Response::error(&crate::apiserver::ApiError::bad_request(format!(
                "unable to upgrade connection: container not found (\"{container}\")"
            )))
        };
        let Some(n) = self.node(node) else {
            return not_found();
        };
        if !n.powered {
            return Response::error(&crate::apiserver::ApiError::internal(format!(
                "error dialing backend: node {node} does not answer (it has no power)"
            )));
        }
        if n.is_remote() {
            return Response::error(&crate::apiserver::ApiError::bad_request(format!(
                "exec into a container on a real machine (node {node}) is not offered yet: its probes run commands through CRI, kubectl exec does not"
            )));
        }
        match n.exec(namespace, pod, container, &command) {
            Some(out) => Response::json_value(
                200,
                serde_json::json!({"stdout": out.stdout, "stderr": out.stderr, "exitCode": out.exit_code}),
            ),
            None => not_found(),
        }
    }

    /// A followed log's next look (`kubectl logs -f`): the log so far as `kubectl logs`
    /// answers it (a real node's as [`Delegated::RemoteLog`]) and whether the container
    /// still runs; `None` once the pod is gone or has left its node.
    pub fn follow_log(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Option<(Response, bool)> {
        use crate::apiserver::admission::Lookup;
        let obj = self
            .world
            .api_ref()
            .store()
            .get_object("pods", Some(namespace), pod)?;
        let node = obj["spec"]["nodeName"].as_str()?;
        let n = self.node(node)?;
        let container = match container {
            Some(c) => c.to_string(),
            None => obj["spec"]["containers"][0]["name"].as_str()?.to_string(),
        };
        let running = n.powered
            && n.kubelet
                .container_running(namespace, pod, Some(&container));
        Some((self.kubelet_logs(node, namespace, pod, &container), running))
    }

    /// The kubelet's answer to `GET containerLogs/<namespace>/<pod>/<container>`.
    fn kubelet_logs(&self, node: &str, namespace: &str, pod: &str, container: &str) -> Response {
        let kubelet = self.node(node);
        if let Some(n) = kubelet.filter(|n| n.is_remote()) {
            if let Some(path) = n
                .kubelet
                .container_log_path(namespace, pod, Some(container))
            {
                let mut answer = Response::raw(200, "text/plain", Vec::new());
                answer.delegated = Some(Delegated::RemoteLog {
                    node: node.to_string(),
                    path,
                });
                return answer;
            }
        }
        match kubelet.and_then(|n| n.logs(namespace, pod, Some(container))) {
            Some(text) => Response::raw(200, "text/plain", text.into_bytes()),
            None => Response::error(&crate::apiserver::ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
            ))),
        }
    }

    pub fn scheduler(&self) -> Option<&Scheduler> {
        self.world.component::<Scheduler>(self.scheduler)
    }

    /// The latest scheduling decision about `namespace/name`.
    pub fn decision_for(&self, pod: &str) -> Option<Decision> {
        self.scheduler()?.decision_for(pod)
    }
}

/// The page's terminal and tests run kubectl commands on the cluster as its administrator.
impl crate::kubectl::Api for Cluster {
    fn send(&mut self, req: crate::apiserver::Request) -> crate::apiserver::Response {
        let req = req.bearer(crate::apiserver::ADMIN_TOKEN);
        self.handle(&req)
    }

    fn now(&self) -> crate::sim::Time {
        self.world.now()
    }

    fn explain_docs(&self) -> Option<&serde_json::Value> {
        self.explain_docs.as_ref()
    }
}
