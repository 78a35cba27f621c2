//! IPAM `ipam/v1`: IPs booked in private networks (node, LB and RDB private addresses).

use serde::{Deserialize, Serialize};

use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::list_response;

open_enum! {
    /// Kind of resource an IP is attached to.
    ResourceType {
        Custom = "custom",
        InstanceServer = "instance_server",
        InstanceIp = "instance_ip",
        InstancePrivateNic = "instance_private_nic",
        LbServer = "lb_server",
        FipIp = "fip_ip",
        VpcGateway = "vpc_gateway",
        VpcGatewayNetwork = "vpc_gateway_network",
        K8sNode = "k8s_node",
        K8sCluster = "k8s_cluster",
        RdbInstance = "rdb_instance",
        RedisCluster = "redis_cluster",
        BaremetalServer = "baremetal_server",
        BaremetalPrivateNic = "baremetal_private_nic",
        LlmDeployment = "llm_deployment",
        MgdbInstance = "mgdb_instance",
        ApplesiliconServer = "apple_silicon_server",
        ApplesiliconPrivateNic = "apple_silicon_private_nic",
        ServerlessContainer = "serverless_container",
        ServerlessFunction = "serverless_function",
        VpnGateway = "vpn_gateway",
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
        /// A subnet.
        pub subnet_id: Option<String>,
        /// A VPC.
        pub vpc_id: Option<String>,
        /// A region's public pool.
        pub regional: Option<bool>,
    }
}

/// The resource an IP is attached to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resource {
    /// Kind.
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    /// ID.
    pub id: String,
    /// MAC address.
    pub mac_address: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// A reverse DNS entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reverse {
    /// Host name.
    pub hostname: String,
    /// Address.
    pub address: Option<String>,
}

wire_struct! {
    /// An IPAM IP.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct IpamIp {
        @id,
        /// Address in CIDR form (`172.16.32.7/22`).
        pub address: String,
        @project_id,
        /// IPv6.
        pub is_ipv6: bool,
        /// Source.
        pub source: Source,
        /// Attached resource.
        pub resource: Option<Resource>,
        @tags,
        /// Reverses.
        pub reverses: Vec<Reverse>,
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

/// `PATCH /ips/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateIpamIpRequest {
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

list_response! {
    /// `GET /ips`.
    ListIpamIpsResponse {
        /// IPs of this page.
        ips: Vec<IpamIp>
    }
}
