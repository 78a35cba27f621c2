//! Official SDK conformance: runs the scripts of `tests/conformance/` (PyPI `scaleway`,
//! unchanged) against a fresh sandbox, with the Python interpreter at `KAPSTAN_PYTHON`
//! (`scripts/test` installs the SDK into `.tools/venv` and exports it): a scenario driven
//! through the SDK, and a check that responses carry every field of the SDK's types.

use std::path::PathBuf;
use std::time::Duration;

use kapstan_sandbox::{Sandbox, SandboxOptions};

/// Runs `tests/conformance/<script>` with the official SDK against a fresh sandbox and returns
/// its standard output, failing the test when the script fails.
async fn run_sdk_script(script: &str) -> String {
    let python = std::env::var("KAPSTAN_PYTHON").unwrap_or_else(|_| {
        panic!(
            "KAPSTAN_PYTHON is not set, so the official Scaleway SDK conformance cannot run: \
             run `scripts/test --tools-only` (it installs PyPI `scaleway` into .tools/venv), then \
             export KAPSTAN_PYTHON=$PWD/.tools/venv/bin/python"
        )
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/conformance")
        .join(script);
    let sandbox = Sandbox::start(SandboxOptions {
        speed: 1000.0,
        dns_zones: Some(vec!["example.test".into()]),
        ..Default::default()
    })
    .await
    .expect("start sandbox");
    // No config file may leak in: HOME and XDG_CONFIG_HOME point at an empty directory and no
    // other SCW_* variable is inherited.
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(&script)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("SCW_API_URL", sandbox.url())
        .env("SCW_SECRET_KEY", sandbox.secret_key())
        .env("SCW_DEFAULT_PROJECT_ID", sandbox.project_id())
        .env("SCW_DEFAULT_REGION", "fr-par")
        .env("SCW_DEFAULT_ZONE", "fr-par-1")
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("SCW_")
            && !matches!(
                key.as_str(),
                "SCW_API_URL"
                    | "SCW_SECRET_KEY"
                    | "SCW_DEFAULT_PROJECT_ID"
                    | "SCW_DEFAULT_REGION"
                    | "SCW_DEFAULT_ZONE"
            )
        {
            cmd.env_remove(key);
        }
    }
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("conformance script timed out")
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    sandbox.shutdown().await;
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        out.status
    );
    assert!(
        stdout.contains("OK:"),
        "{} did not finish:\n{stdout}",
        script.display()
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_the_sandbox() {
    run_sdk_script("scaleway_sdk_conformance.py").await;
}

/// Every field the SDK's generated unmarshal functions read is in the sandbox's responses, for
/// every resource type the sandbox serves (`scaleway_sdk_fields.py` lists what is missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_responses_carry_every_field_of_the_official_sdk_types() {
    let stdout = run_sdk_script("scaleway_sdk_fields.py").await;
    for required in [
        "k8s.Cluster",
        "rdb.Instance",
        "lb.Backend",
        "vpcgw.GatewayNetwork",
        "ipam.IP",
        "domain.Record",
        "domain.DNSZone",
        "secret.Secret",
        "secret.AccessSecretVersionResponse",
    ] {
        assert!(
            stdout.contains(required),
            "{required} was not checked:\n{stdout}"
        );
    }
}
