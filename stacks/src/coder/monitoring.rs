//! Observability of the Coder platform: the `[monitoring]` settings of
//! `environments/<env>.toml`, the Cockpit data sources, push token and alert manager they ask
//! for, and Grafana Alloy (the official chart) with a configuration generated from them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kapstan_engine::{Handle, Input, Stack};
use kapstan_providers::helm::HelmRelease;
use kapstan_providers::kubernetes::{KubernetesNamespace, KubernetesSecret};
use kapstan_providers::scaleway::cockpit::{RETENTION_DAYS, is_email};
use kapstan_providers::scaleway::cockpit_alert_manager::{CockpitAlertManager, EmailContact};
use kapstan_providers::scaleway::cockpit_source::CockpitSource;
use kapstan_providers::scaleway::cockpit_token::CockpitToken;
use serde::Deserialize;
use serde_json::{Value, json};

use super::profile::{Environment, Profile};

/// Grafana's chart repository.
pub const ALLOY_REPOSITORY: &str = "https://grafana.github.io/helm-charts";
/// The Alloy chart version installed unless `[monitoring] alloy_version` pins another.
pub const ALLOY_CHART_VERSION: &str = "1.11.1";
/// Release (and workload) name of the collector.
pub const ALLOY_RELEASE: &str = "alloy";
/// Namespace the collector runs in.
pub const MONITORING_NAMESPACE: &str = "monitoring";
/// Port of Coder's Prometheus endpoint: the Coder chart binds `CODER_PROMETHEUS_ADDRESS` to
/// `0.0.0.0:2112` and names the container port `prometheus-http` once
/// `CODER_PROMETHEUS_ENABLE` is `true`; the Service does not expose it.
pub const CODER_METRICS_PORT: u16 = 2112;
/// Name of Coder's metrics container port in the Coder chart.
pub const CODER_METRICS_PORT_NAME: &str = "prometheus-http";
/// The label a pod carries to be scraped (with its metrics port named [`OPT_IN_PORT_NAME`]).
pub const OPT_IN_LABEL: &str = "kapstan.dev/scrape";
/// The container port name an opted-in pod serves its metrics on.
pub const OPT_IN_PORT_NAME: &str = "metrics";
/// Secret holding the push token, in the monitoring namespace.
pub const TOKEN_SECRET: &str = "alloy-cockpit-token";
/// Address of the read-only token `kapstan health` queries the metrics data source with.
pub const HEALTH_TOKEN: &str = "cockpit-health-token";
/// Address of the metrics data source.
pub const METRICS_SOURCE: &str = "cockpit-metrics";
/// Environment variables of the Alloy container the generated configuration reads.
pub const ENV_TOKEN: &str = "COCKPIT_TOKEN";
/// See [`ENV_TOKEN`].
pub const ENV_METRICS_URL: &str = "COCKPIT_METRICS_PUSH_URL";
/// See [`ENV_TOKEN`].
pub const ENV_LOGS_URL: &str = "COCKPIT_LOGS_PUSH_URL";
/// Series whose names match this are dropped unless `keep_high_cardinality` is set: per-agent
/// connection and statistics series (one per workspace agent and label combination) and
/// histogram buckets, which together make most of a Coder deployment's series count.
pub const HIGH_CARDINALITY_SERIES: &str =
    "coderd_agents_connection_latencies_seconds|coderd_agentstats_.*|.*_bucket";
/// Labels removed from every series unless `keep_high_cardinality` is set (each value makes
/// a new series, and none of them is needed to tell one server from another).
pub const HIGH_CARDINALITY_LABELS: &str = "pod_template_hash|controller_revision_hash|uid";

/// What the collector gathers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CollectTarget {
    /// Coder's own Prometheus endpoint.
    CoderMetrics,
    /// Workspace agent statistics (Coder's `CODER_PROMETHEUS_COLLECT_AGENT_STATS`), aggregated
    /// by template so the series count does not grow with every workspace.
    WorkspaceMetrics,
    /// Pods that opt in with the label [`OPT_IN_LABEL`] and a port named [`OPT_IN_PORT_NAME`].
    PodMetrics,
    /// Pod logs of the collected namespaces.
    PodLogs,
}

impl CollectTarget {
    /// Every target, as written in the settings file.
    pub const ALL: [CollectTarget; 4] = [
        CollectTarget::CoderMetrics,
        CollectTarget::WorkspaceMetrics,
        CollectTarget::PodMetrics,
        CollectTarget::PodLogs,
    ];

    /// The name used in `[monitoring] collect`.
    pub fn name(self) -> &'static str {
        match self {
            CollectTarget::CoderMetrics => "coder_metrics",
            CollectTarget::WorkspaceMetrics => "workspace_metrics",
            CollectTarget::PodMetrics => "pod_metrics",
            CollectTarget::PodLogs => "pod_logs",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    fn is_metrics(self) -> bool {
        self != CollectTarget::PodLogs
    }
}

/// The `[monitoring]` settings of an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringSettings {
    /// Whether the environment pushes to Cockpit (on in staging and prod by default).
    pub enabled: bool,
    /// Whether the settings file said `enabled` itself (then `up --enable-monitoring` does not
    /// override it, and a recorded collector does not keep it on).
    pub enabled_in_file: bool,
    /// The Alloy chart version (pinned).
    pub alloy_version: String,
    /// What is collected (no duplicates, in [`CollectTarget::ALL`] order).
    pub collect: Vec<CollectTarget>,
    /// Namespaces whose pods are scraped (when opted in) and whose logs are shipped. Coder's
    /// workspaces run in the `coder` namespace (the templates' `namespace` variable).
    pub namespaces: Vec<String>,
    /// Retention of the metrics data source, days.
    pub metrics_retention_days: u32,
    /// Retention of the logs data source, days.
    pub logs_retention_days: u32,
    /// Scrape interval, seconds.
    pub scrape_interval_seconds: u32,
    /// Keep the series and labels dropped by default ([`HIGH_CARDINALITY_SERIES`]).
    pub keep_high_cardinality: bool,
    /// Series the collector is expected to push (for the cost estimate).
    pub expected_series: u64,
    /// Log volume expected per month, GB (for the cost estimate).
    pub expected_logs_gb_per_month: f64,
    /// E-mail addresses alerts are sent to.
    pub alert_contacts: Vec<String>,
    /// Whether Scaleway's managed alerts are on.
    pub managed_alerts: bool,
}

impl MonitoringSettings {
    /// The built-in settings of `env`.
    pub fn builtin(env: Environment) -> Self {
        let base = MonitoringSettings {
            enabled: env != Environment::Dev,
            enabled_in_file: false,
            alloy_version: ALLOY_CHART_VERSION.into(),
            collect: CollectTarget::ALL.to_vec(),
            namespaces: vec!["coder".into()],
            // Cockpit's free retention periods.
            metrics_retention_days: 31,
            logs_retention_days: 7,
            scrape_interval_seconds: 60,
            keep_high_cardinality: false,
            expected_series: 1_000,
            expected_logs_gb_per_month: 2.0,
            alert_contacts: vec![],
            managed_alerts: true,
        };
        match env {
            Environment::Prod => MonitoringSettings {
                metrics_retention_days: 90,
                logs_retention_days: 30,
                expected_series: 2_000,
                expected_logs_gb_per_month: 10.0,
                ..base
            },
            _ => base,
        }
    }

    /// Whether `target` is collected.
    pub fn collects(&self, target: CollectTarget) -> bool {
        self.collect.contains(&target)
    }

    /// Whether anything pushes metrics (so a metrics data source is needed).
    pub fn metrics(&self) -> bool {
        self.collect.iter().any(|t| t.is_metrics())
    }

    /// Whether pod logs are shipped (so a logs data source is needed).
    pub fn logs(&self) -> bool {
        self.collects(CollectTarget::PodLogs)
    }

    /// Samples pushed per 30-day month: every expected series once per scrape interval.
    pub fn expected_monthly_samples(&self) -> u64 {
        let scrapes = 30 * 86_400 / u64::from(self.scrape_interval_seconds.max(1));
        self.expected_series * scrapes
    }

    /// Checks every value; errors are `(key, message)` naming the field, value and fix.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let retention = |key: &'static str, days: u32, free: u32| {
            if RETENTION_DAYS.contains(&u64::from(days)) {
                Ok(())
            } else {
                Err((
                    key,
                    format!(
                        "[monitoring] {key} = {days} is out of range: Cockpit keeps data 1 to 1825 days; use a value in that range ({free} is free of charge)"
                    ),
                ))
            }
        };
        retention("metrics_retention_days", self.metrics_retention_days, 31)?;
        retention("logs_retention_days", self.logs_retention_days, 7)?;
        if !(10..=3600).contains(&self.scrape_interval_seconds) {
            return Err((
                "scrape_interval_seconds",
                format!(
                    "[monitoring] scrape_interval_seconds = {} is out of range; use 10 to 3600 (60 is the default)",
                    self.scrape_interval_seconds
                ),
            ));
        }
        if !version_is_pinned(&self.alloy_version) {
            return Err((
                "alloy_version",
                format!(
                    "[monitoring] alloy_version = {:?} is not a chart version: pin one such as \"{ALLOY_CHART_VERSION}\"",
                    self.alloy_version
                ),
            ));
        }
        if !(self.expected_logs_gb_per_month.is_finite() && self.expected_logs_gb_per_month >= 0.0)
        {
            return Err((
                "expected_logs_gb_per_month",
                format!(
                    "[monitoring] expected_logs_gb_per_month = {} must be a number of GB, 0 or more",
                    self.expected_logs_gb_per_month
                ),
            ));
        }
        if self.enabled && self.collect.is_empty() {
            return Err((
                "collect",
                format!(
                    "[monitoring] collect is empty while monitoring is enabled; list some of {} or set `enabled = false`",
                    target_names()
                ),
            ));
        }
        // The collector's Role and the policies admitting it are declared in each namespace,
        // so only the namespaces the app phase creates can be collected.
        let managed = super::app::NAMESPACES;
        for ns in &self.namespaces {
            if !managed.contains(&ns.as_str()) {
                return Err((
                    "namespaces",
                    format!(
                        "[monitoring] namespaces: {ns:?} is not a namespace of the platform; use {} (workspaces run in \"coder\")",
                        managed.join(" or ")
                    ),
                ));
            }
        }
        if self.namespaces.is_empty()
            && (self.collects(CollectTarget::PodLogs) || self.collects(CollectTarget::PodMetrics))
        {
            return Err((
                "namespaces",
                "[monitoring] namespaces is empty while pod_logs or pod_metrics is collected; list \"coder\" or remove them from collect".to_string(),
            ));
        }
        let mut seen = Vec::new();
        for (i, email) in self.alert_contacts.iter().enumerate() {
            if !is_email(email) {
                return Err((
                    "alert_contacts",
                    format!(
                        "[monitoring] alert_contacts[{i}] = {email:?} is not an e-mail address; write it as name@example.com"
                    ),
                ));
            }
            if seen.contains(&email.to_ascii_lowercase()) {
                return Err((
                    "alert_contacts",
                    format!(
                        "[monitoring] alert_contacts[{i}] = {email:?} is listed twice; remove the duplicate"
                    ),
                ));
            }
            seen.push(email.to_ascii_lowercase());
        }
        Ok(())
    }
}

fn target_names() -> String {
    CollectTarget::ALL.map(CollectTarget::name).join(", ")
}

fn version_is_pinned(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[monitoring]` as written in an override file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringOverrides {
    enabled: Option<bool>,
    alloy_version: Option<String>,
    collect: Option<Vec<String>>,
    namespaces: Option<Vec<String>>,
    metrics_retention_days: Option<u32>,
    logs_retention_days: Option<u32>,
    scrape_interval_seconds: Option<u32>,
    keep_high_cardinality: Option<bool>,
    expected_series: Option<u64>,
    expected_logs_gb_per_month: Option<f64>,
    alert_contacts: Option<Vec<String>>,
    managed_alerts: Option<bool>,
}

impl MonitoringOverrides {
    /// Applies the file's values; an unknown collector target is an error `(key, message)`.
    pub fn apply(self, m: &mut MonitoringSettings) -> Result<(), (&'static str, String)> {
        if let Some(v) = self.enabled {
            m.enabled = v;
            m.enabled_in_file = true;
        }
        if let Some(v) = self.alloy_version {
            m.alloy_version = v;
        }
        if let Some(names) = self.collect {
            let mut collect = Vec::new();
            for name in &names {
                let Some(t) = CollectTarget::parse(name) else {
                    let known = CollectTarget::ALL.map(CollectTarget::name);
                    return Err((
                        "collect",
                        format!(
                            "[monitoring] collect: {name:?} is not a collector target{}; use some of {}",
                            crate::suggest::did_you_mean(name, &known),
                            target_names()
                        ),
                    ));
                };
                if !collect.contains(&t) {
                    collect.push(t);
                }
            }
            collect.sort();
            m.collect = collect;
        }
        if let Some(v) = self.namespaces {
            m.namespaces = v;
        }
        if let Some(v) = self.metrics_retention_days {
            m.metrics_retention_days = v;
        }
        if let Some(v) = self.logs_retention_days {
            m.logs_retention_days = v;
        }
        if let Some(v) = self.scrape_interval_seconds {
            m.scrape_interval_seconds = v;
        }
        if let Some(v) = self.keep_high_cardinality {
            m.keep_high_cardinality = v;
        }
        if let Some(v) = self.expected_series {
            m.expected_series = v;
        }
        if let Some(v) = self.expected_logs_gb_per_month {
            m.expected_logs_gb_per_month = v;
        }
        if let Some(v) = self.alert_contacts {
            m.alert_contacts = v;
        }
        if let Some(v) = self.managed_alerts {
            m.managed_alerts = v;
        }
        Ok(())
    }
}

/// A value of the Alloy configuration syntax.
#[derive(Debug, Clone, PartialEq)]
pub enum AlloyValue {
    /// A string literal (escaped when written).
    Str(String),
    /// A number or boolean literal, or an expression such as `sys.env("X")` or
    /// `discovery.kubernetes.coder.targets`, written as is.
    Expr(String),
    /// A list.
    List(Vec<AlloyValue>),
    /// An object (`{ key = value, ... }`); keys are quoted.
    Object(Vec<(String, AlloyValue)>),
}

impl AlloyValue {
    fn str(s: &str) -> Self {
        AlloyValue::Str(s.into())
    }

    fn expr(s: impl Into<String>) -> Self {
        AlloyValue::Expr(s.into())
    }

    fn strs(items: &[String]) -> Self {
        AlloyValue::List(items.iter().map(|s| AlloyValue::Str(s.clone())).collect())
    }

    fn write(&self, out: &mut String) {
        match self {
            AlloyValue::Str(s) => write_string(out, s),
            AlloyValue::Expr(e) => out.push_str(e),
            AlloyValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            AlloyValue::Object(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    out.push_str(if i > 0 { ", " } else { " " });
                    write_string(out, k);
                    out.push_str(" = ");
                    v.write(out);
                }
                out.push_str(if pairs.is_empty() { "}" } else { " }" });
            }
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A block of the Alloy configuration: `name "label" { attributes and blocks }`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlloyBlock {
    /// Component or block name (`prometheus.scrape`, `rule`).
    pub name: String,
    /// The component's label (`"coder"`), absent for nested blocks.
    pub label: Option<String>,
    /// Attributes and nested blocks, in order.
    pub body: Vec<AlloyItem>,
}

/// One line (or nested block) of a block body.
#[derive(Debug, Clone, PartialEq)]
pub enum AlloyItem {
    /// `key = value`.
    Attr(String, AlloyValue),
    /// A nested block.
    Block(AlloyBlock),
}

impl AlloyBlock {
    /// A component `name "label"`.
    pub fn component(name: &str, label: &str) -> Self {
        Self {
            name: name.into(),
            label: Some(label.into()),
            body: vec![],
        }
    }

    /// A nested block without a label.
    pub fn nested(name: &str) -> Self {
        Self {
            name: name.into(),
            label: None,
            body: vec![],
        }
    }

    /// Adds `key = value`.
    pub fn attr(mut self, key: &str, value: AlloyValue) -> Self {
        self.body.push(AlloyItem::Attr(key.into(), value));
        self
    }

    /// Adds a nested block.
    pub fn block(mut self, block: AlloyBlock) -> Self {
        self.body.push(AlloyItem::Block(block));
        self
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = "  ".repeat(indent);
        out.push_str(&pad);
        out.push_str(&self.name);
        if let Some(label) = &self.label {
            out.push(' ');
            write_string(out, label);
        }
        out.push_str(" {\n");
        for item in &self.body {
            match item {
                AlloyItem::Attr(k, v) => {
                    out.push_str(&pad);
                    out.push_str("  ");
                    out.push_str(k);
                    out.push_str(" = ");
                    v.write(out);
                    out.push('\n');
                }
                AlloyItem::Block(b) => b.write(out, indent + 1),
            }
        }
        out.push_str(&pad);
        out.push_str("}\n");
    }
}

/// A whole Alloy configuration file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlloyConfig {
    /// Top-level blocks, in order.
    pub blocks: Vec<AlloyBlock>,
}

impl AlloyConfig {
    /// The configuration text.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "// Generated by kapstan from [monitoring] of environments/<env>.toml; edits here are overwritten.\n",
        );
        for b in &self.blocks {
            out.push('\n');
            b.write(&mut out, 0);
        }
        out
    }

    /// The configuration `settings` ask for in environment `env`: discovery and scraping of
    /// Coder's endpoint and of opted-in pods, the high-cardinality filter, remote write and Loki
    /// push to Cockpit with the token read from the environment (never written in the file).
    pub fn generate(env: Environment, settings: &MonitoringSettings) -> Self {
        let mut blocks = vec![
            AlloyBlock::nested("logging")
                .attr("level", AlloyValue::str("info"))
                .attr("format", AlloyValue::str("logfmt")),
        ];
        let scrape = ScrapeJobs {
            interval: AlloyValue::Str(format!("{}s", settings.scrape_interval_seconds)),
            forward_to: if settings.keep_high_cardinality {
                "prometheus.remote_write.cockpit.receiver"
            } else {
                "prometheus.relabel.drop_high_cardinality.receiver"
            },
        };
        if settings.collects(CollectTarget::CoderMetrics)
            || settings.collects(CollectTarget::WorkspaceMetrics)
        {
            blocks.extend(scrape.job(
                "coder",
                &["coder".to_string()],
                "app.kubernetes.io/name=coder",
                CODER_METRICS_PORT_NAME,
            ));
        }
        if settings.collects(CollectTarget::PodMetrics) {
            blocks.extend(scrape.job(
                "opted_in_pods",
                &settings.namespaces,
                &format!("{OPT_IN_LABEL}=true"),
                OPT_IN_PORT_NAME,
            ));
        }
        if settings.metrics() {
            blocks.extend(metrics_push(env, settings));
        }
        if settings.logs() {
            blocks.extend(log_shipping(env, settings));
        }
        AlloyConfig { blocks }
    }
}

/// How every scrape job of a configuration runs: its interval and where it sends samples
/// (the high-cardinality filter, or straight to remote write when those series are kept).
struct ScrapeJobs {
    interval: AlloyValue,
    forward_to: &'static str,
}

impl ScrapeJobs {
    /// A scrape job: pods of `namespaces` selected by the label `selector`, kept only on the
    /// container port named `port`.
    fn job(&self, job: &str, namespaces: &[String], selector: &str, port: &str) -> [AlloyBlock; 3] {
        let mut relabel = AlloyBlock::component("discovery.relabel", job)
            .attr(
                "targets",
                AlloyValue::expr(format!("discovery.kubernetes.{job}.targets")),
            )
            .block(
                AlloyBlock::nested("rule")
                    .attr(
                        "source_labels",
                        AlloyValue::strs(&["__meta_kubernetes_pod_container_port_name".into()]),
                    )
                    .attr("regex", AlloyValue::str(port))
                    .attr("action", AlloyValue::str("keep")),
            );
        for rule in pod_label_rules() {
            relabel = relabel.block(rule);
        }
        [
            AlloyBlock::component("discovery.kubernetes", job)
                .attr("role", AlloyValue::str("pod"))
                .block(AlloyBlock::nested("namespaces").attr("names", AlloyValue::strs(namespaces)))
                .block(
                    AlloyBlock::nested("selectors")
                        .attr("role", AlloyValue::str("pod"))
                        .attr("label", AlloyValue::str(selector)),
                ),
            relabel,
            AlloyBlock::component("prometheus.scrape", job)
                .attr(
                    "targets",
                    AlloyValue::expr(format!("discovery.relabel.{job}.output")),
                )
                .attr("job_name", AlloyValue::str(job))
                .attr("scrape_interval", self.interval.clone())
                .attr(
                    "forward_to",
                    AlloyValue::List(vec![AlloyValue::expr(self.forward_to)]),
                ),
        ]
    }
}

/// Relabelling rules that name a target by its namespace, pod and container.
fn pod_label_rules() -> [AlloyBlock; 3] {
    [
        ("__meta_kubernetes_namespace", "namespace"),
        ("__meta_kubernetes_pod_name", "pod"),
        ("__meta_kubernetes_pod_container_name", "container"),
    ]
    .map(|(from, to)| {
        AlloyBlock::nested("rule")
            .attr("source_labels", AlloyValue::strs(&[from.to_string()]))
            .attr("target_label", AlloyValue::str(to))
    })
}

/// A push endpoint of Cockpit: its URL and token come from the collector's environment.
fn cockpit_endpoint(url_env: &str) -> AlloyBlock {
    AlloyBlock::nested("endpoint")
        .attr("url", AlloyValue::expr(format!("sys.env({url_env:?})")))
        .attr(
            "headers",
            AlloyValue::Object(vec![(
                "X-Token".into(),
                AlloyValue::expr(format!("sys.env({:?})", ENV_TOKEN)),
            )]),
        )
}

/// The labels every pushed series and log line carries.
fn environment_labels(env: Environment) -> AlloyValue {
    AlloyValue::Object(vec![
        ("environment".into(), AlloyValue::str(env.name())),
        (
            "cluster".into(),
            AlloyValue::Str(format!("coder-{}", env.name())),
        ),
    ])
}

/// The high-cardinality filter (unless those series are kept) and remote write to Cockpit.
fn metrics_push(env: Environment, settings: &MonitoringSettings) -> Vec<AlloyBlock> {
    let mut blocks = vec![];
    if !settings.keep_high_cardinality {
        blocks.push(
            AlloyBlock::component("prometheus.relabel", "drop_high_cardinality")
                .attr(
                    "forward_to",
                    AlloyValue::List(vec![AlloyValue::expr(
                        "prometheus.remote_write.cockpit.receiver",
                    )]),
                )
                .block(
                    AlloyBlock::nested("rule")
                        .attr("source_labels", AlloyValue::strs(&["__name__".into()]))
                        .attr("regex", AlloyValue::str(HIGH_CARDINALITY_SERIES))
                        .attr("action", AlloyValue::str("drop")),
                )
                .block(
                    AlloyBlock::nested("rule")
                        .attr("regex", AlloyValue::str(HIGH_CARDINALITY_LABELS))
                        .attr("action", AlloyValue::str("labeldrop")),
                ),
        );
    }
    blocks.push(
        AlloyBlock::component("prometheus.remote_write", "cockpit")
            .attr("external_labels", environment_labels(env))
            .block(cockpit_endpoint(ENV_METRICS_URL)),
    );
    blocks
}

/// Discovery of the collected namespaces' pods, their logs read and pushed to Cockpit's Loki.
fn log_shipping(env: Environment, settings: &MonitoringSettings) -> [AlloyBlock; 4] {
    let mut relabel = AlloyBlock::component("discovery.relabel", "pod_logs").attr(
        "targets",
        AlloyValue::expr("discovery.kubernetes.pod_logs.targets"),
    );
    for rule in pod_label_rules() {
        relabel = relabel.block(rule);
    }
    [
        AlloyBlock::component("discovery.kubernetes", "pod_logs")
            .attr("role", AlloyValue::str("pod"))
            .block(
                AlloyBlock::nested("namespaces")
                    .attr("names", AlloyValue::strs(&settings.namespaces)),
            ),
        relabel,
        // Logs are read through the Kubernetes API rather than from the node's /var/log, so
        // the collector needs no hostPath volume, which Pod Security baseline and restricted
        // forbid.
        AlloyBlock::component("loki.source.kubernetes", "pod_logs")
            .attr(
                "targets",
                AlloyValue::expr("discovery.relabel.pod_logs.output"),
            )
            .attr(
                "forward_to",
                AlloyValue::List(vec![AlloyValue::expr("loki.write.cockpit.receiver")]),
            ),
        AlloyBlock::component("loki.write", "cockpit")
            .attr("external_labels", environment_labels(env))
            .block(cockpit_endpoint(ENV_LOGS_URL)),
    ]
}

/// Environment variables Coder needs for what `settings` collect (Coder's own options; the
/// chart fixes `CODER_PROMETHEUS_ADDRESS` to `0.0.0.0:2112`).
pub fn coder_env(settings: &MonitoringSettings) -> Vec<(String, String)> {
    let mut env = vec![];
    if !settings.enabled {
        return env;
    }
    let coder = settings.collects(CollectTarget::CoderMetrics);
    let workspaces = settings.collects(CollectTarget::WorkspaceMetrics);
    if coder || workspaces {
        env.push(("CODER_PROMETHEUS_ENABLE".into(), "true".into()));
    }
    if workspaces {
        env.push(("CODER_PROMETHEUS_COLLECT_AGENT_STATS".into(), "true".into()));
        // One series per template rather than per workspace, agent and user.
        env.push((
            "CODER_PROMETHEUS_AGGREGATE_AGENT_STATS_BY".into(),
            "template_name".into(),
        ));
    }
    env
}

/// The pod and container security settings of the collector. They satisfy Pod Security
/// `restricted`, so the release installs under every level an environment enforces.
fn security() -> (Value, Value) {
    // The Alloy image runs as root unless told otherwise; 473 is its `alloy` user.
    let pod = json!({
        "runAsNonRoot": true, "runAsUser": 473, "runAsGroup": 473, "fsGroup": 473,
        "seccompProfile": {"type": "RuntimeDefault"},
    });
    let container = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true, "runAsUser": 473, "runAsGroup": 473,
        "seccompProfile": {"type": "RuntimeDefault"},
    });
    (pod, container)
}

/// Values of the Alloy chart: a one-replica Deployment (it reads logs through the API, so
/// it needs no per-node agent), the generated configuration, the push URLs and the token from
/// [`TOKEN_SECRET`], namespaced RBAC limited to reading pods and their logs, no Service.
pub fn alloy_values(
    p: &Profile,
    metrics_url: Option<Input<String>>,
    logs_url: Option<Input<String>>,
) -> Value {
    let settings = &p.monitoring;
    let (pod_security, container_security) = security();
    let mut env = vec![json!({
        "name": ENV_TOKEN,
        "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}},
    })];
    if let Some(url) = metrics_url {
        env.push(json!({"name": ENV_METRICS_URL, "value": url}));
    }
    if let Some(url) = logs_url {
        env.push(json!({"name": ENV_LOGS_URL, "value": url}));
    }
    let mut rbac_namespaces = settings.namespaces.clone();
    if !rbac_namespaces.iter().any(|n| n == "coder") && settings.metrics() {
        rbac_namespaces.push("coder".into());
    }
    json!({
        "crds": {"create": false},
        "global": {"podSecurityContext": pod_security},
        "alloy": {
            "configMap": {"create": true, "content": AlloyConfig::generate(p.env, settings).render()},
            "enableReporting": false,
            "extraEnv": env,
            "securityContext": container_security,
            "resources": {
                "requests": {"cpu": "100m", "memory": "256Mi"},
                "limits": {"cpu": "500m", "memory": "512Mi"},
            },
        },
        // `kapstan audit` asks every container for limits; the chart's reloader has requests only.
        "configReloader": {
            "resources": {
                "requests": {"cpu": "10m", "memory": "50Mi"},
                "limits": {"cpu": "50m", "memory": "64Mi"},
            },
        },
        "controller": {
            "type": "deployment",
            "replicas": 1,
            "podLabels": {"app.kubernetes.io/part-of": "kapstan-monitoring"},
        },
        "rbac": {
            "create": true,
            "namespaces": rbac_namespaces,
            "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}],
            "clusterRules": [],
        },
        "service": {"enabled": false},
    })
}

fn labels(p: &Profile) -> Value {
    json!({"app.kubernetes.io/managed-by": "kapstan", "kapstan.dev/environment": p.env.name()})
}

fn policy(p: &Profile, ns: &str, name: &str, spec: Value) -> (String, Value) {
    (
        name.to_string(),
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns, "labels": labels(p)},
            "spec": spec,
        }),
    )
}

fn alloy_pods() -> Value {
    json!({"matchLabels": {"app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": ALLOY_RELEASE}})
}

fn from_alloy() -> Value {
    json!({
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}},
        "podSelector": alloy_pods(),
    })
}

/// Network policies monitoring adds to `ns` (on top of deny-all and DNS): in `monitoring`, the
/// collector may reach the Kubernetes API and Cockpit over HTTPS and the scraped ports in the
/// collected namespaces, and nothing may reach it; in `coder` and the other collected
/// namespaces, the collector may reach Coder's metrics port and opted-in pods' metrics port.
pub fn network_policies(p: &Profile, ns: &str) -> Vec<(String, Value)> {
    let m = &p.monitoring;
    if !m.enabled {
        return vec![];
    }
    let mut out = vec![];
    if ns == MONITORING_NAMESPACE {
        let mut egress = vec![json!({
            // Cockpit's push endpoints and the Kapsule API server (443 or 6443) are public
            // addresses kapstan cannot list in advance.
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
            "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}],
        })];
        if m.collects(CollectTarget::CoderMetrics) || m.collects(CollectTarget::WorkspaceMetrics) {
            egress.push(json!({
                "to": [{
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "coder"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "coder"}},
                }],
                "ports": [{"protocol": "TCP", "port": CODER_METRICS_PORT}],
            }));
        }
        if m.collects(CollectTarget::PodMetrics) {
            let to: Vec<Value> = m
                .namespaces
                .iter()
                .map(|n| {
                    json!({
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}},
                        "podSelector": {"matchLabels": {OPT_IN_LABEL: "true"}},
                    })
                })
                .collect();
            egress
                .push(json!({"to": to, "ports": [{"protocol": "TCP", "port": OPT_IN_PORT_NAME}]}));
        }
        out.push(policy(
            p,
            ns,
            "allow-alloy",
            json!({
                "podSelector": alloy_pods(),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": egress,
            }),
        ));
    }
    if ns == "coder"
        && (m.collects(CollectTarget::CoderMetrics) || m.collects(CollectTarget::WorkspaceMetrics))
    {
        out.push(policy(
            p,
            ns,
            "allow-coder-metrics-scrape",
            json!({
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "coder"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [from_alloy()], "ports": [{"protocol": "TCP", "port": CODER_METRICS_PORT}]}],
            }),
        ));
    }
    if m.collects(CollectTarget::PodMetrics) && m.namespaces.iter().any(|n| n == ns) {
        out.push(policy(
            p,
            ns,
            "allow-opted-in-metrics-scrape",
            json!({
                "podSelector": {"matchLabels": {OPT_IN_LABEL: "true"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [from_alloy()], "ports": [{"protocol": "TCP", "port": OPT_IN_PORT_NAME}]}],
            }),
        ));
    }
    out
}

/// Declares the Cockpit data sources, the push token (into a Secret of the monitoring
/// namespace), the alert manager with the contacts, and the Alloy release.
pub fn add_monitoring(
    s: &mut Stack,
    p: &Profile,
    kubeconfig: &Input<String>,
    namespace: &Handle<KubernetesNamespace>,
    chart_repository: Option<&str>,
) {
    let m = &p.monitoring;
    if !m.enabled {
        return;
    }
    let (metrics, logs) = cockpit_sources(s, p);
    let token = cockpit_tokens(s, p, metrics.is_some(), logs.is_some());
    cockpit_alerting(s, p);
    let mut data = BTreeMap::new();
    data.insert("token".to_string(), Input::from(token.secret_key()));
    let secret = s.add(
        "cockpit-token-secret",
        KubernetesSecret {
            kubeconfig: kubeconfig.clone(),
            namespace: namespace.name().into(),
            name: TOKEN_SECRET.into(),
            data,
            ..Default::default()
        },
    );
    let values = alloy_values(
        p,
        metrics.as_ref().map(|h| Input::from(h.push_url())),
        logs.as_ref().map(|h| Input::from(h.push_url())),
    );
    let release = s.add(
        "alloy",
        HelmRelease {
            kubeconfig: kubeconfig.clone(),
            name: ALLOY_RELEASE.into(),
            namespace: namespace.name().into(),
            repository: Some(chart_repository.unwrap_or(ALLOY_REPOSITORY).to_string()),
            chart: "alloy".into(),
            version: Some(m.alloy_version.clone()),
            values,
            create_namespace: false,
            timeout_seconds: Some(300),
            wait: Some(true),
        },
    );
    release.depends_on(&secret);
}

/// The metrics and logs data sources, for what `[monitoring]` collects.
fn cockpit_sources(
    s: &mut Stack,
    p: &Profile,
) -> (Option<Handle<CockpitSource>>, Option<Handle<CockpitSource>>) {
    let (m, env) = (&p.monitoring, p.env.name());
    let metrics = m.metrics().then(|| {
        s.add(
            METRICS_SOURCE,
            CockpitSource {
                name: format!("coder-{env}-metrics").into(),
                kind: "metrics".into(),
                retention_days: Some(u64::from(m.metrics_retention_days)),
                expected_monthly_samples: Some(m.expected_monthly_samples()),
                region: Some(p.region.clone()),
                ..Default::default()
            },
        )
    });
    let logs = m.logs().then(|| {
        s.add(
            "cockpit-logs",
            CockpitSource {
                name: format!("coder-{env}-logs").into(),
                kind: "logs".into(),
                retention_days: Some(u64::from(m.logs_retention_days)),
                expected_monthly_gb: Some(m.expected_logs_gb_per_month),
                region: Some(p.region.clone()),
                ..Default::default()
            },
        )
    });
    (metrics, logs)
}

/// The collector's push token, scoped to the data sources there are, and a read-only token
/// for `kapstan health` when metrics are pushed.
fn cockpit_tokens(s: &mut Stack, p: &Profile, metrics: bool, logs: bool) -> Handle<CockpitToken> {
    let env = p.env.name();
    let mut scopes = vec![];
    if metrics {
        scopes.push("write_metrics".to_string());
    }
    if logs {
        scopes.push("write_logs".to_string());
    }
    let token = s.add(
        "cockpit-push-token",
        CockpitToken {
            name: format!("coder-{env}-alloy").into(),
            scopes,
            region: Some(p.region.clone()),
            ..Default::default()
        },
    );
    if metrics {
        // Read-only, for `kapstan health` to ask whether Coder's metrics arrive.
        s.add(
            HEALTH_TOKEN,
            CockpitToken {
                name: format!("coder-{env}-health").into(),
                scopes: vec!["query_metrics".into()],
                region: Some(p.region.clone()),
                ..Default::default()
            },
        );
    }
    token
}

/// The alert manager with managed alerts as set and the e-mail contacts.
fn cockpit_alerting(s: &mut Stack, p: &Profile) {
    let m = &p.monitoring;
    s.add(
        "cockpit-alerting",
        CockpitAlertManager {
            enable_managed_alerts: Some(m.managed_alerts),
            contact_points: m
                .alert_contacts
                .iter()
                .map(|email| EmailContact {
                    email: email.clone(),
                    send_resolved_notifications: None,
                })
                .collect(),
            region: Some(p.region.clone()),
            ..Default::default()
        },
    );
}
