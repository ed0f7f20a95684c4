//! Events a controller records about the objects it acts on (client-go's `EventRecorder`):
//! what `kubectl describe` shows under `Events:` and `kubectl get events` lists.

use serde_json::{json, Value};

use crate::{resource, Client, Ctx};

pub struct Recorder {
    client: Client,
    component: &'static str,
    count: u64,
}

impl Recorder {
    /// Cuts or restores the recorder's way to the API server (see [`Client::reachable`]).
    pub fn set_reachable(&mut self, on: bool) {
        self.client.reachable = on;
    }

    pub fn new(client: Client, component: &'static str) -> Recorder {
        Recorder {
            client,
            component,
            count: 0,
        }
    }

    /// Records a `Normal` event about `object` (of `api_version`/`kind`).
    pub fn normal(
        &mut self,
        ctx: &mut Ctx,
        object: &Value,
        api_version: &str,
        kind: &str,
        reason: &str,
        message: String,
    ) {
        self.event(ctx, object, (api_version, kind), "Normal", reason, message);
    }

    /// Records a `Warning` event about `object` (of `api_version`/`kind`).
    pub fn warning(
        &mut self,
        ctx: &mut Ctx,
        object: &Value,
        api_version: &str,
        kind: &str,
        reason: &str,
        message: String,
    ) {
        self.event(ctx, object, (api_version, kind), "Warning", reason, message);
    }

    fn event(
        &mut self,
        ctx: &mut Ctx,
        object: &Value,
        (api_version, kind): (&str, &str),
        type_: &str,
        reason: &str,
        message: String,
    ) {
        self.count += 1;
        let meta = &object["metadata"];
        let name = meta["name"].as_str().unwrap_or_default();
        let namespace = meta["namespace"].as_str().unwrap_or("default");
        // Upstream names events `<object>.<nanoseconds in hex>`.
        let nanos = ctx.now.millis() as u64 * 1_000_000 + self.count;
        let now = ctx.now.rfc3339();
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{name}.{nanos:x}"), "namespace": namespace},
            "involvedObject": {"apiVersion": api_version, "kind": kind, "name": name, "namespace": meta["namespace"],
                               "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": self.component},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": self.component, "reportingInstance": "",
        });
        // Events are best effort, as upstream: a failure is not the controller's failure.
        let _ = self
            .client
            .create(ctx, resource("", "events"), Some(namespace), &event);
    }
}
