//! `scaleway_vpc_public_gateway_ip`: a flexible IP for a public gateway (zonal, tagged).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Resource, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::wire::vpcgw::{CreateGatewayIpRequest, GatewayIp, UpdateGatewayIpRequest};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{
    Kind, KindDriver, ORGANIZATION_DOC, Op, PROJECT_DOC, TAGS_DOC, ZONE_DOC, fields,
};
use super::provider::{api, attributes, check, owned_tags, string, strings, user_tags};

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
pub type PublicGatewayIpDriver = KindDriver<PublicGatewayIpKind>;

/// The declaration of `scaleway_vpc_public_gateway_ip`.
#[derive(Debug)]
pub struct PublicGatewayIpKind;

#[async_trait]
impl Kind for PublicGatewayIpKind {
    const NAME: &'static str = "scaleway_vpc_public_gateway_ip";
    type Place = Zone;
    type Wire = GatewayIp;
    type Request = CreateGatewayIpRequest;

    fields! { GatewayIp as i;
        id = i.id;
        tags = i.tags;
        "reverse": optional_computed, "reverse DNS (updated in place)" => i.reverse;
        "tags": optional, TAGS_DOC => user_tags(&i.tags);
        "zone": optional_computed force_new, ZONE_DOC => i.zone;
        "project_id": optional_computed force_new, PROJECT_DOC => i.project_id;
        "address": computed, "the address" => i.address;
        "organization_id": computed, ORGANIZATION_DOC => i.organization_id;
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", e);
    }

    async fn get(c: &Client, at: &Zone, id: &str) -> Result<Option<GatewayIp>, ApiErr> {
        c.vpcgw(at).get_ip(id).await.map(Some)
    }

    async fn list_tagged(c: &Client, at: &Zone, tags: &[String]) -> Result<Vec<GatewayIp>, ApiErr> {
        c.vpcgw(at).list_ips(&ListFilter::tags(tags.to_vec())).await
    }

    async fn request(
        op: &Op<'_, Self>,
        config: &Value,
    ) -> Result<CreateGatewayIpRequest, DriverError> {
        let Op { d, ctx, .. } = *op;
        Ok(CreateGatewayIpRequest {
            project_id: d.p.project_of(config)?,
            tags: owned_tags(ctx, &strings(config, "tags")),
        })
    }

    async fn post(
        c: &Client,
        at: &Zone,
        req: &CreateGatewayIpRequest,
    ) -> Result<GatewayIp, ApiErr> {
        c.vpcgw(at).create_ip(req).await
    }

    /// The create call takes no reverse DNS: it is set right after.
    async fn settle(
        op: &Op<'_, Self>,
        config: &Value,
        ip: GatewayIp,
    ) -> Result<GatewayIp, DriverError> {
        let Op { c, at, .. } = *op;
        match string(config, "reverse") {
            Some(reverse) if ip.reverse.as_deref() != Some(reverse.as_str()) => {
                let req = UpdateGatewayIpRequest {
                    tags: None,
                    reverse: Some(reverse),
                    gateway_id: None,
                };
                c.vpcgw(at).update_ip(&ip.id, &req).await.map_err(api)
            }
            _ => Ok(ip),
        }
    }

    async fn update(
        op: &Op<'_, Self>,
        id: &str,
        _rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<GatewayIp, DriverError> {
        let Op { ctx, c, at, .. } = *op;
        let req = UpdateGatewayIpRequest {
            tags: Some(owned_tags(ctx, &strings(config, "tags"))),
            reverse: string(config, "reverse"),
            gateway_id: None,
        };
        c.vpcgw(at).update_ip(id, &req).await.map_err(api)
    }

    async fn remove(c: &Client, at: &Zone, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.vpcgw(at).delete_ip(id).await
    }
}
