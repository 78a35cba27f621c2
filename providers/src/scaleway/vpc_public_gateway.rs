//! `scaleway_vpc_public_gateway`: a Public Gateway (`vpc-gw/v2`, zonal, tagged), waited until
//! `running`; type changes go through `/upgrade`.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverContext, DriverError, FieldError, Input, Resource, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::wire::vpcgw::{
    CreateGatewayRequest, Gateway, UpdateGatewayRequest, UpgradeGatewayRequest,
};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{
    Deletion, Kind, KindDriver, ORGANIZATION_DOC, Op, PROJECT_DOC, Readiness, TAGS_DOC, ZONE_DOC,
    fields, wait_ready,
};
use super::provider::{
    Pace, Pacing, api, attributes, check, norm, owned_tags, string, strings, user_tags,
};
use super::vpc_public_gateway_ip::GATEWAY_ZONES;

/// A public gateway.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublicGateway {
    /// Name (updated in place).
    pub name: Input<String>,
    /// Offer, e.g. `VPC-GW-S` (upgraded in place).
    #[serde(rename = "type")]
    pub gateway_type: String,
    /// Flexible IP (`scaleway_vpc_public_gateway_ip`). Changing it replaces the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_id: Option<Input<String>>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// SSH bastion (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion_enabled: Option<bool>,
    /// Bastion port (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion_port: Option<u32>,
    /// Allow outgoing SMTP (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_smtp: Option<bool>,
    /// Zone. Changing it replaces the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Project. Changing it replaces the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_vpc_public_gateway`.
    PublicGatewayAttributes {
        /// The public address.
        ip_address: String = "ip_address",
        /// The zone.
        zone: String = "zone",
    }
}

impl Resource for PublicGateway {
    const KIND: &'static str = "scaleway_vpc_public_gateway";
    type Attributes = PublicGatewayAttributes;
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

/// The `scaleway_vpc_public_gateway` driver.
pub type PublicGatewayDriver = KindDriver<PublicGatewayKind>;

/// The declaration of `scaleway_vpc_public_gateway`.
#[derive(Debug)]
pub struct PublicGatewayKind;

#[async_trait]
impl Kind for PublicGatewayKind {
    const NAME: &'static str = "scaleway_vpc_public_gateway";
    const WHAT: &'static str = "public gateway";
    const DELETION: Deletion = Deletion::WaitGone(Pace::Fast);
    type Place = Zone;
    type Wire = Gateway;
    type Request = CreateGatewayRequest;

    fields! { Gateway as g;
        id = g.id;
        tags = g.tags;
        "name": required, "name (updated in place)" => g.name;
        "type": required, "offer, e.g. VPC-GW-S (upgraded in place)" => g.gateway_type;
        "ip_id": optional_computed force_new,
            "flexible IP; default: one allocated with the gateway"
            => g.ipv4.as_ref().map(|i| i.id.clone());
        "tags": optional, TAGS_DOC => user_tags(&g.tags);
        "bastion_enabled": optional_computed, "SSH bastion (updated in place)" => g.bastion_enabled;
        "bastion_port": optional_computed, "bastion port (updated in place)" => g.bastion_port;
        "enable_smtp": optional_computed, "allow outgoing SMTP (updated in place)" => g.smtp_enabled;
        "zone": optional_computed force_new, ZONE_DOC => g.zone;
        "project_id": optional_computed force_new, PROJECT_DOC => g.project_id;
        "ip_address": computed, "public address" => g.ipv4.as_ref().map(|i| i.address.clone());
        "organization_id": computed, ORGANIZATION_DOC => g.organization_id;
    }

    fn status(g: &Gateway) -> String {
        g.status.to_string()
    }

    fn readiness(g: &Gateway) -> Readiness {
        match g.status.as_str() {
            s if g.status.is_transient() => Readiness::Pending(s.to_string()),
            s @ ("failed" | "locked") => Readiness::Failed(s.to_string()),
            _ => Readiness::Ready,
        }
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", e);
        check::name(config, "name", e);
        check::one_of(config, "type", GATEWAY_TYPES, "public gateway type", e);
        if let Some(port) = config.get("bastion_port").and_then(Value::as_u64)
            && !((1024..=59999).contains(&port) || port == 61000)
        {
            e.push(FieldError::new(
                "bastion_port",
                &port.to_string(),
                "is out of range",
                "use 1024 to 59999, or 61000",
            ));
        }
    }

    async fn get(c: &Client, at: &Zone, id: &str) -> Result<Option<Gateway>, ApiErr> {
        c.vpcgw(at).get_gateway(id).await.map(Some)
    }

    async fn list_tagged(c: &Client, at: &Zone, tags: &[String]) -> Result<Vec<Gateway>, ApiErr> {
        c.vpcgw(at)
            .list_gateways(&ListFilter::tags(tags.to_vec()))
            .await
    }

    async fn request(
        op: &Op<'_, Self>,
        config: &Value,
    ) -> Result<CreateGatewayRequest, DriverError> {
        let Op { d, ctx, .. } = *op;
        Ok(CreateGatewayRequest {
            project_id: d.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            tags: owned_tags(ctx, &strings(config, "tags")),
            gateway_type: string(config, "type").unwrap_or_default(),
            ip_id: string(config, "ip_id"),
            enable_smtp: config
                .get("enable_smtp")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            enable_bastion: config
                .get("bastion_enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            bastion_port: bastion_port(config),
        })
    }

    async fn post(c: &Client, at: &Zone, req: &CreateGatewayRequest) -> Result<Gateway, ApiErr> {
        c.vpcgw(at).create_gateway(req).await
    }

    async fn settle(
        op: &Op<'_, Self>,
        _config: &Value,
        g: Gateway,
    ) -> Result<Gateway, DriverError> {
        op.d.wait_ready(op.ctx, Pace::Fast, op.c, op.at, &g.id)
            .await
    }

    async fn update(
        op: &Op<'_, Self>,
        id: &str,
        _rec: &ResourceState,
        config: &Value,
        changed: &[String],
    ) -> Result<Gateway, DriverError> {
        let Op { ctx, c, at, .. } = *op;
        let touched = |f: &str| {
            changed
                .iter()
                .any(|c| c == &format!("/{f}") || c.starts_with(&format!("/{f}/")))
        };
        let current = op.d.wait_ready(op.ctx, Pace::Fast, op.c, op.at, id).await?;
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
                tags: Some(owned_tags(ctx, &strings(config, "tags"))),
                enable_bastion: config.get("bastion_enabled").and_then(Value::as_bool),
                bastion_port: bastion_port(config),
                enable_smtp: config.get("enable_smtp").and_then(Value::as_bool),
            };
            c.vpcgw(at).update_gateway(id, &req).await.map_err(api)?;
            op.d.wait_ready(op.ctx, Pace::Fast, op.c, op.at, id).await?;
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
        op.d.wait_ready(op.ctx, Pace::Fast, op.c, op.at, id).await
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
