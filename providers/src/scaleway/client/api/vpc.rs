//! Typed VPC calls.

use super::ListFilter;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::wire::vpc::*;

scoped_api! {
    /// VPC (`vpc/v2`) calls in one region.
    VpcApi(Api::Vpc, region: Region)
}

impl VpcApi<'_> {
    endpoints! {
        /// `POST /vpcs` (never retried blindly).
        post create_vpc("/vpcs", CreateVpcRequest) -> Vpc;
        /// `GET /vpcs/{id}`.
        get get_vpc("/vpcs" / id) -> Vpc;
        /// `GET /vpcs`, all pages.
        list list_vpcs("/vpcs", filter: &ListFilter) -> Vec<Vpc> from ListVpcsResponse;
        /// `PATCH /vpcs/{id}`.
        patch update_vpc("/vpcs" / id, UpdateVpcRequest) -> Vpc;
        /// `DELETE /vpcs/{id}` (204).
        delete delete_vpc("/vpcs" / id) -> ();

        /// `POST /private-networks` (never retried blindly).
        post create_private_network("/private-networks", CreatePrivateNetworkRequest) -> PrivateNetwork;
        /// `GET /private-networks/{id}`.
        get get_private_network("/private-networks" / id) -> PrivateNetwork;
        /// `GET /private-networks`, all pages. Extra filter: `vpc_id`.
        list list_private_networks("/private-networks", filter: &ListFilter)
            -> Vec<PrivateNetwork> from ListPrivateNetworksResponse;
        /// `PATCH /private-networks/{id}`.
        patch update_private_network("/private-networks" / id, UpdatePrivateNetworkRequest) -> PrivateNetwork;
        /// `DELETE /private-networks/{id}` (204; 412 `resource_still_in_use` while attached).
        delete delete_private_network("/private-networks" / id) -> ();
    }
}
