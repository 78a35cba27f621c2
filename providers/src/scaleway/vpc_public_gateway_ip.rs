//! `scaleway_vpc_public_gateway_ip`: a flexible IP for a public gateway (zonal, tagged).

use kapstan_engine::{DriverError, FieldError};
use serde_json::Value;

use super::client::Zone;
use super::client::wire::vpcgw::{CreateGatewayIpRequest, GatewayIp, UpdateGatewayIpRequest};
use super::kind::{Op, kind, kind_impl};
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

kind_impl! {
    impl Kind for PublicGatewayIpKind, calls vpcgw {
        get: get_ip; list_tagged: list_ips; post: create_ip; remove: delete_ip;
    }
    update(op, config) => update_ip(UpdateGatewayIpRequest {
        tags: Some(op.tags()),
        reverse: string(config, "reverse"),
        gateway_id: None,
    });

    type Place = Zone;
    type Request = CreateGatewayIpRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", e);
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateGatewayIpRequest, DriverError> {
        Ok(CreateGatewayIpRequest {
            project_id: op.project()?,
            tags: op.tags(),
        })
    }

    /// The create call takes no reverse DNS: it is set right after.
    async fn settle(op: &Op<'_, Self>, ip: GatewayIp) -> Result<GatewayIp, DriverError> {
        let Op { c, at, config, .. } = *op;
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
}
