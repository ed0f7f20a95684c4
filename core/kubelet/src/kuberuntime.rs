//! What the kubelet asks the runtime for, computed from the pod (`pkg/kubelet/kuberuntime`
//! upstream: `generatePodSandboxConfig`, `generateContainerConfig`, `makeMounts`): the
//! sandbox's hostname, log directory and host ports; each container's command, environment,
//! mounts, log path, cgroup limits and security context. Pure functions of the pod and the
//! node's directories, so the simulated and the real runtime receive the same requests.

use serde_json::Value;

use super::cri::{ContainerConfig, DnsConfig, Mount, PortMapping, SandboxConfig, SecurityContext};
use super::NodeConfig;
use scheduler::framework::Resources;

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The items of a JSON array (none if it is not one). Plain loops over it compile smaller
/// than `as_array().into_iter().flatten()` chains, and the page ships this code.
pub(super) fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn strings(v: &Value) -> Vec<String> {
    items(v).iter().map(text).collect()
}

/// `<log dir>/<namespace>_<name>_<uid>`, as the kubelet names a pod's log directory.
pub fn pod_log_directory(node: &NodeConfig, pod: &Value) -> String {
    let m = &pod["metadata"];
    format!(
        "{}/{}_{}_{}",
        node.log_dir,
        text(&m["namespace"]),
        text(&m["name"]),
        text(&m["uid"])
    )
}

/// Where a volume of the pod is published on the node, for the runtime to mount:
/// `<root>/pods/<uid>/volumes/kubernetes.io~csi/<name>/mount` (every kind a node here
/// provides goes through a CSI driver, `volumes.rs`). `None` for kinds it does not provide.
pub fn volume_host_path(node: &NodeConfig, uid: &str, volume: &Value) -> Option<String> {
    let provided = ["emptyDir", "hostPath", "csi", "persistentVolumeClaim"];
    provided.iter().any(|k| volume[*k].is_object()).then(|| {
        format!(
            "{}/pods/{uid}/volumes/kubernetes.io~csi/{}/mount",
            node.root_dir,
            text(&volume["name"])
        )
    })
}

pub fn sandbox_config(node: &NodeConfig, pod: &Value) -> SandboxConfig {
    let spec = &pod["spec"];
    let hostname = spec["hostname"]
        .as_str()
        .map_or_else(|| text(&pod["metadata"]["name"]), str::to_string);
    let mut port_mappings = Vec::new();
    for c in items(&spec["containers"]) {
        for p in items(&c["ports"]) {
            let host_port = p["hostPort"].as_i64().unwrap_or(0) as i32;
            if host_port > 0 {
                port_mappings.push(PortMapping {
                    protocol: p["protocol"].as_str().unwrap_or("TCP").to_string(),
                    container_port: p["containerPort"].as_i64().unwrap_or(0) as i32,
                    host_port,
                    host_ip: text(&p["hostIP"]),
                });
            }
        }
    }
    SandboxConfig {
        hostname,
        log_directory: pod_log_directory(node, pod),
        port_mappings,
        host_network: spec["hostNetwork"] == true,
        host_pid: spec["hostPID"] == true,
        host_ipc: spec["hostIPC"] == true,
        dns: pod_dns(node, spec),
    }
}

/// The pod's resolver (upstream's `GetPodDNS`): `dnsPolicy: None` takes only the pod's
/// `dnsConfig`; every other policy starts from the node's resolver — `ClusterFirst` too, as
/// upstream falls back to it while the cluster has no DNS (there is none here yet) — and adds
/// the pod's `dnsConfig`: nameservers and searches appended, options replaced by name.
pub(crate) fn pod_dns(node: &NodeConfig, spec: &Value) -> Option<DnsConfig> {
    let extra = &spec["dnsConfig"];
    let mut dns = if spec["dnsPolicy"] == "None" {
        DnsConfig::default()
    } else if extra.is_object() {
        node.resolv_conf.clone().unwrap_or_default()
    } else {
        return node.resolv_conf.clone();
    };
    dns.servers.extend(strings(&extra["nameservers"]));
    for s in strings(&extra["searches"]) {
        if !dns.searches.contains(&s) {
            dns.searches.push(s);
        }
    }
    for o in items(&extra["options"]) {
        let name = text(&o["name"]);
        dns.options
            .retain(|kept| kept.split(':').next() != Some(name.as_str()));
        dns.options.push(match o["value"].as_str() {
            Some(v) => format!("{name}:{v}"),
            None => name,
        });
    }
    Some(dns)
}

/// The value of an `env` entry (`value`, or the pod fields `valueFrom.fieldRef` names, as
/// the downward API gives them); `None` for sources a node here does not read yet.
fn env_value(env: &Value, pod: &Value, node: &NodeConfig, pod_ip: &str) -> Option<String> {
    if let Some(v) = env["value"].as_str() {
        return Some(v.to_string());
    }
    let field = env["valueFrom"]["fieldRef"]["fieldPath"].as_str()?;
    let m = &pod["metadata"];
    Some(match field {
        "metadata.name" => text(&m["name"]),
        "metadata.namespace" => text(&m["namespace"]),
        "metadata.uid" => text(&m["uid"]),
        "spec.nodeName" => node.name.clone(),
        "spec.serviceAccountName" => text(&pod["spec"]["serviceAccountName"]),
        "status.podIP" => pod_ip.to_string(),
        "status.hostIP" => node.internal_ip.clone(),
        _ => return None,
    })
}

/// The `ContainerConfig` of container `c` of `pod`, incarnation `attempt`.
pub fn container_config(
    node: &NodeConfig,
    pod: &Value,
    c: &Value,
    attempt: u32,
    pod_ip: &str,
) -> ContainerConfig {
    let uid = text(&pod["metadata"]["uid"]);
    let volumes = items(&pod["spec"]["volumes"]);
    let mut mounts = Vec::new();
    for m in items(&c["volumeMounts"]) {
        let Some(volume) = volumes.iter().find(|v| v["name"] == m["name"]) else {
            continue;
        };
        let Some(mut host_path) = volume_host_path(node, &uid, volume) else {
            continue;
        };
        if let Some(sub) = m["subPath"].as_str().filter(|s| !s.is_empty()) {
            host_path = format!("{host_path}/{sub}");
        }
        mounts.push(Mount {
            container_path: text(&m["mountPath"]),
            host_path,
            readonly: m["readOnly"] == true,
        });
    }
    let mut envs = Vec::new();
    for e in items(&c["env"]) {
        if let Some(value) = env_value(e, pod, node, pod_ip) {
            envs.push((text(&e["name"]), value));
        }
    }
    let limits = Resources::from_list(&c["resources"]["limits"]);
    let requests = Resources::from_list(&c["resources"]["requests"]);
    let sc = &c["securityContext"];
    let pod_sc = &pod["spec"]["securityContext"];
    let security = SecurityContext {
        privileged: sc["privileged"] == true,
        add_capabilities: strings(&sc["capabilities"]["add"]),
        drop_capabilities: strings(&sc["capabilities"]["drop"]),
        run_as_user: sc["runAsUser"].as_i64().or(pod_sc["runAsUser"].as_i64()),
        run_as_group: sc["runAsGroup"].as_i64().or(pod_sc["runAsGroup"].as_i64()),
        read_only_root_filesystem: sc["readOnlyRootFilesystem"] == true,
        allow_privilege_escalation: sc["allowPrivilegeEscalation"].as_bool(),
    };
    let name = text(&c["name"]);
    ContainerConfig {
        log_path: format!("{name}/{attempt}.log"),
        name,
        attempt,
        image: text(&c["image"]),
        command: strings(&c["command"]),
        args: strings(&c["args"]),
        working_dir: text(&c["workingDir"]),
        envs,
        mounts,
        cpu_limit_millis: limits.milli_cpu,
        cpu_request_millis: requests.milli_cpu,
        memory_limit_bytes: limits.memory,
        security,
        annotations: apimachinery::collections::map_from(
            pod["metadata"]["annotations"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.starts_with("kubeplay.io/"))
                .map(|(k, v)| (k.clone(), text(v))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> NodeConfig {
        NodeConfig::simulated("node-1", "4", "8Gi", "10.244.1.0/24", "172.18.0.2")
    }

    /// `GetPodDNS`: the node's resolver with the pod's `dnsConfig` added, or the pod's
    /// alone for `dnsPolicy: None`.
    #[test]
    fn a_pods_resolver_is_the_nodes_plus_its_own() {
        let node = NodeConfig {
            resolv_conf: Some(DnsConfig {
                servers: vec!["10.0.0.2".into()],
                searches: vec!["lan".into()],
                options: vec!["ndots:1".into(), "edns0".into()],
            }),
            ..node()
        };
        let extra = json!({"nameservers": ["1.2.3.4"], "searches": ["lan", "x.test"],
                           "options": [{"name": "ndots", "value": "5"}, {"name": "rotate"}]});
        let dns = |spec: Value| {
            sandbox_config(&node, &json!({"metadata": {"name": "p"}, "spec": spec})).dns
        };
        assert_eq!(dns(json!({})), node.resolv_conf);
        assert_eq!(
            dns(json!({"dnsConfig": extra})),
            Some(DnsConfig {
                servers: vec!["10.0.0.2".into(), "1.2.3.4".into()],
                searches: vec!["lan".into(), "x.test".into()],
                options: vec!["edns0".into(), "ndots:5".into(), "rotate".into()],
            })
        );
        assert_eq!(
            dns(json!({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.2.3.4"]}})),
            Some(DnsConfig {
                servers: vec!["1.2.3.4".into()],
                ..DnsConfig::default()
            })
        );
    }

    #[test]
    fn a_pods_requests_carry_what_the_runtime_needs() {
        let pod = json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                         "annotations": {"kubeplay.io/exit-after": "5s", "other": "x"}},
            "spec": {
                "volumes": [{"name": "data", "emptyDir": {}}, {"name": "host", "hostPath": {"path": "/srv"}},
                            {"name": "cm", "configMap": {"name": "c"}}],
                "containers": [{
                    "name": "httpd", "image": "localhost/busybox:1.35",
                    "command": ["httpd"], "args": ["-f", "-p", "8080"], "workingDir": "/www",
                    "ports": [{"containerPort": 8080, "hostPort": 18080}, {"containerPort": 9090}],
                    "env": [{"name": "A", "value": "1"},
                            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                     {"name": "host", "mountPath": "/host", "readOnly": true},
                                     {"name": "cm", "mountPath": "/etc/cm"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "100m"}},
                    "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}
                }]
            }
        });
        let sandbox = sandbox_config(&node(), &pod);
        assert_eq!(sandbox.hostname, "web-1");
        assert_eq!(sandbox.log_directory, "/var/log/pods/shop_web-1_u-1");
        assert_eq!(sandbox.port_mappings.len(), 1);
        assert_eq!(sandbox.port_mappings[0].host_port, 18080);
        let c = container_config(
            &node(),
            &pod,
            &pod["spec"]["containers"][0],
            2,
            "10.244.1.7",
        );
        assert_eq!(c.argv(), ["httpd", "-f", "-p", "8080"]);
        assert_eq!(c.log_path, "httpd/2.log");
        assert_eq!(
            c.envs,
            [("A", "1"), ("POD", "web-1"), ("IP", "10.244.1.7")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(
            c.mounts,
            vec![
                Mount {
                    container_path: "/data".into(),
                    host_path: "/var/lib/kubelet/pods/u-1/volumes/kubernetes.io~csi/data/mount"
                        .into(),
                    readonly: false
                },
                // Published there by the node's volume plugin, from /srv.
                Mount {
                    container_path: "/host".into(),
                    host_path: "/var/lib/kubelet/pods/u-1/volumes/kubernetes.io~csi/host/mount"
                        .into(),
                    readonly: true
                },
            ]
        );
        assert_eq!((c.cpu_limit_millis, c.cpu_request_millis), (500, 100));
        assert_eq!(c.memory_limit_bytes, 64 << 20);
        assert_eq!(c.security.add_capabilities, ["NET_ADMIN"]);
        assert_eq!(c.annotations.len(), 1);
    }
}
