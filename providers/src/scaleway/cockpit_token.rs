//! `scaleway_cockpit_token`: a Cockpit token with scopes, e.g. a collector's right to push
//! metrics and logs. Its secret key is shown once by the API, at creation: kapstan keeps it as a
//! sensitive attribute (sealed in state, never printed). Tokens cannot be changed in place.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::cockpit::{CreateTokenRequest, Token};
use super::client::{Client, Region};
use super::cockpit::{import_region, recorded_id, region_of_recorded};
use super::provider::{
    ScalewayProvider, api, attributes, check, config_from, conform, found, marker_id, string,
    strings,
};

/// Scopes as Terraform's `scaleway_cockpit_token` names them, and the API's `TokenScope`.
pub const SCOPES: &[(&str, &str)] = &[
    ("query_metrics", "read_only_metrics"),
    ("write_metrics", "write_only_metrics"),
    ("setup_metrics_rules", "full_access_metrics_rules"),
    ("query_logs", "read_only_logs"),
    ("write_logs", "write_only_logs"),
    ("setup_logs_rules", "full_access_logs_rules"),
    ("setup_alerts", "full_access_alert_manager"),
    ("query_traces", "read_only_traces"),
    ("write_traces", "write_only_traces"),
];

/// A Cockpit token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CockpitToken {
    /// Name (the key kapstan finds a lost create by). Changing it replaces the token.
    pub name: Input<String>,
    /// Scopes, e.g. `["write_metrics", "write_logs"]`. Changing them replaces the token.
    pub scopes: Vec<String>,
    /// Region (default: the configured one). Changing it replaces the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project (default: the credentials' project). Changing it replaces the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_cockpit_token`.
    CockpitTokenAttributes {
        /// The region.
        region: String = "region",
    }
}

impl CockpitTokenAttributes {
    /// The secret key (sensitive), for the collector's `X-Token` header.
    pub fn secret_key(&self) -> kapstan_engine::Output<String> {
        self.0.sensitive_output("secret_key")
    }
}

impl Resource for CockpitToken {
    const KIND: &'static str = "scaleway_cockpit_token";
    type Attributes = CockpitTokenAttributes;
}

/// The `scaleway_cockpit_token` driver.
#[derive(Debug)]
pub struct CockpitTokenDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

fn api_scope(short: &str) -> Option<&'static str> {
    SCOPES.iter().find(|(s, _)| *s == short).map(|(_, a)| *a)
}

fn short_scope(api_name: &str) -> String {
    SCOPES
        .iter()
        .find(|(_, a)| *a == api_name)
        .map(|(s, _)| s.to_string())
        .unwrap_or_else(|| api_name.to_string())
}

impl CockpitTokenDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_cockpit_token",
                vec![
                    Field::required("name")
                        .force_new()
                        .describe("name of the token; changing it replaces the token"),
                    Field::required("scopes").force_new().describe(
                        "scopes among query_metrics, write_metrics, setup_metrics_rules, query_logs, write_logs, setup_logs_rules, setup_alerts, query_traces, write_traces; changing them replaces the token",
                    ),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region; default: the configured region (the data sources' region)"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("secret_key").sensitive().describe(
                        "the secret key for the `X-Token` header (only known to a token kapstan created)",
                    ),
                    Field::computed("created_at").describe("creation time"),
                ],
            ),
        }
    }

    /// Tokens of this project with the exact name (what a lost create left behind).
    async fn same_name(
        &self,
        client: &Client,
        region: &Region,
        config: &Value,
    ) -> Result<Vec<Token>, DriverError> {
        let name = string(config, "name").unwrap_or_default();
        let filter = ListFilter {
            project_id: Some(self.p.project_of(config)?),
            ..ListFilter::default()
        };
        Ok(client
            .cockpit(region)
            .list_tokens(&filter)
            .await
            .map_err(api)?
            .into_iter()
            .filter(|t| t.name == name)
            .collect())
    }

    /// Deletes what a lost create left: its secret key was only in the lost response, so the
    /// token is useless and a new one replaces it.
    async fn delete_orphans(
        &self,
        client: &Client,
        region: &Region,
        orphans: Vec<Token>,
    ) -> Result<(), DriverError> {
        for t in orphans {
            match client.cockpit(region).delete_token(&t.id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(api(e)),
            }
        }
        Ok(())
    }
}

fn attrs(t: &Token, config: &Value, secret: Option<&str>) -> Value {
    let mut a = json!({
        "name": t.name,
        "scopes": t.scopes.iter().map(|s| short_scope(s)).collect::<Vec<_>>(),
        "region": t.region,
        "project_id": t.project_id,
        "created_at": t.created_at,
    });
    if let Some(s) = secret {
        a["secret_key"] = json!(s);
    }
    conform(&mut a, config);
    a
}

#[async_trait]
impl Driver for CockpitTokenDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::name(config, "name", &mut e);
        if let Some(scopes) = config.get("scopes").and_then(Value::as_array) {
            if scopes.is_empty() {
                e.push(FieldError::new(
                    "scopes",
                    "[]",
                    "gives the token no right at all",
                    "list what it may do, e.g. [\"write_metrics\", \"write_logs\"]",
                ));
            }
            for s in scopes {
                if s.as_str().is_none_or(|s| api_scope(s).is_none()) {
                    e.push(FieldError::new(
                        "scopes",
                        &s.to_string(),
                        "is not a Cockpit token scope",
                        &format!(
                            "use one of {}",
                            SCOPES
                                .iter()
                                .map(|(s, _)| *s)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
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
        let secret = rec.attributes.get("secret_key").and_then(Value::as_str);
        Ok(
            found(client.cockpit(&region).get_token(recorded_id(rec)).await)?
                .map(|t| attrs(&t, &rec.config, secret)),
        )
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let req = CreateTokenRequest {
            project_id: self.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            token_scopes: strings(config, "scopes")
                .iter()
                .filter_map(|s| api_scope(s))
                .map(str::to_string)
                .collect(),
        };
        let mut attempt = 0;
        let token = loop {
            attempt += 1;
            match client.cockpit(&region).create_token(&req).await {
                Ok(t) => break t,
                Err(e) if e.is_ambiguous() && attempt < 3 => {
                    let orphans = self.same_name(&client, &region, config).await?;
                    self.delete_orphans(&client, &region, orphans).await?;
                }
                Err(e) => return Err(api(e)),
            }
        };
        ctx.checkpoint(json!({"id": token.id})).await?;
        let secret = token.secret_key.as_ref().map(|s| s.expose().to_string());
        if secret.is_none() {
            return Err(DriverError::failed(format!(
                "Cockpit created token {} without returning its secret key; delete it and apply again",
                token.id
            )));
        }
        Ok(Created {
            id: token.id.clone(),
            attributes: attrs(&token, config, secret.as_deref()),
        })
    }

    async fn recover(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // The secret key of a create whose outcome was lost cannot be read back: whatever it
        // left is deleted and `create` makes a token whose key kapstan holds.
        let client = self.p.client()?;
        let region = self.p.region_of(config)?;
        let orphans = match marker_id(marker) {
            Some(id) => found(client.cockpit(&region).get_token(id).await)?
                .into_iter()
                .collect(),
            None => self.same_name(&client, &region, config).await?,
        };
        self.delete_orphans(&client, &region, orphans).await?;
        Ok(None)
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
        _config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        // Every argument forces a replacement; nothing to change in place.
        Ok(rec.attributes.clone())
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = region_of_recorded(&self.p, rec)?;
        match client.cockpit(&region).delete_token(recorded_id(rec)).await {
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
        Ok(
            found(client.cockpit(&region).get_token(id).await)?.map(|t| {
                // No secret key: the API never shows it again after creation.
                let attributes = attrs(&t, &Value::Null, None);
                Imported {
                    config: config_from(&self.schema, &attributes),
                    attributes,
                }
            }),
        )
    }
}
