//! Load Balancer `lb/v1` (zoned): load balancers, flexible IPs, private-network attachments.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::paginated;

open_enum! {
    /// Status of a load balancer.
    LbStatus {
        Ready = "ready",
        Pending = "pending",
        Stopped = "stopped",
        Error = "error",
        Locked = "locked",
        Migrating = "migrating",
        ToCreate = "to_create",
        Creating = "creating",
        ToDelete = "to_delete",
        Deleting = "deleting",
    }
}

impl LbStatus {
    /// Whether a waiter keeps polling (everything but ready, stopped, error, locked).
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            Self::Ready | Self::Stopped | Self::Error | Self::Locked
        )
    }
}

open_enum! {
    /// Status of one of the instances behind a load balancer.
    LbInstanceStatus {
        Ready = "ready",
        Pending = "pending",
        Stopped = "stopped",
        Error = "error",
        Locked = "locked",
        Migrating = "migrating",
    }
}

open_enum! {
    /// Status of a private-network attachment.
    PrivateNetworkStatus {
        Ready = "ready",
        Pending = "pending",
        Error = "error",
    }
}

open_enum! {
    /// TLS compatibility level.
    SslCompatibilityLevel {
        Intermediate = "ssl_compatibility_level_intermediate",
        Modern = "ssl_compatibility_level_modern",
        Old = "ssl_compatibility_level_old",
    }
}

/// A flexible IP of the Load Balancer API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ip {
    /// ID.
    pub id: String,
    /// Address.
    pub ip_address: String,
    /// Organization.
    pub organization_id: String,
    /// Project.
    pub project_id: String,
    /// Attached load balancer.
    pub lb_id: Option<String>,
    /// Reverse DNS.
    pub reverse: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Zone.
    pub zone: String,
    /// Region (deprecated).
    pub region: Option<String>,
}

/// One of the instances of a load balancer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LbInstance {
    /// ID.
    pub id: String,
    /// Status.
    pub status: LbInstanceStatus,
    /// IP.
    pub ip_address: String,
    /// Zone.
    pub zone: String,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// A load balancer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lb {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Status.
    pub status: LbStatus,
    /// Underlying instances.
    pub instances: Vec<LbInstance>,
    /// Organization.
    pub organization_id: String,
    /// Project.
    pub project_id: String,
    /// Flexible IPs.
    pub ip: Vec<Ip>,
    /// Tags.
    pub tags: Vec<String>,
    /// Frontends.
    pub frontend_count: u32,
    /// Backends.
    pub backend_count: u32,
    /// Attached private networks.
    pub private_network_count: u32,
    /// Routes.
    pub route_count: u32,
    /// Commercial type, lower-case in responses (`lb-s`).
    #[serde(rename = "type")]
    pub lb_type: String,
    /// Alert subscriber.
    pub subscriber: Option<serde_json::Value>,
    /// TLS level.
    pub ssl_compatibility_level: SslCompatibilityLevel,
    /// Zone.
    pub zone: String,
    /// Region (deprecated).
    pub region: Option<String>,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// `POST /lbs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateLbRequest {
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Commercial type (`LB-S`).
    #[serde(rename = "type")]
    pub lb_type: String,
    /// Tags.
    pub tags: Vec<String>,
    /// TLS level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_compatibility_level: Option<SslCompatibilityLevel>,
    /// Pre-created flexible IPs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip_ids: Vec<String>,
    /// Allocate a v4 IP when none given (server default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assign_flexible_ip: Option<bool>,
    /// Allocate a v6 IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assign_flexible_ipv6: Option<bool>,
}

/// `PUT /lbs/{id}`: a full replacement, every field is sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateLbRequest {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// TLS level.
    pub ssl_compatibility_level: SslCompatibilityLevel,
}

/// `POST /lbs/{id}/migrate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MigrateLbRequest {
    /// New commercial type.
    #[serde(rename = "type")]
    pub lb_type: String,
}

/// `GET /lbs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListLbsResponse {
    /// LBs of this page.
    pub lbs: Vec<Lb>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(ListLbsResponse, lbs, Lb);

/// `POST /ips`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateIpRequest {
    /// Project.
    pub project_id: String,
    /// Reverse DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse: Option<String>,
    /// IPv6.
    pub is_ipv6: bool,
    /// Tags.
    pub tags: Vec<String>,
}

/// `PATCH /ips/{id}`: `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateIpRequest {
    /// Reverse DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse: Option<String>,
    /// Attach to this load balancer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lb_id: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `GET /ips`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListIpsResponse {
    /// IPs of this page.
    pub ips: Vec<Ip>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(ListIpsResponse, ips, Ip);

/// A private-network attachment of a load balancer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LbPrivateNetwork {
    /// The load balancer.
    pub lb: Option<Lb>,
    /// Private network.
    pub private_network_id: String,
    /// IPAM IPs of the LB in the network.
    pub ipam_ids: Vec<String>,
    /// Status.
    pub status: PrivateNetworkStatus,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Last update time.
    pub updated_at: Option<Timestamp>,
}

/// `GET /lbs/{id}/private-networks` (note the singular key).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListLbPrivateNetworksResponse {
    /// Attachments of this page.
    pub private_network: Vec<LbPrivateNetwork>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(
    ListLbPrivateNetworksResponse,
    private_network,
    LbPrivateNetwork
);

/// `POST /lbs/{id}/attach-private-network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AttachPrivateNetworkRequest {
    /// Private network.
    pub private_network_id: String,
    /// IPAM IPs booked for the LB; empty lets IPAM allocate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipam_ids: Vec<String>,
}

/// `POST /lbs/{id}/detach-private-network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DetachPrivateNetworkRequest {
    /// Private network.
    pub private_network_id: String,
}

/// A commercial LB type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LbType {
    /// Name (`LB-S`).
    pub name: String,
    /// Stock.
    pub stock_status: String,
    /// Description.
    pub description: String,
    /// Bandwidth in bps.
    pub bandwidth: u64,
    /// Zone.
    pub zone: String,
}

/// `GET /lb-types`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListLbTypesResponse {
    /// Types of this page.
    pub lb_types: Vec<LbType>,
    /// Total across pages.
    pub total_count: u64,
}
paginated!(ListLbTypesResponse, lb_types, LbType);
