//! IPAM `ipam/v1`: IPs booked in private networks (node, LB and RDB private addresses).

use serde::{Deserialize, Serialize};

use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::list_response;

open_enum! {
    /// Kind of resource an IP is attached to.
    ResourceType {
        Custom,
        InstanceServer,
        InstanceIp,
        InstancePrivateNic,
        LbServer,
        FipIp,
        VpcGateway,
        VpcGatewayNetwork,
        K8sNode,
        K8sCluster,
        RdbInstance,
        RedisCluster,
        BaremetalServer,
        BaremetalPrivateNic,
        LlmDeployment,
        MgdbInstance,
        ApplesiliconServer = "apple_silicon_server",
        ApplesiliconPrivateNic = "apple_silicon_private_nic",
        ServerlessContainer,
        ServerlessFunction,
        VpnGateway,
    }
}

wire_struct! {
    #[skip_serializing_none]
    /// Where an IP is taken from: one of the fields is set.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Source {
        /// A zone's public pool.
        pub zonal: Option<String>,
        /// A private network.
        pub private_network_id: Option<String>,
        /// A VPC.
        pub vpc_id: Option<String>,
        /// A region's public pool.
        pub regional: Option<bool>,
    }
}

wire_struct! {
    #[response]
    /// An IPAM IP.
    pub struct IpamIp {
        @id,
        /// Address in CIDR form (`172.16.32.7/22`).
        pub address: String,
        @project_id,
        /// IPv6.
        pub is_ipv6: bool,
        /// Source.
        pub source: Source,
        @tags,
        @region,
        /// Zone, for zonal IPs.
        pub zone: Option<String>,
        @created_at, @updated_at,
    }
}

wire_struct! {
    /// `POST /ips` (BookIP).
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct BookIpRequest {
        @project_id,
        /// Source.
        pub source: Source,
        /// IPv6.
        pub is_ipv6: bool,
        /// A specific address.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub address: Option<String>,
        @tags,
    }
}

wire_struct! {
    /// `PATCH /ips/{id}`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct UpdateIpamIpRequest {
        @tags?,
    }
}

list_response! {
    /// `GET /ips`.
    ListIpamIpsResponse {
        /// IPs of this page.
        ips: Vec<IpamIp>
    }
}
