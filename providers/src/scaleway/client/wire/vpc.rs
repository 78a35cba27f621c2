//! VPC `vpc/v2`: VPCs and private networks (no status: usable as soon as created).

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::scaleway::client::pagination::paginated;

/// A VPC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vpc {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Organization.
    pub organization_id: String,
    /// Project.
    pub project_id: String,
    /// Region.
    pub region: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The project's default VPC.
    pub is_default: bool,
    /// Private networks in it.
    pub private_network_count: u32,
    /// Routing between its networks (always on nowadays).
    pub routing_enabled: bool,
    /// Custom routes propagation.
    pub custom_routes_propagation_enabled: bool,
    /// Transitivity.
    pub transitivity_enabled: bool,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// `POST /vpcs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateVpcRequest {
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Routing (forced on by the API).
    pub enable_routing: bool,
}

/// `PATCH /vpcs/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateVpcRequest {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `GET /vpcs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListVpcsResponse {
    /// VPCs of this page.
    pub vpcs: Vec<Vpc>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(ListVpcsResponse, vpcs, Vpc);

/// A subnet of a private network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subnet {
    /// ID.
    pub id: String,
    /// CIDR.
    pub subnet: String,
    /// Project.
    pub project_id: String,
    /// Private network.
    pub private_network_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Region.
    pub region: Option<String>,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// A private network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivateNetwork {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Organization.
    pub organization_id: String,
    /// Project.
    pub project_id: String,
    /// Region.
    pub region: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Subnets (an IPv4 /22 and an IPv6 /64 by default).
    pub subnets: Vec<Subnet>,
    /// VPC.
    pub vpc_id: String,
    /// DHCP.
    pub dhcp_enabled: bool,
    /// Default route propagation.
    pub default_route_propagation_enabled: bool,
    /// S3 integration.
    pub has_s3_integration: bool,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// `POST /private-networks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreatePrivateNetworkRequest {
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Subnets; `None` lets the API allocate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnets: Option<Vec<String>>,
    /// VPC; `None` means the project's default VPC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// Default route propagation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_route_propagation_enabled: Option<bool>,
}

/// `PATCH /private-networks/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdatePrivateNetworkRequest {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Default route propagation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_route_propagation_enabled: Option<bool>,
}

/// `GET /private-networks`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListPrivateNetworksResponse {
    /// Networks of this page.
    pub private_networks: Vec<PrivateNetwork>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(
    ListPrivateNetworksResponse,
    private_networks,
    PrivateNetwork
);
