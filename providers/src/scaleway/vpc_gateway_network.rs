//! `scaleway_vpc_gateway_network`: attaches a public gateway to a private network for NAT
//! egress (IPAM default route pushed to the network, masquerade). Gateway networks carry no
//! tags: after a lost answer the attachment is found by its natural key (gateway, network).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverContext, DriverError, FieldError, Input, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::IpamIpFilter;
use super::client::wire::ipam::ResourceType;
use super::client::wire::vpcgw::{
    CreateGatewayNetworkRequest, GatewayNetwork as WireGn, UpdateGatewayNetworkRequest,
};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{
    Declared, Deletion, Op, Readiness, attribute_as_is, bare_id, client_waiting_on, config_block,
    fetch, kind, kind_impl,
};
use super::provider::{Pace, adopt_one, api, check, flag, is_not_found, string};
use super::vpc_public_gateway::wait_gateway;
use super::vpc_public_gateway_ip::GATEWAY_ZONES;

config_block! {
    /// IPAM settings of the attachment.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct IpamConfig {
        /// Hand out the gateway as default route (NAT egress for nodes without public IPs).
        pub push_default_route: bool,
        /// The gateway's own IPAM address in the network; default: allocated by IPAM.
        pub ipam_ip_id: Option<String>,
    }
}

kind! {
    /// A gateway attached to a private network.
    pub struct GatewayNetwork = "scaleway_vpc_gateway_network"
        (GatewayNetworkKind, GatewayNetworkAttributes, GatewayNetworkDriver);
    wire LiveGatewayNetwork as g, id g.n.id;
    /// the public gateway
    gateway_id: Input<String>, required force_new => g.n.gateway_id;
    /// the private network
    private_network_id: Input<String>, required force_new => g.n.private_network_id;
    /// dynamic NAT for the network (updated in place; default true)
    #[serde(default = "yes")]
    enable_masquerade: bool, optional => g.n.masquerade_enabled;
    /// `{push_default_route, ipam_ip_id?}` (updated in place)
    ipam_config: Option<IpamConfig>, optional => ipam_config(&g.n);
    /// zone of the gateway
    zone: Option<String>, optional_computed force_new => g.n.zone;
    /// MAC address of the gateway in the network
    mac_address: String, computed => g.n.mac_address;
    /// the gateway's address in the network (IPAM)
    private_ip: String, computed => g.private_ip;
}

attribute_as_is!(IpamConfig);

fn yes() -> bool {
    true
}

/// Waits until the gateway of an attachment accepts changes.
async fn wait_parent(op: &Op<'_, GatewayNetworkKind>, gateway_id: &str) -> Result<(), DriverError> {
    let pacing = op.d.p.pacing(Pace::Fast);
    wait_gateway(op.ctx, pacing, op.c, op.at, gateway_id)
        .await
        .map(|_| ())
}

/// A gateway network with the gateway's IPAM address in the network.
#[derive(Debug)]
pub struct LiveGatewayNetwork {
    n: WireGn,
    private_ip: Option<String>,
}

impl LiveGatewayNetwork {
    /// The attachment as the API answers it, its IPAM address not read yet.
    fn unread(n: WireGn) -> Self {
        Self {
            n,
            private_ip: None,
        }
    }
}

fn ipam_config(n: &WireGn) -> Value {
    let mut ipam = json!({"push_default_route": n.push_default_route});
    if n.ipam_ip_id.is_some() {
        ipam["ipam_ip_id"] = json!(n.ipam_ip_id);
    }
    ipam
}

fn ipam_ip_id(config: &Value) -> Option<String> {
    config
        .pointer("/ipam_config/ipam_ip_id")
        .and_then(Value::as_str)
        .map(String::from)
}

kind_impl! {
    impl Kind for GatewayNetworkKind, calls vpcgw {
        post: create_gateway_network => LiveGatewayNetwork::unread;
        remove: delete_gateway_network;
    }
    status(g) => g.n.status;

    const WHAT: &'static str = "gateway network";
    const DELETION: Deletion = Deletion::WaitGone(Pace::Fast);
    type Place = Zone;
    type Request = CreateGatewayNetworkRequest;

    fn readiness(g: &LiveGatewayNetwork) -> Readiness {
        Readiness::of(g.n.status.as_str(), g.n.status.is_transient(), &[])
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", e);
        if config
            .pointer("/ipam_config/push_default_route")
            .and_then(Value::as_bool)
            == Some(true)
            && flag(config, "enable_masquerade") == Some(false)
        {
            e.push(FieldError::new(
                "enable_masquerade",
                "false",
                "conflicts with ipam_config.push_default_route = true (the default route needs NAT)",
                "set enable_masquerade to true",
            ));
        }
    }

    /// Mutations of a gateway's attachments wait out the gateway's own transitions.
    fn client(d: &GatewayNetworkDriver, config: &Value) -> Result<Client, DriverError> {
        let zone = d.p.zone_of(config)?;
        let gw = string(config, "gateway_id").unwrap_or_default();
        let pacing = d.p.pacing(Pace::Fast);
        client_waiting_on(&d.p, format!("gateway {gw}"), move |c| {
            let (zone, gw) = (zone.clone(), gw.clone());
            async move {
                let ctx = DriverContext::detached("", "");
                wait_gateway(&ctx, pacing, &c, &zone, &gw).await.map(|_| ())
            }
        })
    }

    async fn get(c: &Client, at: &Zone, id: &str) -> Result<Option<LiveGatewayNetwork>, ApiErr> {
        let n = c.vpcgw(at).get_gateway_network(id).await?;
        let ips = c
            .ipam(&at.region())
            .list_ips(&IpamIpFilter {
                resource_id: Some(n.id.clone()),
                resource_type: Some(ResourceType::VpcGatewayNetwork),
            })
            .await?;
        let private_ip = ips
            .first()
            .map(|i| i.address.split('/').next().unwrap_or_default().to_string());
        Ok(Some(LiveGatewayNetwork { n, private_ip }))
    }

    /// Gateway networks carry no tags: the natural key (gateway, network) finds them.
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<LiveGatewayNetwork>, DriverError> {
        let Op { ctx, c, at, config, .. } = *op;
        let gw = string(config, "gateway_id").unwrap_or_default();
        let pn = string(config, "private_network_id").unwrap_or_default();
        let candidates = c
            .vpcgw(at)
            .list_gateway_networks(std::slice::from_ref(&gw), std::slice::from_ref(&pn))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|n| n.gateway_id == gw && n.private_network_id == pn)
            .map(|n| (n.id.clone(), n))
            .collect();
        match adopt_one(ctx, Self::NAME, candidates)? {
            Some((id, _)) => fetch::<Self>(c, at, &id).await,
            None => Ok(None),
        }
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateGatewayNetworkRequest, DriverError> {
        let config = op.config;
        let gateway_id = string(config, "gateway_id").unwrap_or_default();
        wait_parent(op, &gateway_id).await?;
        Ok(CreateGatewayNetworkRequest {
            gateway_id,
            private_network_id: string(config, "private_network_id").unwrap_or_default(),
            enable_masquerade: flag(config, "enable_masquerade").unwrap_or(true),
            push_default_route: config
                .pointer("/ipam_config/push_default_route")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ipam_ip_id: ipam_ip_id(config),
        })
    }

    async fn settle(op: &Op<'_, Self>, g: LiveGatewayNetwork) -> Result<LiveGatewayNetwork, DriverError> {
        let g = op.wait_ready(Pace::Fast, &g.n.id).await?;
        wait_parent(op, &g.n.gateway_id).await?;
        Ok(g)
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveGatewayNetwork, DriverError> {
        let id = bare_id(update.recorded);
        let Op { c, at, config, .. } = *op;
        let req = UpdateGatewayNetworkRequest {
            enable_masquerade: flag(config, "enable_masquerade"),
            push_default_route: config
                .pointer("/ipam_config/push_default_route")
                .and_then(Value::as_bool),
            ipam_ip_id: ipam_ip_id(config),
        };
        let n = c
            .vpcgw(at)
            .update_gateway_network(id, &req)
            .await
            .map_err(api)?;
        Self::settle(op, LiveGatewayNetwork::unread(n)).await
    }

    /// The gateway reconfigures itself after a detach; later mutations wait for it.
    async fn after_delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        let gw = string(&rec.config, "gateway_id").unwrap_or_default();
        match wait_parent(op, &gw).await {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }
}
