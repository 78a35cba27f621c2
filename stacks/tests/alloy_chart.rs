//! The official Alloy chart as packaged for 1.11.1 (`../shared/fixtures/alloy-chart/alloy-1.11.1`)
//! rendered by the real `helm template` with the values and the configuration kapstan
//! generates: one Deployment under Pod Security restricted, the token from its Secret, the
//! generated configuration in the ConfigMap, RBAC limited to the collected namespace.

use std::path::{Path, PathBuf};
use std::process::Command;

use kapstan_engine::Input;
use kapstan_stacks::coder::monitoring::{self, AlloyConfig};
use kapstan_stacks::coder::{Environment, Profile};
use serde_json::{Value, json};

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

fn alloy_chart() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/alloy-chart/alloy-1.11.1");
    assert!(
        dir.join("Chart.yaml").is_file(),
        "the official Alloy chart fixture is missing: expected {} (../shared/fixtures/alloy-chart/alloy-1.11.1 next to the repository)",
        dir.display()
    );
    dir
}

/// `helm template alloy <fixture> -n monitoring` with `values`, as JSON documents.
fn render(values: &Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.json");
    std::fs::write(&file, serde_json::to_vec(values).unwrap()).unwrap();
    let out = Command::new(helm())
        .args(["template", "alloy"])
        .arg(alloy_chart())
        .args(["--namespace", "monitoring", "--values"])
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
        .filter(|v: &Value| v.is_object())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
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

const METRICS_URL: &str = "https://abc.metrics.cockpit.fr-par.scw.cloud/api/v1/push";
const LOGS_URL: &str = "https://abc.logs.cockpit.fr-par.scw.cloud/loki/api/v1/push";

#[test]
fn the_official_alloy_chart_renders_the_generated_collector() {
    let p = Profile::builtin(Environment::Prod);
    let values = monitoring::alloy_values(
        &p,
        Some(Input::Value(METRICS_URL.into())),
        Some(Input::Value(LOGS_URL.into())),
    );
    let docs = render(&values);

    // One Deployment (logs come through the API), no per-node DaemonSet, no Service, no
    // cluster-wide RBAC and no CRDs.
    for d in &docs {
        for kind in [
            "DaemonSet",
            "Service",
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
        ] {
            assert_ne!(d["kind"], kind, "{d}");
        }
        if d["kind"] != "Role" && d["kind"] != "RoleBinding" {
            assert_eq!(d["metadata"]["namespace"], "monitoring", "{d}");
        }
    }
    let deployment = find(&docs, "Deployment", "alloy");
    assert_eq!(deployment["spec"]["replicas"], 1);
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        labels["app.kubernetes.io/name"], "alloy",
        "the network policies select these labels"
    );
    assert_eq!(labels["app.kubernetes.io/instance"], "alloy");

    // Pod Security restricted (prod's level): non-root, RuntimeDefault seccomp, no privilege
    // escalation, every capability dropped, no host path or host network, in every container.
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_ne!(pod["hostNetwork"], true);
    for v in pod["volumes"].as_array().cloned().unwrap_or_default() {
        assert!(v.get("hostPath").is_none(), "host path volume: {v}");
    }
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "alloy and its config reloader");
    for c in containers {
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{}", c["name"]);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{}", c["name"]);
        assert_eq!(sc["runAsNonRoot"], true, "{}", c["name"]);
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        for limit in ["cpu", "memory"] {
            assert!(
                c["resources"]["limits"][limit].is_string(),
                "{} has a {limit} limit (kapstan audit asks for it)",
                c["name"]
            );
        }
    }

    // The token comes from the Secret, the push URLs from the data sources.
    let alloy = containers.iter().find(|c| c["name"] == "alloy").unwrap();
    let env = alloy["env"].as_array().unwrap();
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not set: {env:?}"))
    };
    assert_eq!(
        var("COCKPIT_TOKEN")["valueFrom"]["secretKeyRef"],
        json!({"name": "alloy-cockpit-token", "key": "token"})
    );
    assert_eq!(var("COCKPIT_METRICS_PUSH_URL")["value"], METRICS_URL);
    assert_eq!(var("COCKPIT_LOGS_PUSH_URL")["value"], LOGS_URL);
    let args = alloy["args"].as_array().unwrap();
    assert!(
        args.iter().any(|a| a == "--disable-reporting"),
        "no usage reporting to Grafana"
    );
    assert!(
        args.iter().any(|a| a == "/etc/alloy/config.alloy"),
        "{args:?}"
    );
    let mounts = alloy["volumeMounts"].as_array().unwrap();
    assert!(
        mounts.iter().any(|m| m["mountPath"] == "/etc/alloy"),
        "the config is mounted where `alloy run` reads it: {mounts:?}"
    );

    // The ConfigMap holds exactly the generated configuration, with no secret in it.
    let config = find(&docs, "ConfigMap", "alloy");
    let content = config["data"]["config.alloy"].as_str().unwrap();
    // (The chart writes the content as a YAML block scalar, which drops the final newline.)
    assert_eq!(
        content.trim_end(),
        AlloyConfig::generate(Environment::Prod, &p.monitoring)
            .render()
            .trim_end()
    );
    for expected in [
        "prometheus.remote_write \"cockpit\"",
        "\"X-Token\" = sys.env(\"COCKPIT_TOKEN\")",
        "url = sys.env(\"COCKPIT_METRICS_PUSH_URL\")",
        "url = sys.env(\"COCKPIT_LOGS_PUSH_URL\")",
        "loki.write \"cockpit\"",
        "loki.source.kubernetes \"pod_logs\"",
        // Coder's metrics port, and pods that opt in.
        "regex = \"prometheus-http\"",
        "label = \"kapstan.dev/scrape=true\"",
        "prometheus.relabel \"drop_high_cardinality\"",
        "scrape_interval = \"60s\"",
        "\"environment\" = \"prod\"",
    ] {
        assert!(
            content.contains(expected),
            "{expected} missing from:\n{content}"
        );
    }

    // Reading pods and their logs in the collected namespace, nothing more.
    let role = find(&docs, "Role", "alloy");
    assert_eq!(role["metadata"]["namespace"], "coder");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}])
    );
    let binding = find(&docs, "RoleBinding", "alloy");
    assert_eq!(binding["metadata"]["namespace"], "coder");
    assert_eq!(binding["subjects"][0]["namespace"], "monitoring");
}
