//! `scaleway_vpc`: a VPC (regional, synchronous, tagged).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, async_trait};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::wire::vpc::{CreateVpcRequest, UpdateVpcRequest, Vpc as WireVpc};
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{Deletion, Kind, Op, kind};
use super::provider::{Pace, api, check, string};

kind! {
    /// A VPC.
    pub struct Vpc = "scaleway_vpc" (VpcKind, VpcAttributes, VpcDriver);
    wire WireVpc as v, id v.id;
    /// name of the VPC (updated in place)
    name: Input<String>, required => v.name;
    tags => v.tags;
    region => v.region;
    project_id => v.project_id;
    organization_id => v.organization_id;
    /// whether this is the project's default VPC
    is_default: bool, computed => v.is_default;
    /// creation time
    created_at: String, computed => v.created_at;
}

#[async_trait]
impl Kind for VpcKind {
    // A VPC still holding private networks refuses deletion until their deletes land.
    const DELETION: Deletion = Deletion::RetryWhileInUse(Pace::Fast);
    type Place = Region;
    type Request = CreateVpcRequest;

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
        Ok(CreateVpcRequest {
            project_id: op.project(config)?,
            name: string(config, "name").unwrap_or_default(),
            tags: op.tags(config),
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
        let Op { c, at, .. } = *op;
        let req = UpdateVpcRequest {
            name: string(config, "name"),
            tags: Some(op.tags(config)),
        };
        c.vpc(at).update_vpc(id, &req).await.map_err(api)
    }

    async fn remove(c: &Client, at: &Region, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.vpc(at).delete_vpc(id).await
    }
}
