//! Typed VPC calls.

use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::wire::vpc::*;

scoped_api! {
    /// VPC (`vpc/v2`) calls in one region.
    VpcApi(Api::Vpc, region: Region) {
        /// Delete answers 204.
        resource "/vpcs" => Vpc { create_vpc(CreateVpcRequest), get_vpc,
            list_vpcs(ListVpcsResponse), patch update_vpc(UpdateVpcRequest), delete_vpc -> () };
        /// Extra list filter: `vpc_id`. Delete answers 204, or 412 `resource_still_in_use`
        /// while the network is attached.
        resource "/private-networks" => PrivateNetwork {
            create_private_network(CreatePrivateNetworkRequest), get_private_network,
            list_private_networks(ListPrivateNetworksResponse),
            patch update_private_network(UpdatePrivateNetworkRequest),
            delete_private_network -> () };
    }
}
