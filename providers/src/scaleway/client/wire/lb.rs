//! Load Balancer `lb/v1` (zoned): load balancers, flexible IPs, private-network attachments.

use serde::Serialize;

use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::list_response;

open_enum! {
    /// Status of a load balancer, and of each instance behind it.
    LbStatus {
        Ready,
        Pending,
        Stopped,
        Error,
        Locked,
        Migrating,
        ToCreate,
        Creating,
        ToDelete,
        Deleting,
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
    /// Status of a private-network attachment.
    PrivateNetworkStatus {
        Ready,
        Pending,
        Error,
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

wire_struct! {
    #[response]
    /// A flexible IP of the Load Balancer API.
    pub struct Ip {
        @id,
        /// Address.
        pub ip_address: String,
        @organization_id, @project_id,
        /// Attached load balancer.
        pub lb_id: Option<String>,
        /// Reverse DNS.
        pub reverse: String,
        @tags, @zone,
        /// Region (deprecated).
        pub region: Option<String>,
    }
}

wire_struct! {
    #[response]
    /// One of the instances of a load balancer.
    pub struct LbInstance {
        @id,
        /// Status: one of the first six of [`LbStatus`] (`ready` … `migrating`).
        pub status: LbStatus,
        /// IP.
        pub ip_address: String,
        @zone, @created_at, @updated_at,
    }
}

wire_struct! {
    #[response]
    /// A load balancer.
    pub struct Lb {
        @id, @name,
        @description,
        /// Status.
        pub status: LbStatus,
        /// Underlying instances.
        pub instances: Vec<LbInstance>,
        @organization_id, @project_id,
        /// Flexible IPs.
        pub ip: Vec<Ip>,
        @tags,
        /// Commercial type, lower-case in responses (`lb-s`).
        #[serde(rename = "type")]
        pub lb_type: String,
        /// TLS level.
        pub ssl_compatibility_level: SslCompatibilityLevel,
        @zone,
        /// Region (deprecated).
        pub region: Option<String>,
        @created_at, @updated_at,
    }
}

wire_struct! {
    #[request]
    /// `POST /lbs`.
    pub struct CreateLbRequest {
        @project_id, @name,
        @description,
        /// Commercial type (`LB-S`).
        #[serde(rename = "type")]
        pub lb_type: String,
        @tags,
        /// TLS level.
        pub ssl_compatibility_level: Option<SslCompatibilityLevel>,
        /// Pre-created flexible IPs.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub ip_ids: Vec<String>,
        /// Allocate a v4 IP when none given (server default true).
        pub assign_flexible_ip: Option<bool>,
        /// Allocate a v6 IP.
        pub assign_flexible_ipv6: Option<bool>,
    }
}

wire_struct! {
    /// `PUT /lbs/{id}`: a full replacement, every field is sent.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct UpdateLbRequest {
        @name,
        @description,
        @tags,
        /// TLS level.
        pub ssl_compatibility_level: SslCompatibilityLevel,
    }
}

/// `POST /lbs/{id}/migrate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MigrateLbRequest {
    /// New commercial type.
    #[serde(rename = "type")]
    pub lb_type: String,
}

list_response! {
    /// `GET /lbs`.
    ListLbsResponse {
        /// LBs of this page.
        lbs: Vec<Lb>
    }
}

wire_struct! {
    /// `POST /ips`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateIpRequest {
        @project_id,
        /// Reverse DNS.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub reverse: Option<String>,
        /// IPv6.
        pub is_ipv6: bool,
        @tags,
    }
}

wire_struct! {
    #[request]
    /// `PATCH /ips/{id}`: `None` leaves a field unchanged.
    pub struct UpdateIpRequest {
        /// Reverse DNS.
        pub reverse: Option<String>,
        /// Attach to this load balancer.
        pub lb_id: Option<String>,
        @tags?,
    }
}

list_response! {
    /// `GET /ips`.
    ListIpsResponse {
        /// IPs of this page.
        ips: Vec<Ip>
    }
}

wire_struct! {
    #[response]
    /// A private-network attachment of a load balancer.
    pub struct LbPrivateNetwork {
        /// The load balancer.
        pub lb: Option<Lb>,
        @private_network_id,
        /// IPAM IPs of the LB in the network.
        pub ipam_ids: Vec<String>,
        /// Status.
        pub status: PrivateNetworkStatus,
        @created_at, @updated_at,
    }
}

list_response! {
    /// `GET /lbs/{id}/private-networks` (note the singular key).
    ListLbPrivateNetworksResponse {
        /// Attachments of this page.
        private_network: Vec<LbPrivateNetwork>
    }
}

wire_struct! {
    /// `POST /lbs/{id}/attach-private-network`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct AttachPrivateNetworkRequest {
        @private_network_id,
        /// IPAM IPs booked for the LB; empty lets IPAM allocate.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub ipam_ids: Vec<String>,
    }
}

wire_struct! {
    /// `POST /lbs/{id}/detach-private-network`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct DetachPrivateNetworkRequest {
        @private_network_id,
    }
}

wire_struct! {
    #[response]
    /// A commercial LB type.
    pub struct LbType {
        @name,
        @description,
        @zone,
    }
}

list_response! {
    /// `GET /lb-types`.
    ListLbTypesResponse {
        /// Types of this page.
        lb_types: Vec<LbType>
    }
}
