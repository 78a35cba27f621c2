//! The chart repository: with a chart directory given at start (the official Coder chart from
//! `../shared/fixtures/coder-chart/coder-2.21.1`) it serves that chart the way
//! `helm.coder.com` does, and the real `helm` pulls and renders it from there.

use std::path::PathBuf;
use std::process::Command;

use kapstan_sandbox::{Sandbox, SandboxError, SandboxOptions};
use serde_json::Value;
use sha2::Digest;

use crate::support::{fixture, tool};

fn official_chart() -> PathBuf {
    fixture("coder-chart/coder-2.21.1")
}

fn helm() -> PathBuf {
    tool("helm")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_chart_directory_like_helm_coder_com() {
    let sandbox = Sandbox::start(SandboxOptions {
        chart_dirs: vec![official_chart()],
        ..Default::default()
    })
    .await
    .unwrap();
    let base = format!("{}/charts", sandbox.url());
    let index = reqwest::get(format!("{base}/index.yaml"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: Value = serde_norway::from_str(&index).unwrap();
    let coder = doc["entries"]["coder"].as_array().unwrap();
    let versions: Vec<&str> = coder.iter().filter_map(|e| e["version"].as_str()).collect();
    // The official 2.21.1 replaces the sandbox's own 2.21.1; its own 2.20.3 stays.
    assert_eq!(versions, ["2.21.1", "2.20.3"], "{index}");
    let official = &coder[0];
    assert_eq!(
        official["description"],
        "Remote development environments on your infrastructure"
    );
    assert_eq!(official["appVersion"], "2.21.1");
    let archive = reqwest::get(format!("{base}/coder-2.21.1.tgz"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let digest: String = sha2::Sha256::digest(&archive)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        official["digest"],
        digest.as_str(),
        "index digest is not the archive's"
    );

    // The archive is what `helm package` would make, the library chart included.
    let mut names = Vec::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
    for entry in tar.entries().unwrap() {
        names.push(entry.unwrap().path().unwrap().display().to_string());
    }
    for expected in [
        "coder/Chart.yaml",
        "coder/values.yaml",
        "coder/templates/coder.yaml",
        "coder/charts/libcoder/templates/_coder.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }

    // The real helm renders the official chart from the repository.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(helm())
        .args([
            "template",
            "coder",
            "coder",
            "--repo",
            &base,
            "--version",
            "2.21.1",
        ])
        .args(["--namespace", "coder", "--set", "coder.image.tag=v2.21.1"])
        .env("HOME", home.path())
        .env("HELM_CACHE_HOME", home.path().join("c"))
        .env("HELM_CONFIG_HOME", home.path().join("g"))
        .env("HELM_DATA_HOME", home.path().join("d"))
        .output()
        .unwrap();
    let rendered = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rendered.contains("helm.sh/chart: coder-2.21.1")
            && rendered.contains("ghcr.io/coder/coder:v2.21.1")
            && rendered.contains("name: coder-workspace-perms"),
        "{rendered}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_chart_directory_without_chart_yaml_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Sandbox::start(SandboxOptions {
        chart_dirs: vec![dir.path().to_path_buf()],
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            SandboxError::InvalidOption {
                name: "chart-dir",
                ..
            }
        ),
        "{err}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains(&dir.path().display().to_string()) && shown.contains("Chart.yaml"),
        "{shown}"
    );
}

#[tokio::test]
async fn helmignored_files_stay_out_of_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 1.2.3\n",
    )
    .unwrap();
    std::fs::write(chart.join(".helmignore"), "# comment\n*.bak\ntests/\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "a: 1\n").unwrap();
    std::fs::write(chart.join("values.yaml.bak"), "a: 0\n").unwrap();
    std::fs::create_dir_all(chart.join("tests")).unwrap();
    std::fs::write(chart.join("tests/t.yaml"), "x\n").unwrap();
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    let sandbox = Sandbox::start(SandboxOptions {
        chart_dirs: vec![chart.to_path_buf()],
        ..Default::default()
    })
    .await
    .unwrap();
    let index = reqwest::get(format!("{}/charts/index.yaml", sandbox.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("  demo:") && index.contains("demo-1.2.3.tgz"),
        "{index}"
    );
    let archive = reqwest::get(format!("{}/charts/demo-1.2.3.tgz", sandbox.url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut names = Vec::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
    for entry in tar.entries().unwrap() {
        names.push(entry.unwrap().path().unwrap().display().to_string());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "demo/.helmignore",
            "demo/Chart.yaml",
            "demo/templates/cm.yaml",
            "demo/values.yaml"
        ]
    );
    sandbox.shutdown().await;
}
