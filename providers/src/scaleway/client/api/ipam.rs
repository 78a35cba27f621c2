//! Typed IPAM calls.

use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::ipam::*;

/// Filters of `GET /ips` (how drivers find the private IP of a node, LB or RDB instance).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamIpFilter {
    /// Project.
    pub project_id: Option<String>,
    /// Private network.
    pub private_network_id: Option<String>,
    /// Attached resource ID.
    pub resource_id: Option<String>,
    /// Attached resource kind.
    pub resource_type: Option<ResourceType>,
    /// Attached resource name.
    pub resource_name: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// IPv6 only / IPv4 only.
    pub is_ipv6: Option<bool>,
}

impl IpamIpFilter {
    fn to_query(&self) -> Query {
        Query::new()
            .opt("project_id", self.project_id.as_deref())
            .opt("private_network_id", self.private_network_id.as_deref())
            .opt("resource_id", self.resource_id.as_deref())
            .opt("resource_type", self.resource_type.as_ref())
            .opt("resource_name", self.resource_name.as_deref())
            .each("tags", &self.tags)
            .opt("is_ipv6", self.is_ipv6)
    }
}

/// IPAM (`ipam/v1`) calls in one region.
#[derive(Debug, Clone)]
pub struct IpamApi<'c> {
    client: &'c Client,
    region: Region,
}

impl<'c> IpamApi<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Self { client, region }
    }

    /// The region of these calls.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// `POST /ips` (BookIP; never retried blindly).
    pub async fn book_ip(&self, req: &BookIpRequest) -> Result<IpamIp> {
        self.client.post(Api::Ipam, &self.region, "/ips", req).await
    }

    /// `GET /ips/{id}`.
    pub async fn get_ip(&self, id: &str) -> Result<IpamIp> {
        self.client
            .get(Api::Ipam, &self.region, &format!("/ips/{}", seg(id)))
            .await
    }

    /// `GET /ips`, all pages.
    pub async fn list_ips(&self, filter: &IpamIpFilter) -> Result<Vec<IpamIp>> {
        self.client
            .list_all::<ListIpamIpsResponse>(Api::Ipam, &self.region, "/ips", filter.to_query())
            .await
    }

    /// `PATCH /ips/{id}`.
    pub async fn update_ip(&self, id: &str, req: &UpdateIpamIpRequest) -> Result<IpamIp> {
        self.client
            .patch(Api::Ipam, &self.region, &format!("/ips/{}", seg(id)), req)
            .await
    }

    /// `DELETE /ips/{id}` (204; the API expects an empty JSON body).
    pub async fn release_ip(&self, id: &str) -> Result<()> {
        let req = crate::scaleway::client::http::Request::new(
            reqwest::Method::DELETE,
            Api::Ipam,
            &self.region,
            &format!("/ips/{}", seg(id)),
        )
        .json(&serde_json::json!({}))?;
        self.client.send(req).await
    }
}
