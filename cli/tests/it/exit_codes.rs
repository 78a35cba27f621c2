//! The exit-code contract, for every command: 0 success, 1 any error (usage errors included),
//! 2 changes or drift only (`--detailed-exitcode`, `audit` findings), 3 the budget gate.

use std::process::Output;

use clap::CommandFactory;

use crate::support;

/// `kapstan ARGS` in `dir` with offline credentials.
fn kapstan(dir: &std::path::Path, args: &[&str]) -> Output {
    support::offline(&mut support::kapstan(dir, args))
        .output()
        .unwrap()
}

/// Every leaf command line (`plan`, `state list`, `templates push`, …).
fn leaf_commands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<_> = cmd
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.push(prefix);
            return;
        }
        for s in subs {
            let mut p = prefix.clone();
            p.push(s.get_name().to_string());
            walk(s, p, out);
        }
    }
    let mut out = vec![];
    walk(&kapstan_cli::args::Cli::command(), vec![], &mut out);
    out
}

#[test]
fn a_usage_error_exits_1_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let commands = leaf_commands();
    assert!(
        commands.len() > 30,
        "every command is covered: {commands:?}"
    );
    for command in commands {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--no-such-flag");
        let o = kapstan(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(1),
            "`kapstan {}` must exit 1 on a usage error (2 means changes): {stderr}",
            args.join(" ")
        );
        assert!(
            stderr.contains("--no-such-flag"),
            "the error names the flag: {stderr}"
        );
    }
}

#[test]
fn bad_values_and_missing_arguments_exit_1_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["drift", "--parallelism", "zero"],
        vec!["plan", "--parallelism"],
        vec!["plan", "--detailed-exitcode", "--no-such-flag"],
        vec!["state", "rm"],
        vec!["no-such-command"],
        vec![],
    ] {
        let o = kapstan(dir.path(), &args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "`kapstan {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    for args in [vec!["--help"], vec!["plan", "--help"], vec!["--version"]] {
        let o = kapstan(dir.path(), &args);
        assert_eq!(o.status.code(), Some(0), "`kapstan {}`", args.join(" "));
    }
}

#[test]
fn two_means_changes_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let o = kapstan(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "the demo stack has changes to plan"
    );
    let o = kapstan(dir.path(), &["plan"]);
    assert_eq!(o.status.code(), Some(0));
    let o = kapstan(dir.path(), &["plan", "--stack", "no-such-stack"]);
    assert_eq!(o.status.code(), Some(1));
    std::fs::write(
        dir.path().join("lb.json"),
        r#"{"name": "priced", "outputs": [], "resources": [
            {"address": "lb", "kind": "scaleway_lb", "config": {"name": "lb", "type": "LB-S"}}]}"#,
    )
    .unwrap();
    let o = kapstan(
        dir.path(),
        &[
            "plan",
            "--stack-file",
            "lb.json",
            "--refresh=false",
            "--max-monthly-cost",
            "0.01",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "the budget gate wins: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
