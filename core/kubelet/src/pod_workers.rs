//! The pod workers (`pod_workers.go` and `kuberuntime_manager.go` upstream): each pod's way
//! through the runtime, one step at a time — admitted, volumes published, sandbox, per
//! container pull → create → start; on deletion stop → stop sandbox → volumes unpublished →
//! remove sandbox → the pod object goes. Each pod's worker is in one state of
//! [`Worker`] (mounting, syncing; draining, stopping containers, stopping the sandbox,
//! unpublishing volumes, removing the sandbox): a step's result ([`Kubelet::on_result`])
//! moves it to the next; failures back off and retry as upstream's do.

use serde_json::{json, Value};

use super::cri::{CriCall, CriResponse, CriResult};
use super::prober::probes_of;
use super::{
    back_off_ms, kuberuntime, restart_back_off_ms, str_of, Container, Kubelet, KubeletTimer,
    PodState, State, Step, Worker,
};
use client::Ctx;
use scheduler::framework::{PodInfo, Resources};

impl Kubelet {
    /// The result of a call: the pod's worker takes its next step (`pod_workers.rs`, and
    /// the volume manager and prober for their calls).
    pub fn on_result(&mut self, ctx: &mut Ctx, resp: CriResponse) {
        let Some((_, uid, step)) = self
            .inflight_index(resp.id)
            .map(|i| self.inflight.remove(i))
        else {
            return;
        };
        if let Step::Stats = step {
            if let Ok(CriResult::ContainerStats { stats }) = resp.result {
                self.stats = stats;
                self.stats_at = Some(ctx.now);
            }
            return;
        }
        if !self.pods.contains_key(&uid) {
            return;
        }
        let uid = uid.as_str();
        match (step, resp.result) {
            (Step::Sandbox, Ok(CriResult::Sandbox { sandbox_id, ip })) => {
                self.sandbox_ready(ctx, uid, sandbox_id, ip)
            }
            (Step::Sandbox, Err(message)) => self.sandbox_failed(ctx, uid, message),
            (
                Step::Pull(i),
                Ok(CriResult::Image {
                    image_ref,
                    size_bytes,
                }),
            ) => self.image_pulled(ctx, uid, i, image_ref, size_bytes),
            (Step::Pull(i), Err(message)) => self.pull_failed(ctx, uid, i, message),
            (Step::Create(i), Ok(CriResult::Container { container_id })) => {
                self.container_created(ctx, uid, i, container_id)
            }
            (Step::Create(i), Err(message)) => self.create_failed(ctx, uid, i, message),
            (Step::Start(i), Ok(_)) => self.container_started(ctx, uid, i),
            (Step::Stop(i), _) => self.container_stopped(ctx, uid, i),
            (Step::LivenessKill(i, incarnation), Ok(_)) => {
                // The container this probe killed, unless it was restarted meanwhile.
                let c = &self.pods[uid].containers[i];
                if c.restart_count == incarnation {
                    let id = c.id.clone().unwrap_or_default();
                    self.on_container_exit(ctx, &id, 137, None);
                }
            }
            (Step::Mount(_), Ok(_)) => self.volume_published(ctx, uid),
            (Step::Mount(v), Err(message)) => self.mount_failed(ctx, uid, v, message),
            (Step::Unmount, _) => self.volume_unpublished(ctx, uid),
            (Step::StopSandbox, _) => self.sandbox_stopped(ctx, uid),
            (Step::RemoveSandbox, _) => self.finish_deletion(ctx, uid),
            (Step::Probe(i, kind, incarnation), result) => {
                // A probe the node could not run counts as a failure, with the reason.
                let (ok, reason) = match result {
                    Ok(CriResult::Probe { success, message }) => (success, message),
                    Ok(_) => (false, String::new()),
                    Err(e) => (false, e),
                };
                self.on_probe_result(ctx, uid, (i, kind, incarnation), ok, reason);
            }
            (_, Err(message)) => self.event(ctx, uid, "Warning", "Failed", message),
            _ => {}
        }
    }

    /// The sandbox is up (its network too): each container's next step.
    pub(super) fn sandbox_ready(
        &mut self,
        ctx: &mut Ctx,
        uid: &str,
        sandbox_id: String,
        ip: String,
    ) {
        if let Some(ps) = self.pods.get_mut(uid) {
            ps.sandbox = Some(sandbox_id);
            ps.ip = Some(ip);
        }
        if self.pods[uid].worker.terminating() {
            self.kill(ctx, uid);
            return;
        }
        self.write_status(ctx, uid);
        let n = self.pods[uid].containers.len();
        for i in 0..n {
            self.next_container_step(ctx, uid, i);
        }
    }

    /// `FailedCreatePodSandBox`, then again after a back-off (the pod worker's next sync
    /// upstream).
    pub(super) fn sandbox_failed(&mut self, ctx: &mut Ctx, uid: &str, message: String) {
        if self.pods[uid].worker.terminating() {
            self.kill(ctx, uid);
            return;
        }
        self.event(
            ctx,
            uid,
            "Warning",
            "FailedCreatePodSandBox",
            format!("Failed to create pod sandbox: {message}"),
        );
        let failures = self.pods.get_mut(uid).map_or(1, |p| {
            p.sandbox_failures += 1;
            p.sandbox_failures
        });
        self.timers.push((
            back_off_ms(failures),
            KubeletTimer::RetrySandbox {
                uid: uid.to_string(),
            },
        ));
    }

    pub(super) fn image_pulled(
        &mut self,
        ctx: &mut Ctx,
        uid: &str,
        i: usize,
        image_ref: String,
        size_bytes: i64,
    ) {
        // Present by the name pods ask for (the runtime's reference may be a digest).
        let c = &self.pods[uid].containers[i];
        self.images
            .insert(apimachinery::api::image::normalized_image(&c.image));
        let took = ctx.now.millis() - c.pull_started.map_or(ctx.now.millis(), |t| t.millis());
        let secs = format!("{}s", apimachinery::clock::seconds(took));
        let message = format!("Successfully pulled image \"{}\" in {secs} ({secs} including waiting). Image size: {size_bytes} bytes.", c.image);
        let call = self.create_call(uid, i);
        if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
            c.image_ref = image_ref;
        }
        self.event(ctx, uid, "Normal", "Pulled", message);
        if !self.pods[uid].worker.terminating() {
            self.call(uid, Step::Create(i), call);
        }
    }

    /// `ErrImagePull` now, `ImagePullBackOff` a moment later, another pull after the
    /// back-off.
    pub(super) fn pull_failed(&mut self, ctx: &mut Ctx, uid: &str, i: usize, message: String) {
        let image = self.pods[uid].containers[i].image.clone();
        self.set_state(uid, i, State::Waiting("ErrImagePull".into()));
        self.event(
            ctx,
            uid,
            "Warning",
            "Failed",
            format!("Failed to pull image \"{image}\": {message}"),
        );
        self.event(ctx, uid, "Warning", "Failed", "Error: ErrImagePull".into());
        self.write_status(ctx, uid);
        let failures = self.pods.get_mut(uid).map_or(1, |p| {
            p.containers[i].pull_failures += 1;
            p.containers[i].pull_failures
        });
        let uid = uid.to_string();
        self.timers.push((
            1_000,
            KubeletTimer::PullBackOff {
                uid: uid.clone(),
                index: i,
            },
        ));
        self.timers.push((
            back_off_ms(failures),
            KubeletTimer::RetryPull { uid, index: i },
        ));
    }

    pub(super) fn container_created(
        &mut self,
        ctx: &mut Ctx,
        uid: &str,
        i: usize,
        container_id: String,
    ) {
        let name = self.pods[uid].containers[i].name.clone();
        if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
            c.id = Some(container_id.clone());
        }
        self.event(
            ctx,
            uid,
            "Normal",
            "Created",
            format!("Created container: {name}"),
        );
        if self.pods[uid].worker.terminating() {
            self.kill(ctx, uid);
        } else {
            self.call(
                uid,
                Step::Start(i),
                CriCall::StartContainer { container_id },
            );
        }
    }

    /// `CreateContainerError`, and another try after the container's back-off.
    pub(super) fn create_failed(&mut self, ctx: &mut Ctx, uid: &str, i: usize, message: String) {
        self.set_state(uid, i, State::Waiting("CreateContainerError".into()));
        self.event(ctx, uid, "Warning", "Failed", format!("Error: {message}"));
        self.write_status(ctx, uid);
        let failures = self.pods.get_mut(uid).map_or(1, |p| {
            p.containers[i].pull_failures += 1;
            p.containers[i].pull_failures
        });
        self.timers.push((
            back_off_ms(failures),
            KubeletTimer::RetryPull {
                uid: uid.to_string(),
                index: i,
            },
        ));
    }

    pub(super) fn container_started(&mut self, ctx: &mut Ctx, uid: &str, i: usize) {
        let name = self.pods[uid].containers[i].name.clone();
        self.start_probes(ctx, uid, i);
        self.set_state(
            uid,
            i,
            State::Running {
                started_at: ctx.now.rfc3339(),
            },
        );
        self.event(
            ctx,
            uid,
            "Normal",
            "Started",
            format!("Started container {name}"),
        );
        self.write_status(ctx, uid);
    }

    /// A container of a pod being deleted stopped; after the last, the sandbox goes.
    pub(super) fn container_stopped(&mut self, ctx: &mut Ctx, uid: &str, i: usize) {
        self.set_state(
            uid,
            i,
            State::Terminated {
                exit_code: 0,
                reason: "Completed".into(),
                finished_at: ctx.now.rfc3339(),
            },
        );
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        let Worker::StoppingContainers { left } = ps.worker else {
            return;
        };
        ps.worker = match left.saturating_sub(1) {
            0 => Worker::StoppingSandbox,
            left => Worker::StoppingContainers { left },
        };
        if ps.worker == Worker::StoppingSandbox {
            self.write_status(ctx, uid);
            let sandbox = self.pods[uid].sandbox.clone().unwrap_or_default();
            self.call(
                uid,
                Step::StopSandbox,
                CriCall::StopPodSandbox {
                    sandbox_id: sandbox,
                },
            );
        }
    }

    /// Whether the pod fits in what the node has left (`canAdmitPod`'s resource check):
    /// `Err((reason, message))` as the kubelet words a rejection.
    pub(super) fn admission_check(&self, want: &Resources) -> Result<(), (String, String)> {
        let allocatable =
            Resources::from_list(&json!({"cpu": self.node.cpu, "memory": self.node.memory}));
        let mut used = Resources::default();
        for ps in self.pods.values().filter(|p| !p.worker.terminating()) {
            used.add(&ps.requests);
        }
        let checks = [
            ("cpu", want.milli_cpu, used.milli_cpu, allocatable.milli_cpu),
            ("memory", want.memory, used.memory, allocatable.memory),
        ];
        for (name, requested, used, capacity) in checks {
            if requested > 0 && requested + used > capacity {
                let reason = format!("OutOf{name}");
                let message = format!("Pod was rejected: Node didn't have enough resource: {name}, requested: {requested}, used: {used}, capacity: {capacity}");
                return Err((reason, message));
            }
        }
        Ok(())
    }

    pub(super) fn admit(&mut self, ctx: &mut Ctx, pod: &std::sync::Arc<Value>) {
        let uid = str_of(&pod["metadata"]["uid"]);
        let requests = PodInfo::from_pod(pod).requests;
        if let Err((reason, message)) = self.admission_check(&requests) {
            // Rejected pods fail at once; their controller makes others.
            let status = json!({"phase": "Failed", "reason": reason, "message": message, "qosClass": pod["status"]["qosClass"]});
            let (ns, name) = (
                str_of(&pod["metadata"]["namespace"]),
                str_of(&pod["metadata"]["name"]),
            );
            let obj = json!({"metadata": {"name": name, "namespace": ns, "uid": uid}});
            self.recorder
                .warning(ctx, &obj, "v1", "Pod", &reason, message);
            let _ = self.client.replace_status(
                ctx,
                client::resource("", "pods"),
                Some(&ns),
                &name,
                &status,
            );
            return;
        }
        let containers = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Container {
                name: str_of(&c["name"]),
                image: str_of(&c["image"]),
                pull_policy: c["imagePullPolicy"]
                    .as_str()
                    .unwrap_or("IfNotPresent")
                    .to_string(),
                id: None,
                image_ref: String::new(),
                state: State::Waiting("ContainerCreating".into()),
                pull_started: None,
                restart_count: 0,
                last_state: None,
                crashes: 0,
                pull_failures: 0,
                probes: probes_of(c),
                ready: c["readinessProbe"].is_null(),
                started_at: None,
            })
            .collect();
        let ps = PodState {
            namespace: str_of(&pod["metadata"]["namespace"]),
            name: str_of(&pod["metadata"]["name"]),
            uid: uid.clone(),
            pod: std::sync::Arc::clone(pod),
            requests,
            sandbox: None,
            ip: None,
            containers,
            start_time: ctx.now.rfc3339(),
            worker: Worker::Syncing,
            volumes: self.pod_volumes(ctx, pod, &uid),
            sandbox_failures: 0,
            mount_failures: 0,
        };
        let call = self.sandbox_call(&ps);
        let volumes = ps.volumes.len();
        self.pods.insert(uid.clone(), ps);
        self.write_status(ctx, &uid);
        // Volumes first (`WaitForAttachAndMount`), then the sandbox.
        if volumes == 0 {
            self.call(&uid, Step::Sandbox, call);
        } else {
            self.set_worker(&uid, Worker::Mounting { left: volumes });
            for i in 0..volumes {
                self.publish_volume(ctx, &uid, i);
            }
        }
    }

    pub(super) fn next_container_step(&mut self, ctx: &mut Ctx, uid: &str, i: usize) {
        let Some(ps) = self.pods.get(uid) else { return };
        let Some(c) = ps.containers.get(i) else {
            return;
        };
        let (image, sandbox) = (c.image.clone(), ps.sandbox.clone().unwrap_or_default());
        let normalized = apimachinery::api::image::normalized_image(&image);
        let present = self.images.contains(&normalized);
        let must_pull = c.pull_policy == "Always" || (c.pull_policy != "Never" && !present);
        if must_pull {
            if let Some(c) = self.pods.get_mut(uid).and_then(|p| p.containers.get_mut(i)) {
                c.pull_started = Some(ctx.now);
            }
            self.event(
                ctx,
                uid,
                "Normal",
                "Pulling",
                format!("Pulling image \"{image}\""),
            );
            self.call(uid, Step::Pull(i), CriCall::PullImage { image });
        } else if !present {
            self.set_state(uid, i, State::Waiting("ErrImageNeverPull".into()));
            self.event(
                ctx,
                uid,
                "Warning",
                "ErrImageNeverPull",
                format!("Container image \"{image}\" is not present with pull policy of Never"),
            );
            self.write_status(ctx, uid);
        } else {
            self.event(
                ctx,
                uid,
                "Normal",
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
            let _ = sandbox;
            let call = self.create_call(uid, i);
            self.call(uid, Step::Create(i), call);
        }
    }

    pub(super) fn sandbox_call(&self, ps: &PodState) -> CriCall {
        CriCall::RunPodSandbox {
            pod_uid: ps.uid.clone(),
            namespace: ps.namespace.clone(),
            name: ps.name.clone(),
            attempt: 0,
            config: Box::new(kuberuntime::sandbox_config(&self.node, &ps.pod)),
        }
    }

    pub(super) fn create_call(&self, uid: &str, i: usize) -> CriCall {
        let ps = &self.pods[uid];
        let c = &ps.containers[i];
        let spec = &ps.pod["spec"]["containers"][i];
        let attempt = u32::try_from(c.restart_count).unwrap_or(u32::MAX);
        let ip = ps.ip.as_deref().unwrap_or_default();
        CriCall::CreateContainer {
            sandbox_id: ps.sandbox.clone().unwrap_or_default(),
            config: Box::new(kuberuntime::container_config(
                &self.node, &ps.pod, spec, attempt, ip,
            )),
        }
    }

    /// A container exited by itself (what PLEG reports): record it, then restart it after a
    /// back-off or let the pod finish, as its `restartPolicy` says.
    /// `reason` is the runtime's (`OOMKilled`); without one, `Completed` or `Error` as the
    /// exit code says.
    pub fn on_container_exit(
        &mut self,
        ctx: &mut Ctx,
        container_id: &str,
        exit_code: i64,
        reason: Option<&str>,
    ) {
        let Some((uid, i)) = self.container_by_id(container_id) else {
            return;
        };
        // Only a running container exits (an exit already handled, or of a container the
        // kubelet stopped, is not news).
        let ps = &self.pods[&uid];
        if ps.worker.terminating() || !matches!(ps.containers[i].state, State::Running { .. }) {
            return;
        }
        let reason = match reason.filter(|r| !r.is_empty()) {
            Some(r) => r,
            None if exit_code == 0 => "Completed",
            None => "Error",
        };
        let terminated = State::Terminated {
            exit_code,
            reason: reason.into(),
            finished_at: ctx.now.rfc3339(),
        };
        let policy = self.pods[&uid].pod["spec"]["restartPolicy"]
            .as_str()
            .unwrap_or("Always")
            .to_string();
        let restart = policy == "Always" || (policy == "OnFailure" && exit_code != 0);
        let (name, pod_name, ns) = {
            let ps = &self.pods[&uid];
            (
                ps.containers[i].name.clone(),
                ps.name.clone(),
                ps.namespace.clone(),
            )
        };
        if !restart {
            self.set_state(&uid, i, terminated);
            self.write_status(ctx, &uid);
            return;
        }
        let crashes = {
            let c = &mut self
                .pods
                .get_mut(&uid)
                .expect("pod of a known container")
                .containers[i];
            c.crashes += 1;
            c.last_state = Some(terminated);
            c.crashes
        };
        let wait = restart_back_off_ms(crashes);
        if wait > 0 {
            self.set_state(&uid, i, State::Waiting("CrashLoopBackOff".into()));
            self.event(
                ctx,
                &uid,
                "Warning",
                "BackOff",
                format!(
                    "Back-off restarting failed container {name} in pod {pod_name}_{ns}({uid})"
                ),
            );
        } else {
            self.set_state(
                &uid,
                i,
                self.pods[&uid].containers[i]
                    .last_state
                    .clone()
                    .unwrap_or(State::Waiting("Error".into())),
            );
        }
        self.write_status(ctx, &uid);
        self.timers
            .push((wait, KubeletTimer::Restart { uid, index: i }));
    }

    /// Stops a pod being deleted (`killPod`), honouring its grace period.
    pub(super) fn kill(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.get(uid) else {
            return;
        };
        if ps.worker.tearing_down() {
            return;
        }
        if ps.sandbox.is_none() {
            // No sandbox: what is on its way comes back and finds the pod draining;
            // otherwise its volumes (if any were published) go, then the pod.
            if self.in_flight(uid) {
                self.set_worker(uid, Worker::Draining);
            } else {
                self.unpublish_volumes(ctx, uid);
            }
            return;
        }
        let Some(ps) = self.pods.get_mut(uid) else {
            return;
        };
        let grace = ps.pod["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30);
        let running: Vec<(usize, String, String)> = ps
            .containers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.id.clone().map(|id| (i, c.name.clone(), id)))
            .collect();
        ps.worker = match running.len() {
            0 => Worker::StoppingSandbox,
            left => Worker::StoppingContainers { left },
        };
        if running.is_empty() {
            let sandbox = ps.sandbox.clone().unwrap_or_default();
            self.call(
                uid,
                Step::StopSandbox,
                CriCall::StopPodSandbox {
                    sandbox_id: sandbox,
                },
            );
            return;
        }
        for (i, name, id) in running {
            self.event(
                ctx,
                uid,
                "Normal",
                "Killing",
                format!("Stopping container {name}"),
            );
            self.call(
                uid,
                Step::Stop(i),
                CriCall::StopContainer {
                    container_id: id,
                    timeout_seconds: grace,
                },
            );
        }
    }

    pub(super) fn finish_deletion(&mut self, ctx: &mut Ctx, uid: &str) {
        let Some(ps) = self.pods.remove(uid) else {
            return;
        };
        let pods = client::resource("", "pods");
        let options = json!({"gracePeriodSeconds": 0, "preconditions": {"uid": uid}});
        let _ = self
            .client
            .delete(ctx, pods, Some(&ps.namespace), &ps.name, &options);
    }
}
