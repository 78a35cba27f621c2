//! Typed Public Gateway calls (zoned API).

use reqwest::Method;

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Zone;
use crate::scaleway::client::query::Query;
use crate::scaleway::client::wire::vpcgw::*;

scoped_api! {
    /// Public Gateway (`vpc-gw/v2`) calls in one zone.
    VpcGwApi(Api::VpcGw, zone: Zone) {
        /// Extra list filters: `private_network_ids`, `types`, `status`. On delete, keep
        /// `delete_ip` false for IPs kapstan manages.
        resource "/gateways" => Gateway { create_gateway(CreateGatewayRequest), get_gateway,
            list_gateways(ListGatewaysResponse), patch update_gateway(UpdateGatewayRequest),
            delete_gateway(delete_ip: bool) -> Option<Gateway> };
        /// `POST /gateways/{id}/upgrade`: newer software, or another type.
        post upgrade_gateway("/gateways" / id / "upgrade", UpgradeGatewayRequest) -> Gateway;

        /// `POST /gateway-networks` (never retried blindly).
        post create_gateway_network("/gateway-networks", CreateGatewayNetworkRequest) -> GatewayNetwork;
        /// `GET /gateway-networks/{id}`.
        get get_gateway_network("/gateway-networks" / id) -> GatewayNetwork;
        /// `PATCH /gateway-networks/{id}`.
        patch update_gateway_network("/gateway-networks" / id, UpdateGatewayNetworkRequest)
            -> GatewayNetwork;
        /// `DELETE /gateway-networks/{id}` (answers with the connection `detaching`).
        delete delete_gateway_network("/gateway-networks" / id) -> Option<GatewayNetwork>;

        /// `POST /ips` (never retried blindly).
        post create_ip("/ips", CreateGatewayIpRequest) -> GatewayIp;
        /// `GET /ips/{id}`.
        get get_ip("/ips" / id) -> GatewayIp;
        /// `PATCH /ips/{id}`.
        patch update_ip("/ips" / id, UpdateGatewayIpRequest) -> GatewayIp;
        /// `DELETE /ips/{id}` (204).
        delete delete_ip("/ips" / id) -> ();
    }
}

impl VpcGwApi<'_> {
    /// `GET /gateway-types`.
    pub async fn list_gateway_types(&self) -> Result<Vec<GatewayType>> {
        let at = self.at();
        let r: ListGatewayTypesResponse =
            at.send(at.request(Method::GET, "/gateway-types")).await?;
        Ok(r.types)
    }

    /// `GET /gateway-networks`, all pages, filtered by gateways and/or private networks.
    pub async fn list_gateway_networks(
        &self,
        gateway_ids: &[String],
        private_network_ids: &[String],
    ) -> Result<Vec<GatewayNetwork>> {
        let query = Query::new()
            .each("gateway_ids", gateway_ids)
            .each("private_network_ids", private_network_ids);
        self.at()
            .list::<ListGatewayNetworksResponse>("/gateway-networks", query)
            .await
    }

    /// `GET /ips`, all pages. Extra filters: `is_free`, `reverse`.
    pub async fn list_ips(&self, filter: &ListFilter) -> Result<Vec<GatewayIp>> {
        let mut filter = filter.clone();
        // The IPs endpoint has no name filter.
        filter.name = None;
        self.at()
            .list::<ListGatewayIpsResponse>("/ips", filter.to_query())
            .await
    }
}
