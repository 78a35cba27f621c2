//! Typed Load Balancer calls (zoned API).

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Zone;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::lb::*;

/// Load Balancer (`lb/v1`) calls in one zone.
#[derive(Debug, Clone)]
pub struct LbApi<'c> {
    client: &'c Client,
    zone: Zone,
}

impl<'c> LbApi<'c> {
    pub(crate) fn new(client: &'c Client, zone: Zone) -> Self {
        Self { client, zone }
    }

    /// The zone of these calls.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// `GET /lb-types`, all pages.
    pub async fn list_lb_types(&self) -> Result<Vec<LbType>> {
        self.client
            .list_all::<ListLbTypesResponse>(Api::Lb, &self.zone, "/lb-types", Query::new())
            .await
    }

    /// `POST /lbs` (never retried blindly).
    pub async fn create_lb(&self, req: &CreateLbRequest) -> Result<Lb> {
        self.client.post(Api::Lb, &self.zone, "/lbs", req).await
    }

    /// `GET /lbs/{id}`.
    pub async fn get_lb(&self, id: &str) -> Result<Lb> {
        self.client
            .get(Api::Lb, &self.zone, &format!("/lbs/{}", seg(id)))
            .await
    }

    /// `GET /lbs`, all pages.
    pub async fn list_lbs(&self, filter: &ListFilter) -> Result<Vec<Lb>> {
        self.client
            .list_all::<ListLbsResponse>(Api::Lb, &self.zone, "/lbs", filter.to_query())
            .await
    }

    /// `PUT /lbs/{id}`: full replacement of name, description, tags and TLS level.
    pub async fn update_lb(&self, id: &str, req: &UpdateLbRequest) -> Result<Lb> {
        self.client
            .put(Api::Lb, &self.zone, &format!("/lbs/{}", seg(id)), req)
            .await
    }

    /// `DELETE /lbs/{id}?release_ip=…` (204). Keep `release_ip` false for IPs kapstan
    /// manages as their own resources.
    pub async fn delete_lb(&self, id: &str, release_ip: bool) -> Result<()> {
        self.client
            .delete(
                Api::Lb,
                &self.zone,
                &format!("/lbs/{}", seg(id)),
                Query::new().push("release_ip", release_ip),
            )
            .await
    }

    /// `POST /lbs/{id}/migrate` to another commercial type.
    pub async fn migrate_lb(&self, id: &str, lb_type: &str) -> Result<Lb> {
        let req = MigrateLbRequest {
            lb_type: lb_type.to_owned(),
        };
        self.client
            .post(
                Api::Lb,
                &self.zone,
                &format!("/lbs/{}/migrate", seg(id)),
                &req,
            )
            .await
    }

    /// `POST /ips` (never retried blindly).
    pub async fn create_ip(&self, req: &CreateIpRequest) -> Result<Ip> {
        self.client.post(Api::Lb, &self.zone, "/ips", req).await
    }

    /// `GET /ips/{id}`.
    pub async fn get_ip(&self, id: &str) -> Result<Ip> {
        self.client
            .get(Api::Lb, &self.zone, &format!("/ips/{}", seg(id)))
            .await
    }

    /// `GET /ips`, all pages. Extra filters: `ip_address`, `ip_type`.
    pub async fn list_ips(&self, filter: &ListFilter) -> Result<Vec<Ip>> {
        self.client
            .list_all::<ListIpsResponse>(Api::Lb, &self.zone, "/ips", filter.to_query())
            .await
    }

    /// `PATCH /ips/{id}`.
    pub async fn update_ip(&self, id: &str, req: &UpdateIpRequest) -> Result<Ip> {
        self.client
            .patch(Api::Lb, &self.zone, &format!("/ips/{}", seg(id)), req)
            .await
    }

    /// `DELETE /ips/{id}` (204).
    pub async fn release_ip(&self, id: &str) -> Result<()> {
        self.client
            .delete(
                Api::Lb,
                &self.zone,
                &format!("/ips/{}", seg(id)),
                Query::new(),
            )
            .await
    }

    /// `GET /lbs/{id}/private-networks`, all pages.
    pub async fn list_lb_private_networks(&self, lb_id: &str) -> Result<Vec<LbPrivateNetwork>> {
        self.client
            .list_all::<ListLbPrivateNetworksResponse>(
                Api::Lb,
                &self.zone,
                &format!("/lbs/{}/private-networks", seg(lb_id)),
                Query::new(),
            )
            .await
    }

    /// `POST /lbs/{id}/attach-private-network` (attachment starts `pending`).
    pub async fn attach_private_network(
        &self,
        lb_id: &str,
        req: &AttachPrivateNetworkRequest,
    ) -> Result<LbPrivateNetwork> {
        self.client
            .post(
                Api::Lb,
                &self.zone,
                &format!("/lbs/{}/attach-private-network", seg(lb_id)),
                req,
            )
            .await
    }

    /// `POST /lbs/{id}/detach-private-network` (204).
    pub async fn detach_private_network(
        &self,
        lb_id: &str,
        private_network_id: &str,
    ) -> Result<()> {
        let req = DetachPrivateNetworkRequest {
            private_network_id: private_network_id.to_owned(),
        };
        self.client
            .post(
                Api::Lb,
                &self.zone,
                &format!("/lbs/{}/detach-private-network", seg(lb_id)),
                &req,
            )
            .await
    }
}
