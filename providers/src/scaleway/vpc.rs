//! `scaleway_vpc`: a VPC (regional, synchronous, tagged).

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::vpc::{CreateVpcRequest, UpdateVpcRequest, Vpc as WireVpc};
use super::client::{Client, Region};
use super::provider::{
    Pace, Poll, ScalewayProvider, adopt_one, api, attributes, check, config_from, conform, found,
    is_owned, marker_id, owned_tags, post_or_adopt, split_locality, string, strings, user_tags,
    wait_for,
};

/// A VPC.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Vpc {
    /// Name (updated in place).
    pub name: Input<String>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Region (default: the configured one). Changing it replaces the VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project (default: the credentials' project). Changing it replaces the VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_vpc`.
    VpcAttributes {
        /// The name.
        name: String = "name",
        /// The region.
        region: String = "region",
    }
}

impl Resource for Vpc {
    const KIND: &'static str = "scaleway_vpc";
    type Attributes = VpcAttributes;
}

/// The `scaleway_vpc` driver.
#[derive(Debug)]
pub struct VpcDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl VpcDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_vpc",
                vec![
                    Field::required("name").describe("name of the VPC (updated in place)"),
                    Field::optional("tags").describe(
                        "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr",
                    ),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region; default: the configured region"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("organization_id").describe("organization of the project"),
                    Field::computed("is_default")
                        .describe("whether this is the project's default VPC"),
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
    ) -> Result<Option<WireVpc>, DriverError> {
        let found = client
            .vpc(region)
            .list_vpcs(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|v| is_owned(ctx, &v.tags))
            .map(|v| (v.id.clone(), v))
            .collect();
        Ok(adopt_one(ctx, "scaleway_vpc", found)?.map(|(_, v)| v))
    }
}

fn attrs(v: &WireVpc, config: &Value) -> Value {
    let mut a = json!({
        "name": v.name,
        "tags": user_tags(&v.tags),
        "region": v.region,
        "project_id": v.project_id,
        "organization_id": v.organization_id,
        "is_default": v.is_default,
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
impl Driver for VpcDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::name(config, "name", &mut e);
        check::tags(config, &mut e);
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
                .get_vpc(rec.id.as_deref().unwrap_or_default())
                .await,
        )?
        .map(|v| attrs(&v, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let req = CreateVpcRequest {
            project_id: self.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            tags: owned_tags(ctx, &strings(config, "tags")),
            enable_routing: true,
        };
        let (c, r, q) = (&client, &region, &req);
        let vpc = post_or_adopt(
            move || async move { c.vpc(r).create_vpc(q).await },
            move || async move { self.find(ctx, c, r).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": vpc.id})).await?;
        Ok(Created {
            id: vpc.id.clone(),
            attributes: attrs(&vpc, config),
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
            Some(id) => found(client.vpc(&region).get_vpc(id).await)?,
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
        let req = UpdateVpcRequest {
            name: string(config, "name"),
            tags: Some(owned_tags(ctx, &strings(config, "tags"))),
        };
        let v = client
            .vpc(&region)
            .update_vpc(rec.id.as_deref().unwrap_or_default(), &req)
            .await
            .map_err(api)?;
        Ok(attrs(&v, config))
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = region_of_recorded(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        // A VPC still holding private networks refuses deletion until their deletes land.
        let (c, r, i) = (&client, &region, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Fast),
            "VPC deletion",
            move || async move {
                match c.vpc(r).delete_vpc(i).await {
                    Ok(()) => Ok(Poll::Done(())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) if e.status() == Some(412) || e.status() == Some(409) => {
                        Ok(Poll::Pending("still in use".into()))
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
        match client.vpc(&region).get_vpc(id).await {
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
