//! `kubectl exec` in a simulated container: a small built-in command set over what the
//! container would see — its environment as the kubelet builds it, its hostname, the `/etc`
//! files the kubelet writes (`hostname`, `hosts`, `resolv.conf`) and its volume mounts. A real
//! node runs the real command through CRI instead.
//!
//! Commands: `echo`, `env`/`printenv`, `hostname`, `cat`, `ls`, `pwd`, `whoami`, `id`,
//! `true`, `false`, `sleep`, `exit N`, and `sh -c '…'` running those, separated by `;` or
//! `&&`, with `$VAR` expanded. Anything else is not found, as runc says it.

use serde_json::Value;

use crate::cri::DnsConfig;

/// The container an exec runs in.
pub struct Target<'a> {
    pub pod: &'a Value,
    pub container: &'a str,
    pub pod_ip: Option<&'a str>,
    pub dns: Option<DnsConfig>,
}

/// What a command wrote and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl Output {
    fn ok(stdout: impl Into<String>) -> Output {
        Output {
            stdout: stdout.into(),
            ..Output::default()
        }
    }

    fn fail(stderr: impl Into<String>, exit_code: i32) -> Output {
        Output {
            stderr: stderr.into(),
            exit_code,
            ..Output::default()
        }
    }
}

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn run(t: &Target, command: &[String]) -> Output {
    match command {
        [] => Output::fail("no command given\n", 126),
        [sh, flag, script, ..] if is_shell(sh) && flag == "-c" => shell(t, script),
        _ => builtin(t, command),
    }
}

fn is_shell(cmd: &str) -> bool {
    matches!(cmd, "sh" | "/bin/sh" | "bash" | "/bin/bash")
}

/// A `sh -c` script: commands separated by `;` (go on) or `&&` (stop at a failure).
fn shell(t: &Target, script: &str) -> Output {
    let env = environment(t);
    let mut out = Output::default();
    for part in script.split(';') {
        for (j, step) in part.split("&&").enumerate() {
            if j > 0 && out.exit_code != 0 {
                break;
            }
            let Ok(words) = apimachinery::shell::split(step, Some(&env)) else {
                out.stderr
                    .push_str("sh: syntax error: unterminated quoted string\n");
                out.exit_code = 2;
                return out;
            };
            if words.is_empty() {
                continue;
            }
            if words[0] == "exit" {
                out.exit_code = words.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
                return out;
            }
            let step = builtin(t, &words);
            out.stdout.push_str(&step.stdout);
            out.stderr.push_str(&step.stderr);
            out.exit_code = step.exit_code;
        }
    }
    out
}

fn builtin(t: &Target, command: &[String]) -> Output {
    let args = &command[1..];
    match command[0].rsplit('/').next().unwrap_or_default() {
        "echo" => Output::ok(format!("{}\n", args.join(" "))),
        "env" | "printenv" if args.is_empty() => Output::ok(
            environment(t)
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect::<String>(),
        ),
        "printenv" => {
            let env = environment(t);
            let found: Vec<&str> = args
                .iter()
                .filter_map(|a| env.iter().find(|(k, _)| k == a).map(|(_, v)| v.as_str()))
                .collect();
            let out = Output::ok(found.iter().map(|v| format!("{v}\n")).collect::<String>());
            if found.len() == args.len() {
                out
            } else {
                Output { exit_code: 1, ..out }
            }
        }
        "hostname" => Output::ok(format!("{}\n", hostname(t))),
        "pwd" => Output::ok("/\n"),
        "whoami" => Output::ok("root\n"),
        "id" => Output::ok("uid=0(root) gid=0(root) groups=0(root)\n"),
        "true" | "sleep" => Output::default(),
        "false" => Output::fail("", 1),
        "exit" => Output::fail("", args.first().and_then(|n| n.parse().ok()).unwrap_or(0)),
        "cat" => cat(t, args),
        "ls" => ls(t, args),
        other => Output::fail(
            format!("OCI runtime exec failed: exec failed: unable to start container process: exec: \"{other}\": executable file not found in $PATH: unknown\r\n"),
            127,
        ),
    }
}

fn hostname(t: &Target) -> String {
    let spec = &t.pod["spec"];
    spec["hostname"]
        .as_str()
        .or(t.pod["metadata"]["name"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn container_spec<'a>(t: &Target<'a>) -> &'a Value {
    t.pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == t.container))
        .unwrap_or(&Value::Null)
}

/// The container's environment as the runtime sets it: `PATH`, `HOSTNAME`, the container's
/// `env` (values, and the pod fields `fieldRef` names), the `kubernetes` Service's
/// variables, `HOME`.
fn environment(t: &Target) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), PATH.to_string()),
        ("HOSTNAME".to_string(), hostname(t)),
    ];
    for e in container_spec(t)["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default().to_string();
        let value = match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            Some("metadata.name") => t.pod["metadata"]["name"].as_str().map(str::to_string),
            Some("metadata.namespace") => {
                t.pod["metadata"]["namespace"].as_str().map(str::to_string)
            }
            Some("spec.nodeName") => t.pod["spec"]["nodeName"].as_str().map(str::to_string),
            Some("status.podIP") => t.pod_ip.map(str::to_string),
            Some(_) => None,
            None => Some(e["value"].as_str().unwrap_or_default().to_string()),
        };
        env.push((name, value.unwrap_or_default()));
    }
    for (k, v) in [
        ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
        ("KUBERNETES_SERVICE_PORT", "443"),
        ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
        ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
        ("HOME", "/root"),
    ] {
        env.push((k.to_string(), v.to_string()));
    }
    env
}

/// The files the kubelet writes into every container.
fn etc_file(t: &Target, path: &str) -> Option<String> {
    match path {
        "/etc/hostname" => Some(format!("{}\n", hostname(t))),
        "/etc/hosts" => {
            let mut hosts = String::from(
                "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
            );
            if let Some(ip) = t.pod_ip {
                hosts.push_str(&format!("{ip}\t{}\n", hostname(t)));
            }
            Some(hosts)
        }
        "/etc/resolv.conf" => {
            let dns = t.dns.clone().unwrap_or_default();
            let mut out = String::new();
            if !dns.searches.is_empty() {
                out.push_str(&format!("search {}\n", dns.searches.join(" ")));
            }
            for s in &dns.servers {
                out.push_str(&format!("nameserver {s}\n"));
            }
            if !dns.options.is_empty() {
                out.push_str(&format!("options {}\n", dns.options.join(" ")));
            }
            Some(out)
        }
        _ => None,
    }
}

/// The container's mount points (`volumeMounts`), each an empty directory here: the
/// simulated runtime keeps no file contents.
fn mounts<'a>(t: &Target<'a>) -> Vec<&'a str> {
    container_spec(t)["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["mountPath"].as_str())
        .collect()
}

fn cat(t: &Target, args: &[String]) -> Output {
    let mut out = Output::default();
    for path in args {
        match etc_file(t, path) {
            Some(text) => out.stdout.push_str(&text),
            None => {
                let what = if mounts(t).contains(&path.trim_end_matches('/')) {
                    "Is a directory"
                } else {
                    "No such file or directory"
                };
                out.stderr.push_str(&format!("cat: {path}: {what}\n"));
                out.exit_code = 1;
            }
        }
    }
    out
}

fn ls(t: &Target, args: &[String]) -> Output {
    let dirs: Vec<&str> = match args.iter().filter(|a| !a.starts_with('-')).count() {
        0 => vec!["/"],
        _ => args
            .iter()
            .filter(|a| !a.starts_with('-'))
            .map(String::as_str)
            .collect(),
    };
    let mut out = Output::default();
    for dir in dirs {
        let dir = if dir == "/" {
            dir
        } else {
            dir.trim_end_matches('/')
        };
        let mut entries: Vec<String> = match dir {
            "/" => [
                "bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "var",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "/etc" => vec!["hostname".into(), "hosts".into(), "resolv.conf".into()],
            d if mounts(t).contains(&d) => Vec::new(),
            d if etc_file(t, d).is_some() => vec![d.to_string()],
            d => {
                out.stderr
                    .push_str(&format!("ls: {d}: No such file or directory\n"));
                out.exit_code = 1;
                continue;
            }
        };
        // Mount points show up in their parent directory.
        for m in mounts(t) {
            let (parent, leaf) = m.rsplit_once('/').unwrap_or(("", m));
            let parent = if parent.is_empty() { "/" } else { parent };
            if parent == dir && !entries.iter().any(|e| e == leaf) {
                entries.push(leaf.to_string());
            }
        }
        entries.sort();
        out.stdout.extend(entries.iter().map(|e| format!("{e}\n")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {"nodeName": "node-1", "containers": [{
                "name": "app", "image": "nginx",
                "env": [{"name": "MODE", "value": "prod"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]
            }]}
        })
    }

    fn exec(cmd: &[&str]) -> Output {
        let pod = pod();
        let t = Target {
            pod: &pod,
            container: "app",
            pod_ip: Some("10.244.1.7"),
            dns: Some(DnsConfig {
                servers: vec!["10.96.0.10".into()],
                searches: vec!["shop.svc.cluster.local".into()],
                options: vec!["ndots:5".into()],
            }),
        };
        run(&t, &cmd.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_container_sees_its_environment_hostname_and_files() {
        assert_eq!(exec(&["echo", "hello", "world"]).stdout, "hello world\n");
        assert_eq!(exec(&["hostname"]).stdout, "web-1\n");
        let env = exec(&["env"]).stdout;
        assert!(env.starts_with("PATH=/usr/local/sbin"), "{env}");
        assert!(
            env.contains("\nHOSTNAME=web-1\nMODE=prod\nPOD=web-1\n"),
            "{env}"
        );
        assert!(env.contains("KUBERNETES_SERVICE_HOST=10.96.0.1\n"), "{env}");
        assert_eq!(exec(&["printenv", "MODE"]).stdout, "prod\n");
        assert!(exec(&["cat", "/etc/hosts"])
            .stdout
            .ends_with("10.244.1.7\tweb-1\n"));
        assert_eq!(
            exec(&["cat", "/etc/resolv.conf"]).stdout,
            "search shop.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
        );
        assert_eq!(
            exec(&["ls", "/"]).stdout,
            "bin\ndata\ndev\netc\nhome\nproc\nroot\nsys\ntmp\nusr\nvar\n"
        );
        assert_eq!(exec(&["ls", "/data"]), Output::default());
    }

    #[test]
    fn shells_scripts_exit_codes_and_missing_commands() {
        let out = exec(&[
            "sh",
            "-c",
            "echo $HOSTNAME in $MODE && false && echo never; echo after",
        ]);
        assert_eq!(out.stdout, "web-1 in prod\nafter\n");
        assert_eq!(
            exec(&["sh", "-c", "echo 'a  b' \"$POD\"; exit 3"]).stdout,
            "a  b web-1\n"
        );
        assert_eq!(exec(&["sh", "-c", "exit 3"]).exit_code, 3);
        let cat = exec(&["cat", "/nope"]);
        assert_eq!(
            (cat.stderr.as_str(), cat.exit_code),
            ("cat: /nope: No such file or directory\n", 1)
        );
        let missing = exec(&["curl", "x"]);
        assert_eq!(missing.exit_code, 127);
        assert!(missing
            .stderr
            .contains("exec: \"curl\": executable file not found in $PATH"));
    }
}
