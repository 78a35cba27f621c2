//! Typed Domains and DNS calls (global: no region or zone in the path).

use crate::scaleway::client::error::Result;
use reqwest::Method;

use crate::scaleway::client::http::{Api, Client, Request};
use crate::scaleway::client::locality::Locality;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::domain::*;

/// Domains and DNS (`domain/v2beta1`) calls.
#[derive(Debug, Clone)]
pub struct DomainApi<'c> {
    client: &'c Client,
}

impl<'c> DomainApi<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /dns-zones?dns_zone=…` (and `project_id` when given), all pages: the zone of that
    /// exact name, if the project has it.
    pub async fn find_zone(&self, zone: &str, project_id: Option<&str>) -> Result<Option<DnsZone>> {
        let q = Query::new()
            .push("domain", "")
            .push("dns_zone", zone)
            .opt("project_id", project_id);
        let zones = self
            .client
            .list_all::<ListDnsZonesResponse>(Api::Domain, Locality::Global, "/dns-zones", q)
            .await?;
        Ok(zones.into_iter().find(|z| z.name() == zone))
    }

    /// `POST /dns-zones` (never retried blindly).
    pub async fn create_zone(&self, req: &CreateDnsZoneRequest) -> Result<DnsZone> {
        self.client
            .post(Api::Domain, Locality::Global, "/dns-zones", req)
            .await
    }

    /// `DELETE /dns-zones/{zone}` (answers `{}`).
    pub async fn delete_zone(&self, zone: &str, project_id: &str) -> Result<()> {
        let _: serde_json::Value = self
            .client
            .delete(
                Api::Domain,
                Locality::Global,
                &format!("/dns-zones/{}", seg(zone)),
                Query::new().push("project_id", project_id),
            )
            .await?;
        Ok(())
    }

    /// `GET /dns-zones/{zone}/records`, all pages, filtered by exact name (`None`: every name),
    /// type (`None`: every type) and id.
    pub async fn list_records(
        &self,
        zone: &str,
        name: Option<&str>,
        type_: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<DnsRecord>> {
        let q = Query::new()
            .push("name", name.unwrap_or(""))
            .push("type", type_.unwrap_or("unknown"))
            .push("order_by", "name_asc")
            .opt("id", id);
        let records = self
            .client
            .list_all::<ListDnsRecordsResponse>(
                Api::Domain,
                Locality::Global,
                &format!("/dns-zones/{}/records", seg(zone)),
                q,
            )
            .await?;
        // The name filter is not documented as exact: re-check it.
        Ok(records
            .into_iter()
            .filter(|r| name.is_none_or(|n| r.name == n))
            .collect())
    }

    /// `PATCH /dns-zones/{zone}/records`: one batch of changes, one zone version. A batch that
    /// adds records is not idempotent, so it is never retried blindly: after a lost answer the
    /// error is ambiguous and the caller looks the records up.
    pub async fn update_records(
        &self,
        zone: &str,
        req: &UpdateDnsRecordsRequest,
    ) -> Result<Vec<DnsRecord>> {
        let mut call = Request::new(
            Method::PATCH,
            Api::Domain,
            Locality::Global,
            &format!("/dns-zones/{}/records", seg(zone)),
        )
        .json(req)?;
        if req
            .changes
            .iter()
            .any(|c| matches!(c, RecordChange::Add { .. }))
        {
            call = call.once();
        }
        let resp: UpdateDnsRecordsResponse = self.client.send(call).await?;
        Ok(resp.records)
    }
}
