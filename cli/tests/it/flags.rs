//! The same words, flags and shapes everywhere: every command acting on an environment takes
//! `--env` and `--sandbox`; the confirming ones `--auto-approve`; the printing ones `--json`;
//! old spellings still parse.

use clap::{CommandFactory, Parser};

fn commands() -> Vec<(String, clap::Command)> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, clap::Command)>) {
        for s in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}{}", s.get_name());
            if s.get_subcommands().next().is_none() {
                out.push((name, s.clone()));
            } else {
                walk(s, &format!("{name} "), out);
            }
        }
    }
    let mut out = vec![];
    walk(&kapstan_cli::args::Cli::command(), "", &mut out);
    out
}

fn has(cmd: &clap::Command, long: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_long() == Some(long))
}

#[test]
fn every_env_command_takes_sandbox_and_the_shared_flags() {
    let mut checked = 0;
    for (name, cmd) in commands() {
        if !has(&cmd, "env") {
            continue;
        }
        checked += 1;
        // Restoring and adopting read files, not a running environment.
        if !["restore", "adopt", "cost"].contains(&name.as_str()) {
            assert!(
                has(&cmd, "sandbox"),
                "`{name}` takes --env but not --sandbox"
            );
        }
    }
    assert!(checked >= 14, "{checked}");
    for name in [
        "plan", "apply", "destroy", "drift", "show", "output", "validate", "health", "audit",
        "cost",
    ] {
        let (_, cmd) = commands().into_iter().find(|(n, _)| n == name).unwrap();
        assert!(has(&cmd, "json"), "`{name}` has no --json");
    }
    for name in [
        "apply",
        "destroy",
        "up",
        "down",
        "adopt",
        "scale",
        "audit",
        "templates push",
    ] {
        let (_, cmd) = commands().into_iter().find(|(n, _)| n == name).unwrap();
        assert!(has(&cmd, "auto-approve"), "`{name}` has no --auto-approve");
    }
}

#[test]
fn old_spellings_still_parse() {
    for line in [
        "kapstan down --env dev --confirm",
        "kapstan adopt --env dev --phase infra --terraform-state t.tfstate --yes",
        "kapstan health --env dev --format json",
        "kapstan cost --format json",
    ] {
        kapstan_cli::args::Cli::try_parse_from(line.split_whitespace())
            .unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}
