//! Nothing hangs in silence and nothing surprises: progress lines without a terminal, one
//! missing-credentials error, `validate` without credentials, and a plan that writes nothing.

use std::path::Path;
use std::process::Output;

use crate::support::{kapstan, text};

/// `kapstan ARGS` in `dir` without credentials; nothing listens at the API address.
fn run(dir: &Path, args: &[&str]) -> Output {
    kapstan(dir, args)
        .env("SCW_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

#[test]
fn without_a_terminal_a_long_operation_reports_every_10_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &[
            "apply",
            "--stack",
            "synthetic",
            "--var",
            "resources=1",
            "--var",
            "delay_ms=11500",
            "--auto-approve",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let still = t
        .lines()
        .find(|l| l.starts_with("obj-00000: still creating ("))
        .unwrap_or_else(|| panic!("a progress line at 10 s: {t}"));
    assert!(still.contains("s elapsed"), "{still}");
    let at = |needle: &str| t.find(needle).unwrap_or_else(|| panic!("{needle}: {t}"));
    assert!(
        at("obj-00000: Creating...") < at("obj-00000: still creating")
            && at("obj-00000: still creating") < at("obj-00000: Creation complete"),
        "{t}"
    );
}

#[test]
fn missing_credentials_are_reported_once_and_validate_needs_none() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["plan", "--env", "dev"]);
    let err = String::from_utf8_lossy(&o.stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("×").count(), 1, "one error: {err}");
    assert_eq!(
        err.matches("no Scaleway secret key").count(),
        1,
        "printed once: {err}"
    );
    for needed in [
        "SCW_SECRET_KEY",
        "SCW_DEFAULT_PROJECT_ID",
        "config.yaml",
        "--sandbox",
    ] {
        assert!(err.contains(needed), "{needed}: {err}");
    }

    let o = run(dir.path(), &["validate", "--stack", "coder-dev-infra"]);
    assert!(o.status.success(), "validate calls no API: {}", text(&o));
    assert!(text(&o).contains("is valid"));
}

#[test]
fn a_plan_never_writes_anything() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("nonexistent/dir/x");
    let o = run(
        dir.path(),
        &["plan", "--state", &format!("local:{}", state.display())],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("6 to add"), "{}", text(&o));
    assert!(
        !dir.path().join("nonexistent").exists(),
        "plan created directories"
    );
    let o = run(dir.path(), &["plan"]);
    assert!(o.status.success());
    assert!(
        !dir.path().join(".kapstan").exists(),
        "plan created the default store"
    );
}
