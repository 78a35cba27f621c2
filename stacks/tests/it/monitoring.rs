//! Monitoring of the Coder platform: the generated Alloy configuration, the app phase's Cockpit
//! resources, Coder's Prometheus options and network policies, and `[monitoring]` settings
//! refused with the field, the value and the fix (the chart itself: `alloy_chart.rs`).

use kapstan_stacks::coder::monitoring::{self, AlloyConfig, CollectTarget, MonitoringSettings};
use kapstan_stacks::coder::{Environment, Phase};
use serde_json::json;

use crate::support::Project;

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

#[test]
fn staging_declares_cockpit_sources_token_alerting_and_the_collector() {
    let project = Project::with_settings(
        Environment::Staging,
        "[monitoring]\nalert_contacts = [\"ops@example.com\"]\nmetrics_retention_days = 60\n",
    );
    let spec = project.build(Environment::Staging, Phase::App, &[]);
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
    let project = Project::new();
    let spec = project.build(Environment::Dev, Phase::App, &[]);
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
    let on = project.build(Environment::Dev, Phase::App, &[("monitoring", "true")]);
    assert!(on.by_address().contains_key("alloy"));
    assert!(on.by_address().contains_key("cockpit-metrics"));
}

fn load_error(settings: &str) -> String {
    Project::with_settings(Environment::Staging, settings).load_error(Environment::Staging)
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

    let e = load_error("[monitoring]\nnamespaces = [\"tools\"]\n");
    assert!(
        e.contains(
            "namespaces: \"tools\" is not a namespace of the platform; use coder or monitoring"
        ),
        "{e}"
    );

    let e = load_error("[monitoring]\nretention = 7\n");
    assert!(e.contains("unknown field `retention`"), "{e}");

    let e = load_error("[monitoring]\nalloy_version = \"latest\"\n");
    assert!(
        e.contains("alloy_version = \"latest\" is not a chart version"),
        "{e}"
    );
}
