//! `scaleway_cockpit_source`: a custom Cockpit data source (metrics, logs or traces) that a
//! collector pushes to; its retention is updated in place, its type and region replace it.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::cockpit::{CreateDataSourceRequest, DataSource, UpdateDataSourceRequest};
use super::client::{Client, Region};
use super::cockpit::{
    RETENTION_DAYS, SOURCE_TYPES, default_retention, import_region, recorded_id, region_of_recorded,
};
use super::provider::{
    ScalewayProvider, api, attributes, check, config_from, conform, found, marker_id,
    post_or_adopt, string,
};

/// A custom Cockpit data source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CockpitSource {
    /// Name (updated in place; the key kapstan finds a lost create by).
    pub name: Input<String>,
    /// `metrics`, `logs` or `traces`. Changing it replaces the source.
    #[serde(rename = "type")]
    pub kind: String,
    /// Retention in days, 1 to 1825 (default 31 for metrics, 7 for logs and traces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u64>,
    /// Expected samples per month (metrics), for the cost estimate only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_monthly_samples: Option<u64>,
    /// Expected GB per month (logs, traces), for the cost estimate only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_monthly_gb: Option<f64>,
    /// Region (default: the configured one). Changing it replaces the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project (default: the credentials' project). Changing it replaces the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_cockpit_source`.
    CockpitSourceAttributes {
        /// Base URL of the source's endpoints.
        url: String = "url",
        /// The push endpoint (`/api/v1/push` for metrics, `/loki/api/v1/push` for logs).
        push_url: String = "push_url",
        /// The region.
        region: String = "region",
    }
}

impl Resource for CockpitSource {
    const KIND: &'static str = "scaleway_cockpit_source";
    type Attributes = CockpitSourceAttributes;
}

/// The `scaleway_cockpit_source` driver.
#[derive(Debug)]
pub struct CockpitSourceDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl CockpitSourceDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_cockpit_source",
                vec![
                    Field::required("name").describe("name of the data source (updated in place)"),
                    Field::required("type")
                        .force_new()
                        .describe("`metrics`, `logs` or `traces`"),
                    Field::optional_computed("retention_days").describe(
                        "retention in days, 1–1825 (updated in place); default 31 for metrics, 7 for logs and traces",
                    ),
                    Field::optional("expected_monthly_samples").describe(
                        "expected samples ingested per month (metrics), priced in plans; not sent to Scaleway",
                    ),
                    Field::optional("expected_monthly_gb").describe(
                        "expected GB ingested per month (logs, traces), priced in plans; not sent to Scaleway",
                    ),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region; default: the configured region"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("url").describe("base URL of the source's endpoints"),
                    Field::computed("push_url").describe(
                        "push endpoint: `{url}/api/v1/push` (Prometheus remote write) or `{url}/loki/api/v1/push` (Loki)",
                    ),
                    Field::computed("origin").describe("`custom` for sources kapstan creates"),
                    Field::computed("created_at").describe("creation time"),
                ],
            ),
        }
    }

    /// The custom source of this project, type and exact name (a lost create's outcome).
    async fn find(
        &self,
        client: &Client,
        region: &Region,
        config: &Value,
    ) -> Result<Option<DataSource>, DriverError> {
        let name = string(config, "name").unwrap_or_default();
        let kind = string(config, "type").unwrap_or_default();
        let filter = ListFilter {
            project_id: Some(self.p.project_of(config)?),
            ..ListFilter::default()
        }
        .with("types", &kind)
        .with("origin", "custom");
        let mut same: Vec<DataSource> = client
            .cockpit(region)
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
}

fn push_url(d: &DataSource) -> String {
    match d.kind.as_str() {
        "metrics" => format!("{}/api/v1/push", d.url),
        "logs" => format!("{}/loki/api/v1/push", d.url),
        // Traces are pushed over OTLP: `{url}/otlp/v1/traces`.
        _ => format!("{}/otlp/v1/traces", d.url),
    }
}

fn attrs(d: &DataSource, config: &Value) -> Value {
    let mut a = json!({
        "name": d.name,
        "type": d.kind,
        "retention_days": d.retention_days,
        "region": d.region,
        "project_id": d.project_id,
        "url": d.url,
        "push_url": push_url(d),
        "origin": d.origin,
        "created_at": d.created_at,
    });
    // Estimate inputs live only in the declaration.
    for key in ["expected_monthly_samples", "expected_monthly_gb"] {
        if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
            a[key] = v.clone();
        }
    }
    conform(&mut a, config);
    a
}

fn retention(config: &Value) -> u64 {
    config
        .get("retention_days")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| default_retention(config["type"].as_str().unwrap_or_default()))
}

#[async_trait]
impl Driver for CockpitSourceDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::name(config, "name", &mut e);
        let kind = config.get("type").and_then(Value::as_str);
        match kind {
            Some(k) if SOURCE_TYPES.contains(&k) => {}
            Some(k) => e.push(FieldError::new(
                "type",
                &format!("{k:?}"),
                "is not a Cockpit data source type",
                "use metrics, logs or traces",
            )),
            None => {}
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
        if let Some(v) = config
            .get("expected_monthly_samples")
            .filter(|v| !v.is_null())
        {
            if v.as_u64().is_none() {
                e.push(FieldError::new(
                    "expected_monthly_samples",
                    &v.to_string(),
                    "is not a whole number of samples",
                    "give the expected samples per month, e.g. 2678400 for one sample per second",
                ));
            } else if kind.is_some_and(|k| k != "metrics") {
                e.push(FieldError::new(
                    "expected_monthly_samples",
                    &v.to_string(),
                    "only prices metrics sources",
                    "use expected_monthly_gb for logs and traces",
                ));
            }
        }
        if let Some(v) = config.get("expected_monthly_gb").filter(|v| !v.is_null()) {
            if !v.as_f64().is_some_and(|g| g >= 0.0 && g.is_finite()) {
                e.push(FieldError::new(
                    "expected_monthly_gb",
                    &v.to_string(),
                    "is not a non-negative number of GB",
                    "give the expected GB per month, e.g. 5",
                ));
            } else if kind == Some("metrics") {
                e.push(FieldError::new(
                    "expected_monthly_gb",
                    &v.to_string(),
                    "only prices logs and traces sources",
                    "use expected_monthly_samples for metrics",
                ));
            }
        }
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let region = region_of_recorded(&self.p, rec)?;
        Ok(found(
            client
                .cockpit(&region)
                .get_data_source(recorded_id(rec))
                .await,
        )?
        .map(|d| attrs(&d, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let req = CreateDataSourceRequest {
            project_id: self.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            kind: string(config, "type").unwrap_or_default(),
            retention_days: retention(config) as u32,
        };
        let (c, r, q) = (&client, &region, &req);
        let source = post_or_adopt(
            move || async move { c.cockpit(r).create_data_source(q).await },
            move || async move { self.find(c, r, config).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": source.id})).await?;
        Ok(Created {
            id: source.id.clone(),
            attributes: attrs(&source, config),
        })
    }

    async fn recover(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client()?;
        let region = self.p.region_of(config)?;
        let found = match marker_id(marker) {
            Some(id) => found(client.cockpit(&region).get_data_source(id).await)?,
            None => self.find(&client, &region, config).await?,
        };
        Ok(found.map(|d| Created {
            id: d.id.clone(),
            attributes: attrs(&d, config),
        }))
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = region_of_recorded(&self.p, rec)?;
        let req = UpdateDataSourceRequest {
            name: string(config, "name"),
            retention_days: Some(retention(config) as u32),
        };
        let d = client
            .cockpit(&region)
            .update_data_source(recorded_id(rec), &req)
            .await
            .map_err(api)?;
        Ok(attrs(&d, config))
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = region_of_recorded(&self.p, rec)?;
        match client
            .cockpit(&region)
            .delete_data_source(recorded_id(rec))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(api(e)),
        }
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let client = self.p.client()?;
        let (region, id) = import_region(&client, id)?;
        match found(client.cockpit(&region).get_data_source(id).await)? {
            Some(d) => {
                let attributes = attrs(&d, &Value::Null);
                Ok(Some(Imported {
                    config: config_from(&self.schema, &attributes),
                    attributes,
                }))
            }
            None => Ok(None),
        }
    }
}
