//! Public Gateway `vpc-gw/v2` (zoned): gateways, gateway IPs, gateway networks.
//!
//! See `docs/scaleway-public-gateway.md` for the contract these types follow.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::paginated;

open_enum! {
    /// Status of a gateway.
    GatewayStatus {
        Stopped = "stopped",
        Allocating = "allocating",
        Configuring = "configuring",
        Running = "running",
        Stopping = "stopping",
        Failed = "failed",
        Deleting = "deleting",
        Locked = "locked",
    }
}

impl GatewayStatus {
    /// Whether a waiter keeps polling.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Allocating | Self::Configuring | Self::Stopping | Self::Deleting
        )
    }
}

open_enum! {
    /// Status of a gateway network.
    GatewayNetworkStatus {
        Created = "created",
        Attaching = "attaching",
        Configuring = "configuring",
        Ready = "ready",
        Detaching = "detaching",
    }
}

impl GatewayNetworkStatus {
    /// Whether a waiter keeps polling.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Created | Self::Attaching | Self::Configuring | Self::Detaching
        )
    }
}

/// A flexible IP of the Public Gateway API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayIp {
    /// ID.
    pub id: String,
    /// Organization.
    pub organization_id: String,
    /// Project.
    pub project_id: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Address.
    pub address: String,
    /// Reverse DNS.
    pub reverse: Option<String>,
    /// Gateway using it.
    pub gateway_id: Option<String>,
    /// Zone.
    pub zone: String,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// A connection between a gateway and a private network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayNetwork {
    /// ID.
    pub id: String,
    /// Gateway.
    pub gateway_id: String,
    /// Private network.
    pub private_network_id: String,
    /// MAC address of the gateway in the network, once running.
    pub mac_address: Option<String>,
    /// Dynamic NAT for the network.
    pub masquerade_enabled: bool,
    /// Status.
    pub status: GatewayNetworkStatus,
    /// The gateway advertises itself as default route (implies masquerade).
    pub push_default_route: bool,
    /// IPAM IP of the gateway in the network.
    pub ipam_ip_id: Option<String>,
    /// Zone.
    pub zone: String,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// A Public Gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gateway {
    /// ID.
    pub id: String,
    /// Organization.
    pub organization_id: String,
    /// Project.
    pub project_id: String,
    /// Commercial type (`VPC-GW-S`).
    #[serde(rename = "type")]
    pub gateway_type: String,
    /// Bandwidth in bps.
    pub bandwidth: u64,
    /// Status.
    pub status: GatewayStatus,
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Public IPv4.
    pub ipv4: Option<GatewayIp>,
    /// Attached networks.
    pub gateway_networks: Vec<GatewayNetwork>,
    /// Software version.
    pub version: Option<String>,
    /// Available upgrade.
    pub can_upgrade_to: Option<String>,
    /// SSH bastion.
    pub bastion_enabled: bool,
    /// Bastion port.
    pub bastion_port: u32,
    /// SMTP allowed.
    pub smtp_enabled: bool,
    /// Non-IPAM (v1) gateway.
    pub is_legacy: bool,
    /// Ranges allowed on the bastion.
    pub bastion_allowed_ips: Vec<String>,
    /// Zone.
    pub zone: String,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// `POST /gateways`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateGatewayRequest {
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Commercial type (`VPC-GW-S`).
    #[serde(rename = "type")]
    pub gateway_type: String,
    /// Existing flexible IP; `None` allocates one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_id: Option<String>,
    /// Allow SMTP.
    pub enable_smtp: bool,
    /// SSH bastion.
    pub enable_bastion: bool,
    /// Bastion port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bastion_port: Option<u32>,
}

/// `PATCH /gateways/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateGatewayRequest {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// SSH bastion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_bastion: Option<bool>,
    /// Bastion port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bastion_port: Option<u32>,
    /// Allow SMTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_smtp: Option<bool>,
}

/// `POST /gateways/{id}/upgrade`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpgradeGatewayRequest {
    /// New commercial type; `None` upgrades the software only.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub gateway_type: Option<String>,
}

/// `GET /gateways`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListGatewaysResponse {
    /// Gateways of this page.
    pub gateways: Vec<Gateway>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(ListGatewaysResponse, gateways, Gateway);

/// `POST /gateway-networks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateGatewayNetworkRequest {
    /// Gateway.
    pub gateway_id: String,
    /// Private network.
    pub private_network_id: String,
    /// Dynamic NAT.
    pub enable_masquerade: bool,
    /// Advertise the gateway as default route (implies masquerade).
    pub push_default_route: bool,
    /// IPAM IP to use as the gateway's address; `None` lets IPAM allocate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam_ip_id: Option<String>,
}

/// `PATCH /gateway-networks/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateGatewayNetworkRequest {
    /// Dynamic NAT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_masquerade: Option<bool>,
    /// Default route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_default_route: Option<bool>,
    /// IPAM IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam_ip_id: Option<String>,
}

/// `GET /gateway-networks`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListGatewayNetworksResponse {
    /// Connections of this page.
    pub gateway_networks: Vec<GatewayNetwork>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(
    ListGatewayNetworksResponse,
    gateway_networks,
    GatewayNetwork
);

/// `POST /ips`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateGatewayIpRequest {
    /// Project.
    pub project_id: String,
    /// Tags.
    pub tags: Vec<String>,
}

/// `PATCH /ips/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateGatewayIpRequest {
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Reverse DNS; empty string unsets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse: Option<String>,
    /// Gateway to attach to; empty string detaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
}

/// `GET /ips`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListGatewayIpsResponse {
    /// IPs of this page.
    pub ips: Vec<GatewayIp>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(ListGatewayIpsResponse, ips, GatewayIp);

/// A gateway commercial type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayType {
    /// Name.
    pub name: String,
    /// Bandwidth in bps.
    pub bandwidth: u64,
    /// Zone.
    pub zone: String,
}

/// `GET /gateway-types` (not paginated).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListGatewayTypesResponse {
    /// Types.
    pub types: Vec<GatewayType>,
}
paginated!(ListGatewayTypesResponse, types, GatewayType, unpaginated);
