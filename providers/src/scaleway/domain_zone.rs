//! `scaleway_domain_zone`: a Scaleway DNS zone, adopted when it exists (the domain `D`, or a
//! sub-zone `S.D`), created only when asked (a sub-zone of a domain the project already
//! serves). The Domains and DNS API is global: no region or zone in its paths.
//!
//! A domain registered elsewhere must be delegated to Scaleway's name servers before
//! Scaleway serves it; until then the zone is missing from the project or not `active`, and
//! this kind fails before changing anything, naming the zone and the two ways out.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::Client;
use super::client::wire::domain::{CreateDnsZoneRequest, DnsZone, DnsZoneStatus};
use super::dns_name;
use super::provider::{
    ScalewayProvider, api, attributes, config_from, marker_id, post_or_adopt, string,
};

/// Scaleway's name servers a domain is delegated to.
pub const SCALEWAY_NAME_SERVERS: [&str; 2] = ["ns0.dom.scw.cloud", "ns1.dom.scw.cloud"];

/// A DNS zone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DomainZone {
    /// The registered domain `D` (e.g. `example.com`). Changing it replaces the resource.
    pub domain: Input<String>,
    /// The sub-zone label(s) `S` for the zone `S.D`; empty (the default) for `D` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    /// Create the sub-zone `S.D` when it does not exist (the project must serve `D`); without
    /// it a missing zone is an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_subzone: bool,
    /// Project (default: the credentials' project). Changing it replaces the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_domain_zone`.
    DomainZoneAttributes {
        /// The full zone name (`S.D` or `D`), what records name as their `dns_zone`.
        name: String = "name",
        /// The zone's status (`active` when Scaleway serves it).
        status: String = "status",
    }
}

impl Resource for DomainZone {
    const KIND: &'static str = "scaleway_domain_zone";
    type Attributes = DomainZoneAttributes;
}

/// Why a zone cannot be used, before any change is made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZoneCheckError {
    /// The project has no such zone.
    #[error(
        "the DNS zone {zone} is not in Scaleway project {project}: delegate {zone} to Scaleway's name servers ({ns}) and add it under Domains and DNS in that project{subzone_hint}, or use `--tls external` and create the DNS records yourself"
    )]
    Missing {
        /// The zone.
        zone: String,
        /// The project searched.
        project: String,
        /// The name servers to delegate to.
        ns: String,
        /// A hint about `create_subzone` for sub-zones.
        subzone_hint: String,
    },
    /// The zone exists but Scaleway does not serve it.
    #[error(
        "the DNS zone {zone} is {status}, not active{detail}: finish delegating it to Scaleway's name servers ({ns}) at your registrar and wait until Scaleway shows it active, or use `--tls external` and create the DNS records yourself"
    )]
    NotActive {
        /// The zone.
        zone: String,
        /// Its status.
        status: String,
        /// The API's message, when it gave one (`: …`).
        detail: String,
        /// The name servers to delegate to.
        ns: String,
    },
    /// The lookup itself failed.
    #[error("cannot look up the DNS zone {zone}: {message}")]
    Lookup {
        /// The zone.
        zone: String,
        /// The client's error.
        message: String,
    },
}

impl From<ZoneCheckError> for DriverError {
    fn from(e: ZoneCheckError) -> Self {
        DriverError::failed(e.to_string())
    }
}

fn name_servers() -> String {
    SCALEWAY_NAME_SERVERS.join(", ")
}

/// Looks up `zone` in `project` and returns it when it is active: the check a deployment with
/// a domain runs before it changes anything (read-only).
pub async fn check_zone(
    client: &Client,
    zone: &str,
    project: &str,
) -> Result<DnsZone, ZoneCheckError> {
    let found = client
        .domain()
        .find_zone(zone, Some(project))
        .await
        .map_err(|e| ZoneCheckError::Lookup {
            zone: zone.to_string(),
            message: e.to_string(),
        })?;
    let Some(z) = found else {
        let subzone_hint = match zone.split_once('.') {
            Some((_, parent)) if parent.contains('.') => format!(
                " (or, if the project serves {parent}, let kapstan create the sub-zone with `create_subzone`)"
            ),
            _ => String::new(),
        };
        return Err(ZoneCheckError::Missing {
            zone: zone.to_string(),
            project: project.to_string(),
            ns: name_servers(),
            subzone_hint,
        });
    };
    active(z)
}

fn active(z: DnsZone) -> Result<DnsZone, ZoneCheckError> {
    if z.status == DnsZoneStatus::Active {
        return Ok(z);
    }
    Err(ZoneCheckError::NotActive {
        zone: z.name(),
        status: z.status.to_string(),
        detail: z
            .message
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(|m| format!(" ({m})"))
            .unwrap_or_default(),
        ns: name_servers(),
    })
}

/// The `scaleway_domain_zone` driver.
#[derive(Debug)]
pub struct DomainZoneDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl DomainZoneDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_domain_zone",
                vec![
                    Field::required("domain")
                        .force_new()
                        .describe("the registered domain D, e.g. example.com"),
                    Field::optional("subdomain")
                        .force_new()
                        .describe("sub-zone label(s) S for the zone S.D; empty for D itself"),
                    Field::optional("create_subzone").describe(
                        "create the sub-zone S.D when missing (the project must serve D); otherwise a missing zone is an error",
                    ),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("name").describe("full zone name, S.D or D"),
                    Field::computed("status").describe("zone status; active when Scaleway serves it"),
                    Field::computed("ns").describe("name servers serving the zone"),
                    Field::computed("created_by_kapstan").describe(
                        "whether kapstan created the zone (only then does destroying the resource delete it)",
                    ),
                ],
            ),
        }
    }
}

fn zone_name_of(config: &Value) -> Option<String> {
    let domain = string(config, "domain")?;
    Some(
        match string(config, "subdomain").filter(|s| !s.is_empty()) {
            Some(sub) => format!("{sub}.{domain}"),
            None => domain,
        },
    )
}

fn attrs(z: &DnsZone, config: &Value, created: bool) -> Value {
    let mut a = json!({
        "domain": z.domain,
        "project_id": z.project_id,
        "name": z.name(),
        "status": z.status.to_string(),
        "ns": z.ns,
        "created_by_kapstan": created,
    });
    if !z.subdomain.is_empty() || config.get("subdomain").is_some() {
        a["subdomain"] = json!(z.subdomain);
    }
    if let Some(c) = config.get("create_subzone") {
        a["create_subzone"] = c.clone();
    }
    a
}

fn created_flag(rec: &ResourceState) -> bool {
    rec.attributes
        .get("created_by_kapstan")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

#[async_trait]
impl Driver for DomainZoneDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        if let Some(d) = config.get("domain").and_then(Value::as_str) {
            dns_name::check_domain("domain", d, &mut e);
        }
        if let Some(s) = config.get("subdomain").and_then(Value::as_str)
            && !s.is_empty()
        {
            dns_name::check_relative("subdomain", s, None, &mut e);
            if s.contains('*') {
                e.push(FieldError::new(
                    "subdomain",
                    &format!("{s:?}"),
                    "is a wildcard; a zone has a plain name",
                    "use the sub-zone's label, e.g. \"coder\"",
                ));
            }
        }
        let wants_create = config.get("create_subzone").and_then(Value::as_bool) == Some(true);
        let no_sub = config
            .get("subdomain")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if wants_create && no_sub {
            e.push(FieldError::new(
                "create_subzone",
                "true",
                "needs a subdomain: kapstan creates sub-zones only, never the domain's own zone",
                "set subdomain, or remove create_subzone and delegate the domain to Scaleway",
            ));
        }
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let name = rec.id.clone().unwrap_or_default();
        let project = self.p.project_of(&rec.config)?;
        let z = client
            .domain()
            .find_zone(&name, Some(&project))
            .await
            .map_err(api)?;
        Ok(z.map(|z| attrs(&z, &rec.config, created_flag(rec))))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let project = self.p.project_of(config)?;
        let name = zone_name_of(config)
            .ok_or_else(|| DriverError::failed("scaleway_domain_zone: domain is not known"))?;
        match check_zone(&client, &name, &project).await {
            Ok(z) => {
                return Ok(Created {
                    id: name,
                    attributes: attrs(&z, config, false),
                });
            }
            Err(ZoneCheckError::Missing { .. })
                if config.get("create_subzone").and_then(Value::as_bool) == Some(true) => {}
            Err(e) => return Err(e.into()),
        }
        let domain = string(config, "domain").unwrap_or_default();
        let subdomain = string(config, "subdomain").unwrap_or_default();
        // The parent must be served by this project, or the sub-zone would never resolve.
        check_zone(&client, &domain, &project).await?;
        ctx.checkpoint(json!({"id": name, "created_by_kapstan": true}))
            .await?;
        let req = CreateDnsZoneRequest {
            domain,
            subdomain,
            project_id: project.clone(),
        };
        let (c, q, n, p) = (&client, &req, &name, &project);
        let z = post_or_adopt(
            move || async move { c.domain().create_zone(q).await },
            move || async move { c.domain().find_zone(n, Some(p)).await.map_err(api) },
        )
        .await?;
        let z = active(z).map_err(DriverError::from)?;
        Ok(Created {
            id: name,
            attributes: attrs(&z, config, true),
        })
    }

    async fn recover(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // Until the checkpoint before the POST, a create has only looked things up: running
        // it again repeats the zone checks, which adopting here would skip.
        let created = marker
            .get("created_by_kapstan")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let Some(name) = marker_id(marker).filter(|_| created) else {
            return Ok(None);
        };
        let client = self.p.client()?;
        let project = self.p.project_of(config)?;
        let z = client
            .domain()
            .find_zone(name, Some(&project))
            .await
            .map_err(api)?;
        Ok(z.map(|z| Created {
            id: name.to_string(),
            attributes: attrs(&z, config, true),
        }))
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        // Only `create_subzone` updates in place, and it changes nothing at Scaleway.
        let client = self.p.client()?;
        let name = rec.id.clone().unwrap_or_default();
        let project = self.p.project_of(config)?;
        let z = client
            .domain()
            .find_zone(&name, Some(&project))
            .await
            .map_err(api)?
            .ok_or_else(|| DriverError::failed(format!("the DNS zone {name} no longer exists")))?;
        Ok(attrs(&z, config, created_flag(rec)))
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        if !created_flag(rec) {
            // An adopted zone is the user's: forgetting it is all a destroy does.
            return Ok(());
        }
        let client = self.p.client_with_backoff()?;
        let name = rec.id.clone().unwrap_or_default();
        let project = self.p.project_of(&rec.config)?;
        match client.domain().delete_zone(&name, &project).await {
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
        let project = client.project_id().to_string();
        let z = client
            .domain()
            .find_zone(id, Some(&project))
            .await
            .map_err(api)?;
        Ok(z.map(|z| {
            let attributes = attrs(&z, &Value::Null, false);
            let mut config = config_from(&self.schema, &attributes);
            if !z.subdomain.is_empty() {
                config["subdomain"] = json!(z.subdomain);
            }
            Imported { config, attributes }
        }))
    }
}
