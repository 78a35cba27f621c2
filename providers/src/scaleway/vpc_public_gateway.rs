//! `scaleway_vpc_public_gateway`: a Public Gateway (`vpc-gw/v2`, zonal, tagged), waited until
//! `running`; type changes go through `/upgrade`.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverContext, DriverError, FieldError, Input, Update};
use serde_json::Value;

use super::client::wire::vpcgw::{
    CreateGatewayRequest, Gateway, UpdateGatewayRequest, UpgradeGatewayRequest,
};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{Deletion, Op, Readiness, bare_id, kind, kind_impl, wait_ready};
use super::provider::{Pace, Pacing, api, check, flag, norm, string};
use super::vpc_public_gateway_ip::GATEWAY_ZONES;

kind! {
    /// A public gateway.
    pub struct PublicGateway = "scaleway_vpc_public_gateway"
        (PublicGatewayKind, PublicGatewayAttributes, PublicGatewayDriver);
    wire Gateway as g, id g.id;
    /// name (updated in place)
    name: Input<String>, required => g.name;
    /// offer, e.g. VPC-GW-S (upgraded in place)
    gateway_type as "type": String, required => g.gateway_type;
    /// flexible IP (`scaleway_vpc_public_gateway_ip`); default: one allocated with the gateway
    ip_id: Option<Input<String>>, optional_computed force_new
        => g.ipv4.as_ref().map(|i| i.id.clone());
    tags => g.tags;
    /// SSH bastion (updated in place)
    bastion_enabled: Option<bool>, optional_computed => g.bastion_enabled;
    /// bastion port (updated in place)
    bastion_port: Option<u32>, optional_computed => g.bastion_port;
    /// allow outgoing SMTP (updated in place)
    enable_smtp: Option<bool>, optional_computed => g.smtp_enabled;
    zone => g.zone;
    project_id => g.project_id;
    /// public address
    ip_address: String, computed => g.ipv4.as_ref().map(|i| i.address.clone());
    organization_id => g.organization_id;
}

/// Gateway offers.
pub const GATEWAY_TYPES: &[&str] = &["VPC-GW-S", "VPC-GW-M", "VPC-GW-L", "VPC-GW-XL"];

/// Waits until the gateway is `running` (or another terminal status).
pub(crate) async fn wait_gateway(
    ctx: &DriverContext,
    pacing: Pacing,
    client: &Client,
    zone: &Zone,
    id: &str,
) -> Result<Gateway, DriverError> {
    wait_ready::<PublicGatewayKind>(ctx, pacing, client, zone, id).await
}

kind_impl! {
    impl Kind for PublicGatewayKind, calls vpcgw {
        get: get_gateway; list_tagged: list_gateways; post: create_gateway;
    }
    status(g) => g.status;

    const WHAT: &'static str = "public gateway";
    const DELETION: Deletion = Deletion::WaitGone(Pace::Fast);
    type Place = Zone;
    type Request = CreateGatewayRequest;

    fn readiness(g: &Gateway) -> Readiness {
        let failed = ["failed", "locked"];
        Readiness::of(g.status.as_str(), g.status.is_transient(), &failed)
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", e);
        check::name(config, "name", e);
        check::one_of(config, "type", GATEWAY_TYPES, "public gateway type", e);
        let port: check::NumberRule = (
            "bastion_port",
            |port| (1024..=59999).contains(&port) || port == 61000,
            "is out of range",
            "use 1024 to 59999, or 61000",
        );
        check::numbers(config, &[port], e);
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateGatewayRequest, DriverError> {
        let config = op.config;
        Ok(CreateGatewayRequest {
            gateway_type: string(config, "type").unwrap_or_default(),
            ip_id: string(config, "ip_id"),
            enable_smtp: flag(config, "enable_smtp").unwrap_or(false),
            enable_bastion: flag(config, "bastion_enabled").unwrap_or(false),
            bastion_port: bastion_port(config),
            ..op.owned()?
        })
    }

    async fn settle(op: &Op<'_, Self>, g: Gateway) -> Result<Gateway, DriverError> {
        op.wait_ready(Pace::Fast, &g.id)
            .await
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<Gateway, DriverError> {
        let id = bare_id(update.recorded);
        let Op { c, at, config, .. } = *op;
        let touched = |f: &str| update.touches(f);
        let current = op.wait_ready(Pace::Fast, id).await?;
        if [
            "name",
            "tags",
            "bastion_enabled",
            "bastion_port",
            "enable_smtp",
        ]
        .iter()
        .any(|f| touched(f))
        {
            let req = UpdateGatewayRequest {
                name: string(config, "name"),
                tags: Some(op.tags()),
                enable_bastion: flag(config, "bastion_enabled"),
                bastion_port: bastion_port(config),
                enable_smtp: flag(config, "enable_smtp"),
            };
            c.vpcgw(at).update_gateway(id, &req).await.map_err(api)?;
            op.wait_ready(Pace::Fast, id).await?;
        }
        if touched("type")
            && let Some(t) = string(config, "type")
            && norm(&t) != norm(&current.gateway_type)
        {
            let req = UpgradeGatewayRequest {
                gateway_type: Some(t),
            };
            c.vpcgw(at).upgrade_gateway(id, &req).await.map_err(api)?;
        }
        op.wait_ready(Pace::Fast, id).await
    }

    async fn remove(c: &Client, at: &Zone, id: &str, rec: &ResourceState) -> Result<(), ApiErr> {
        // An IP declared as its own resource outlives the gateway.
        let delete_ip = rec.config.get("ip_id").is_none_or(Value::is_null);
        c.vpcgw(at).delete_gateway(id, delete_ip).await.map(|_| ())
    }
}

fn bastion_port(config: &Value) -> Option<u32> {
    config
        .get("bastion_port")
        .and_then(Value::as_u64)
        .map(|p| p as u32)
}
