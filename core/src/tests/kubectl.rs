//! The interpreter on a running cluster: what it prints is what kubectl prints.

use crate::apiserver::Config;
use crate::apiserver::{Method, Request};
use crate::cluster::Cluster;
use crate::kubectl::*;

fn cluster() -> Cluster {
    let mut c = Cluster::with_nodes(Config::default(), 3);
    c.world.advance(1_000);
    c
}

fn create(c: &mut Cluster, obj: serde_json::Value) {
    let res = crate::apiserver::registry::find_kind(
        obj["apiVersion"].as_str().unwrap(),
        obj["kind"].as_str().unwrap(),
    )
    .unwrap();
    let path = crate::client::collection_path(res, res.namespaced.then_some("default"));
    let resp = Api::send(c, Request::new(Method::Post, &path).json(&obj));
    assert_eq!(resp.code, 201, "{:?}", resp.value());
}

fn web(c: &mut Cluster) {
    create(
        c,
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}}}),
    );
    c.world.advance(20_000);
}

#[test]
fn words_split_as_a_shell_splits_them() {
    assert_eq!(
        split(r#"kubectl label pod x 'note=hello world' a=b\ c"#).unwrap(),
        ["kubectl", "label", "pod", "x", "note=hello world", "a=b c"]
    );
    assert!(split("get 'pods").is_err());
    // Odd input answers with an error, never a panic.
    let mut c = cluster();
    assert_eq!(
        run(&mut c, "get pods -é").stderr,
        "error: unknown shorthand flag: 'é' in -é"
    );
    assert_eq!(
        run(&mut c, "get pods -n").stderr,
        "error: flag needs an argument: 'n' in -n"
    );
    assert_eq!(run(&mut c, "get 'pods").stderr, "error: unterminated quote");
    assert_eq!(run(&mut c, "").stdout, HELP);
}

#[test]
fn get_prints_the_servers_table_aligned_as_kubectl() {
    let mut c = cluster();
    web(&mut c);
    let out = run(&mut c, "kubectl get deployments");
    assert_eq!(out.stdout, "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    3/3     3            3           20s\n");
    let pods = run(&mut c, "get pods");
    let lines: Vec<&str> = pods.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "NAME                   READY   STATUS    RESTARTS   AGE"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("web-") && l.contains("1/1     Running   0")),
        "{lines:?}"
    );
    // Wide adds the columns of priority 1; -A the namespace; --show-labels the labels.
    let wide = run(&mut c, "get pods -o wide");
    assert!(
        wide.stdout
            .starts_with("NAME                   READY   STATUS    RESTARTS   AGE   IP"),
        "{}",
        wide.stdout
    );
    assert!(wide.stdout.contains("NOMINATED NODE   READINESS GATES"));
    let all = run(&mut c, "get deploy -A --show-labels");
    assert_eq!(
        all.stdout.lines().next().unwrap(),
        "NAMESPACE   NAME   READY   UP-TO-DATE   AVAILABLE   AGE   LABELS"
    );
    let nodes = run(&mut c, "get nodes");
    assert_eq!(
        nodes.stdout.lines().next().unwrap(),
        "NAME     STATUS   ROLES    AGE   VERSION"
    );
    assert_eq!(nodes.stdout.lines().count(), 4);
    // --no-headers: the rows alone, aligned among themselves.
    let bare = run(&mut c, "get nodes --no-headers");
    assert_eq!(bare.stdout.lines().count(), 3);
    assert!(
        bare.stdout.starts_with("node-1   Ready   <none>   "),
        "{}",
        bare.stdout
    );
}

#[test]
fn get_by_name_selector_and_other_outputs() {
    let mut c = cluster();
    web(&mut c);
    assert_eq!(
        run(&mut c, "get deployment/web -o name").stdout,
        "deployment.apps/web\n"
    );
    let names = run(&mut c, "get pods -l app=web -o name");
    assert_eq!(names.stdout.lines().count(), 3);
    assert!(names.stdout.starts_with("pod/web-"));
    let yaml = run(&mut c, "get deploy web -o yaml");
    assert!(
        yaml.stdout
            .starts_with("apiVersion: apps/v1\nkind: Deployment\n"),
        "{}",
        yaml.stdout
    );
    let none = run(&mut c, "get pods -l app=nothing");
    assert_eq!(
        (none.stdout.as_str(), none.stderr.as_str()),
        ("", "No resources found in default namespace.")
    );
    let missing = run(&mut c, "get pod nope");
    assert_eq!(
        missing.stderr,
        "Error from server (NotFound): pods \"nope\" not found"
    );
    assert_eq!(missing.code, 1);
    let unknown = run(&mut c, "get widgets");
    assert_eq!(
        unknown.stderr,
        "error: the server doesn't have a resource type \"widgets\""
    );
}

#[test]
fn writes_print_what_kubectl_prints() {
    let mut c = cluster();
    web(&mut c);
    assert_eq!(
        run(&mut c, "scale deployment web --replicas=5").stdout,
        "deployment.apps/web scaled\n"
    );
    c.world.advance(20_000);
    assert_eq!(run(&mut c, "get pods -o name").stdout.lines().count(), 5);
    assert_eq!(
        run(&mut c, "rollout status deployment/web").stdout,
        "deployment \"web\" successfully rolled out\n"
    );
    assert_eq!(
        run(&mut c, "label deployment web tier=front").stdout,
        "deployment.apps/web labeled\n"
    );
    assert_eq!(
        run(&mut c, "label deployment web tier=back").stderr,
        "error: 'tier' already has a value (front), and --overwrite is false"
    );
    assert_eq!(
        run(&mut c, "label deployment web tier=back --overwrite").code,
        0
    );
    assert_eq!(
        run(&mut c, "cordon node-1").stdout,
        "node/node-1 cordoned\n"
    );
    assert_eq!(
        run(&mut c, "cordon node-1").stdout,
        "node/node-1 already cordoned\n"
    );
    let nodes = run(&mut c, "get nodes");
    assert!(
        nodes.stdout.contains("node-1   Ready,SchedulingDisabled"),
        "{}",
        nodes.stdout
    );
    assert_eq!(
        run(&mut c, "uncordon node-1").stdout,
        "node/node-1 uncordoned\n"
    );
    assert_eq!(run(&mut c, "auth can-i delete pods").stdout, "yes\n");
    assert_eq!(
        run(&mut c, "delete deployment web").stdout,
        "deployment.apps \"web\" deleted\n"
    );
    assert!(run(&mut c, "frobnicate")
        .stderr
        .starts_with("error: unknown command \"frobnicate\""));
}

#[test]
fn drain_evicts_through_the_eviction_api() {
    let mut c = cluster();
    web(&mut c);
    let on_node_2 = run(&mut c, "get pods -o wide")
        .stdout
        .lines()
        .filter(|l| l.contains("node-2"))
        .count();
    let out = run(&mut c, "drain node-2 --ignore-daemonsets");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("node/node-2 cordoned\n"));
    assert_eq!(out.stdout.matches(" evicted\n").count(), on_node_2);
    assert!(out.stdout.ends_with("node/node-2 drained\n"));
    c.world.advance(60_000);
    let after = run(&mut c, "get pods -o wide").stdout;
    assert_eq!(
        after.lines().filter(|l| l.contains("node-2")).count(),
        0,
        "{after}"
    );
    assert_eq!(after.lines().count(), 4);
}

#[test]
fn describe_tells_a_pods_story() {
    let mut c = cluster();
    web(&mut c);
    let name = run(&mut c, "get pods -o name")
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("pod/")
        .to_string();
    let out = run(&mut c, &format!("describe pod {name}"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout;
    assert!(
        text.starts_with(&format!(
            "Name:             {name}\nNamespace:        default\n"
        )),
        "{text}"
    );
    assert!(text.contains("Status:           Running\n"), "{text}");
    assert!(text.contains("Controlled By:    ReplicaSet/web-"), "{text}");
    assert!(text.contains("Containers:\n  nginx:\n    Image:          nginx:1.14.2\n    State:          Running\n"), "{text}");
    assert!(
        text.contains("Events:\n  Type    Reason     From"),
        "{text}"
    );
    assert!(
        text.contains("Normal  Scheduled  default-scheduler  Successfully assigned default/"),
        "{text}"
    );
    let node = run(&mut c, "describe node node-1").stdout;
    assert!(node.starts_with("Name:           node-1\n"), "{node}");
    assert!(node.contains("Conditions:\n  Type"), "{node}");
    assert!(node.contains("Allocatable:\n"), "{node}");
    let deploy = run(&mut c, "describe deployment web").stdout;
    assert!(
        deploy.contains(
            "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable"
        ),
        "{deploy}"
    );
    assert!(deploy.contains("ScalingReplicaSet"), "{deploy}");
    assert_eq!(
        run(&mut c, "describe pod nope").stderr,
        "Error from server (NotFound): pods \"nope\" not found"
    );
}

/// `apply -f -` with a heredoc: created, then unchanged, then configured; a bad document
/// gets the server's reason; no `-f` is refused as kubectl refuses it.
#[test]
fn apply_reads_a_heredoc() {
    let mut c = cluster();
    let manifest = |replicas: u32| {
        format!(
            "kubectl apply -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
EOF"
        )
    };
    let first = run(&mut c, &manifest(2));
    assert_eq!(
        first.stdout,
        "configmap/settings created\ndeployment.apps/web created\n"
    );
    let again = run(&mut c, &manifest(2));
    assert_eq!(
        again.stdout,
        "configmap/settings unchanged\ndeployment.apps/web unchanged\n"
    );
    let scaled = run(&mut c, &manifest(4));
    assert_eq!(
        scaled.stdout,
        "configmap/settings unchanged\ndeployment.apps/web configured\n"
    );
    let bad = run(
        &mut c,
        "apply -f - <<'END'\napiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers: [{name: c, image: nginx}]\nEND",
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.starts_with(
            "Error from server (Invalid): error when creating \"STDIN\": Pod \"Bad_Name\" is invalid: metadata.name"
        ),
        "{}",
        bad.stderr
    );
    let no_file = run(&mut c, "apply");
    assert!(no_file
        .stderr
        .starts_with("error: must specify one of -f and -k"));
    assert_eq!(heredoc_delimiter("apply -f - << 'EOF'"), Some("EOF".into()));
    assert_eq!(heredoc_delimiter("get pods"), None);
}

/// `set image`, then `rollout history`, `undo` back to the first image and `restart`.
#[test]
fn set_image_and_the_rollout_verbs() {
    let mut c = cluster();
    web(&mut c);
    let set = run(&mut c, "set image deployment/web nginx=nginx:1.25");
    assert_eq!(set.stdout, "deployment.apps/web image updated\n");
    assert_eq!(
        run(&mut c, "set image deployment/web nginx=nginx:1.25").stdout,
        "",
        "nothing changed, nothing reported"
    );
    let missing = run(&mut c, "set image deployment/web php=php:8");
    assert_eq!(
        missing.stderr,
        "error: unable to find container named \"php\""
    );
    c.world.advance(60_000);
    let status = run(&mut c, "rollout status deployment/web");
    assert_eq!(
        status.stdout,
        "deployment \"web\" successfully rolled out\n"
    );
    let history = run(&mut c, "rollout history deployment/web");
    assert_eq!(
        history.stdout,
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
    );
    let undo = run(&mut c, "rollout undo deployment/web");
    assert_eq!(undo.stdout, "deployment.apps/web rolled back\n");
    c.world.advance(60_000);
    let pods = run(&mut c, "get pods -o yaml").stdout;
    assert!(
        pods.contains("image: nginx:1.14.2") && !pods.contains("image: nginx:1.25"),
        "back on the first image: {pods}"
    );
    assert_eq!(
        run(&mut c, "rollout history deploy web").stdout,
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n",
        "the undone revision comes back as the newest"
    );
    let restart = run(&mut c, "rollout restart deployment/web");
    assert_eq!(restart.stdout, "deployment.apps/web restarted\n");
    let d = run(&mut c, "get deployment web -o json").stdout;
    assert!(d.contains("\"kubectl.kubernetes.io/restartedAt\""), "{d}");
    assert_eq!(
        run(&mut c, "rollout history pod/x").stderr,
        "error: no rollbacker or history viewer has been implemented for Pod"
    );
}

/// `--dry-run=server` and `--as` in the terminal, as real kubectl sends them: every request
/// of the command carries `dryRun=All` or the impersonation; nothing silently goes through as
/// a plain write.
#[test]
fn dry_run_and_impersonation_travel_with_every_request() {
    let mut c = cluster();
    web(&mut c);
    let revision = c.world.api_ref().revision();
    let out = run(&mut c, "scale deployment web --replicas=5 --dry-run=server");
    assert_eq!(out.stdout, "deployment.apps/web scaled (server dry run)\n");
    let out = run(&mut c, "delete deployment web --dry-run=server");
    assert_eq!(
        out.stdout,
        "deployment.apps \"web\" deleted (server dry run)\n"
    );
    assert_eq!(c.world.api_ref().revision(), revision, "nothing stored");
    let stored: serde_json::Value =
        serde_json::from_str(&run(&mut c, "get deployment web -o json").stdout).unwrap();
    assert_eq!(stored["spec"]["replicas"], 3);
    assert!(
        run(&mut c, "scale deployment web --replicas=1 --dry-run=client")
            .stderr
            .contains("--dry-run=server")
    );
    let denied = run(
        &mut c,
        "get pods --as=system:serviceaccount:default:default",
    );
    assert_eq!(
        denied.stderr,
        "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    assert_eq!(
        run(&mut c, "auth can-i create pods --as=someone").stdout,
        "no\n"
    );
}

/// `apply --server-side` in the terminal: the server merges and owns; a conflict is printed
/// as kubectl prints it; `get -o yaml` hides managedFields unless asked.
#[test]
fn server_side_apply_in_the_terminal() {
    let mut c = cluster();
    let manifest = |replicas: u32| {
        format!(
            "apply --server-side -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  replicas: \"{replicas}\"\nEOF"
        )
    };
    assert_eq!(
        run(&mut c, &manifest(1)).stdout,
        "configmap/cfg serverside-applied\n"
    );
    let yaml = run(&mut c, "get configmap cfg -o yaml").stdout;
    assert!(!yaml.contains("managedFields"), "{yaml}");
    let yaml = run(&mut c, "get configmap cfg -o yaml --show-managed-fields").stdout;
    assert!(
        yaml.contains("manager: kubectl\n") && yaml.contains("operation: Apply"),
        "{yaml}"
    );
    let out = run(
        &mut c,
        "patch configmap cfg -p '{\"data\":{\"replicas\":\"5\"}}'",
    );
    assert_eq!(out.stdout, "configmap/cfg patched\n", "{}", out.stderr);
    let out = run(&mut c, &manifest(2));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: Apply failed with 1 conflict: conflict with \"kubectl-patch\" using v1: .data.replicas\nPlease review the fields above"),
        "{}",
        out.stderr
    );
    let forced = manifest(2).replace("--server-side", "--server-side --force-conflicts");
    assert_eq!(
        run(&mut c, &forced).stdout,
        "configmap/cfg serverside-applied\n"
    );
}

/// `exec` in the terminal: the command runs in the simulated container, its exit code is
/// kubectl's; the old form without `--` is refused as kubectl refuses it.
#[test]
fn exec_runs_a_command_in_the_container() {
    let mut c = cluster();
    web(&mut c);
    let pods = run(&mut c, "get pods -o name").stdout;
    let pod = pods
        .lines()
        .next()
        .expect("a pod")
        .trim_start_matches("pod/")
        .to_string();
    let out = run(
        &mut c,
        &format!("exec {pod} -- sh -c 'echo $HOSTNAME; exit 2'"),
    );
    assert_eq!(out.stdout, format!("{pod}\n"));
    assert_eq!(out.stderr, "command terminated with exit code 2");
    assert_eq!(out.code, 2);
    assert_eq!(
        run(&mut c, &format!("exec {pod} -c nginx -- hostname")).stdout,
        format!("{pod}\n")
    );
    assert_eq!(
        run(&mut c, &format!("exec {pod} hostname")).stderr,
        "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead"
    );
    assert!(run(&mut c, "exec nope -- ls")
        .stderr
        .contains("pods \"nope\" not found"));
}

/// The terminal reads a manifest as kubectl does (YAML 1.1): `value: yes` is a boolean, which
/// the server refuses in the words real kubectl shows (`tests/kubectl/yaml-1-1.yaml`).
#[test]
fn manifests_read_yes_as_kubectl_reads_it() {
    let mut c = cluster();
    let manifest = |value: &str| {
        format!(
            "apply -f - <<EOF\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: flags}}\nspec:\n  selector: {{matchLabels: {{app: flags}}}}\n  template:\n    metadata: {{labels: {{app: flags}}}}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n        env: [{{name: DEBUG, value: {value}}}]\nEOF"
        )
    };
    let out = run(&mut c, &manifest("yes"));
    assert_eq!(
        out.stderr,
        "Error from server (BadRequest): error when creating \"STDIN\": Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal bool into Go struct field EnvVar.spec.template.spec.containers.env.value of type string\n"
    );
    assert_eq!(
        run(&mut c, &manifest("\"yes\"")).stdout,
        "deployment.apps/flags created\n"
    );
}

/// The generators and the questions people type first: `create`, `run`, `expose`,
/// `auth whoami`, `api-versions`, each printing what kubectl prints.
#[test]
fn create_run_expose_and_whoami() {
    let mut c = cluster();
    assert_eq!(
        run(&mut c, "create namespace team-a").stdout,
        "namespace/team-a created\n"
    );
    assert_eq!(
        run(
            &mut c,
            "create deployment web --image=nginx:1.27 --replicas=2 --port=80"
        )
        .stdout,
        "deployment.apps/web created\n"
    );
    let d: serde_json::Value =
        serde_json::from_str(&run(&mut c, "get deployment web -o json").stdout).unwrap();
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["name"],
        "nginx"
    );
    assert_eq!(
        d["metadata"]["managedFields"],
        serde_json::Value::Null,
        "hidden by get"
    );
    assert_eq!(
        run(&mut c, "expose deployment web").stdout,
        "service/web exposed\n"
    );
    let svc: serde_json::Value =
        serde_json::from_str(&run(&mut c, "get service web -o json").stdout).unwrap();
    assert_eq!(svc["spec"]["selector"], serde_json::json!({"app": "web"}));
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(
        run(
            &mut c,
            "create configmap cfg --from-literal=a=1 --from-literal=b=2"
        )
        .stdout,
        "configmap/cfg created\n"
    );
    let cm: serde_json::Value =
        serde_json::from_str(&run(&mut c, "get configmap cfg -o json").stdout).unwrap();
    assert_eq!(cm["data"], serde_json::json!({"a": "1", "b": "2"}));
    assert_eq!(
        run(
            &mut c,
            "create secret generic pw --from-literal=password=s3cret"
        )
        .stdout,
        "secret/pw created\n"
    );
    let s: serde_json::Value =
        serde_json::from_str(&run(&mut c, "get secret pw -o json").stdout).unwrap();
    assert_eq!(s["data"]["password"], "czNjcmV0");
    assert_eq!(
        run(
            &mut c,
            "run once --image=busybox --restart=Never --env=A=1 -- sh -c 'exit 0'"
        )
        .stdout,
        "pod/once created\n"
    );
    let p: serde_json::Value =
        serde_json::from_str(&run(&mut c, "get pod once -o json").stdout).unwrap();
    assert_eq!(p["metadata"]["labels"], serde_json::json!({"run": "once"}));
    assert_eq!(
        p["spec"]["containers"][0]["args"],
        serde_json::json!(["sh", "-c", "exit 0"])
    );
    assert_eq!(p["spec"]["restartPolicy"], "Never");
    assert_eq!(
        run(&mut c, "auth whoami").stdout,
        "ATTRIBUTE   VALUE\nUsername    kubernetes-admin\nUID         kubernetes-admin\nGroups      [system:masters system:authenticated]\n"
    );
    let versions = run(&mut c, "api-versions").stdout;
    assert!(
        versions.starts_with("apps/v1\n") && versions.ends_with("\nv1\n"),
        "{versions}"
    );
    assert!(run(&mut c, "create job x --image=busybox")
        .stderr
        .contains("this terminal creates"));
}

/// `-o jsonpath=`: kubectl's templates over what `get` fetched.
#[test]
fn get_prints_jsonpath_templates() {
    let mut c = cluster();
    web(&mut c);
    let out = run(
        &mut c,
        "get deployment web -o jsonpath='{.spec.replicas} {.metadata.name}'",
    );
    assert_eq!(out.stdout, "3 web");
    let out = run(
        &mut c,
        r#"get pods -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'"#,
    );
    assert_eq!(out.stdout, "True\nTrue\nTrue\n", "{}", out.stderr);
    let out = run(
        &mut c,
        "get deployment web -o jsonpath={.metadata.managedFields}",
    );
    assert_eq!(
        out.stdout, "",
        "managedFields hidden, as kubectl hides them"
    );
    let out = run(
        &mut c,
        "get deployment web -o custom-columns=NAME:.metadata.name,IMAGES:.spec.template.spec.containers[*].image,PAUSED:.spec.paused",
    );
    assert_eq!(
        out.stdout,
        "NAME   IMAGES         PAUSED\nweb    nginx:1.14.2   <none>\n"
    );
}

/// `taint`: added, refused again without `--overwrite`, removed; the scheduler reads them.
#[test]
fn taint_adds_and_removes_node_taints() {
    let mut c = cluster();
    assert_eq!(
        run(&mut c, "taint nodes node-1 dedicated=gpu:NoSchedule").stdout,
        "node/node-1 tainted\n"
    );
    assert_eq!(
        run(&mut c, "taint nodes node-1 dedicated=ml:NoSchedule").stderr,
        "error: node node-1 already has dedicated taint(s) with same effect(s) and --overwrite is false"
    );
    assert_eq!(
        run(
            &mut c,
            "taint nodes node-1 dedicated=ml:NoSchedule --overwrite"
        )
        .stdout,
        "node/node-1 tainted\n"
    );
    let taints = run(&mut c, "get node node-1 -o jsonpath={.spec.taints}").stdout;
    // Keys sorted, as kubectl's JSON of its (map) objects has them.
    assert_eq!(
        taints,
        r#"[{"effect":"NoSchedule","key":"dedicated","value":"ml"}]"#
    );
    assert_eq!(
        run(&mut c, "taint node/node-1 dedicated:NoSchedule-").stdout,
        "node/node-1 untainted\n"
    );
    assert_eq!(
        run(&mut c, "taint nodes node-1 dedicated-").stderr,
        "error: taint \"dedicated\" not found"
    );
    assert!(run(&mut c, "taint nodes node-1 a=b:Sometimes")
        .stderr
        .contains("invalid taint effect"));
}

/// `replace -f -`: the manifest put in place of the object; a missing one is NotFound.
#[test]
fn replace_puts_the_manifest_in_place() {
    let mut c = cluster();
    assert_eq!(
        run(&mut c, "create configmap cfg --from-literal=a=1").stdout,
        "configmap/cfg created\n"
    );
    let manifest = |name: &str| {
        format!("replace -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  b: \"2\"\nEOF")
    };
    assert_eq!(
        run(&mut c, &manifest("cfg")).stdout,
        "configmap/cfg replaced\n"
    );
    assert_eq!(
        run(&mut c, "get configmap cfg -o jsonpath={.data}").stdout,
        r#"{"b":"2"}"#
    );
    let out = run(&mut c, &manifest("nope"));
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): error when replacing \"STDIN\": configmaps \"nope\" not found\n"
    );
    assert_eq!(out.code, 1);
}
