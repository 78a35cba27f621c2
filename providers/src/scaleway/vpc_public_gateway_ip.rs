//! `scaleway_vpc_public_gateway_ip`: a flexible IP for a public gateway (zonal, tagged).

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Resource, Schema,
    async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::vpcgw::{CreateGatewayIpRequest, GatewayIp, UpdateGatewayIpRequest};
use super::client::{Client, Zone};
use super::lb_ip::recorded_zone;
use super::provider::{
    ScalewayProvider, adopt_one, api, attributes, check, config_from, conform, found, is_owned,
    marker_id, owned_tags, post_or_adopt, split_locality, string, strings, user_tags,
};

/// Zones offering public gateways.
pub const GATEWAY_ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3",
];

/// A public gateway flexible IP.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublicGatewayIp {
    /// Reverse DNS (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<String>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Zone. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Project. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_vpc_public_gateway_ip`.
    PublicGatewayIpAttributes {
        /// The address.
        address: String = "address",
        /// The zone.
        zone: String = "zone",
    }
}

impl Resource for PublicGatewayIp {
    const KIND: &'static str = "scaleway_vpc_public_gateway_ip";
    type Attributes = PublicGatewayIpAttributes;
}

/// The `scaleway_vpc_public_gateway_ip` driver.
#[derive(Debug)]
pub struct PublicGatewayIpDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl PublicGatewayIpDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_vpc_public_gateway_ip",
                vec![
                    Field::optional_computed("reverse").describe("reverse DNS (updated in place)"),
                    Field::optional("tags").describe(
                        "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr",
                    ),
                    Field::optional_computed("zone")
                        .force_new()
                        .describe("zone; default: the configured zone"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("address").describe("the address"),
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
    ) -> Result<Option<GatewayIp>, DriverError> {
        let found = client
            .vpcgw(zone)
            .list_ips(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|i| is_owned(ctx, &i.tags))
            .map(|i| (i.id.clone(), i))
            .collect();
        Ok(adopt_one(ctx, "scaleway_vpc_public_gateway_ip", found)?.map(|(_, i)| i))
    }
}

fn attrs(i: &GatewayIp, config: &Value) -> Value {
    let mut a = json!({
        "reverse": i.reverse,
        "tags": user_tags(&i.tags),
        "zone": i.zone,
        "project_id": i.project_id,
        "address": i.address,
        "organization_id": i.organization_id,
    });
    conform(&mut a, config);
    a
}

#[async_trait]
impl Driver for PublicGatewayIpDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", &mut e);
        check::tags(config, &mut e);
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
                .get_ip(rec.id.as_deref().unwrap_or_default())
                .await,
        )?
        .map(|i| attrs(&i, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = self.p.zone_of(config)?;
        let req = CreateGatewayIpRequest {
            project_id: self.p.project_of(config)?,
            tags: owned_tags(ctx, &strings(config, "tags")),
        };
        let (c, z, q) = (&client, &zone, &req);
        let mut ip = post_or_adopt(
            move || async move { c.vpcgw(z).create_ip(q).await },
            move || async move { self.find(ctx, c, z).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": ip.id})).await?;
        if let Some(reverse) = string(config, "reverse") {
            let req = UpdateGatewayIpRequest {
                tags: None,
                reverse: Some(reverse),
                gateway_id: None,
            };
            ip = client
                .vpcgw(&zone)
                .update_ip(&ip.id, &req)
                .await
                .map_err(api)?;
        }
        Ok(Created {
            id: ip.id.clone(),
            attributes: attrs(&ip, config),
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
        let found = match marker_id(marker) {
            Some(id) => found(client.vpcgw(&zone).get_ip(id).await)?,
            None => self.find(ctx, &client, &zone).await?,
        };
        Ok(found.map(|i| Created {
            id: i.id.clone(),
            attributes: attrs(&i, config),
        }))
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = recorded_zone(&self.p, rec)?;
        let req = UpdateGatewayIpRequest {
            tags: Some(owned_tags(ctx, &strings(config, "tags"))),
            reverse: string(config, "reverse"),
            gateway_id: None,
        };
        let i = client
            .vpcgw(&zone)
            .update_ip(rec.id.as_deref().unwrap_or_default(), &req)
            .await
            .map_err(api)?;
        Ok(attrs(&i, config))
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = recorded_zone(&self.p, rec)?;
        match client
            .vpcgw(&zone)
            .delete_ip(rec.id.as_deref().unwrap_or_default())
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
        let (loc, id) = split_locality(id);
        let zone = match loc {
            Some(l) => Zone::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.zone().clone(),
        };
        match client.vpcgw(&zone).get_ip(id).await {
            Ok(i) => {
                let attributes = attrs(&i, &Value::Null);
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
