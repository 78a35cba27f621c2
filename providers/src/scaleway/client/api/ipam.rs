//! Typed IPAM calls.

use reqwest::Method;

use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::ipam::*;

/// Filters of `GET /ips`: how drivers find the private IP of a gateway network or an RDB
/// instance, by the resource it is attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamIpFilter {
    /// Attached resource ID.
    pub resource_id: Option<String>,
    /// Attached resource kind.
    pub resource_type: Option<ResourceType>,
}

impl IpamIpFilter {
    fn to_query(&self) -> Query {
        Query::new()
            .opt("resource_id", self.resource_id.as_deref())
            .opt("resource_type", self.resource_type.as_ref())
    }
}

scoped_api! {
    /// IPAM (`ipam/v1`) calls in one region.
    IpamApi(Api::Ipam, region: Region) {
        /// `POST /ips` (BookIP; never retried blindly).
        post book_ip("/ips", BookIpRequest) -> IpamIp;
        /// `GET /ips/{id}`.
        get get_ip("/ips" / id) -> IpamIp;
        /// `GET /ips`, all pages.
        list list_ips("/ips", filter: &IpamIpFilter) -> Vec<IpamIp> from ListIpamIpsResponse;
        /// `PATCH /ips/{id}`.
        patch update_ip("/ips" / id, UpdateIpamIpRequest) -> IpamIp;
    }
}

impl IpamApi<'_> {
    /// `DELETE /ips/{id}` (204; the API expects an empty JSON body).
    pub async fn release_ip(&self, id: &str) -> Result<()> {
        let path = format!("/ips/{}", seg(id));
        self.at()
            .send_json(Method::DELETE, &path, &serde_json::json!({}))
            .await
    }
}
