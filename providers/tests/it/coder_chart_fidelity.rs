//! The sandbox's Coder chart (`sandbox/charts/coder/`) against the official chart as packaged
//! for 2.21.1 (`../shared/fixtures/coder-chart/coder-2.21.1`): both are rendered by the real
//! `helm template` with the values kapstan sends, and must agree on what kapstan relies on —
//! the objects (kind and name), the pod labels and the Service selector, the Service kapstan's
//! values shape, the Coder container (image, command, environment, ports, volumes, security
//! context) — and both charts' `values.yaml` must have every key kapstan sets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kapstan_engine::Input;
use kapstan_providers::coder::{
    CoderValues, GithubOAuth, GithubUsers, LbServiceSettings, SecretKeyRef,
};
use serde_json::{Value, json};

use crate::support::{official_coder_chart, tool};

fn helm() -> PathBuf {
    tool("helm")
}

fn official_chart() -> PathBuf {
    official_coder_chart()
}

fn sandbox_chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox/charts/coder")
}

/// Values as kapstan sends them, with every optional part of [`CoderValues`] in use.
fn kapstan_values() -> Value {
    let values = CoderValues {
        access_url: "https://coder.example.com".into(),
        wildcard_access_url: Some("*.coder.example.com".into()),
        database_url: SecretKeyRef::new("coder-db-url", "url"),
        github: Some(GithubOAuth {
            client_id: "gh-client".into(),
            client_secret: SecretKeyRef::new("coder-github", "client-secret"),
            allow_signups: true,
            users: GithubUsers::MembersOf {
                orgs: vec!["example".into()],
                teams: vec![],
            },
        }),
        load_balancer_id: Some(Input::Value(
            "fr-par-1/11111111-1111-4111-8111-111111111111".into(),
        )),
        load_balancer_settings: Some(LbServiceSettings {
            ssl_compatibility_level: "ssl_compatibility_level_intermediate".into(),
            lb_type: "LB-S".into(),
        }),
        image_tag: Some("v2.21.1".into()),
        extra_env: vec![("CODER_TELEMETRY_ENABLE".into(), "false".into())],
        resources: Some(
            json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}),
        ),
    };
    assert!(values.problems().is_empty(), "{:?}", values.problems());
    values.to_values()
}

/// `helm template coder <chart> -n coder` with `values`, as JSON documents.
fn render(chart: &Path, values: &Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.json");
    std::fs::write(&file, serde_json::to_vec(values).unwrap()).unwrap();
    let out = Command::new(helm())
        .args(["template", "coder"])
        .arg(chart)
        .args(["--namespace", "coder", "--values"])
        .arg(&file)
        .env("HOME", dir.path())
        .env("HELM_CACHE_HOME", dir.path().join("c"))
        .env("HELM_CONFIG_HOME", dir.path().join("g"))
        .env("HELM_DATA_HOME", dir.path().join("d"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm template {} failed: {}",
        chart.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).unwrap();
        if v.is_object() {
            docs.push(v);
        }
    }
    docs
}

fn objects(docs: &[Value]) -> BTreeSet<(String, String)> {
    docs.iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or("").to_string(),
                d["metadata"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

/// `name` → sorted keys, for environment variables, ports and volume mounts.
fn by_name(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["name"].as_str().unwrap_or("").to_string(), e.clone()))
        .collect()
}

/// What kapstan relies on in a rendering, in one comparable document. Values the charts
/// render as strings or numbers interchangeably are compared as strings; `null` and absent
/// are the same to Kubernetes.
fn relied_on(docs: &[Value]) -> Value {
    let deployment = find(docs, "Deployment");
    let service = find(docs, "Service");
    let pod = &deployment["spec"]["template"];
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let coder = containers
        .iter()
        .find(|c| c["name"] == "coder")
        .cloned()
        .unwrap_or(Value::Null);
    let label = |labels: &Value, k: &str| labels[k].clone();
    let ports: Vec<Value> = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| json!({"name": p["name"], "port": p["port"].to_string(), "targetPort": p["targetPort"], "protocol": p["protocol"]}))
        .collect();
    json!({
        "pod_labels": {
            "name": label(&pod["metadata"]["labels"], "app.kubernetes.io/name"),
            "instance": label(&pod["metadata"]["labels"], "app.kubernetes.io/instance"),
        },
        "selector": deployment["spec"]["selector"]["matchLabels"],
        "service": {
            "type": service["spec"]["type"],
            "selector": service["spec"]["selector"],
            "annotations": service["metadata"]["annotations"],
            "externalTrafficPolicy": service["spec"]["externalTrafficPolicy"],
            "sessionAffinity": service["spec"]["sessionAffinity"],
            "ports": ports,
        },
        "service_account": pod["spec"]["serviceAccountName"],
        "container": {
            "image": coder["image"],
            "command": coder["command"],
            "args": coder["args"],
            "env": by_name(&coder["env"]),
            "ports": by_name(&coder["ports"]),
            "volumeMounts": by_name(&coder["volumeMounts"]),
            "securityContext": coder["securityContext"],
            "resources": coder["resources"],
        },
        "volumes": by_name(&pod["spec"]["volumes"]),
    })
}

/// Every differing path between two documents, `a` against `b`.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = Value::Null;
                differences(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: official {a} / sandbox {b}")),
    }
}

fn compare(values: &Value) {
    let official = render(&official_chart(), values);
    let sandbox = render(&sandbox_chart(), values);
    assert_eq!(
        objects(&official),
        objects(&sandbox),
        "the charts render different objects"
    );
    let mut diffs = Vec::new();
    differences("", &relied_on(&official), &relied_on(&sandbox), &mut diffs);
    assert!(
        diffs.is_empty(),
        "the sandbox chart renders differently from the official one:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn the_sandbox_chart_renders_what_the_official_chart_renders_with_kapstans_values() {
    compare(&kapstan_values());
}

#[test]
fn the_sandbox_chart_matches_the_official_chart_with_tls() {
    let mut values = kapstan_values();
    values["coder"]["tls"] = json!({"secretNames": ["coder-tls"]});
    compare(&values);
}

/// Key paths of `values` down to the leaves; lists and free-form maps (`annotations`,
/// `resources`, `securityContext` children…) end a path where the chart's default is a map.
fn key_paths(prefix: &str, values: &Value, out: &mut Vec<String>) {
    if let Value::Object(map) = values {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(path.clone());
            key_paths(&path, v, out);
        }
    }
}

/// The longest prefix of `path` that the chart's defaults declare. A chart passes some maps
/// through whole (`securityContext`, `resources`, `annotations`), so a key below them need
/// not be declared; what must hold is that both charts declare the same prefix, and at least
/// the `coder.<key>` it belongs to.
fn declared_prefix(defaults: &Value, path: &str) -> String {
    let mut at = defaults;
    let mut declared = Vec::new();
    for part in path.split('.') {
        match at.get(part) {
            Some(next) => {
                declared.push(part);
                at = next;
            }
            None => break,
        }
    }
    declared.join(".")
}

#[test]
fn both_charts_have_every_values_key_kapstan_sets() {
    let mut paths = Vec::new();
    key_paths("", &kapstan_values(), &mut paths);
    // Keys kapstan relies on beyond its current values: TLS and the image repository.
    for extra in [
        "coder.tls.secretNames",
        "coder.image.repo",
        "coder.image.tag",
    ] {
        paths.push(extra.to_string());
    }
    let defaults = |chart: PathBuf| -> Value {
        let text = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
        serde_norway::from_str(&text).unwrap()
    };
    let official = defaults(official_chart());
    let sandbox = defaults(sandbox_chart());
    let mut problems = Vec::new();
    for path in &paths {
        let real = declared_prefix(&official, path);
        if real.split('.').count() < path.split('.').count().min(2) {
            problems.push(format!("{path}: the official chart has no such key"));
        }
        let own = declared_prefix(&sandbox, path);
        if own != real {
            problems.push(format!(
                "{path}: the official chart declares `{real}`, the sandbox chart `{own}`"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
