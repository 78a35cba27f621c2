//! `scaleway_cockpit_source`: a custom Cockpit data source (metrics, logs or traces) that a
//! collector pushes to; its retention is updated in place, its type and region replace it.

use kapstan_engine::{DriverError, FieldError, Input};
use serde_json::Value;

use super::client::Region;
use super::client::api::ListFilter;
use super::client::wire::cockpit::{CreateDataSourceRequest, DataSource, UpdateDataSourceRequest};
use super::cockpit::{RETENTION_DAYS, SOURCE_TYPES, default_retention};
use super::kind::{Op, kind, kind_impl};
use super::provider::{api, check, conform, string};

kind! {
    /// A custom Cockpit data source.
    pub struct CockpitSource = "scaleway_cockpit_source"
        (CockpitSourceKind, CockpitSourceAttributes, CockpitSourceDriver);
    wire DataSource as d, id d.id;
    /// name of the data source (updated in place)
    name: Input<String>, required => d.name;
    /// `metrics`, `logs` or `traces`
    kind as "type": String, required force_new => d.kind;
    /// retention in days, 1–1825 (updated in place); default 31 for metrics, 7 for logs and
    /// traces
    retention_days: Option<u64>, optional_computed => d.retention_days;
    /// expected samples ingested per month (metrics), priced in plans; not sent to Scaleway
    expected_monthly_samples: Option<u64>, optional;
    /// expected GB ingested per month (logs, traces), priced in plans; not sent to Scaleway
    expected_monthly_gb: Option<f64>, optional;
    region => d.region;
    project_id => d.project_id;
    /// base URL of the source's endpoints
    url: String, computed => d.url;
    /// push endpoint: `{url}/api/v1/push` (Prometheus remote write) or `{url}/loki/api/v1/push`
    /// (Loki)
    push_url: String, computed => push_url(d);
    /// `custom` for sources kapstan creates
    origin: String, computed => d.origin;
    /// creation time
    created_at: String, computed => d.created_at;
}

fn push_url(d: &DataSource) -> String {
    match d.kind.as_str() {
        "metrics" => format!("{}/api/v1/push", d.url),
        "logs" => format!("{}/loki/api/v1/push", d.url),
        // Traces are pushed over OTLP: `{url}/otlp/v1/traces`.
        _ => format!("{}/otlp/v1/traces", d.url),
    }
}

fn retention(config: &Value) -> u64 {
    config
        .get("retention_days")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| default_retention(config["type"].as_str().unwrap_or_default()))
}

/// An estimate input: its key, whether it prices metrics (else logs and traces), what a
/// valid value is and what to say about another.
struct Estimate {
    key: &'static str,
    metrics: bool,
    valid: fn(&Value) -> bool,
    invalid: [&'static str; 2],
}

/// The two estimate inputs, each the other's alternative.
const ESTIMATES: [Estimate; 2] = [
    Estimate {
        key: "expected_monthly_samples",
        metrics: true,
        valid: |v| v.as_u64().is_some(),
        invalid: [
            "is not a whole number of samples",
            "give the expected samples per month, e.g. 2678400 for one sample per second",
        ],
    },
    Estimate {
        key: "expected_monthly_gb",
        metrics: false,
        valid: |v| v.as_f64().is_some_and(|g| g >= 0.0 && g.is_finite()),
        invalid: [
            "is not a non-negative number of GB",
            "give the expected GB per month, e.g. 5",
        ],
    },
];

impl Estimate {
    fn priced(&self) -> &'static str {
        if self.metrics {
            "metrics"
        } else {
            "logs and traces"
        }
    }

    /// Refuses an invalid value, or one for a source type it does not price (`kind`).
    fn check(&self, other: &Estimate, config: &Value, kind: Option<&str>, e: &mut Vec<FieldError>) {
        let Some(v) = config.get(self.key).filter(|v| !v.is_null()) else {
            return;
        };
        if !(self.valid)(v) {
            e.push(FieldError::new(
                self.key,
                &v.to_string(),
                self.invalid[0],
                self.invalid[1],
            ));
        } else if kind.is_some_and(|k| (k == "metrics") != self.metrics) {
            e.push(FieldError::new(
                self.key,
                &v.to_string(),
                &format!("only prices {} sources", self.priced()),
                &format!("use {} for {}", other.key, other.priced()),
            ));
        }
    }
}

kind_impl! {
    impl Kind for CockpitSourceKind, calls cockpit {
        get: get_data_source; post: create_data_source; remove: delete_data_source;
    }
    update(op, config) => update_data_source(UpdateDataSourceRequest {
        name: string(config, "name"),
        retention_days: Some(retention(config) as u32),
    });

    type Place = Region;
    type Request = CreateDataSourceRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::name(config, "name", e);
        let kind = config.get("type").and_then(Value::as_str);
        if let Some(k) = kind.filter(|k| !SOURCE_TYPES.contains(k)) {
            e.push(FieldError::new(
                "type",
                &format!("{k:?}"),
                "is not a Cockpit data source type",
                "use metrics, logs or traces",
            ));
        }
        if let Some(v) = config.get("retention_days").filter(|v| !v.is_null())
            && !v.as_u64().is_some_and(|d| RETENTION_DAYS.contains(&d))
        {
            e.push(FieldError::new(
                "retention_days",
                &v.to_string(),
                &format!(
                    "is outside Cockpit's retention range of {} to {} days",
                    RETENTION_DAYS.start(),
                    RETENTION_DAYS.end()
                ),
                "use a whole number of days between 1 and 1825 (31 for metrics and 7 for logs are free)",
            ));
        }
        let [samples, gb] = &ESTIMATES;
        samples.check(gb, config, kind, e);
        gb.check(samples, config, kind, e);
    }

    /// The estimate inputs live only in the declaration.
    fn shape(attributes: &mut Value, config: &Value) {
        for key in ["expected_monthly_samples", "expected_monthly_gb"] {
            if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
                attributes[key] = v.clone();
            }
        }
        conform(attributes, config);
    }

    /// The custom source of this project, type and exact name (a lost create's outcome).
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<DataSource>, DriverError> {
        let Op { c, at, config, .. } = *op;
        let name = string(config, "name").unwrap_or_default();
        let kind = string(config, "type").unwrap_or_default();
        let filter = ListFilter {
            project_id: Some(op.project()?),
            ..ListFilter::default()
        }
        .with("types", &kind)
        .with("origin", "custom");
        let mut same: Vec<DataSource> = c
            .cockpit(at)
            .list_data_sources(&filter)
            .await
            .map_err(api)?
            .into_iter()
            .filter(|d| d.name == name && d.kind == kind)
            .collect();
        match same.len() {
            0 | 1 => Ok(same.pop()),
            n => Err(DriverError::failed(format!(
                "{n} Cockpit {kind} data sources are named {name:?} ({}); kapstan cannot tell which one it created: delete the extra ones or import one",
                same.iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateDataSourceRequest, DriverError> {
        let config = op.config;
        Ok(CreateDataSourceRequest {
            project_id: op.project()?,
            name: string(config, "name").unwrap_or_default(),
            kind: string(config, "type").unwrap_or_default(),
            retention_days: retention(config) as u32,
        })
    }
}
