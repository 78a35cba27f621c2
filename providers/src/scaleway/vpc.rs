//! `scaleway_vpc`: a VPC (regional, synchronous, tagged).

use kapstan_engine::{DriverError, FieldError, Input};
use serde_json::Value;

use super::client::Region;
use super::client::wire::vpc::{CreateVpcRequest, UpdateVpcRequest, Vpc as WireVpc};
use super::kind::{Deletion, Op, kind, kind_impl};
use super::provider::{Pace, check, string};

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

kind_impl! {
    impl Kind for VpcKind, calls vpc {
        get: get_vpc; list_tagged: list_vpcs; post: create_vpc; remove: delete_vpc;
    }
    update(op, config) => update_vpc(UpdateVpcRequest {
        name: string(config, "name"),
        tags: Some(op.tags()),
    });

    // A VPC still holding private networks refuses deletion until their deletes land.
    const DELETION: Deletion = Deletion::RetryWhileInUse(Pace::Fast);
    type Place = Region;
    type Request = CreateVpcRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::name(config, "name", e);
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateVpcRequest, DriverError> {
        Ok(CreateVpcRequest {
            enable_routing: true,
            ..op.owned()?
        })
    }
}
