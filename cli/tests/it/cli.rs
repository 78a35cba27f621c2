//! The `kapstan` binary as a user runs it: every output snapshotted (insta), exit codes, and
//! the failure modes a user meets (no terminal to confirm, stale plans, held locks, crashes).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Project, code, transcript};

#[test]
fn demo_lifecycle_plan_apply_noop_output_destroy() {
    let p = Project::new();
    let o = p.run(&["plan"]);
    snap!("demo_plan", &p, &o);
    assert_eq!(code(&o), 0);

    let o = p.run(&["apply", "--auto-approve", "--parallelism", "1"]);
    snap!("demo_apply", &p, &o);
    assert_eq!(code(&o), 0);

    let o = p.run(&["plan", "--detailed-exitcode"]);
    snap!("demo_plan_noop", &p, &o);
    assert_eq!(code(&o), 0);

    let o = p.run(&["plan", "--var", "nodes=3", "--detailed-exitcode"]);
    snap!("demo_plan_update", &p, &o);
    assert_eq!(code(&o), 2);

    let o = p.run(&["output"]);
    snap!("demo_output", &p, &o);
    let secret = String::from_utf8(p.run(&["output", "db_password"]).stdout).unwrap();
    assert_eq!(
        secret.trim().len(),
        24,
        "a named sensitive output is printed on request"
    );

    // The secret appears nowhere else.
    for args in [
        vec!["show"],
        vec!["show", "--json"],
        vec!["output", "--json"],
        vec!["plan", "--json", "--var", "nodes=3"],
        vec!["state", "show", "database"],
        vec!["state", "pull"],
    ] {
        let o = p.run(&args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains(secret.trim()), "{args:?} leaked the secret");
        assert_eq!(code(&o), 0, "{args:?}: {all}");
    }

    let o = p.run(&["state", "list"]);
    snap!("demo_state_list", &p, &o);

    let o = p.run(&["destroy", "--auto-approve", "--parallelism", "1"]);
    snap!("demo_destroy", &p, &o);
    assert_eq!(code(&o), 0);
    let o = p.run(&["state", "list"]);
    assert!(o.stdout.is_empty());
}

#[test]
fn plan_json_is_terraform_shaped() {
    let p = Project::new();
    let o = p.run(&["plan", "--json"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format_version"], "1.2");
    let rc = v["resource_changes"].as_array().unwrap();
    assert_eq!(rc.len(), 6);
    let db = rc.iter().find(|c| c["name"] == "database").unwrap();
    assert_eq!(db["address"], "kapstan_test_object.database");
    assert_eq!(db["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(db["change"]["after_unknown"]["value"], true);
    insta::assert_json_snapshot!("demo_plan_json", v, {
        ".kapstan.lineage" => "[UUID]",
        ".kapstan.config_hash" => "[SHA256]",
    });
}

#[test]
fn apply_refuses_without_a_terminal_to_confirm() {
    let p = Project::new();
    let o = p.run(&["apply"]);
    assert_eq!(code(&o), 1);
    let t = transcript(&p, &o);
    assert!(t.contains("standard input is not a terminal"), "{t}");
    assert!(t.contains("--auto-approve"), "{t}");
    assert!(
        !p.path().join(".kapstan/state/demo.redb").exists()
            || p.run(&["state", "list"]).stdout.is_empty()
    );
}

#[test]
fn saved_plans_apply_once_and_stale_ones_are_refused() {
    let p = Project::new();
    let o = p.run(&["plan", "--out", "demo.plan"]);
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("kapstan apply demo.plan"));
    let o = p.run(&["apply", "demo.plan"]);
    assert_eq!(code(&o), 0, "{}", transcript(&p, &o));
    let o = p.run(&["apply", "demo.plan"]);
    snap!("stale_plan", &p, &o);
    assert_eq!(code(&o), 1);

    let o = p.run(&["plan", "--var", "nodes=5", "--out", "five.plan"]);
    assert_eq!(code(&o), 0);
    let text = std::fs::read_to_string(p.path().join("five.plan")).unwrap();
    std::fs::write(
        p.path().join("five.plan"),
        text.replacen("\"update\"", "\"delete\"", 1),
    )
    .unwrap();
    let o = p.run(&["apply", "five.plan"]);
    snap!("tampered_plan", &p, &o);
    assert_eq!(code(&o), 1);
    let o = p.run(&["show", "five.plan"]);
    assert_eq!(code(&o), 1);
}

#[test]
fn bad_input_is_reported_with_field_value_and_fix() {
    let p = Project::new();
    let o = p.run(&["plan", "--stack", "nope"]);
    snap!("unknown_stack", &p, &o);
    assert_eq!(code(&o), 1);
    let o = p.run(&["plan", "--api-rate", "0"]);
    assert_eq!(code(&o), 1);
    assert!(transcript(&p, &o).contains("--api-rate 0 is not a positive number"));
    let o = p.run(&["plan", "--var", "nodes=many"]);
    snap!("bad_var", &p, &o);
    assert_eq!(code(&o), 1);

    let stack = serde_json::json!({
        "name": "broken",
        "resources": [
            {"address": "a", "kind": "kapstan_test_object", "config": {"value": {"$ref": {"resource": "b", "attr": "id"}}}},
            {"address": "b", "kind": "kapstan_test_object", "config": {"value": {"$ref": {"resource": "a", "attr": "id"}}}},
        ],
        "outputs": []
    });
    std::fs::write(p.path().join("cycle.json"), stack.to_string()).unwrap();
    let o = p.run(&["validate", "--stack-file", "cycle.json"]);
    snap!("cycle", &p, &o);
    assert_eq!(code(&o), 1);

    let stack = serde_json::json!({
        "name": "broken",
        "resources": [
            {"address": "pw", "kind": "random_password", "config": {"length": 4}},
            {"address": "x", "kind": "kapstan_test_object", "config": {"fail_on": "explode", "value": {"$ref": {"resource": "ghost", "attr": "id"}}}},
            {"address": "y", "kind": "nonexistent_kind", "config": {}},
        ],
        "outputs": []
    });
    std::fs::write(p.path().join("bad.json"), stack.to_string()).unwrap();
    let o = p.run(&["plan", "--stack-file", "bad.json"]);
    snap!("invalid_values", &p, &o);
    assert_eq!(code(&o), 1);
    let o = p.run(&["validate", "--json", "--stack-file", "bad.json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problems"].as_array().unwrap().len(), 4);
}

fn wait_for(path: &Path, timeout: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < timeout,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_held_lock_names_its_holder_and_stale_locks_are_taken_over() {
    let p = Project::new();
    let mut slow = p
        .cmd(&[
            "apply",
            "--auto-approve",
            "--stack",
            "synthetic",
            "--var",
            "resources=2",
            "--var",
            "delay_ms=3000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // apply plans (under a short `plan` lock), then takes the `apply` lock for the run.
    let lock = p.path().join(".kapstan/state/synthetic.lock");
    let start = Instant::now();
    loop {
        wait_for(&lock, Duration::from_secs(20));
        if std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("\"apply\"")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "apply never took its lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = p.run_line("plan --stack synthetic --var resources=2 --var delay_ms=3000");
    assert_eq!(code(&o), 1);
    let t = transcript(&p, &o);
    assert!(t.contains("is locked by"), "{t}");
    let raw = String::from_utf8_lossy(&o.stderr);
    assert!(
        raw.contains(&format!("pid {}", slow.id())),
        "names the holder's pid: {raw}"
    );
    assert!(t.contains("operation `apply`"), "{t}");
    // The holder dies without cleaning up: its lock is stale and the next command takes over.
    slow.kill().unwrap();
    slow.wait().unwrap();
    let o = p.run_line("plan --stack synthetic --var resources=2 --var delay_ms=3000");
    assert_eq!(code(&o), 0, "{}", transcript(&p, &o));
    // The take-over is a warning to the user, not a raw log line with ANSI codes.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: taking over a stale lock"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b') && !stderr.contains("kapstan_state::"),
        "{stderr}"
    );
}

fn objects(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kill_9_during_apply_then_apply_converges_without_duplicates() {
    let p = Project::new();
    let store = p.path().join("cloud");
    let store_var = format!("store={}", store.display());
    let args = [
        "--stack",
        "synthetic",
        "--var",
        "resources=12",
        "--var",
        "shape=wide",
        "--var",
        "delay_ms=150",
        "--var",
        store_var.as_str(),
        "--parallelism",
        "4",
    ];
    let mut full: Vec<&str> = vec!["apply", "--auto-approve"];
    full.extend_from_slice(&args);
    for round in 0..4u64 {
        let mut child = p
            .cmd(&full)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(60 + round * 70));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
    }
    let o = p.run(&full);
    assert_eq!(code(&o), 0, "{}", transcript(&p, &o));
    assert_eq!(objects(&store).len(), 12, "exactly one object per resource");
    let mut plan: Vec<&str> = vec!["plan", "--detailed-exitcode"];
    plan.extend_from_slice(&args);
    let o = p.run(&plan);
    assert_eq!(code(&o), 0, "converged: {}", transcript(&p, &o));
    let mut destroy: Vec<&str> = vec!["destroy", "--auto-approve"];
    destroy.extend_from_slice(&args);
    assert_eq!(code(&p.run(&destroy)), 0);
    assert!(objects(&store).is_empty(), "no orphan");
}

#[test]
fn state_commands_move_remove_rollback_and_unlock() {
    let p = Project::new();
    assert_eq!(code(&p.run(&["apply", "--auto-approve"])), 0);
    let o = p.run(&["state", "mv", "app", "application"]);
    snap!("state_mv", &p, &o);
    let o = p.run(&["state", "rm", "application"]);
    snap!("state_rm", &p, &o);
    let o = p.run(&["state", "rm", "ghost"]);
    snap!("state_rm_missing", &p, &o);
    assert_eq!(code(&o), 1);
    let history = String::from_utf8(p.run(&["state", "history"]).stdout).unwrap();
    let serials: Vec<u64> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let before_mv = serials[serials.len() - 3];
    let o = p.run(&["state", "rollback", &before_mv.to_string()]);
    assert_eq!(code(&o), 0, "{}", transcript(&p, &o));
    let list = String::from_utf8(p.run(&["state", "list"]).stdout).unwrap();
    assert!(list.lines().any(|l| l.starts_with("app\t")), "{list}");
    let o = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&o), 0, "rolled back to a converged state");
    let o = p.run(&["state", "unlock"]);
    snap!("state_unlock_none", &p, &o);
    let o = p.run(&["graph"]);
    snap!("demo_graph", &p, &o);
}

/// DESIGN.md invariant 3: only `providers` speaks HTTP and knows wire formats. The CLI (and
/// the platform library it renders) depends on no HTTP client; its tests may.
#[test]
fn the_cli_and_the_platform_depend_on_no_http_client() {
    const HTTP_CLIENTS: [&str; 7] = [
        "reqwest",
        "hyper",
        "hyper-util",
        "ureq",
        "isahc",
        "surf",
        "attohttpc",
    ];
    for manifest in ["Cargo.toml", "../platform/Cargo.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest);
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let deps = doc["dependencies"].as_table().unwrap();
        for client in HTTP_CLIENTS {
            assert!(
                !deps.contains_key(client),
                "{} depends on the HTTP client `{client}`: move the calls into kapstan-providers",
                path.display()
            );
        }
        assert!(
            deps.contains_key("kapstan-providers"),
            "{} no longer names kapstan-providers: check this test still reads the right table",
            path.display()
        );
    }
}
