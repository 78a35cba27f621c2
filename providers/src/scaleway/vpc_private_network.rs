//! `scaleway_vpc_private_network`: a private network (regional, synchronous, tagged); its
//! deletion waits out 412 `resource_still_in_use` while detaches propagate.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::vpc::{
    CreatePrivateNetworkRequest, PrivateNetwork as WirePn, UpdatePrivateNetworkRequest,
};
use super::client::{Client, Region};
use super::provider::{
    Pace, Poll, ScalewayProvider, adopt_one, api, attributes, check, config_from, conform, found,
    is_owned, marker_id, owned_tags, post_or_adopt, split_locality, string, strings, user_tags,
    wait_for,
};

/// The IPv4 subnet of a private network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ipv4Subnet {
    /// CIDR, e.g. `172.16.64.0/22`; default: allocated by the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
}

/// A private network.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PrivateNetwork {
    /// Name (updated in place).
    pub name: Input<String>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// VPC (default: the project's default VPC). Changing it replaces the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<String>>,
    /// IPv4 subnet. Changing it replaces the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_subnet: Option<Ipv4Subnet>,
    /// Propagate the default route (from a public gateway) to the VPC (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_default_route_propagation: Option<bool>,
    /// Region. Changing it replaces the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project. Changing it replaces the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_vpc_private_network`.
    PrivateNetworkAttributes {
        /// The VPC.
        vpc_id: String = "vpc_id",
        /// The IPv4 subnet CIDR.
        ipv4_cidr: String = "ipv4_subnet.subnet",
        /// The region.
        region: String = "region",
    }
}

impl Resource for PrivateNetwork {
    const KIND: &'static str = "scaleway_vpc_private_network";
    type Attributes = PrivateNetworkAttributes;
}

/// The `scaleway_vpc_private_network` driver.
#[derive(Debug)]
pub struct PrivateNetworkDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl PrivateNetworkDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_vpc_private_network",
                vec![
                    Field::required("name").describe("name (updated in place)"),
                    Field::optional("tags").describe(
                        "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr",
                    ),
                    Field::optional_computed("vpc_id")
                        .force_new()
                        .describe("VPC; default: the project's default VPC of the region"),
                    Field::optional_computed("ipv4_subnet")
                        .force_new()
                        .describe("`{subnet}`: IPv4 CIDR; default: a /22 allocated by the API"),
                    Field::optional("enable_default_route_propagation")
                        .describe("propagate the default route to the VPC (updated in place)"),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region; default: the configured region"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("ipv6_subnets").describe("IPv6 subnets (`[{subnet}]`)"),
                    Field::computed("organization_id").describe("organization of the project"),
                    Field::computed("created_at").describe("creation time"),
                ],
            ),
        }
    }

    async fn find(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
    ) -> Result<Option<WirePn>, DriverError> {
        let found = client
            .vpc(region)
            .list_private_networks(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|v| is_owned(ctx, &v.tags))
            .map(|v| (v.id.clone(), v))
            .collect();
        Ok(adopt_one(ctx, "scaleway_vpc_private_network", found)?.map(|(_, v)| v))
    }
}

fn attrs(v: &WirePn, config: &Value) -> Value {
    let v4 = v.subnets.iter().find(|s| !s.subnet.contains(':'));
    let v6: Vec<Value> = v
        .subnets
        .iter()
        .filter(|s| s.subnet.contains(':'))
        .map(|s| json!({"subnet": s.subnet, "id": s.id}))
        .collect();
    let mut a = json!({
        "name": v.name,
        "tags": user_tags(&v.tags),
        "vpc_id": v.vpc_id,
        "ipv4_subnet": v4.map(|s| json!({"subnet": s.subnet, "id": s.id})),
        "ipv6_subnets": v6,
        "enable_default_route_propagation": v.default_route_propagation_enabled,
        "region": v.region,
        "project_id": v.project_id,
        "organization_id": v.organization_id,
        "created_at": v.created_at,
    });
    conform(&mut a, config);
    a
}

fn region_of_recorded(p: &ScalewayProvider, rec: &ResourceState) -> Result<Region, DriverError> {
    match rec.attributes.get("region").and_then(Value::as_str) {
        Some(r) => Region::parse(r).map_err(|e| DriverError::failed(e.to_string())),
        None => p.region_of(&rec.config),
    }
}

#[async_trait]
impl Driver for PrivateNetworkDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::name(config, "name", &mut e);
        check::tags(config, &mut e);
        if let Some(s) = config
            .pointer("/ipv4_subnet/subnet")
            .and_then(Value::as_str)
        {
            let ok = s.split_once('/').is_some_and(|(ip, len)| {
                ip.parse::<std::net::Ipv4Addr>().is_ok()
                    && len.parse::<u8>().is_ok_and(|l| (8..=29).contains(&l))
            });
            if !ok {
                e.push(FieldError::new(
                    "ipv4_subnet.subnet",
                    &format!("{s:?}"),
                    "is not an IPv4 CIDR from /8 to /29",
                    "use e.g. 172.16.64.0/22",
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
                .vpc(&region)
                .get_private_network(rec.id.as_deref().unwrap_or_default())
                .await,
        )?
        .map(|v| attrs(&v, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let req = CreatePrivateNetworkRequest {
            project_id: self.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            tags: owned_tags(ctx, &strings(config, "tags")),
            subnets: config
                .pointer("/ipv4_subnet/subnet")
                .and_then(Value::as_str)
                .map(|s| vec![s.to_string()]),
            vpc_id: string(config, "vpc_id"),
            default_route_propagation_enabled: config
                .get("enable_default_route_propagation")
                .and_then(Value::as_bool),
        };
        let (c, r, q) = (&client, &region, &req);
        let pn = post_or_adopt(
            move || async move { c.vpc(r).create_private_network(q).await },
            move || async move { self.find(ctx, c, r).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": pn.id})).await?;
        Ok(Created {
            id: pn.id.clone(),
            attributes: attrs(&pn, config),
        })
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client()?;
        let region = self.p.region_of(config)?;
        let found = match marker_id(marker) {
            Some(id) => found(client.vpc(&region).get_private_network(id).await)?,
            None => self.find(ctx, &client, &region).await?,
        };
        Ok(found.map(|v| Created {
            id: v.id.clone(),
            attributes: attrs(&v, config),
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
        let region = region_of_recorded(&self.p, rec)?;
        let req = UpdatePrivateNetworkRequest {
            name: string(config, "name"),
            tags: Some(owned_tags(ctx, &strings(config, "tags"))),
            default_route_propagation_enabled: config
                .get("enable_default_route_propagation")
                .and_then(Value::as_bool),
        };
        let v = client
            .vpc(&region)
            .update_private_network(rec.id.as_deref().unwrap_or_default(), &req)
            .await
            .map_err(api)?;
        Ok(attrs(&v, config))
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = region_of_recorded(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let foreign =
            super::ccm_objects::foreign_load_balancers_on(ctx, &client, &region, &id).await?;
        if !foreign.is_empty() {
            return Err(super::ccm_objects::blocked_by(&id, &foreign));
        }
        let (c, r, i) = (&client, &region, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Fast),
            "private network deletion",
            move || async move {
                match c.vpc(r).delete_private_network(i).await {
                    Ok(()) => Ok(Poll::Done(())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) if e.is_still_in_use() || e.status() == Some(412) => {
                        Ok(Poll::Pending("still in use, waiting for detaches".into()))
                    }
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
        let region = match loc {
            Some(l) => Region::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.region().clone(),
        };
        match client.vpc(&region).get_private_network(id).await {
            Ok(v) => {
                let attributes = attrs(&v, &Value::Null);
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
