//! `scaleway_vpc_public_gateway_ip`: a flexible IP for a public gateway (zonal, tagged).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, async_trait};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::wire::vpcgw::{CreateGatewayIpRequest, GatewayIp, UpdateGatewayIpRequest};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{Kind, Op, kind};
use super::provider::{api, check, string};

/// Zones offering public gateways.
pub const GATEWAY_ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3",
];

kind! {
    /// A public gateway flexible IP.
    pub struct PublicGatewayIp = "scaleway_vpc_public_gateway_ip"
        (PublicGatewayIpKind, PublicGatewayIpAttributes, PublicGatewayIpDriver);
    wire GatewayIp as i, id i.id;
    /// reverse DNS (updated in place)
    reverse: Option<String>, optional_computed => i.reverse;
    tags => i.tags;
    zone => i.zone;
    project_id => i.project_id;
    /// the address
    address: String, computed => i.address;
    organization_id => i.organization_id;
}

#[async_trait]
impl Kind for PublicGatewayIpKind {
    type Place = Zone;
    type Request = CreateGatewayIpRequest;

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
        Ok(CreateGatewayIpRequest {
            project_id: op.project(config)?,
            tags: op.tags(config),
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
        let Op { c, at, .. } = *op;
        let req = UpdateGatewayIpRequest {
            tags: Some(op.tags(config)),
            reverse: string(config, "reverse"),
            gateway_id: None,
        };
        c.vpcgw(at).update_ip(id, &req).await.map_err(api)
    }

    async fn remove(c: &Client, at: &Zone, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.vpcgw(at).delete_ip(id).await
    }
}
