//! Public Gateway `vpc-gw/v2` (zoned): gateways, gateway IPs, gateway networks.
//!
//! See `docs/scaleway-public-gateway.md` for the contract these types follow.

use serde::{Deserialize, Serialize};

use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::{list_response, paginated};

open_enum! {
    /// Status of a gateway.
    GatewayStatus {
        Stopped,
        Allocating,
        Configuring,
        Running,
        Stopping,
        Failed,
        Deleting,
        Locked,
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
        Created,
        Attaching,
        Configuring,
        Ready,
        Detaching,
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

wire_struct! {
    #[response]
    /// A flexible IP of the Public Gateway API.
    pub struct GatewayIp {
        @id, @organization_id, @project_id, @tags,
        /// Address.
        pub address: String,
        /// Reverse DNS.
        pub reverse: Option<String>,
        /// Gateway using it.
        pub gateway_id: Option<String>,
        @zone, @created_at, @updated_at,
    }
}

wire_struct! {
    #[response]
    /// A connection between a gateway and a private network.
    pub struct GatewayNetwork {
        @id,
        /// Gateway.
        pub gateway_id: String,
        @private_network_id,
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
        @zone, @created_at, @updated_at,
    }
}

wire_struct! {
    #[response]
    /// A Public Gateway.
    pub struct Gateway {
        @id, @organization_id, @project_id,
        /// Commercial type (`VPC-GW-S`).
        #[serde(rename = "type")]
        pub gateway_type: String,
        /// Status.
        pub status: GatewayStatus,
        @name, @tags,
        /// Public IPv4.
        pub ipv4: Option<GatewayIp>,
        /// Software version.
        pub version: Option<String>,
        /// SSH bastion.
        pub bastion_enabled: bool,
        /// Bastion port.
        pub bastion_port: u32,
        /// SMTP allowed.
        pub smtp_enabled: bool,
        @zone, @created_at, @updated_at,
    }
}

wire_struct! {
    #[request]
    /// `POST /gateways`.
    pub struct CreateGatewayRequest {
        @project_id, @name, @tags,
        /// Commercial type (`VPC-GW-S`).
        #[serde(rename = "type")]
        pub gateway_type: String,
        /// Existing flexible IP; `None` allocates one.
        pub ip_id: Option<String>,
        /// Allow SMTP.
        pub enable_smtp: bool,
        /// SSH bastion.
        pub enable_bastion: bool,
        /// Bastion port.
        pub bastion_port: Option<u32>,
    }
}

wire_struct! {
    #[request]
    /// `PATCH /gateways/{id}`.
    pub struct UpdateGatewayRequest {
        @name?, @tags?,
        /// SSH bastion.
        pub enable_bastion: Option<bool>,
        /// Bastion port.
        pub bastion_port: Option<u32>,
        /// Allow SMTP.
        pub enable_smtp: Option<bool>,
    }
}

/// `POST /gateways/{id}/upgrade`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpgradeGatewayRequest {
    /// New commercial type; `None` upgrades the software only.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub gateway_type: Option<String>,
}

list_response! {
    /// `GET /gateways`.
    ListGatewaysResponse {
        /// Gateways of this page.
        gateways: Vec<Gateway>
    }
}

wire_struct! {
    /// `POST /gateway-networks`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateGatewayNetworkRequest {
        /// Gateway.
        pub gateway_id: String,
        @private_network_id,
        /// Dynamic NAT.
        pub enable_masquerade: bool,
        /// Advertise the gateway as default route (implies masquerade).
        pub push_default_route: bool,
        /// IPAM IP to use as the gateway's address; `None` lets IPAM allocate.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub ipam_ip_id: Option<String>,
    }
}

wire_struct! {
    #[request]
    /// `PATCH /gateway-networks/{id}`.
    pub struct UpdateGatewayNetworkRequest {
        /// Dynamic NAT.
        pub enable_masquerade: Option<bool>,
        /// Default route.
        pub push_default_route: Option<bool>,
        /// IPAM IP.
        pub ipam_ip_id: Option<String>,
    }
}

list_response! {
    /// `GET /gateway-networks`.
    ListGatewayNetworksResponse {
        /// Connections of this page.
        gateway_networks: Vec<GatewayNetwork>
    }
}

wire_struct! {
    /// `POST /ips`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateGatewayIpRequest {
        @project_id, @tags,
    }
}

wire_struct! {
    #[request]
    /// `PATCH /ips/{id}`.
    pub struct UpdateGatewayIpRequest {
        @tags?,
        /// Reverse DNS; empty string unsets it.
        pub reverse: Option<String>,
        /// Gateway to attach to; empty string detaches.
        pub gateway_id: Option<String>,
    }
}

list_response! {
    /// `GET /ips`.
    ListGatewayIpsResponse {
        /// IPs of this page.
        ips: Vec<GatewayIp>
    }
}

wire_struct! {
    #[response]
    /// A gateway commercial type.
    pub struct GatewayType {
        @name,
        @zone,
    }
}

/// `GET /gateway-types` (not paginated).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListGatewayTypesResponse {
    /// Types.
    pub types: Vec<GatewayType>,
}
paginated!(ListGatewayTypesResponse, types, GatewayType, unpaginated);
