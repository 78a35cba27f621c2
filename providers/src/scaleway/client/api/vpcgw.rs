//! Typed Public Gateway calls (zoned API).

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Zone;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::vpcgw::*;

/// Public Gateway (`vpc-gw/v2`) calls in one zone.
#[derive(Debug, Clone)]
pub struct VpcGwApi<'c> {
    client: &'c Client,
    zone: Zone,
}

impl<'c> VpcGwApi<'c> {
    pub(crate) fn new(client: &'c Client, zone: Zone) -> Self {
        Self { client, zone }
    }

    /// The zone of these calls.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// `GET /gateway-types`.
    pub async fn list_gateway_types(&self) -> Result<Vec<GatewayType>> {
        let r: ListGatewayTypesResponse = self
            .client
            .get(Api::VpcGw, &self.zone, "/gateway-types")
            .await?;
        Ok(r.types)
    }

    /// `POST /gateways` (never retried blindly).
    pub async fn create_gateway(&self, req: &CreateGatewayRequest) -> Result<Gateway> {
        self.client
            .post(Api::VpcGw, &self.zone, "/gateways", req)
            .await
    }

    /// `GET /gateways/{id}`.
    pub async fn get_gateway(&self, id: &str) -> Result<Gateway> {
        self.client
            .get(Api::VpcGw, &self.zone, &format!("/gateways/{}", seg(id)))
            .await
    }

    /// `GET /gateways`, all pages. Extra filters: `private_network_ids`, `types`, `status`.
    pub async fn list_gateways(&self, filter: &ListFilter) -> Result<Vec<Gateway>> {
        self.client
            .list_all::<ListGatewaysResponse>(
                Api::VpcGw,
                &self.zone,
                "/gateways",
                filter.to_query(),
            )
            .await
    }

    /// `PATCH /gateways/{id}`.
    pub async fn update_gateway(&self, id: &str, req: &UpdateGatewayRequest) -> Result<Gateway> {
        self.client
            .patch(
                Api::VpcGw,
                &self.zone,
                &format!("/gateways/{}", seg(id)),
                req,
            )
            .await
    }

    /// `DELETE /gateways/{id}?delete_ip=…`; keep `delete_ip` false for IPs kapstan manages.
    pub async fn delete_gateway(&self, id: &str, delete_ip: bool) -> Result<Option<Gateway>> {
        self.client
            .delete(
                Api::VpcGw,
                &self.zone,
                &format!("/gateways/{}", seg(id)),
                Query::new().push("delete_ip", delete_ip),
            )
            .await
    }

    /// `POST /gateways/{id}/upgrade`: newer software, or another type.
    pub async fn upgrade_gateway(&self, id: &str, req: &UpgradeGatewayRequest) -> Result<Gateway> {
        self.client
            .post(
                Api::VpcGw,
                &self.zone,
                &format!("/gateways/{}/upgrade", seg(id)),
                req,
            )
            .await
    }

    /// `POST /gateway-networks` (never retried blindly).
    pub async fn create_gateway_network(
        &self,
        req: &CreateGatewayNetworkRequest,
    ) -> Result<GatewayNetwork> {
        self.client
            .post(Api::VpcGw, &self.zone, "/gateway-networks", req)
            .await
    }

    /// `GET /gateway-networks/{id}`.
    pub async fn get_gateway_network(&self, id: &str) -> Result<GatewayNetwork> {
        self.client
            .get(
                Api::VpcGw,
                &self.zone,
                &format!("/gateway-networks/{}", seg(id)),
            )
            .await
    }

    /// `GET /gateway-networks`, all pages, filtered by gateways and/or private networks.
    pub async fn list_gateway_networks(
        &self,
        gateway_ids: &[String],
        private_network_ids: &[String],
    ) -> Result<Vec<GatewayNetwork>> {
        self.client
            .list_all::<ListGatewayNetworksResponse>(
                Api::VpcGw,
                &self.zone,
                "/gateway-networks",
                Query::new()
                    .each("gateway_ids", gateway_ids)
                    .each("private_network_ids", private_network_ids),
            )
            .await
    }

    /// `PATCH /gateway-networks/{id}`.
    pub async fn update_gateway_network(
        &self,
        id: &str,
        req: &UpdateGatewayNetworkRequest,
    ) -> Result<GatewayNetwork> {
        self.client
            .patch(
                Api::VpcGw,
                &self.zone,
                &format!("/gateway-networks/{}", seg(id)),
                req,
            )
            .await
    }

    /// `DELETE /gateway-networks/{id}` (answers with the connection `detaching`).
    pub async fn delete_gateway_network(&self, id: &str) -> Result<Option<GatewayNetwork>> {
        self.client
            .delete(
                Api::VpcGw,
                &self.zone,
                &format!("/gateway-networks/{}", seg(id)),
                Query::new(),
            )
            .await
    }

    /// `POST /ips` (never retried blindly).
    pub async fn create_ip(&self, req: &CreateGatewayIpRequest) -> Result<GatewayIp> {
        self.client.post(Api::VpcGw, &self.zone, "/ips", req).await
    }

    /// `GET /ips/{id}`.
    pub async fn get_ip(&self, id: &str) -> Result<GatewayIp> {
        self.client
            .get(Api::VpcGw, &self.zone, &format!("/ips/{}", seg(id)))
            .await
    }

    /// `GET /ips`, all pages. Extra filters: `is_free`, `reverse`.
    pub async fn list_ips(&self, filter: &ListFilter) -> Result<Vec<GatewayIp>> {
        let mut filter = filter.clone();
        // The IPs endpoint has no name filter.
        filter.name = None;
        self.client
            .list_all::<ListGatewayIpsResponse>(Api::VpcGw, &self.zone, "/ips", filter.to_query())
            .await
    }

    /// `PATCH /ips/{id}`.
    pub async fn update_ip(&self, id: &str, req: &UpdateGatewayIpRequest) -> Result<GatewayIp> {
        self.client
            .patch(Api::VpcGw, &self.zone, &format!("/ips/{}", seg(id)), req)
            .await
    }

    /// `DELETE /ips/{id}` (204).
    pub async fn delete_ip(&self, id: &str) -> Result<()> {
        self.client
            .delete(
                Api::VpcGw,
                &self.zone,
                &format!("/ips/{}", seg(id)),
                Query::new(),
            )
            .await
    }
}
