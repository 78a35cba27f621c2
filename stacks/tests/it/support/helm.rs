//! The real `helm template` over the official chart fixtures (`../shared/fixtures/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn helm() -> PathBuf {
    let dir = std::env::var_os("KAPSTAN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"));
    let path = dir.join("bin/helm");
    assert!(
        path.exists(),
        "{} is missing: run `scripts/test --tools-only` to install helm",
        path.display()
    );
    path
}

/// The chart fixture at `../shared/fixtures/<chart>` next to the repository.
pub fn fixture_chart(chart: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(chart);
    assert!(
        dir.join("Chart.yaml").is_file(),
        "the chart fixture is missing: expected {} (../shared/fixtures/{chart} next to the repository)",
        dir.display()
    );
    dir
}

/// `helm template <release> <chart> -n <namespace>` with `values`, as JSON documents.
pub fn template(release: &str, chart: &Path, namespace: &str, values: &Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.json");
    std::fs::write(&file, serde_json::to_vec(values).unwrap()).unwrap();
    let out = Command::new(helm())
        .args(["template", release])
        .arg(chart)
        .args(["--namespace", namespace, "--values"])
        .arg(&file)
        .env("HOME", dir.path())
        .env("HELM_CACHE_HOME", dir.path().join("c"))
        .env("HELM_CONFIG_HOME", dir.path().join("g"))
        .env("HELM_DATA_HOME", dir.path().join("d"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .filter(Value::is_object)
        .collect()
}

/// The rendered `kind` named `name`, naming what was rendered when there is none.
pub fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let all: Vec<String> = docs
                .iter()
                .map(|d| format!("{}/{}", d["kind"], d["metadata"]["name"]))
                .collect();
            panic!("no {kind} {name} rendered; got {all:?}")
        })
}
