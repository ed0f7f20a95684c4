//! Defaulting: the values the API server fills in before admission, as the generated
//! `SetDefaults_*` functions of `pkg/apis/<group>/v1/defaults.go` do upstream. What is set here
//! is visible to every reader (`kubectl get -o yaml` shows `restartPolicy: Always`).

use serde_json::{json, Map, Value};

fn set(obj: &mut Map<String, Value>, key: &str, value: Value) {
    if obj.get(key).is_none_or(Value::is_null) {
        obj.insert(key.to_string(), value);
    }
}

fn child<'a>(obj: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    obj.get_mut(key).and_then(Value::as_object_mut)
}

fn each<'a>(
    obj: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    obj.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Fills in the defaults of an object of `kind`.
pub fn apply(kind: &str, obj: &mut Value) {
    let Some(o) = obj.as_object_mut() else { return };
    match kind {
        "Pod" => {
            if let Some(spec) = child(o, "spec") {
                pod_spec(spec);
            }
        }
        "Deployment" => {
            if let Some(spec) = child(o, "spec") {
                set(spec, "replicas", json!(1));
                set(spec, "revisionHistoryLimit", json!(10));
                set(spec, "progressDeadlineSeconds", json!(600));
                set(spec, "strategy", json!({}));
                if let Some(strategy) = child(spec, "strategy") {
                    set(strategy, "type", json!("RollingUpdate"));
                    if strategy.get("type") == Some(&json!("RollingUpdate")) {
                        set(strategy, "rollingUpdate", json!({}));
                        if let Some(ru) = child(strategy, "rollingUpdate") {
                            set(ru, "maxUnavailable", json!("25%"));
                            set(ru, "maxSurge", json!("25%"));
                        }
                    }
                }
                template(spec);
            }
        }
        "ReplicaSet" => {
            if let Some(spec) = child(o, "spec") {
                set(spec, "replicas", json!(1));
                template(spec);
            }
        }
        "DaemonSet" => {
            if let Some(spec) = child(o, "spec") {
                set(spec, "revisionHistoryLimit", json!(10));
                set(spec, "updateStrategy", json!({}));
                if let Some(strategy) = child(spec, "updateStrategy") {
                    set(strategy, "type", json!("RollingUpdate"));
                    if strategy.get("type") == Some(&json!("RollingUpdate")) {
                        set(strategy, "rollingUpdate", json!({}));
                        if let Some(ru) = child(strategy, "rollingUpdate") {
                            set(ru, "maxUnavailable", json!(1));
                            set(ru, "maxSurge", json!(0));
                        }
                    }
                }
                template(spec);
            }
        }
        "StatefulSet" => {
            if let Some(spec) = child(o, "spec") {
                set(spec, "replicas", json!(1));
                set(spec, "podManagementPolicy", json!("OrderedReady"));
                set(spec, "revisionHistoryLimit", json!(10));
                set(spec, "updateStrategy", json!({}));
                if let Some(strategy) = child(spec, "updateStrategy") {
                    set(strategy, "type", json!("RollingUpdate"));
                    if strategy.get("type") == Some(&json!("RollingUpdate")) {
                        set(strategy, "rollingUpdate", json!({"partition": 0}));
                    }
                }
                set(
                    spec,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
                template(spec);
            }
        }
        "Service" => {
            if let Some(spec) = child(o, "spec") {
                set(spec, "type", json!("ClusterIP"));
                set(spec, "sessionAffinity", json!("None"));
                let ty = spec
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("ClusterIP")
                    .to_string();
                if ty != "ExternalName" {
                    set(spec, "internalTrafficPolicy", json!("Cluster"));
                }
                for port in each(spec, "ports") {
                    set(port, "protocol", json!("TCP"));
                    if let Some(p) = port.get("port").cloned() {
                        set(port, "targetPort", p);
                    }
                }
            }
        }
        "Namespace" => {
            set(o, "spec", json!({}));
            if let Some(spec) = child(o, "spec") {
                set(spec, "finalizers", json!(["kubernetes"]));
            }
        }
        "Secret" => set(o, "type", json!("Opaque")),
        "PriorityClass" => set(o, "preemptionPolicy", json!("PreemptLowerPriority")),
        _ => {}
    }
}

fn template(spec: &mut Map<String, Value>) {
    if let Some(pod) = child(spec, "template").and_then(|t| child(t, "spec")) {
        pod_spec(pod);
    }
}

/// `SetDefaults_PodSpec` and the container defaults it implies.
pub fn pod_spec(spec: &mut Map<String, Value>) {
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "securityContext", json!({}));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "enableServiceLinks", json!(true));
    for key in ["containers", "initContainers"] {
        for c in each(spec, key) {
            container(c);
        }
    }
    for v in each(spec, "volumes") {
        for source in ["configMap", "secret"] {
            if let Some(s) = child(v, source) {
                set(s, "defaultMode", json!(420));
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    set(c, "terminationMessagePath", json!("/dev/termination-log"));
    set(c, "terminationMessagePolicy", json!("File"));
    set(c, "resources", json!({}));
    let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
    set(c, "imagePullPolicy", json!(default_pull_policy(image)));
    for p in each(c, "ports") {
        set(p, "protocol", json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = child(c, probe) {
            set(p, "timeoutSeconds", json!(1));
            set(p, "periodSeconds", json!(10));
            set(p, "successThreshold", json!(1));
            set(p, "failureThreshold", json!(3));
            if let Some(h) = child(p, "httpGet") {
                set(h, "path", json!("/"));
                set(h, "scheme", json!("HTTP"));
            }
        }
    }
    // A resource limit without a request defaults the request to the limit.
    if let Some(res) = child(c, "resources") {
        if let Some(limits) = res
            .get("limits")
            .cloned()
            .and_then(|l| l.as_object().cloned())
        {
            set(res, "requests", json!({}));
            if let Some(req) = child(res, "requests") {
                for (k, v) in limits {
                    set(req, &k, v);
                }
            }
        }
    }
}

/// `Always` for `:latest` or untagged images, `IfNotPresent` otherwise.
pub fn default_pull_policy(image: &str) -> &'static str {
    let name = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent";
    }
    match name.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}}}});
        apply("Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
    }

    #[test]
    fn pull_policy() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(
            default_pull_policy("localhost:5000/nginx:1.2"),
            "IfNotPresent"
        );
    }
}
