//! `scaleway_vpc`: a VPC (regional, synchronous, tagged).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Resource, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::wire::vpc::{CreateVpcRequest, UpdateVpcRequest, Vpc as WireVpc};
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{
    Deletion, Kind, KindDriver, ORGANIZATION_DOC, Op, PROJECT_DOC, REGION_DOC, TAGS_DOC, fields,
};
use super::provider::{Pace, api, attributes, check, owned_tags, string, strings, user_tags};

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
pub type VpcDriver = KindDriver<VpcKind>;

/// The declaration of `scaleway_vpc`.
#[derive(Debug)]
pub struct VpcKind;

#[async_trait]
impl Kind for VpcKind {
    const NAME: &'static str = "scaleway_vpc";
    // A VPC still holding private networks refuses deletion until their deletes land.
    const DELETION: Deletion = Deletion::RetryWhileInUse(Pace::Fast);
    type Place = Region;
    type Wire = WireVpc;
    type Request = CreateVpcRequest;

    fields! { WireVpc as v;
        id = v.id;
        tags = v.tags;
        "name": required, "name of the VPC (updated in place)" => v.name;
        "tags": optional, TAGS_DOC => user_tags(&v.tags);
        "region": optional_computed force_new, REGION_DOC => v.region;
        "project_id": optional_computed force_new, PROJECT_DOC => v.project_id;
        "organization_id": computed, ORGANIZATION_DOC => v.organization_id;
        "is_default": computed, "whether this is the project's default VPC" => v.is_default;
        "created_at": computed, "creation time" => v.created_at;
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::name(config, "name", e);
    }

    async fn get(c: &Client, at: &Region, id: &str) -> Result<Option<WireVpc>, ApiErr> {
        c.vpc(at).get_vpc(id).await.map(Some)
    }

    async fn list_tagged(c: &Client, at: &Region, tags: &[String]) -> Result<Vec<WireVpc>, ApiErr> {
        c.vpc(at).list_vpcs(&ListFilter::tags(tags.to_vec())).await
    }

    async fn request(op: &Op<'_, Self>, config: &Value) -> Result<CreateVpcRequest, DriverError> {
        let Op { d, ctx, .. } = *op;
        Ok(CreateVpcRequest {
            project_id: d.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            tags: owned_tags(ctx, &strings(config, "tags")),
            enable_routing: true,
        })
    }

    async fn post(c: &Client, at: &Region, req: &CreateVpcRequest) -> Result<WireVpc, ApiErr> {
        c.vpc(at).create_vpc(req).await
    }

    async fn update(
        op: &Op<'_, Self>,
        id: &str,
        _rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<WireVpc, DriverError> {
        let Op { ctx, c, at, .. } = *op;
        let req = UpdateVpcRequest {
            name: string(config, "name"),
            tags: Some(owned_tags(ctx, &strings(config, "tags"))),
        };
        c.vpc(at).update_vpc(id, &req).await.map_err(api)
    }

    async fn remove(c: &Client, at: &Region, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.vpc(at).delete_vpc(id).await
    }
}
