//! Every `--env` command works on a sandboxed environment: after `up --sandbox`, `plan`,
//! `drift`, `show` and `output` take `--sandbox` and plan nothing; `kapstan sandbox serve`
//! in the project serves the persisted sandbox on its recorded port, the platform answers
//! kubectl and its access URL while it runs, and commands run meanwhile use it instead of
//! moving the port.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{Project, text, tools_bin};

/// A project whose dev environment has one template, which keeps the app phase short.
fn project() -> Project {
    let p = Project::new();
    p.write(
        "environments/dev.toml",
        "[templates]\ninclude = [\"go-fiber\"]\n",
    );
    p
}

#[test]
fn after_up_sandbox_every_env_command_takes_sandbox_and_the_served_platform_answers() {
    let p = project();
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--auto-approve"]);
    let up = text(&o);
    assert!(o.status.success(), "{up}");
    // `up` shows each phase's plan as `plan` does and ends each phase like `apply`.
    for header in [
        "=== Stack coder-dev-infra ===",
        "=== Stack coder-dev-app ===",
    ] {
        assert!(up.contains(header), "{header}: {up}");
    }
    assert!(up.contains("Cost: €0.00/month → €"), "the cost line: {up}");
    assert_eq!(
        up.matches("Apply complete! Resources: ").count(),
        2,
        "one per phase: {up}"
    );
    let access_url = up
        .lines()
        .find_map(|l| l.strip_prefix("Access URL:"))
        .map(|u| u.trim().to_string())
        .expect("access URL printed");
    let port = p.sandbox_port();

    // Without --sandbox nothing waits on a loopback cluster nobody serves: one error, the fix.
    for args in [
        vec!["plan", "--env", "dev"],
        vec!["plan", "--env", "dev", "--phase", "app"],
        vec!["templates", "push", "--env", "dev", "go-fiber"],
    ] {
        let o = p.run(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {t}");
        assert!(
            t.contains("deployed in the offline sandbox") && t.contains("add --sandbox"),
            "{args:?}: {t}"
        );
    }

    // The plan right after `up --sandbox` is a no-op (the access URL stays the loopback one).
    let o = p.run(&["plan", "--env", "dev", "--sandbox", "--detailed-exitcode"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert_eq!(t.matches("No changes.").count(), 2, "{t}");
    let o = p.run(&["drift", "--env", "dev", "--sandbox", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for args in [
        vec!["show", "--env", "dev", "--sandbox"],
        vec!["output", "--env", "dev", "--sandbox"],
        vec![
            "apply",
            "--env",
            "dev",
            "--phase",
            "app",
            "--sandbox",
            "--auto-approve",
        ],
    ] {
        let o = p.run(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    // `output --env` lists both phases.
    let o = p.run(&["output", "--env", "dev"]);
    let t = text(&o);
    assert!(
        t.contains("=== Stack coder-dev-infra ===") && t.contains("lb_ip"),
        "{t}"
    );
    assert!(
        t.contains("=== Stack coder-dev-app ===") && t.contains("admin_username"),
        "{t}"
    );
    let o = p.run(&["output", "--env", "dev", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert!(doc["coder-dev-infra"]["lb_ip"].is_object(), "{doc:#}");
    assert!(
        doc["coder-dev-app"]["admin_username"].is_object(),
        "{doc:#}"
    );
    assert_eq!(p.sandbox_port(), port, "the port did not move");

    // `kapstan sandbox serve` in the project serves it on the recorded port.
    let served = p.serve(&[], "recorded port");
    let banner = &served.banner;
    assert!(
        banner.contains(&format!("http://127.0.0.1:{port}")),
        "served on the recorded port {port}: {banner}"
    );
    assert!(banner.contains("recorded port"), "{banner}");

    let kubeconfig = p.home.path().join(".kube/config-coder-dev");
    let kubectl = tools_bin().join("kubectl");
    let o = p
        .command(
            &kubectl,
            &[
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "get",
                "namespaces",
            ],
        )
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "kubectl answers while served: {t}");
    assert!(t.contains("coder"), "{t}");
    let o = Command::new("curl")
        .args(["-sf", &format!("{access_url}/api/v2/buildinfo")])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the access URL {access_url} answers: {}",
        text(&o)
    );

    // A second process finds it served and uses it: the port is not rewritten.
    let o = p.run(&["health", "--env", "dev", "--sandbox"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = p.run(&["plan", "--env", "dev", "--sandbox", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        p.sandbox_port(),
        port,
        "the port is kept for the sandbox's lifetime"
    );
    let o = p
        .command(
            &kubectl,
            &[
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "get",
                "namespaces",
            ],
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "still answers: {}", text(&o));
}

#[test]
fn an_interrupted_up_says_so_prints_no_access_url_and_names_the_resume_command() {
    let p = project();
    let mut up = p
        .command(
            crate::support::kapstan_bin(),
            &["up", "--env", "dev", "--sandbox", "--auto-approve"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut reader = BufReader::new(up.stdout.take().unwrap());
    while !out.contains("Creating...") {
        if reader.read_line(&mut out).unwrap() == 0 {
            break;
        }
    }
    let pid = up.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let status = up.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(up.stderr.as_mut().unwrap(), &mut err).unwrap();
    let t = format!("{out}{rest}{err}");
    assert_eq!(status.code(), Some(1), "{t}");
    assert!(t.contains("interrupted"), "{t}");
    assert!(
        !t.contains("Access URL"),
        "no access URL after an interrupt: {t}"
    );
    assert!(
        t.replace(['│', '\n'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("run `kapstan up --env dev --sandbox` to finish"),
        "{t}"
    );
}
