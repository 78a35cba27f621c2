//! Cockpit `cockpit/v1`: data sources, tokens, the alert manager and its contact points.

use serde::{Deserialize, Serialize};

use crate::scaleway::client::pagination::list_response;
use crate::scaleway::client::secret::SecretString;

wire_struct! {
    #[response]
    /// A data source (metrics, logs or traces).
    pub struct DataSource {
        @id, @project_id, @name,
        /// Base URL of the push and query endpoints.
        pub url: String,
        /// `metrics`, `logs` or `traces`.
        #[serde(rename = "type")]
        pub kind: String,
        /// `custom`, `scaleway` or `external`.
        pub origin: String,
        /// Retention in days.
        pub retention_days: u32,
        @region, @created_at,
    }
}

wire_struct! {
    /// `POST /data-sources`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateDataSourceRequest {
        @project_id, @name,
        /// `metrics`, `logs` or `traces`.
        #[serde(rename = "type")]
        pub kind: String,
        /// Retention in days.
        pub retention_days: u32,
    }
}

wire_struct! {
    /// `PATCH /data-sources/{id}`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct UpdateDataSourceRequest {
        @name?,
        /// Retention in days.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub retention_days: Option<u32>,
    }
}

list_response! {
    /// `GET /data-sources`.
    ListDataSourcesResponse {
        /// Data sources of this page.
        data_sources: Vec<DataSource>
    }
}

wire_struct! {
    /// A token; `secret_key` is only present in the creation response.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default)]
    pub struct Token {
        @id, @project_id, @name,
        /// Scopes.
        pub scopes: Vec<String>,
        @region, @created_at,
        /// The secret key (creation response only).
        pub secret_key: Option<SecretString>,
    }
}

wire_struct! {
    /// `POST /tokens`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateTokenRequest {
        @project_id, @name,
        /// Scopes.
        pub token_scopes: Vec<String>,
    }
}

list_response! {
    /// `GET /tokens`.
    ListTokensResponse {
        /// Tokens of this page.
        tokens: Vec<Token>
    }
}

wire_struct! {
    /// The alert manager of a project and region.
    #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
    #[serde(default)]
    pub struct AlertManager {
        /// Whether it is enabled.
        pub alert_manager_enabled: bool,
        /// Whether managed alerts are enabled.
        pub managed_alerts_enabled: bool,
        /// Its URL, once enabled.
        pub alert_manager_url: Option<String>,
        @region,
    }
}

wire_struct! {
    /// A body naming only the project (alert manager switches).
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct ProjectRequest {
        @project_id,
    }
}

/// An e-mail contact point's address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPointEmail {
    /// The address.
    pub to: String,
}

/// A contact point of the alert manager.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPoint {
    /// E-mail configuration.
    pub email: Option<ContactPointEmail>,
    /// Whether resolved alerts are notified too.
    pub send_resolved_notifications: bool,
}

wire_struct! {
    /// `POST /alert-manager/contact-points` and `.../contact-points/delete`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct ContactPointRequest {
        @project_id,
        /// E-mail configuration.
        pub email: ContactPointEmail,
        /// Whether resolved alerts are notified too (ignored by delete).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub send_resolved_notifications: Option<bool>,
    }
}

list_response! {
    /// `GET /alert-manager/contact-points`.
    ListContactPointsResponse {
        /// Contact points of this page.
        contact_points: Vec<ContactPoint>
    }
}
