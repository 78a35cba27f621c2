//! Typed Load Balancer calls (zoned API).

use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Zone;
use crate::scaleway::client::query::path_segment as seg;
use crate::scaleway::client::wire::lb::*;
use reqwest::Method;

scoped_api! {
    /// Load Balancer (`lb/v1`) calls in one zone.
    LbApi(Api::Lb, zone: Zone) {
        /// `GET /lb-types`, all pages.
        list list_lb_types("/lb-types") -> Vec<LbType> from ListLbTypesResponse;

        /// The update is a full replacement of name, description, tags and TLS level. Delete
        /// answers 204; keep `release_ip` false for IPs kapstan manages as their own resources.
        resource "/lbs" => Lb { create_lb(CreateLbRequest), get_lb, list_lbs(ListLbsResponse),
            put update_lb(UpdateLbRequest), delete_lb(release_ip: bool) -> () };
        /// Extra list filters: `ip_address`, `ip_type`. Delete (release) answers 204.
        resource "/ips" => Ip { create_ip(CreateIpRequest), get_ip, list_ips(ListIpsResponse),
            patch update_ip(UpdateIpRequest), release_ip -> () };

        /// `GET /lbs/{id}/private-networks`, all pages.
        list list_lb_private_networks("/lbs" / lb_id / "private-networks")
            -> Vec<LbPrivateNetwork> from ListLbPrivateNetworksResponse;
        /// `POST /lbs/{id}/attach-private-network` (attachment starts `pending`).
        post attach_private_network("/lbs" / lb_id / "attach-private-network", AttachPrivateNetworkRequest)
            -> LbPrivateNetwork;
    }
}

impl LbApi<'_> {
    /// `POST /lbs/{id}/migrate` to another commercial type.
    pub async fn migrate_lb(&self, id: &str, lb_type: &str) -> Result<Lb> {
        let req = MigrateLbRequest {
            lb_type: lb_type.to_owned(),
        };
        let path = format!("/lbs/{}/migrate", seg(id));
        self.at().send_json(Method::POST, &path, &req).await
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
        let path = format!("/lbs/{}/detach-private-network", seg(lb_id));
        self.at().send_json(Method::POST, &path, &req).await
    }
}
