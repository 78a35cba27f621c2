//! `scaleway_lb_ip`: a flexible IP for a load balancer (zonal, tagged).

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Resource, Schema,
    async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::lb::{CreateIpRequest, Ip, UpdateIpRequest};
use super::client::{Client, Zone};
use super::provider::{
    ScalewayProvider, adopt_one, api, attributes, check, config_from, conform, found, is_owned,
    marker_id, owned_tags, post_or_adopt, split_locality, string, strings, user_tags,
};

/// Zones offering load balancers.
pub const LB_ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3",
];

/// A load balancer flexible IP.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LbIp {
    /// Reverse DNS (updated in place; default `a-b-c-d.lb.<region>.scw.cloud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<String>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// IPv6 instead of IPv4. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_ipv6: Option<bool>,
    /// Zone. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Project. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_lb_ip`.
    LbIpAttributes {
        /// The address.
        ip_address: String = "ip_address",
        /// The reverse DNS name.
        reverse: String = "reverse",
        /// The zone.
        zone: String = "zone",
    }
}

impl Resource for LbIp {
    const KIND: &'static str = "scaleway_lb_ip";
    type Attributes = LbIpAttributes;
}

/// The `scaleway_lb_ip` driver.
#[derive(Debug)]
pub struct LbIpDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl LbIpDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_lb_ip",
                vec![
                    Field::optional_computed("reverse").describe("reverse DNS (updated in place)"),
                    Field::optional("tags").describe(
                        "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr",
                    ),
                    Field::optional("is_ipv6")
                        .force_new()
                        .describe("IPv6 instead of IPv4"),
                    Field::optional_computed("zone")
                        .force_new()
                        .describe("zone; default: the configured zone"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("ip_address").describe("the address"),
                    Field::computed("region").describe("region of the zone"),
                ],
            ),
        }
    }

    async fn find(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
    ) -> Result<Option<Ip>, DriverError> {
        let found = client
            .lb(zone)
            .list_ips(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|i| is_owned(ctx, &i.tags))
            .map(|i| (i.id.clone(), i))
            .collect();
        Ok(adopt_one(ctx, "scaleway_lb_ip", found)?.map(|(_, i)| i))
    }
}

fn attrs(i: &Ip, config: &Value) -> Value {
    let mut a = json!({
        "reverse": i.reverse,
        "tags": user_tags(&i.tags),
        "is_ipv6": i.ip_address.contains(':'),
        "zone": i.zone,
        "project_id": i.project_id,
        "ip_address": i.ip_address,
        "region": i.zone.rsplit_once('-').map(|(r, _)| r).unwrap_or_default(),
    });
    conform(&mut a, config);
    a
}

pub(crate) fn recorded_zone(
    p: &ScalewayProvider,
    rec: &ResourceState,
) -> Result<Zone, DriverError> {
    match rec.attributes.get("zone").and_then(Value::as_str) {
        Some(z) => Zone::parse(z).map_err(|e| DriverError::failed(e.to_string())),
        None => p.zone_of(&rec.config),
    }
}

#[async_trait]
impl Driver for LbIpDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "zone", LB_ZONES, "Load Balancer zone", &mut e);
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
                .lb(&zone)
                .get_ip(rec.id.as_deref().unwrap_or_default())
                .await,
        )?
        .map(|i| attrs(&i, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = self.p.zone_of(config)?;
        let req = CreateIpRequest {
            project_id: self.p.project_of(config)?,
            reverse: string(config, "reverse"),
            is_ipv6: config
                .get("is_ipv6")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tags: owned_tags(ctx, &strings(config, "tags")),
        };
        let (c, z, q) = (&client, &zone, &req);
        let ip = post_or_adopt(
            move || async move { c.lb(z).create_ip(q).await },
            move || async move { self.find(ctx, c, z).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": ip.id})).await?;
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
            Some(id) => found(client.lb(&zone).get_ip(id).await)?,
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
        let req = UpdateIpRequest {
            reverse: string(config, "reverse"),
            lb_id: None,
            tags: Some(owned_tags(ctx, &strings(config, "tags"))),
        };
        let i = client
            .lb(&zone)
            .update_ip(rec.id.as_deref().unwrap_or_default(), &req)
            .await
            .map_err(api)?;
        Ok(attrs(&i, config))
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = recorded_zone(&self.p, rec)?;
        match client
            .lb(&zone)
            .release_ip(rec.id.as_deref().unwrap_or_default())
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
        match client.lb(&zone).get_ip(id).await {
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
