//! `scaleway_cockpit_alert_manager`: the alert manager of a project and region enabled, its
//! managed alerts on or off, and the e-mail contact points alerts go to. There is one alert
//! manager per project and region, found by the project (the id is `region/project`);
//! deleting this resource disables it, which (Scaleway's API reference) also deletes its
//! contact points and turns managed alerts off.

use std::collections::{BTreeMap, BTreeSet};

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Schema, Update, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::wire::cockpit::{
    AlertManager, ContactPoint, ContactPointEmail, ContactPointRequest,
};
use super::client::{Client, Error as ApiErr, Region};
use super::cockpit::is_email;
use super::kind::{Kind, Op, attribute_as_is, bare_id, config_block, fetch, kind};
use super::provider::{api, conform, items};

config_block! {
    /// One e-mail contact point.
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct EmailContact {
        /// The address alerts are sent to.
        pub email: String,
        /// Whether a resolved alert is notified too (default true).
        pub send_resolved_notifications: Option<bool>,
    }
}

attribute_as_is!(EmailContact);

kind! {
    /// The alert manager of a project and region.
    pub struct CockpitAlertManager = "scaleway_cockpit_alert_manager"
        (CockpitAlertManagerKind, CockpitAlertManagerAttributes, CockpitAlertManagerDriver);
    wire LiveManager as l, id format!("{}/{}", l.at, l.project);
    /// send Scaleway's managed alerts (updated in place; default true)
    enable_managed_alerts: Option<bool>, optional => l.manager.managed_alerts_enabled;
    /// `[{email, send_resolved_notifications}]`: e-mail addresses alerts go to (updated in
    /// place; resolved notifications default to true)
    #[serde(default)]
    contact_points: Vec<EmailContact>, optional => contacts(&l.points);
    region => l.manager.region;
    project_id => l.project;
    /// URL of the alert manager
    alert_manager_url: String, computed => l.manager.alert_manager_url;
}

/// The enabled alert manager of a project, with its contact points: one per project and
/// region, found by the project.
#[derive(Debug)]
pub(crate) struct LiveManager {
    manager: AlertManager,
    points: Vec<ContactPoint>,
    project: String,
    at: Region,
}

/// What the declaration asks for: the project, managed alerts, contact points.
#[derive(Debug)]
pub(crate) struct Desired {
    project: String,
    managed_alerts: bool,
    contacts: BTreeMap<String, bool>,
}

impl Desired {
    fn of(project: &str, config: &Value) -> Self {
        Desired {
            project: project.to_string(),
            managed_alerts: managed_alerts(config),
            contacts: declared(config),
        }
    }
}

/// The e-mail contact points, each with its resolved-notifications flag.
fn contacts(points: &[ContactPoint]) -> Vec<Value> {
    points
        .iter()
        .filter_map(|p| p.email.as_ref().map(|e| (e, p.send_resolved_notifications)))
        .map(|(e, resolved)| json!({"email": e.to, "send_resolved_notifications": resolved}))
        .collect()
}

/// Declared contact points: address → send resolved notifications.
fn declared(config: &Value) -> BTreeMap<String, bool> {
    items(config, "contact_points")
        .filter_map(|c| {
            let email = c.get("email")?.as_str()?.to_string();
            let resolved = c
                .get("send_resolved_notifications")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            Some((email, resolved))
        })
        .collect()
}

fn managed_alerts(config: &Value) -> bool {
    config
        .get("enable_managed_alerts")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// Shapes contact points like the declaration: the resolved-notifications flag shows when
/// declared or when off its default.
fn shape_contacts(attributes: &mut Value, config: &Value) {
    let spelled: BTreeSet<&str> = items(config, "contact_points")
        .filter(|c| {
            c.get("send_resolved_notifications")
                .is_some_and(|v| !v.is_null())
        })
        .filter_map(|c| c.get("email").and_then(Value::as_str))
        .collect();
    let Some(points) = attributes
        .get_mut("contact_points")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for p in points.iter_mut().filter_map(Value::as_object_mut) {
        let email = p.get("email").and_then(Value::as_str).unwrap_or_default();
        let default = p.get("send_resolved_notifications") == Some(&Value::Bool(true));
        if default && !spelled.contains(email) {
            p.remove("send_resolved_notifications");
        }
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

/// Reads the alert manager of `project`: `None` while disabled.
async fn live(c: &Client, at: &Region, project: &str) -> Result<Option<LiveManager>, ApiErr> {
    let manager = c.cockpit(at).get_alert_manager(project).await?;
    if !manager.alert_manager_enabled {
        return Ok(None);
    }
    with_points(c, at, project, manager).await.map(Some)
}

/// `manager` with its contact points as they are now.
async fn with_points(
    c: &Client,
    at: &Region,
    project: &str,
    manager: AlertManager,
) -> Result<LiveManager, ApiErr> {
    let points = c.cockpit(at).list_contact_points(project).await?;
    Ok(LiveManager {
        manager,
        points,
        project: project.to_string(),
        at: at.clone(),
    })
}

/// Brings the live alert manager to `want`: enabled, managed alerts, contact points. Every
/// step is idempotent: running it again finishes what an interrupted run started.
async fn converge(c: &Client, at: &Region, want: &Desired) -> Result<LiveManager, ApiErr> {
    let (cockpit, project) = (c.cockpit(at), want.project.as_str());
    let mut manager = cockpit.get_alert_manager(project).await?;
    if !manager.alert_manager_enabled {
        manager = cockpit.alert_manager_action("enable", project).await?;
    }
    if manager.managed_alerts_enabled != want.managed_alerts {
        let action = if want.managed_alerts {
            "managed-alerts/enable"
        } else {
            "managed-alerts/disable"
        };
        manager = cockpit.alert_manager_action(action, project).await?;
    }
    let live = cockpit.list_contact_points(project).await?;
    for point in &live {
        let Some(email) = &point.email else { continue };
        if want.contacts.get(&email.to) != Some(&point.send_resolved_notifications) {
            match cockpit
                .delete_contact_point(&contact(project, &email.to, None))
                .await
            {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
    }
    for (email, resolved) in &want.contacts {
        let present = live.iter().any(|p| {
            p.email.as_ref().is_some_and(|e| &e.to == email)
                && p.send_resolved_notifications == *resolved
        });
        if !present {
            match cockpit
                .create_contact_point(&contact(project, email, Some(*resolved)))
                .await
            {
                // A retried create already landed.
                Err(e) if e.status() != Some(409) => return Err(e),
                _ => {}
            }
        }
    }
    with_points(c, at, project, manager).await
}

/// Refuses a contact point that is not one valid, unlisted address with a boolean flag.
fn check_contact(i: usize, c: &Value, seen: &mut BTreeSet<String>, e: &mut Vec<FieldError>) {
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
    check_bool(
        c,
        "send_resolved_notifications",
        &format!("contact_points[{i}].send_resolved_notifications"),
        e,
    );
}

/// Refuses `key` of `v` when it is set and not a boolean (reported as `field`).
fn check_bool(v: &Value, key: &str, field: &str, e: &mut Vec<FieldError>) {
    if let Some(v) = v.get(key).filter(|v| !v.is_null())
        && !v.is_boolean()
    {
        e.push(FieldError::new(
            field,
            &v.to_string(),
            "is not a boolean",
            "use true or false",
        ));
    }
}

#[async_trait]
impl Kind for CockpitAlertManagerKind {
    type Place = Region;
    type Request = Desired;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check_bool(config, "enable_managed_alerts", "enable_managed_alerts", e);
        let mut seen = BTreeSet::new();
        for (i, c) in items(config, "contact_points").enumerate() {
            check_contact(i, c, &mut seen, e);
        }
    }

    fn shape(attributes: &mut Value, config: &Value) {
        shape_contacts(attributes, config);
        conform(attributes, config);
    }

    /// The switches and contact points: the only arguments without a default.
    fn imported_config(_schema: &Schema, attributes: &Value) -> Value {
        json!({
            "enable_managed_alerts": attributes["enable_managed_alerts"],
            "contact_points": attributes["contact_points"],
        })
    }

    /// `id` is the project.
    async fn get(c: &Client, at: &Region, id: &str) -> Result<Option<LiveManager>, ApiErr> {
        live(c, at, id).await
    }

    /// The project's alert manager, when enabled.
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<LiveManager>, DriverError> {
        fetch::<Self>(op.c, op.at, &op.project()?).await
    }

    async fn request(op: &Op<'_, Self>) -> Result<Desired, DriverError> {
        let config = op.config;
        Ok(Desired::of(&op.project()?, config))
    }

    /// Enabling is the create: the alert manager exists in every project.
    async fn post(c: &Client, at: &Region, want: &Desired) -> Result<LiveManager, ApiErr> {
        converge(c, at, want).await
    }

    /// An interrupted create is finished.
    async fn adopted(op: &Op<'_, Self>, l: LiveManager) -> Result<LiveManager, DriverError> {
        let config = op.config;
        converge(op.c, op.at, &Desired::of(&l.project, config))
            .await
            .map_err(api)
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveManager, DriverError> {
        let id = bare_id(update.recorded);
        let config = op.config;
        converge(op.c, op.at, &Desired::of(id, config))
            .await
            .map_err(api)
    }

    /// Disabling is the delete.
    async fn remove(c: &Client, at: &Region, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.cockpit(at).alert_manager_action("disable", id).await?;
        Ok(())
    }
}
