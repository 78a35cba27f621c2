//! `scaleway_vpc_public_gateway`: a Public Gateway (`vpc-gw/v2`, zonal, tagged), waited until
//! `running`; type changes go through `/upgrade`.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::vpcgw::{
    CreateGatewayRequest, Gateway, UpdateGatewayRequest, UpgradeGatewayRequest,
};
use super::client::{Client, Zone};
use super::lb_ip::recorded_zone;
use super::provider::{
    Pace, Pacing, Poll, ScalewayProvider, adopt_one, api, attributes, check, config_from, conform,
    found, is_owned, marker_id, norm, owned_tags, post_or_adopt, split_locality, string, strings,
    user_tags, wait_for,
};
use super::vpc_public_gateway_ip::GATEWAY_ZONES;

/// A public gateway.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublicGateway {
    /// Name (updated in place).
    pub name: Input<String>,
    /// Offer, e.g. `VPC-GW-S` (upgraded in place).
    #[serde(rename = "type")]
    pub gateway_type: String,
    /// Flexible IP (`scaleway_vpc_public_gateway_ip`). Changing it replaces the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_id: Option<Input<String>>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// SSH bastion (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion_enabled: Option<bool>,
    /// Bastion port (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion_port: Option<u32>,
    /// Allow outgoing SMTP (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_smtp: Option<bool>,
    /// Zone. Changing it replaces the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Project. Changing it replaces the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_vpc_public_gateway`.
    PublicGatewayAttributes {
        /// The public address.
        ip_address: String = "ip_address",
        /// The zone.
        zone: String = "zone",
    }
}

impl Resource for PublicGateway {
    const KIND: &'static str = "scaleway_vpc_public_gateway";
    type Attributes = PublicGatewayAttributes;
}

/// Gateway offers.
pub const GATEWAY_TYPES: &[&str] = &["VPC-GW-S", "VPC-GW-M", "VPC-GW-L", "VPC-GW-XL"];

/// Waits until the gateway is `running` (or another terminal status).
pub(crate) async fn wait_gateway(
    ctx: &DriverContext,
    pacing: Pacing,
    client: &Client,
    zone: &Zone,
    id: &str,
) -> Result<Gateway, DriverError> {
    wait_for(ctx, pacing, "public gateway", move || async move {
        let g = client.vpcgw(zone).get_gateway(id).await.map_err(api)?;
        if g.status.is_transient() {
            return Ok(Poll::Pending(g.status.to_string()));
        }
        match g.status.as_str() {
            "failed" | "locked" => Err(DriverError::failed(format!(
                "public gateway {id} is `{}`",
                g.status
            ))),
            _ => Ok(Poll::Done(g)),
        }
    })
    .await
}

/// The `scaleway_vpc_public_gateway` driver.
#[derive(Debug)]
pub struct PublicGatewayDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl PublicGatewayDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_vpc_public_gateway",
                vec![
                    Field::required("name").describe("name (updated in place)"),
                    Field::required("type").describe("offer, e.g. VPC-GW-S (upgraded in place)"),
                    Field::optional_computed("ip_id")
                        .force_new()
                        .describe("flexible IP; default: one allocated with the gateway"),
                    Field::optional("tags").describe(
                        "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr",
                    ),
                    Field::optional_computed("bastion_enabled")
                        .describe("SSH bastion (updated in place)"),
                    Field::optional_computed("bastion_port")
                        .describe("bastion port (updated in place)"),
                    Field::optional_computed("enable_smtp")
                        .describe("allow outgoing SMTP (updated in place)"),
                    Field::optional_computed("zone")
                        .force_new()
                        .describe("zone; default: the configured zone"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("ip_address").describe("public address"),
                    Field::computed("organization_id").describe("organization of the project"),
                ],
            ),
        }
    }

    async fn find(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
    ) -> Result<Option<Gateway>, DriverError> {
        let found = client
            .vpcgw(zone)
            .list_gateways(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|g| is_owned(ctx, &g.tags))
            .map(|g| (g.id.clone(), g))
            .collect();
        Ok(adopt_one(ctx, "scaleway_vpc_public_gateway", found)?.map(|(_, g)| g))
    }
}

fn attrs(g: &Gateway, config: &Value) -> Value {
    let mut a = json!({
        "name": g.name,
        "type": g.gateway_type,
        "ip_id": g.ipv4.as_ref().map(|i| i.id.clone()),
        "tags": user_tags(&g.tags),
        "bastion_enabled": g.bastion_enabled,
        "bastion_port": g.bastion_port,
        "enable_smtp": g.smtp_enabled,
        "zone": g.zone,
        "project_id": g.project_id,
        "ip_address": g.ipv4.as_ref().map(|i| i.address.clone()),
        "organization_id": g.organization_id,
    });
    conform(&mut a, config);
    a
}

#[async_trait]
impl Driver for PublicGatewayDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", &mut e);
        check::name(config, "name", &mut e);
        check::tags(config, &mut e);
        check::one_of(config, "type", GATEWAY_TYPES, "public gateway type", &mut e);
        if let Some(port) = config.get("bastion_port").and_then(Value::as_u64)
            && !((1024..=59999).contains(&port) || port == 61000)
        {
            e.push(FieldError::new(
                "bastion_port",
                &port.to_string(),
                "is out of range",
                "use 1024 to 59999, or 61000",
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
        let zone = recorded_zone(&self.p, rec)?;
        Ok(found(
            client
                .vpcgw(&zone)
                .get_gateway(rec.id.as_deref().unwrap_or_default())
                .await,
        )?
        .map(|g| attrs(&g, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = self.p.zone_of(config)?;
        let req = CreateGatewayRequest {
            project_id: self.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            tags: owned_tags(ctx, &strings(config, "tags")),
            gateway_type: string(config, "type").unwrap_or_default(),
            ip_id: string(config, "ip_id"),
            enable_smtp: config
                .get("enable_smtp")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            enable_bastion: config
                .get("bastion_enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            bastion_port: config
                .get("bastion_port")
                .and_then(Value::as_u64)
                .map(|p| p as u32),
        };
        let (c, z, q) = (&client, &zone, &req);
        let g = post_or_adopt(
            move || async move { c.vpcgw(z).create_gateway(q).await },
            move || async move { self.find(ctx, c, z).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": g.id})).await?;
        let g = wait_gateway(ctx, self.p.pacing(Pace::Fast), &client, &zone, &g.id).await?;
        Ok(Created {
            id: g.id.clone(),
            attributes: attrs(&g, config),
        })
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client()?;
        let zone = self.p.zone_of(config)?;
        let id = match marker_id(marker) {
            Some(id) => found(client.vpcgw(&zone).get_gateway(id).await)?.map(|g| g.id),
            None => self.find(ctx, &client, &zone).await?.map(|g| g.id),
        };
        let Some(id) = id else { return Ok(None) };
        let g = wait_gateway(ctx, self.p.pacing(Pace::Fast), &client, &zone, &id).await?;
        Ok(Some(Created {
            id,
            attributes: attrs(&g, config),
        }))
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        changed: &[String],
    ) -> Result<Value, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = recorded_zone(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let pacing = self.p.pacing(Pace::Fast);
        let touched = |f: &str| {
            changed
                .iter()
                .any(|c| c == &format!("/{f}") || c.starts_with(&format!("/{f}/")))
        };
        let current = wait_gateway(ctx, pacing, &client, &zone, &id).await?;
        if [
            "name",
            "tags",
            "bastion_enabled",
            "bastion_port",
            "enable_smtp",
        ]
        .iter()
        .any(|f| touched(f))
        {
            let req = UpdateGatewayRequest {
                name: string(config, "name"),
                tags: Some(owned_tags(ctx, &strings(config, "tags"))),
                enable_bastion: config.get("bastion_enabled").and_then(Value::as_bool),
                bastion_port: config
                    .get("bastion_port")
                    .and_then(Value::as_u64)
                    .map(|p| p as u32),
                enable_smtp: config.get("enable_smtp").and_then(Value::as_bool),
            };
            client
                .vpcgw(&zone)
                .update_gateway(&id, &req)
                .await
                .map_err(api)?;
            wait_gateway(ctx, pacing, &client, &zone, &id).await?;
        }
        if touched("type")
            && let Some(t) = string(config, "type")
            && norm(&t) != norm(&current.gateway_type)
        {
            client
                .vpcgw(&zone)
                .upgrade_gateway(
                    &id,
                    &UpgradeGatewayRequest {
                        gateway_type: Some(t),
                    },
                )
                .await
                .map_err(api)?;
        }
        let g = wait_gateway(ctx, pacing, &client, &zone, &id).await?;
        Ok(attrs(&g, config))
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = recorded_zone(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        // An IP declared as its own resource outlives the gateway.
        let delete_ip = rec.config.get("ip_id").is_none_or(Value::is_null);
        match client.vpcgw(&zone).delete_gateway(&id, delete_ip).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        let (c, z, i) = (&client, &zone, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Fast),
            "public gateway deletion",
            move || async move {
                match c.vpcgw(z).get_gateway(i).await {
                    Ok(g) => Ok(Poll::Pending(g.status.to_string())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) => Err(api(e)),
                }
            },
        )
        .await
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let client = self.p.client()?;
        let (loc, id) = split_locality(id);
        let zone = match loc {
            Some(l) => Zone::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.zone().clone(),
        };
        match client.vpcgw(&zone).get_gateway(id).await {
            Ok(g) => {
                let attributes = attrs(&g, &Value::Null);
                Ok(Some(Imported {
                    config: config_from(&self.schema, &attributes),
                    attributes,
                }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(api(e)),
        }
    }
}
