//! Typed Cockpit calls.

use reqwest::Method;

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::Query;
use crate::scaleway::client::wire::cockpit::*;

/// The project query of the alert manager's calls.
fn project(project_id: &str) -> Query {
    Query::new().push("project_id", project_id)
}

scoped_api! {
    /// Cockpit (`cockpit/v1`) calls in one region.
    CockpitApi(Api::Cockpit, region: Region) {
        /// List filters: `project_id`, `types`, `origin`. Delete answers 204.
        resource "/data-sources" => DataSource { create_data_source(CreateDataSourceRequest),
            get_data_source, list_data_sources(ListDataSourcesResponse),
            patch update_data_source(UpdateDataSourceRequest), delete_data_source -> () };

        /// `POST /tokens` (never retried blindly); the only response carrying the secret key.
        post create_token("/tokens", CreateTokenRequest) -> Token;
        /// `GET /tokens/{id}`.
        get get_token("/tokens" / id) -> Token;
        /// `GET /tokens`, all pages.
        list list_tokens("/tokens", filter: &ListFilter) -> Vec<Token> from ListTokensResponse;
        /// `DELETE /tokens/{id}` (204).
        delete delete_token("/tokens" / id) -> ();

        /// `POST /alert-manager/contact-points`.
        post create_contact_point("/alert-manager/contact-points", ContactPointRequest) -> ContactPoint;
        /// `POST /alert-manager/contact-points/delete` (204).
        post delete_contact_point("/alert-manager/contact-points/delete", ContactPointRequest) -> ();
    }
}

impl CockpitApi<'_> {
    /// `GET /alert-manager?project_id=`.
    pub async fn get_alert_manager(&self, project_id: &str) -> Result<AlertManager> {
        let at = self.at();
        at.send(
            at.request(Method::GET, "/alert-manager")
                .query(project(project_id)),
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
        let body = ProjectRequest {
            project_id: project_id.to_string(),
        };
        let path = format!("/alert-manager/{action}");
        self.at().send_json(Method::POST, &path, &body).await
    }

    /// `GET /alert-manager/contact-points`, all pages.
    pub async fn list_contact_points(&self, project_id: &str) -> Result<Vec<ContactPoint>> {
        self.at()
            .list::<ListContactPointsResponse>("/alert-manager/contact-points", project(project_id))
            .await
    }
}
