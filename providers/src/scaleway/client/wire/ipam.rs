//! IPAM `ipam/v1`: IPs booked in private networks (node, LB and RDB private addresses).

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::paginated;

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

/// Where an IP is taken from: one of the fields is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Source {
    /// A zone's public pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zonal: Option<String>,
    /// A private network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_network_id: Option<String>,
    /// A subnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// A VPC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// A region's public pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regional: Option<bool>,
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

/// An IPAM IP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpamIp {
    /// ID.
    pub id: String,
    /// Address in CIDR form (`172.16.32.7/22`).
    pub address: String,
    /// Project.
    pub project_id: String,
    /// IPv6.
    pub is_ipv6: bool,
    /// Source.
    pub source: Source,
    /// Attached resource.
    pub resource: Option<Resource>,
    /// Tags.
    pub tags: Vec<String>,
    /// Reverses.
    pub reverses: Vec<Reverse>,
    /// Region.
    pub region: String,
    /// Zone, for zonal IPs.
    pub zone: Option<String>,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// `POST /ips` (BookIP).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BookIpRequest {
    /// Project.
    pub project_id: String,
    /// Source.
    pub source: Source,
    /// IPv6.
    pub is_ipv6: bool,
    /// A specific address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
}

/// `PATCH /ips/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateIpamIpRequest {
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `GET /ips`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListIpamIpsResponse {
    /// IPs of this page.
    pub ips: Vec<IpamIp>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(ListIpamIpsResponse, ips, IpamIp);
