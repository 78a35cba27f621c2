//! Typed Cockpit calls.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::pagination::Paginated;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::cockpit::*;

/// Cockpit (`cockpit/v1`) calls in one region.
#[derive(Debug, Clone)]
pub struct CockpitApi<'c> {
    client: &'c Client,
    region: Region,
}

/// `/data-sources/{id}`.
fn data_source(id: &str) -> String {
    format!("/data-sources/{}", seg(id))
}

/// `/tokens/{id}`.
fn token(id: &str) -> String {
    format!("/tokens/{}", seg(id))
}

/// The project query of the alert manager's calls.
fn project(project_id: &str) -> Query {
    Query::new().push("project_id", project_id)
}

impl<'c> CockpitApi<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Self { client, region }
    }

    // Every call is a Cockpit call in this region: the verbs with both bound.

    async fn get<T: DeserializeOwned>(&self, path: &str, query: Query) -> Result<T> {
        self.client
            .get_query(Api::Cockpit, &self.region, path, query)
            .await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.client
            .post(Api::Cockpit, &self.region, path, body)
            .await
    }

    async fn list<R: Paginated>(&self, path: &str, query: Query) -> Result<Vec<R::Item>> {
        self.client
            .list_all::<R>(Api::Cockpit, &self.region, path, query)
            .await
    }

    async fn delete(&self, path: &str) -> Result<()> {
        self.client
            .delete(Api::Cockpit, &self.region, path, Query::new())
            .await
    }

    /// `POST /data-sources` (never retried blindly).
    pub async fn create_data_source(&self, req: &CreateDataSourceRequest) -> Result<DataSource> {
        self.post("/data-sources", req).await
    }

    /// `GET /data-sources/{id}`.
    pub async fn get_data_source(&self, id: &str) -> Result<DataSource> {
        self.get(&data_source(id), Query::new()).await
    }

    /// `GET /data-sources`, all pages (filter: `project_id`, `types`, `origin`).
    pub async fn list_data_sources(&self, filter: &ListFilter) -> Result<Vec<DataSource>> {
        self.list::<ListDataSourcesResponse>("/data-sources", filter.to_query())
            .await
    }

    /// `PATCH /data-sources/{id}`.
    pub async fn update_data_source(
        &self,
        id: &str,
        req: &UpdateDataSourceRequest,
    ) -> Result<DataSource> {
        self.client
            .patch(Api::Cockpit, &self.region, &data_source(id), req)
            .await
    }

    /// `DELETE /data-sources/{id}` (204).
    pub async fn delete_data_source(&self, id: &str) -> Result<()> {
        self.delete(&data_source(id)).await
    }

    /// `POST /tokens` (never retried blindly); the only response carrying the secret key.
    pub async fn create_token(&self, req: &CreateTokenRequest) -> Result<Token> {
        self.post("/tokens", req).await
    }

    /// `GET /tokens/{id}`.
    pub async fn get_token(&self, id: &str) -> Result<Token> {
        self.get(&token(id), Query::new()).await
    }

    /// `GET /tokens`, all pages.
    pub async fn list_tokens(&self, filter: &ListFilter) -> Result<Vec<Token>> {
        self.list::<ListTokensResponse>("/tokens", filter.to_query())
            .await
    }

    /// `DELETE /tokens/{id}` (204).
    pub async fn delete_token(&self, id: &str) -> Result<()> {
        self.delete(&token(id)).await
    }

    /// `GET /alert-manager?project_id=`.
    pub async fn get_alert_manager(&self, project_id: &str) -> Result<AlertManager> {
        self.get("/alert-manager", project(project_id)).await
    }

    /// `POST /alert-manager/{action}` for `enable`, `disable`, `managed-alerts/enable`,
    /// `managed-alerts/disable`.
    pub async fn alert_manager_action(
        &self,
        action: &str,
        project_id: &str,
    ) -> Result<AlertManager> {
        let body = ProjectRequest {
            project_id: project_id.to_string(),
        };
        self.post(&format!("/alert-manager/{action}"), &body).await
    }

    /// `GET /alert-manager/contact-points`, all pages.
    pub async fn list_contact_points(&self, project_id: &str) -> Result<Vec<ContactPoint>> {
        self.list::<ListContactPointsResponse>("/alert-manager/contact-points", project(project_id))
            .await
    }

    /// `POST /alert-manager/contact-points`.
    pub async fn create_contact_point(&self, req: &ContactPointRequest) -> Result<ContactPoint> {
        self.post("/alert-manager/contact-points", req).await
    }

    /// `POST /alert-manager/contact-points/delete` (204).
    pub async fn delete_contact_point(&self, req: &ContactPointRequest) -> Result<()> {
        self.post("/alert-manager/contact-points/delete", req).await
    }
}
