//! `scaleway_cockpit_alert_manager`: the alert manager of a project and region enabled, its
//! managed alerts on or off, and the e-mail contact points alerts go to. There is one alert
//! manager per project and region; deleting this resource disables it, which (Scaleway's API
//! reference) also deletes its contact points and turns managed alerts off.

use std::collections::BTreeMap;
use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Resource, Schema,
    async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::wire::cockpit::{
    AlertManager, ContactPoint, ContactPointEmail, ContactPointRequest,
};
use super::client::{Client, Region};
use super::cockpit::{is_email, region_of_recorded};
use super::provider::{ScalewayProvider, api, attributes, check, conform, split_locality};

/// One e-mail contact point.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EmailContact {
    /// The address alerts are sent to.
    pub email: String,
    /// Whether a resolved alert is notified too (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved_notifications: Option<bool>,
}

/// The alert manager of a project and region.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CockpitAlertManager {
    /// Whether Scaleway's managed alerts are sent (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_managed_alerts: Option<bool>,
    /// Where alerts go.
    #[serde(default)]
    pub contact_points: Vec<EmailContact>,
    /// Region (default: the configured one). Changing it replaces the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project (default: the credentials' project). Changing it replaces the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_cockpit_alert_manager`.
    CockpitAlertManagerAttributes {
        /// The alert manager's URL.
        alert_manager_url: String = "alert_manager_url",
    }
}

impl Resource for CockpitAlertManager {
    const KIND: &'static str = "scaleway_cockpit_alert_manager";
    type Attributes = CockpitAlertManagerAttributes;
}

/// The `scaleway_cockpit_alert_manager` driver.
#[derive(Debug)]
pub struct CockpitAlertManagerDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

/// Declared contact points: address → send resolved notifications.
fn declared(config: &Value) -> BTreeMap<String, bool> {
    config
        .get("contact_points")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    let email = c.get("email")?.as_str()?.to_string();
                    let resolved = c
                        .get("send_resolved_notifications")
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                    Some((email, resolved))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn managed_alerts(config: &Value) -> bool {
    config
        .get("enable_managed_alerts")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

fn attrs(m: &AlertManager, points: &[ContactPoint], project: &str, config: &Value) -> Value {
    // Shaped like the declaration: the flag shows when declared or when off the default.
    let spelled: std::collections::BTreeSet<String> = config
        .get("contact_points")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            c.get("send_resolved_notifications")
                .is_some_and(|v| !v.is_null())
        })
        .filter_map(|c| c.get("email").and_then(Value::as_str).map(str::to_string))
        .collect();
    let contacts: Vec<Value> = points
        .iter()
        .filter_map(|p| p.email.as_ref().map(|e| (e, p.send_resolved_notifications)))
        .map(|(e, resolved)| {
            if resolved && !spelled.contains(&e.to) {
                json!({"email": e.to})
            } else {
                json!({"email": e.to, "send_resolved_notifications": resolved})
            }
        })
        .collect();
    let mut a = json!({
        "enable_managed_alerts": m.managed_alerts_enabled,
        "contact_points": contacts,
        "region": m.region,
        "project_id": project,
        "alert_manager_url": m.alert_manager_url,
    });
    conform(&mut a, config);
    a
}

impl CockpitAlertManagerDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_cockpit_alert_manager",
                vec![
                    Field::optional("enable_managed_alerts")
                        .describe("send Scaleway's managed alerts (updated in place; default true)"),
                    Field::optional("contact_points").describe(
                        "`[{email, send_resolved_notifications}]`: e-mail addresses alerts go to (updated in place; resolved notifications default to true)",
                    ),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region; default: the configured region"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("alert_manager_url").describe("URL of the alert manager"),
                ],
            ),
        }
    }

    /// Brings the live alert manager to `config`: enabled, managed alerts, contact points.
    async fn converge(
        &self,
        client: &Client,
        region: &Region,
        project: &str,
        config: &Value,
    ) -> Result<Value, DriverError> {
        let cockpit = client.cockpit(region);
        let mut manager = cockpit.get_alert_manager(project).await.map_err(api)?;
        if !manager.alert_manager_enabled {
            manager = cockpit
                .alert_manager_action("enable", project)
                .await
                .map_err(api)?;
        }
        let want_managed = managed_alerts(config);
        if manager.managed_alerts_enabled != want_managed {
            let action = if want_managed {
                "managed-alerts/enable"
            } else {
                "managed-alerts/disable"
            };
            manager = cockpit
                .alert_manager_action(action, project)
                .await
                .map_err(api)?;
        }
        let want = declared(config);
        let live = cockpit.list_contact_points(project).await.map_err(api)?;
        for point in &live {
            let Some(email) = &point.email else { continue };
            if want.get(&email.to) != Some(&point.send_resolved_notifications) {
                match cockpit
                    .delete_contact_point(&contact(project, &email.to, None))
                    .await
                {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(api(e)),
                }
            }
        }
        for (email, resolved) in &want {
            let present = live.iter().any(|p| {
                p.email.as_ref().is_some_and(|e| &e.to == email)
                    && p.send_resolved_notifications == *resolved
            });
            if !present {
                match cockpit
                    .create_contact_point(&contact(project, email, Some(*resolved)))
                    .await
                {
                    Ok(_) => {}
                    // A retried create already landed.
                    Err(e) if e.status() == Some(409) => {}
                    Err(e) => return Err(api(e)),
                }
            }
        }
        let points = cockpit.list_contact_points(project).await.map_err(api)?;
        Ok(attrs(&manager, &points, project, config))
    }
}

fn contact(project: &str, email: &str, resolved: Option<bool>) -> ContactPointRequest {
    ContactPointRequest {
        project_id: project.to_string(),
        email: ContactPointEmail {
            to: email.to_string(),
        },
        send_resolved_notifications: resolved,
    }
}

fn project_of_recorded(p: &ScalewayProvider, rec: &ResourceState) -> Result<String, DriverError> {
    match rec.attributes.get("project_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => p.project_of(&rec.config),
    }
}

#[async_trait]
impl Driver for CockpitAlertManagerDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        if let Some(v) = config.get("enable_managed_alerts").filter(|v| !v.is_null())
            && !v.is_boolean()
        {
            e.push(FieldError::new(
                "enable_managed_alerts",
                &v.to_string(),
                "is not a boolean",
                "use true or false",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in config
            .get("contact_points")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let field = format!("contact_points[{i}].email");
            match c.get("email").and_then(Value::as_str) {
                Some(m) if is_email(m) => {
                    if !seen.insert(m.to_ascii_lowercase()) {
                        e.push(FieldError::new(
                            &field,
                            &format!("{m:?}"),
                            "is listed twice",
                            "list each address once",
                        ));
                    }
                }
                Some(m) => e.push(FieldError::new(
                    &field,
                    &format!("{m:?}"),
                    "is not an e-mail address",
                    "use an address such as ops@example.com",
                )),
                None => e.push(FieldError::new(
                    &field,
                    &c.to_string(),
                    "is missing",
                    "give each contact point an `email`",
                )),
            }
            if let Some(v) = c
                .get("send_resolved_notifications")
                .filter(|v| !v.is_null())
                && !v.is_boolean()
            {
                e.push(FieldError::new(
                    &format!("contact_points[{i}].send_resolved_notifications"),
                    &v.to_string(),
                    "is not a boolean",
                    "use true or false",
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
        let project = project_of_recorded(&self.p, rec)?;
        let cockpit = client.cockpit(&region);
        let manager = cockpit.get_alert_manager(&project).await.map_err(api)?;
        if !manager.alert_manager_enabled {
            return Ok(None);
        }
        let points = cockpit.list_contact_points(&project).await.map_err(api)?;
        Ok(Some(attrs(&manager, &points, &project, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let project = self.p.project_of(config)?;
        let id = format!("{region}/{project}");
        ctx.checkpoint(json!({"id": id})).await?;
        let attributes = self.converge(&client, &region, &project, config).await?;
        Ok(Created { id, attributes })
    }

    async fn recover(
        &self,
        _ctx: &DriverContext,
        _config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // Every step of `create` is idempotent: running it again finishes what was started.
        Ok(None)
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
        let project = project_of_recorded(&self.p, rec)?;
        self.converge(&client, &region, &project, config).await
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = region_of_recorded(&self.p, rec)?;
        let project = project_of_recorded(&self.p, rec)?;
        client
            .cockpit(&region)
            .alert_manager_action("disable", &project)
            .await
            .map_err(api)?;
        Ok(())
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let client = self.p.client()?;
        let (loc, project) = split_locality(id);
        let region = match loc {
            Some(l) => Region::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.region().clone(),
        };
        let cockpit = client.cockpit(&region);
        let manager = cockpit.get_alert_manager(project).await.map_err(api)?;
        if !manager.alert_manager_enabled {
            return Ok(None);
        }
        let points = cockpit.list_contact_points(project).await.map_err(api)?;
        let attributes = attrs(&manager, &points, project, &Value::Null);
        Ok(Some(Imported {
            config: json!({
                "enable_managed_alerts": attributes["enable_managed_alerts"],
                "contact_points": attributes["contact_points"],
            }),
            attributes,
        }))
    }
}
