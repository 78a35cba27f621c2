//! Monitoring of the Coder platform: the official Alloy chart as packaged for 1.11.1
//! (`../shared/fixtures/alloy-chart/alloy-1.11.1`) rendered by the real `helm template` with the
//! values and configuration kapstan generates, the app phase's Cockpit resources, Coder's
//! Prometheus options and network policies, and `[monitoring]` settings refused before any call.

use std::path::{Path, PathBuf};
use std::process::Command;

use kapstan_engine::Input;
use kapstan_stacks::StackVars;
use kapstan_stacks::coder::monitoring::{self, AlloyConfig, CollectTarget, MonitoringSettings};
use kapstan_stacks::coder::{self, Environment, Phase, Profile};
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

#[test]
fn high_cardinality_series_are_dropped_unless_kept_and_only_collected_targets_are_configured() {
    let mut settings = MonitoringSettings::builtin(Environment::Staging);
    let dropped = AlloyConfig::generate(Environment::Staging, &settings).render();
    assert!(dropped.contains(monitoring::HIGH_CARDINALITY_SERIES));
    assert!(dropped.contains("forward_to = [prometheus.relabel.drop_high_cardinality.receiver]"));
    settings.keep_high_cardinality = true;
    let kept = AlloyConfig::generate(Environment::Staging, &settings).render();
    assert!(!kept.contains("drop_high_cardinality"), "{kept}");
    assert!(kept.contains("forward_to = [prometheus.remote_write.cockpit.receiver]"));

    settings.collect = vec![CollectTarget::PodLogs];
    let logs_only = AlloyConfig::generate(Environment::Staging, &settings).render();
    assert!(!logs_only.contains("prometheus."), "{logs_only}");
    assert!(logs_only.contains("loki.write"));
}

fn write_settings(dir: &Path, env: &str, toml: &str) {
    std::fs::create_dir_all(dir.join("environments")).unwrap();
    std::fs::write(dir.join(format!("environments/{env}.toml")), toml).unwrap();
}

fn app_spec(dir: &Path, env: Environment, extra: &[(&str, &str)]) -> kapstan_engine::StackSpec {
    let mut vars = StackVars::new();
    vars.insert("project_dir".into(), dir.display().to_string());
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    coder::build(env, Phase::App, &vars).unwrap()
}

#[test]
fn staging_declares_cockpit_sources_token_alerting_and_the_collector() {
    let dir = tempfile::tempdir().unwrap();
    write_settings(
        dir.path(),
        "staging",
        "[monitoring]\nalert_contacts = [\"ops@example.com\"]\nmetrics_retention_days = 60\n",
    );
    let spec = app_spec(dir.path(), Environment::Staging, &[]);
    let by = spec.by_address();
    let metrics = &by["cockpit-metrics"];
    assert_eq!(metrics.kind, "scaleway_cockpit_source");
    assert_eq!(metrics.config["type"], "metrics");
    assert_eq!(metrics.config["retention_days"], 60);
    // 1000 series every 60 s for 30 days.
    assert_eq!(metrics.config["expected_monthly_samples"], 43_200_000u64);
    assert_eq!(by["cockpit-logs"].config["type"], "logs");
    assert_eq!(by["cockpit-logs"].config["retention_days"], 7);
    assert_eq!(
        by["cockpit-push-token"].config["scopes"],
        json!(["write_metrics", "write_logs"])
    );
    assert_eq!(
        by["cockpit-alerting"].config["contact_points"],
        json!([{"email": "ops@example.com"}])
    );
    let alloy = &by["alloy"];
    assert_eq!(alloy.kind, "helm_release");
    assert_eq!(
        alloy.config["namespace"]["$ref"]["resource"],
        "namespace-monitoring"
    );
    assert_eq!(alloy.config["chart"], "alloy");
    assert_eq!(alloy.config["version"], "1.11.1");
    assert_eq!(
        alloy.config["repository"],
        "https://grafana.github.io/helm-charts"
    );
    let secret = &by["cockpit-token-secret"];
    assert!(
        secret.config["data"]["token"]
            .to_string()
            .contains("cockpit-push-token"),
        "the Secret takes the token's secret key: {}",
        secret.config
    );

    // Coder's own options turn its endpoint on.
    let coder_env = by["coder"].config["values"]["coder"]["env"].to_string();
    assert!(coder_env.contains("CODER_PROMETHEUS_ENABLE"), "{coder_env}");
    assert!(
        coder_env.contains("CODER_PROMETHEUS_COLLECT_AGENT_STATS"),
        "{coder_env}"
    );

    // Policies admit the collector to Coder's metrics port and out to HTTPS only.
    let scrape = &by["netpol-coder-allow-coder-metrics-scrape"].config["manifest"]["spec"];
    assert_eq!(scrape["ingress"][0]["ports"][0]["port"], 2112);
    assert_eq!(
        scrape["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    let alloy_policy = &by["netpol-monitoring-allow-alloy"].config["manifest"]["spec"];
    assert_eq!(alloy_policy["ingress"], json!([]));
    let ports: Vec<String> = alloy_policy["egress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["port"].to_string())
        })
        .collect();
    assert_eq!(ports, ["443", "6443", "2112", "\"metrics\""]);
}

#[test]
fn dev_has_no_monitoring_unless_switched_on() {
    let dir = tempfile::tempdir().unwrap();
    let spec = app_spec(dir.path(), Environment::Dev, &[]);
    assert!(
        spec.resources
            .iter()
            .all(|r| !r.kind.starts_with("scaleway_cockpit") && r.address != "alloy"),
        "dev is off by default"
    );
    assert!(
        !spec.by_address()["coder"]
            .config
            .to_string()
            .contains("CODER_PROMETHEUS")
    );
    let on = app_spec(dir.path(), Environment::Dev, &[("monitoring", "true")]);
    assert!(on.by_address().contains_key("alloy"));
    assert!(on.by_address().contains_key("cockpit-metrics"));
}

fn load_error(toml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_settings(dir.path(), "staging", toml);
    Profile::load(Environment::Staging, dir.path())
        .expect_err("refused")
        .to_string()
}

#[test]
fn bad_monitoring_settings_name_the_field_the_value_and_the_fix() {
    let e = load_error("[monitoring]\ncollect = [\"coder_metrics\", \"pod_log\"]\n");
    assert!(e.contains("line 2"), "{e}");
    assert!(e.contains("\"pod_log\" is not a collector target"), "{e}");
    assert!(e.contains("pod_logs"), "suggests the close name: {e}");

    let e = load_error("[monitoring]\nenabled = true\nlogs_retention_days = 4000\n");
    assert!(e.contains("line 3"), "{e}");
    assert!(
        e.contains("logs_retention_days = 4000 is out of range"),
        "{e}"
    );
    assert!(e.contains("1 to 1825"), "{e}");

    let e = load_error("[monitoring]\nmetrics_retention_days = 0\n");
    assert!(
        e.contains("metrics_retention_days = 0 is out of range"),
        "{e}"
    );

    let e = load_error("[monitoring]\nalert_contacts = [\"ops@example.com\", \"oncall\"]\n");
    assert!(
        e.contains("alert_contacts[1] = \"oncall\" is not an e-mail address"),
        "{e}"
    );

    let e = load_error("[monitoring]\nalert_contacts = [\"a@b.io\", \"A@b.io\"]\n");
    assert!(e.contains("listed twice"), "{e}");

    let e = load_error("[monitoring]\nretention = 7\n");
    assert!(e.contains("unknown field `retention`"), "{e}");

    let e = load_error("[monitoring]\nalloy_version = \"latest\"\n");
    assert!(
        e.contains("alloy_version = \"latest\" is not a chart version"),
        "{e}"
    );
}
