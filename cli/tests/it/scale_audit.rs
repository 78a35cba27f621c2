//! `kapstan scale` and `kapstan audit` against environments deployed in the offline sandbox,
//! run as a user runs them: the analysis changes nothing, `--nodes` changes only the pool,
//! and violations planted with kubectl are found and, where kapstan manages the object,
//! fixed by `audit --fix`.
//!
//! Needs helm and kubectl in `$KAPSTAN_TOOLS/bin` (default `<workspace>/.tools/bin`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::support::{Project, report as text, tools_bin};

/// Serves the persisted sandbox on the port `up` recorded (the kubeconfig points there)
/// while `f` runs, then stops it with SIGINT so it saves its state.
fn with_sandbox<T>(p: &Project, f: impl FnOnce(u16) -> T) -> T {
    let port = p.sandbox_port();
    let addr = format!("127.0.0.1:{port}");
    let data = p.dir.path().join(".kapstan/sandbox");
    let mut serve: Child = p
        .command(
            Path::new(env!("CARGO_BIN_EXE_kapstan")),
            &[
                "sandbox",
                "serve",
                "--addr",
                &addr,
                "--speed",
                "20",
                "--data-dir",
                data.to_str().unwrap(),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(
        first.contains("Sandbox listening on"),
        "sandbox serve did not start: {first}"
    );
    let out = f(port);
    let _ = Command::new("kill")
        .args(["-INT", &serve.id().to_string()])
        .status();
    let _ = serve.wait();
    out
}

fn kubectl(p: &Project, env: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let kubeconfig = p.home.path().join(format!(".kube/config-coder-{env}"));
    let mut c = p.command(&tools_bin().join("kubectl"), args);
    c.env("KUBECONFIG", kubeconfig)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "kubectl {}: {}",
        args.join(" "),
        text(&o)
    );
    o
}

/// `GET /sandbox/v1/resources` over a plain HTTP/1.0 connection.
fn sandbox_resources(port: u16) -> Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /sandbox/v1/resources HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    serde_json::from_str(body).unwrap()
}

#[test]
fn scale_analyzes_then_resizes_only_the_pool_and_audit_reports_default_secrets() {
    let p = Project::new();
    p.up_in_sandbox("dev");
    let overrides = p.dir.path().join("environments/dev.toml");
    scale_analyze_only_changes_nothing(&p, &overrides);
    scale_nodes_updates_only_the_pool(&p, &overrides);
    the_sandbox_holds_three_nodes_then_a_secret_is_planted(&p);

    // A later plan of the whole environment agrees with what scale applied.
    p.up_plans_nothing("dev", "after scale");
    audit_reports_the_planted_secret_for_manual_action(&p);
}

/// `scale --analyze-only` prints both costs and the capacity and writes nothing.
fn scale_analyze_only_changes_nothing(p: &Project, overrides: &Path) {
    let out = p.ok_line("scale --env dev --nodes 3 --analyze-only --sandbox");
    for needle in [
        "current:   €",
        "proposed:  €",
        "change:    +€",
        "Capacity (Kubernetes API, 2 of 2 node(s) ready):",
        "of 8 cores allocatable requested",
        "of 32Gi allocatable requested",
        "pending",
        "Analysis only: nothing was changed",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    assert!(
        !overrides.exists(),
        "--analyze-only wrote {}",
        overrides.display()
    );
}

/// `scale --nodes 3` is one in-place update of the pool, written to the override file.
fn scale_nodes_updates_only_the_pool(p: &Project, overrides: &Path) {
    let out = p.ok_line("scale --env dev --nodes 3 --auto-approve --sandbox");
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{out}"
    );
    assert!(
        out.contains("scaleway_k8s_pool.pool-default will be updated in place"),
        "{out}"
    );
    assert_eq!(out.matches(" will be ").count(), 1, "{out}");
    assert!(
        out.contains("size        = 2 -> 3"),
        "the size change is planned:\n{out}"
    );
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(overrides).unwrap()).unwrap();
    assert_eq!(file["pool"]["size"].as_integer(), Some(3), "{file:?}");
    assert_eq!(
        file["pool"]["autoscaling"].as_bool(),
        Some(false),
        "{file:?}"
    );
}

/// The sandbox holds a pool of 3 nodes; a Secret is planted in `default` with kubectl.
fn the_sandbox_holds_three_nodes_then_a_secret_is_planted(p: &Project) {
    with_sandbox(p, |port| {
        let doc = sandbox_resources(port);
        let pools = doc["resources"]["k8s.pool"].as_array().unwrap();
        assert_eq!(pools.len(), 1, "{pools:?}");
        assert_eq!(pools[0]["object"]["size"], 3, "{:?}", pools[0]);
        assert_eq!(pools[0]["object"]["autoscaling"], false);
        let nodes = kubectl(p, "dev", &["get", "nodes", "-o", "name"], None);
        assert_eq!(String::from_utf8_lossy(&nodes.stdout).lines().count(), 3);
        kubectl(
            p,
            "dev",
            &["apply", "-f", "-"],
            Some(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked-token\n  namespace: default\nstringData:\n  token: planted\n",
            ),
        );
    });
}

/// `audit --fix`: the planted Secret is a medium finding kapstan does not manage, so it needs
/// manual action and the exit is 0, without printing the value; the JSON report says the same.
fn audit_reports_the_planted_secret_for_manual_action(p: &Project) {
    let o = p.run_line("audit --env dev --sandbox --fix --auto-approve");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(out.contains("secret/default/leaked-token"), "{out}");
    assert!(out.contains("need manual action"), "{out}");
    assert!(
        !out.contains("planted"),
        "a secret value was printed:\n{out}"
    );
    let json: Value =
        serde_json::from_str(&p.ok(&["audit", "--env", "dev", "--sandbox", "--format", "json"]))
            .unwrap();
    assert_eq!(json["summary"]["high"], 0, "{json}");
    assert_eq!(json["summary"]["medium"], 1, "{json}");
    assert_eq!(json["findings"][0]["check"], "secrets", "{json}");
}

#[test]
fn audit_finds_planted_violations_and_fix_restores_them() {
    let p = Project::new();
    p.ok_line("up --env staging --sandbox --auto-approve --no-coder");
    let clean = p.ok(&["audit", "--env", "staging", "--sandbox"]);
    assert!(clean.contains("No findings"), "{clean}");

    with_sandbox(&p, |_| {
        kubectl(
            &p,
            "staging",
            &[
                "label",
                "namespace",
                "coder",
                "pod-security.kubernetes.io/enforce-",
            ],
            None,
        );
        kubectl(
            &p,
            "staging",
            &["-n", "monitoring", "delete", "networkpolicy", "deny-all"],
            None,
        );
    });

    let o = p.run(&["audit", "--env", "staging", "--sandbox"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(2),
        "high findings exit 2: {}",
        text(&o)
    );
    assert!(
        out.contains("pod-security.kubernetes.io/enforce is missing, the policy wants `baseline`"),
        "{out}"
    );
    assert!(
        out.contains("namespace/monitoring  no default-deny ingress policy"),
        "{out}"
    );

    let fixed = p.ok_line("audit --env staging --sandbox --fix --auto-approve");
    assert!(
        fixed.contains("re-applying namespace-coder, netpol-monitoring-deny-all"),
        "{fixed}"
    );
    assert!(
        fixed.contains("Plan: 1 to add, 1 to change, 0 to destroy."),
        "{fixed}"
    );
    let after = fixed.split("After the fix:").nth(1).unwrap_or_default();
    assert!(after.contains("No findings"), "{fixed}");
    let json: Value =
        serde_json::from_str(&p.ok_line("audit --env staging --sandbox --format json")).unwrap();
    assert_eq!(json["summary"]["findings"], 0, "{json}");
}
