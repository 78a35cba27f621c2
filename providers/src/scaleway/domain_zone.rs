//! `scaleway_domain_zone`: a Scaleway DNS zone, adopted when it exists (the domain `D`, or a
//! sub-zone `S.D`), created only when asked (a sub-zone of a domain the project already
//! serves). The Domains and DNS API is global: no region or zone in its paths.
//!
//! A domain registered elsewhere must be delegated to Scaleway's name servers before
//! Scaleway serves it; until then the zone is missing from the project or not `active`, and
//! this kind fails before changing anything, naming the zone and the two ways out.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Schema, Update, async_trait};
use serde_json::{Value, json};

use super::client::wire::domain::{CreateDnsZoneRequest, DnsZone, DnsZoneStatus};
use super::client::{Client, Error as ApiErr};
use super::dns_name;
use super::kind::{Kind, Op, Place, bare_id, delete_declared, kind};
use super::provider::{ScalewayProvider, api, config_from, string};

/// Scaleway's name servers a domain is delegated to.
pub const SCALEWAY_NAME_SERVERS: [&str; 2] = ["ns0.dom.scw.cloud", "ns1.dom.scw.cloud"];

kind! {
    /// A DNS zone.
    pub struct DomainZone = "scaleway_domain_zone"
        (DomainZoneKind, DomainZoneAttributes, DomainZoneDriver);
    wire LiveZone as z, id z.zone.name();
    /// the registered domain D, e.g. example.com
    domain: Input<String>, required force_new => z.zone.domain;
    /// sub-zone label(s) S for the zone S.D; empty for D itself
    subdomain: Option<String>, optional force_new => z.zone.subdomain;
    /// create the sub-zone S.D when missing (the project must serve D); otherwise a missing
    /// zone is an error
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    create_subzone: bool, optional;
    project_id => z.zone.project_id;
    /// full zone name, S.D or D
    name: String, computed => z.zone.name();
    /// zone status; active when Scaleway serves it
    status: String, computed => z.zone.status.to_string();
    /// name servers serving the zone
    ns: Vec<String>, computed => z.zone.ns;
    /// whether kapstan created the zone (only then does destroying the resource delete it)
    created_by_kapstan: bool, computed => z.created;
}

/// A zone and whether kapstan created it (which only kapstan's record knows).
#[derive(Debug, Clone)]
pub struct LiveZone {
    zone: DnsZone,
    created: bool,
}

/// The project a zone is looked up in: the place of a `scaleway_domain_zone` (the Domains
/// and DNS API is global; zones are found by name within a project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsProject(String);

impl Place for DnsProject {
    const KEY: Option<&'static str> = Some("project_id");
    fn of_config(p: &ScalewayProvider, config: &Value) -> Result<Self, DriverError> {
        p.project_of(config).map(Self)
    }
    fn parse(s: &str) -> Result<Self, DriverError> {
        Ok(Self(s.to_string()))
    }
    fn default_of(client: &Client) -> Self {
        Self(client.project_id().to_string())
    }
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

fn zone_name_of(config: &Value) -> Option<String> {
    let domain = string(config, "domain")?;
    Some(
        match string(config, "subdomain").filter(|s| !s.is_empty()) {
            Some(sub) => format!("{sub}.{domain}"),
            None => domain,
        },
    )
}

fn created_flag(known: &Value) -> bool {
    known
        .get("created_by_kapstan")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// What a create does: adopt the zone the project serves already, or create the sub-zone.
#[derive(Debug)]
pub enum ZoneRequest {
    /// The zone exists and is active.
    Adopt(DnsZone),
    /// The sub-zone to create (its parent checked).
    Create(CreateDnsZoneRequest),
}

#[async_trait]
impl Kind for DomainZoneKind {
    type Place = DnsProject;
    type Request = ZoneRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        if let Some(d) = config.get("domain").and_then(Value::as_str) {
            dns_name::check_domain("domain", d, e);
        }
        if let Some(s) = config.get("subdomain").and_then(Value::as_str)
            && !s.is_empty()
        {
            dns_name::check_relative("subdomain", s, None, e);
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
    }

    /// Only kapstan's record knows whether it created the zone: keep it.
    fn checkpoint(z: &LiveZone) -> Value {
        json!({"id": z.zone.name(), "created_by_kapstan": z.created})
    }

    fn recall(z: LiveZone, known: &Value) -> LiveZone {
        LiveZone {
            created: created_flag(known),
            ..z
        }
    }

    /// `subdomain` only when the zone has one or the config names it; `create_subzone` as
    /// declared (it changes nothing at Scaleway).
    fn shape(attributes: &mut Value, config: &Value) {
        let Some(a) = attributes.as_object_mut() else {
            return;
        };
        if a.get("subdomain").and_then(Value::as_str) == Some("")
            && config.get("subdomain").is_none()
        {
            a.remove("subdomain");
        }
        if let Some(c) = config.get("create_subzone") {
            a.insert("create_subzone".into(), c.clone());
        }
    }

    fn imported_config(schema: &Schema, attributes: &Value) -> Value {
        let mut config = config_from(schema, attributes);
        if let Some(sub) = attributes
            .get("subdomain")
            .filter(|s| s.as_str() != Some(""))
        {
            config["subdomain"] = sub.clone();
        }
        config
    }

    async fn get(c: &Client, at: &DnsProject, id: &str) -> Result<Option<LiveZone>, ApiErr> {
        let zone = c.domain().find_zone(id, Some(&at.0)).await?;
        Ok(zone.map(|zone| LiveZone {
            zone,
            created: false,
        }))
    }

    /// After a lost answer to the create: the sub-zone it made.
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<LiveZone>, DriverError> {
        let config = op.config;
        let Some(name) = zone_name_of(config) else {
            return Ok(None);
        };
        let found = Self::get(op.c, op.at, &name).await.map_err(api)?;
        Ok(found.map(|z| LiveZone { created: true, ..z }))
    }

    /// Adopts the zone when the project serves it; otherwise, when asked, checks the parent
    /// (the project must serve it, or the sub-zone would never resolve) and checkpoints that
    /// kapstan creates the sub-zone before it does.
    async fn request(op: &Op<'_, Self>) -> Result<ZoneRequest, DriverError> {
        let Op { c, at, config, .. } = *op;
        let project = &at.0;
        let name = zone_name_of(config)
            .ok_or_else(|| DriverError::failed("scaleway_domain_zone: domain is not known"))?;
        match check_zone(c, &name, project).await {
            Ok(z) => return Ok(ZoneRequest::Adopt(z)),
            Err(ZoneCheckError::Missing { .. })
                if config.get("create_subzone").and_then(Value::as_bool) == Some(true) => {}
            Err(e) => return Err(e.into()),
        }
        let domain = string(config, "domain").unwrap_or_default();
        check_zone(c, &domain, project).await?;
        op.ctx
            .checkpoint(json!({"id": name, "created_by_kapstan": true}))
            .await?;
        Ok(ZoneRequest::Create(CreateDnsZoneRequest {
            domain,
            subdomain: string(config, "subdomain").unwrap_or_default(),
            project_id: project.clone(),
        }))
    }

    async fn post(c: &Client, _at: &DnsProject, req: &ZoneRequest) -> Result<LiveZone, ApiErr> {
        Ok(match req {
            ZoneRequest::Adopt(zone) => LiveZone {
                zone: zone.clone(),
                created: false,
            },
            ZoneRequest::Create(req) => LiveZone {
                zone: c.domain().create_zone(req).await?,
                created: true,
            },
        })
    }

    /// A zone is usable only when Scaleway serves it.
    async fn settle(_op: &Op<'_, Self>, z: LiveZone) -> Result<LiveZone, DriverError> {
        let zone = active(z.zone)?;
        Ok(LiveZone { zone, ..z })
    }

    /// Only `create_subzone` updates in place, and it changes nothing at Scaleway.
    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveZone, DriverError> {
        let rec = update.recorded;
        let id = bare_id(update.recorded);
        let found = Self::get(op.c, op.at, id).await.map_err(api)?;
        let z = found
            .ok_or_else(|| DriverError::failed(format!("the DNS zone {id} no longer exists")))?;
        Ok(Self::recall(z, &rec.attributes))
    }

    /// An adopted zone is the user's: forgetting it is all a destroy does.
    async fn delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        if !created_flag(&rec.attributes) {
            return Ok(());
        }
        delete_declared(op, rec).await
    }

    async fn remove(
        c: &Client,
        at: &DnsProject,
        id: &str,
        _rec: &ResourceState,
    ) -> Result<(), ApiErr> {
        c.domain().delete_zone(id, &at.0).await
    }
}
