//! Typed VPC calls.

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::vpc::*;

/// VPC (`vpc/v2`) calls in one region.
#[derive(Debug, Clone)]
pub struct VpcApi<'c> {
    client: &'c Client,
    region: Region,
}

impl<'c> VpcApi<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Self { client, region }
    }

    /// The region of these calls.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// `POST /vpcs` (never retried blindly).
    pub async fn create_vpc(&self, req: &CreateVpcRequest) -> Result<Vpc> {
        self.client.post(Api::Vpc, &self.region, "/vpcs", req).await
    }

    /// `GET /vpcs/{id}`.
    pub async fn get_vpc(&self, id: &str) -> Result<Vpc> {
        self.client
            .get(Api::Vpc, &self.region, &format!("/vpcs/{}", seg(id)))
            .await
    }

    /// `GET /vpcs`, all pages.
    pub async fn list_vpcs(&self, filter: &ListFilter) -> Result<Vec<Vpc>> {
        self.client
            .list_all::<ListVpcsResponse>(Api::Vpc, &self.region, "/vpcs", filter.to_query())
            .await
    }

    /// `PATCH /vpcs/{id}`.
    pub async fn update_vpc(&self, id: &str, req: &UpdateVpcRequest) -> Result<Vpc> {
        self.client
            .patch(Api::Vpc, &self.region, &format!("/vpcs/{}", seg(id)), req)
            .await
    }

    /// `DELETE /vpcs/{id}` (204).
    pub async fn delete_vpc(&self, id: &str) -> Result<()> {
        self.client
            .delete(
                Api::Vpc,
                &self.region,
                &format!("/vpcs/{}", seg(id)),
                Query::new(),
            )
            .await
    }

    /// `POST /private-networks` (never retried blindly).
    pub async fn create_private_network(
        &self,
        req: &CreatePrivateNetworkRequest,
    ) -> Result<PrivateNetwork> {
        self.client
            .post(Api::Vpc, &self.region, "/private-networks", req)
            .await
    }

    /// `GET /private-networks/{id}`.
    pub async fn get_private_network(&self, id: &str) -> Result<PrivateNetwork> {
        self.client
            .get(
                Api::Vpc,
                &self.region,
                &format!("/private-networks/{}", seg(id)),
            )
            .await
    }

    /// `GET /private-networks`, all pages. Extra filter: `vpc_id`.
    pub async fn list_private_networks(&self, filter: &ListFilter) -> Result<Vec<PrivateNetwork>> {
        self.client
            .list_all::<ListPrivateNetworksResponse>(
                Api::Vpc,
                &self.region,
                "/private-networks",
                filter.to_query(),
            )
            .await
    }

    /// `PATCH /private-networks/{id}`.
    pub async fn update_private_network(
        &self,
        id: &str,
        req: &UpdatePrivateNetworkRequest,
    ) -> Result<PrivateNetwork> {
        self.client
            .patch(
                Api::Vpc,
                &self.region,
                &format!("/private-networks/{}", seg(id)),
                req,
            )
            .await
    }

    /// `DELETE /private-networks/{id}` (204; 412 `resource_still_in_use` while attached).
    pub async fn delete_private_network(&self, id: &str) -> Result<()> {
        self.client
            .delete(
                Api::Vpc,
                &self.region,
                &format!("/private-networks/{}", seg(id)),
                Query::new(),
            )
            .await
    }
}
