//! Typed Load Balancer calls (zoned API).

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Zone;
use crate::scaleway::client::query::path_segment as seg;
use crate::scaleway::client::wire::lb::*;
use reqwest::Method;

scoped_api! {
    /// Load Balancer (`lb/v1`) calls in one zone.
    LbApi(Api::Lb, zone: Zone)
}

impl LbApi<'_> {
    endpoints! {
        /// `GET /lb-types`, all pages.
        list list_lb_types("/lb-types") -> Vec<LbType> from ListLbTypesResponse;

        /// `POST /lbs` (never retried blindly).
        post create_lb("/lbs", CreateLbRequest) -> Lb;
        /// `GET /lbs/{id}`.
        get get_lb("/lbs" / id) -> Lb;
        /// `GET /lbs`, all pages.
        list list_lbs("/lbs", filter: &ListFilter) -> Vec<Lb> from ListLbsResponse;
        /// `PUT /lbs/{id}`: full replacement of name, description, tags and TLS level.
        put update_lb("/lbs" / id, UpdateLbRequest) -> Lb;
        /// `DELETE /lbs/{id}?release_ip=…` (204). Keep `release_ip` false for IPs kapstan
        /// manages as their own resources.
        delete delete_lb("/lbs" / id, release_ip: bool) -> ();

        /// `POST /ips` (never retried blindly).
        post create_ip("/ips", CreateIpRequest) -> Ip;
        /// `GET /ips/{id}`.
        get get_ip("/ips" / id) -> Ip;
        /// `GET /ips`, all pages. Extra filters: `ip_address`, `ip_type`.
        list list_ips("/ips", filter: &ListFilter) -> Vec<Ip> from ListIpsResponse;
        /// `PATCH /ips/{id}`.
        patch update_ip("/ips" / id, UpdateIpRequest) -> Ip;
        /// `DELETE /ips/{id}` (204).
        delete release_ip("/ips" / id) -> ();

        /// `GET /lbs/{id}/private-networks`, all pages.
        list list_lb_private_networks("/lbs" / lb_id / "private-networks")
            -> Vec<LbPrivateNetwork> from ListLbPrivateNetworksResponse;
        /// `POST /lbs/{id}/attach-private-network` (attachment starts `pending`).
        post attach_private_network("/lbs" / lb_id / "attach-private-network", AttachPrivateNetworkRequest)
            -> LbPrivateNetwork;
    }

    /// `POST /lbs/{id}/migrate` to another commercial type.
    pub async fn migrate_lb(&self, id: &str, lb_type: &str) -> Result<Lb> {
        let req = MigrateLbRequest {
            lb_type: lb_type.to_owned(),
        };
        let at = self.at();
        let path = format!("/lbs/{}/migrate", seg(id));
        at.send(at.request(Method::POST, &path).json(&req)?).await
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
        let at = self.at();
        let path = format!("/lbs/{}/detach-private-network", seg(lb_id));
        at.send(at.request(Method::POST, &path).json(&req)?).await
    }
}
