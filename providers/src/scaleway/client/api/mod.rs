//! Typed calls per API: `client.k8s(&region)`, `client.rdb(&region)`, `client.lb(&zone)`,
//! `client.vpc(&region)`, `client.vpcgw(&zone)`, `client.ipam(&region)`.
//!
//! Every `list_*` fetches all pages. Deletes return the API's answer; a 404 is an error with
//! [`Error::is_not_found`](super::Error::is_not_found) true, which drivers treat as done.

pub mod cockpit;
pub mod domain;
pub mod ipam;
pub mod k8s;
pub mod lb;
pub mod rdb;
pub mod vpc;
pub mod vpcgw;

use super::http::Client;
use super::locality::{Region, Zone};
use super::query::Query;

pub use cockpit::CockpitApi;
pub use domain::DomainApi;
pub use ipam::{IpamApi, IpamIpFilter};
pub use k8s::K8sApi;
pub use lb::LbApi;
pub use rdb::RdbApi;
pub use vpc::VpcApi;
pub use vpcgw::VpcGwApi;

/// Filters common to list endpoints. Name filters are substring matches on the server:
/// callers must re-check equality. Tag filters match resources carrying all given tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only resources of this project.
    pub project_id: Option<String>,
    /// Name substring.
    pub name: Option<String>,
    /// Resources carrying every one of these tags.
    pub tags: Vec<String>,
    /// Endpoint-specific parameters (`private_network_id`, `pool_id`, `order_by`…).
    pub extra: Query,
}

impl ListFilter {
    /// A filter on tags only (how drivers find what they created).
    pub fn tags<I, S>(tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tags: tags.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// A filter on a name substring.
    pub fn name(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Adds an endpoint-specific parameter.
    pub fn with(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.extra = self.extra.push(key, value);
        self
    }

    pub(crate) fn to_query(&self) -> Query {
        let mut q = Query::new()
            .opt("project_id", self.project_id.as_deref())
            .opt("name", self.name.as_deref())
            .each("tags", &self.tags);
        for (k, v) in self.extra.pairs() {
            q = q.push(k, v);
        }
        q
    }
}

impl Client {
    /// Kapsule calls in `region`.
    pub fn k8s(&self, region: &Region) -> K8sApi<'_> {
        K8sApi::new(self, region.clone())
    }

    /// Managed Database calls in `region`.
    pub fn rdb(&self, region: &Region) -> RdbApi<'_> {
        RdbApi::new(self, region.clone())
    }

    /// Load Balancer calls in `zone`.
    pub fn lb(&self, zone: &Zone) -> LbApi<'_> {
        LbApi::new(self, zone.clone())
    }

    /// VPC calls in `region`.
    pub fn vpc(&self, region: &Region) -> VpcApi<'_> {
        VpcApi::new(self, region.clone())
    }

    /// Public Gateway calls in `zone`.
    pub fn vpcgw(&self, zone: &Zone) -> VpcGwApi<'_> {
        VpcGwApi::new(self, zone.clone())
    }

    /// Domains and DNS calls (global).
    pub fn domain(&self) -> DomainApi<'_> {
        DomainApi::new(self)
    }

    /// Cockpit calls in `region`.
    pub fn cockpit(&self, region: &Region) -> CockpitApi<'_> {
        CockpitApi::new(self, region.clone())
    }

    /// IPAM calls in `region`.
    pub fn ipam(&self, region: &Region) -> IpamApi<'_> {
        IpamApi::new(self, region.clone())
    }
}
