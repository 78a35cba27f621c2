//! VPC `vpc/v2`: VPCs and private networks (no status: usable as soon as created).

use serde::Serialize;

use crate::scaleway::client::pagination::list_response;

wire_struct! {
    #[response]
    /// A VPC.
    pub struct Vpc {
        @id, @name, @organization_id, @project_id, @region, @tags,
        /// The project's default VPC.
        pub is_default: bool,
        @created_at, @updated_at,
    }
}

wire_struct! {
    /// `POST /vpcs`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateVpcRequest {
        @project_id, @name, @tags,
        /// Routing (forced on by the API).
        pub enable_routing: bool,
    }
}

wire_struct! {
    /// `PATCH /vpcs/{id}`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct UpdateVpcRequest {
        @name?, @tags?,
    }
}

list_response! {
    /// `GET /vpcs`.
    ListVpcsResponse {
        /// VPCs of this page.
        vpcs: Vec<Vpc>
    }
}

wire_struct! {
    #[response]
    /// A subnet of a private network.
    pub struct Subnet {
        @id,
        /// CIDR.
        pub subnet: String,
        @project_id,
        @private_network_id,
        /// VPC.
        pub vpc_id: String,
        /// Region.
        pub region: Option<String>,
        @created_at, @updated_at,
    }
}

wire_struct! {
    #[response]
    /// A private network.
    pub struct PrivateNetwork {
        @id, @name, @organization_id, @project_id, @region, @tags,
        /// Subnets (an IPv4 /22 and an IPv6 /64 by default).
        pub subnets: Vec<Subnet>,
        /// VPC.
        pub vpc_id: String,
        /// Default route propagation.
        pub default_route_propagation_enabled: bool,
        @created_at, @updated_at,
    }
}

wire_struct! {
    #[request]
    /// `POST /private-networks`.
    pub struct CreatePrivateNetworkRequest {
        @project_id, @name, @tags,
        /// Subnets; `None` lets the API allocate.
        pub subnets: Option<Vec<String>>,
        /// VPC; `None` means the project's default VPC.
        pub vpc_id: Option<String>,
        /// Default route propagation.
        pub default_route_propagation_enabled: Option<bool>,
    }
}

wire_struct! {
    /// `PATCH /private-networks/{id}`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct UpdatePrivateNetworkRequest {
        @name?, @tags?,
        /// Default route propagation.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub default_route_propagation_enabled: Option<bool>,
    }
}

list_response! {
    /// `GET /private-networks`.
    ListPrivateNetworksResponse {
        /// Networks of this page.
        private_networks: Vec<PrivateNetwork>
    }
}
