//! The official Alloy chart as packaged for 1.11.1 (`../shared/fixtures/alloy-chart/alloy-1.11.1`)
//! rendered by the real `helm template` with the values and the configuration kapstan
//! generates: one Deployment under Pod Security restricted, the token from its Secret, the
//! generated configuration in the ConfigMap, RBAC limited to the collected namespace.

use kapstan_engine::Input;
use kapstan_stacks::coder::monitoring::{self, AlloyConfig};
use kapstan_stacks::coder::{Environment, Profile};
use serde_json::{Value, json};

use crate::support::helm::{find, fixture_chart, template};

const METRICS_URL: &str = "https://abc.metrics.cockpit.fr-par.scw.cloud/api/v1/push";
const LOGS_URL: &str = "https://abc.logs.cockpit.fr-par.scw.cloud/loki/api/v1/push";

/// The chart rendered with prod's values (Pod Security restricted) and both push URLs.
fn rendered_prod() -> Vec<Value> {
    let p = Profile::builtin(Environment::Prod);
    let values = monitoring::alloy_values(
        &p,
        Some(Input::Value(METRICS_URL.into())),
        Some(Input::Value(LOGS_URL.into())),
    );
    template(
        "alloy",
        &fixture_chart("alloy-chart/alloy-1.11.1"),
        "monitoring",
        &values,
    )
}

#[test]
fn the_official_alloy_chart_renders_one_collector_deployment_and_nothing_cluster_wide() {
    let docs = rendered_prod();
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
}

#[test]
fn the_collector_pod_meets_pod_security_restricted() {
    let docs = rendered_prod();
    let deployment = find(&docs, "Deployment", "alloy");
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
}

#[test]
fn the_collector_reads_its_token_from_the_secret_and_the_push_urls_from_the_sources() {
    let docs = rendered_prod();
    let pod = &find(&docs, "Deployment", "alloy")["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
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
}

#[test]
fn the_config_map_holds_exactly_the_generated_configuration() {
    let docs = rendered_prod();
    let p = Profile::builtin(Environment::Prod);
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
}

#[test]
fn the_collector_reads_pods_and_logs_of_the_collected_namespace_only() {
    let docs = rendered_prod();
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
