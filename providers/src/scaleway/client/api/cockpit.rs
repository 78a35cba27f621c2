//! Typed Cockpit calls.

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::cockpit::*;

/// Cockpit (`cockpit/v1`) calls in one region.
#[derive(Debug, Clone)]
pub struct CockpitApi<'c> {
    client: &'c Client,
    region: Region,
}

impl<'c> CockpitApi<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Self { client, region }
    }

    /// `POST /data-sources` (never retried blindly).
    pub async fn create_data_source(&self, req: &CreateDataSourceRequest) -> Result<DataSource> {
        self.client
            .post(Api::Cockpit, &self.region, "/data-sources", req)
            .await
    }

    /// `GET /data-sources/{id}`.
    pub async fn get_data_source(&self, id: &str) -> Result<DataSource> {
        self.client
            .get(
                Api::Cockpit,
                &self.region,
                &format!("/data-sources/{}", seg(id)),
            )
            .await
    }

    /// `GET /data-sources`, all pages (filter: `project_id`, `types`, `origin`).
    pub async fn list_data_sources(&self, filter: &ListFilter) -> Result<Vec<DataSource>> {
        self.client
            .list_all::<ListDataSourcesResponse>(
                Api::Cockpit,
                &self.region,
                "/data-sources",
                filter.to_query(),
            )
            .await
    }

    /// `PATCH /data-sources/{id}`.
    pub async fn update_data_source(
        &self,
        id: &str,
        req: &UpdateDataSourceRequest,
    ) -> Result<DataSource> {
        self.client
            .patch(
                Api::Cockpit,
                &self.region,
                &format!("/data-sources/{}", seg(id)),
                req,
            )
            .await
    }

    /// `DELETE /data-sources/{id}` (204).
    pub async fn delete_data_source(&self, id: &str) -> Result<()> {
        self.client
            .delete(
                Api::Cockpit,
                &self.region,
                &format!("/data-sources/{}", seg(id)),
                Query::new(),
            )
            .await
    }

    /// `POST /tokens` (never retried blindly); the only response carrying the secret key.
    pub async fn create_token(&self, req: &CreateTokenRequest) -> Result<Token> {
        self.client
            .post(Api::Cockpit, &self.region, "/tokens", req)
            .await
    }

    /// `GET /tokens/{id}`.
    pub async fn get_token(&self, id: &str) -> Result<Token> {
        self.client
            .get(Api::Cockpit, &self.region, &format!("/tokens/{}", seg(id)))
            .await
    }

    /// `GET /tokens`, all pages.
    pub async fn list_tokens(&self, filter: &ListFilter) -> Result<Vec<Token>> {
        self.client
            .list_all::<ListTokensResponse>(
                Api::Cockpit,
                &self.region,
                "/tokens",
                filter.to_query(),
            )
            .await
    }

    /// `DELETE /tokens/{id}` (204).
    pub async fn delete_token(&self, id: &str) -> Result<()> {
        self.client
            .delete(
                Api::Cockpit,
                &self.region,
                &format!("/tokens/{}", seg(id)),
                Query::new(),
            )
            .await
    }

    /// `GET /alert-manager?project_id=`.
    pub async fn get_alert_manager(&self, project_id: &str) -> Result<AlertManager> {
        self.client
            .get_query(
                Api::Cockpit,
                &self.region,
                "/alert-manager",
                Query::new().push("project_id", project_id),
            )
            .await
    }

    /// `POST /alert-manager/{action}` for `enable`, `disable`, `managed-alerts/enable`,
    /// `managed-alerts/disable`.
    pub async fn alert_manager_action(
        &self,
        action: &str,
        project_id: &str,
    ) -> Result<AlertManager> {
        self.client
            .post(
                Api::Cockpit,
                &self.region,
                &format!("/alert-manager/{action}"),
                &ProjectRequest {
                    project_id: project_id.to_string(),
                },
            )
            .await
    }

    /// `GET /alert-manager/contact-points`, all pages.
    pub async fn list_contact_points(&self, project_id: &str) -> Result<Vec<ContactPoint>> {
        self.client
            .list_all::<ListContactPointsResponse>(
                Api::Cockpit,
                &self.region,
                "/alert-manager/contact-points",
                Query::new().push("project_id", project_id),
            )
            .await
    }

    /// `POST /alert-manager/contact-points`.
    pub async fn create_contact_point(&self, req: &ContactPointRequest) -> Result<ContactPoint> {
        self.client
            .post(
                Api::Cockpit,
                &self.region,
                "/alert-manager/contact-points",
                req,
            )
            .await
    }

    /// `POST /alert-manager/contact-points/delete` (204).
    pub async fn delete_contact_point(&self, req: &ContactPointRequest) -> Result<()> {
        self.client
            .post(
                Api::Cockpit,
                &self.region,
                "/alert-manager/contact-points/delete",
                req,
            )
            .await
    }
}
