//! `scaleway_cockpit_token`: a Cockpit token with scopes, e.g. a collector's right to push
//! metrics and logs. Its secret key is shown once by the API, at creation: kapstan keeps it as a
//! sensitive attribute (sealed in state, never printed). Tokens cannot be changed in place.

use kapstan_engine::{DriverError, FieldError, Input, Update};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::secret::SecretString;
use super::client::wire::cockpit::{CreateTokenRequest, Token};
use super::client::{Client, Region};
use super::kind::{Op, bare_id, fetch, kind, kind_impl};
use super::provider::{api, check, conform, string, strings};

/// Scopes as Terraform's `scaleway_cockpit_token` names them, and the API's `TokenScope`.
pub const SCOPES: &[(&str, &str)] = &[
    ("query_metrics", "read_only_metrics"),
    ("write_metrics", "write_only_metrics"),
    ("setup_metrics_rules", "full_access_metrics_rules"),
    ("query_logs", "read_only_logs"),
    ("write_logs", "write_only_logs"),
    ("setup_logs_rules", "full_access_logs_rules"),
    ("setup_alerts", "full_access_alert_manager"),
    ("query_traces", "read_only_traces"),
    ("write_traces", "write_only_traces"),
];

kind! {
    /// A Cockpit token.
    pub struct CockpitToken = "scaleway_cockpit_token"
        (CockpitTokenKind, CockpitTokenAttributes, CockpitTokenDriver);
    wire Token as t, id t.id;
    /// name of the token; changing it replaces the token
    name: Input<String>, required force_new => t.name;
    /// scopes among query_metrics, write_metrics, setup_metrics_rules, query_logs,
    /// write_logs, setup_logs_rules, setup_alerts, query_traces, write_traces; changing them
    /// replaces the token
    scopes: Vec<String>, required force_new
        => t.scopes.iter().map(|s| short_scope(s)).collect::<Vec<_>>();
    /// region; default: the configured region (the data sources' region)
    region: Option<String>, optional_computed force_new => t.region;
    project_id => t.project_id;
    /// the secret key for the `X-Token` header (only known to a token kapstan created)
    secret_key: String, computed sensitive => t.secret_key.as_ref().map(SecretString::expose);
    /// creation time
    created_at: String, computed => t.created_at;
}

fn api_scope(short: &str) -> Option<&'static str> {
    SCOPES.iter().find(|(s, _)| *s == short).map(|(_, a)| *a)
}

fn short_scope(api_name: &str) -> String {
    SCOPES
        .iter()
        .find(|(_, a)| *a == api_name)
        .map(|(s, _)| s.to_string())
        .unwrap_or_else(|| api_name.to_string())
}

/// Deletes `token`, gone already or not.
async fn delete(c: &Client, at: &Region, token: &str) -> Result<(), DriverError> {
    match c.cockpit(at).delete_token(token).await {
        Err(e) if !e.is_not_found() => Err(api(e)),
        _ => Ok(()),
    }
}

kind_impl! {
    impl Kind for CockpitTokenKind, calls cockpit {
        get: get_token; post: create_token; remove: delete_token;
    }

    // The API never shows the secret key again after the create's answer.
    const KEPT: &'static [&'static str] = &["secret_key"];
    type Place = Region;
    type Request = CreateTokenRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::name(config, "name", e);
        let Some(scopes) = config.get("scopes").and_then(Value::as_array) else {
            return;
        };
        if scopes.is_empty() {
            e.push(FieldError::new(
                "scopes",
                "[]",
                "gives the token no right at all",
                "list what it may do, e.g. [\"write_metrics\", \"write_logs\"]",
            ));
        }
        for s in scopes {
            if s.as_str().is_none_or(|s| api_scope(s).is_none()) {
                let known: Vec<&str> = SCOPES.iter().map(|(s, _)| *s).collect();
                e.push(FieldError::new(
                    "scopes",
                    &s.to_string(),
                    "is not a Cockpit token scope",
                    &format!("use one of {}", known.join(", ")),
                ));
            }
        }
    }

    /// A token read back has no secret key: absent rather than null (kept from the record).
    fn shape(attributes: &mut Value, config: &Value) {
        if let Some(a) = attributes.as_object_mut() {
            a.retain(|k, v| k != "secret_key" || !v.is_null());
        }
        conform(attributes, config);
    }

    /// Deletes the tokens of this project with the exact name, what a lost create left: their
    /// secret key was only in the lost answer, so they are useless and a new one replaces them.
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<Token>, DriverError> {
        let Op { c, at, config, .. } = *op;
        let name = string(config, "name").unwrap_or_default();
        let filter = ListFilter {
            project_id: Some(op.project()?),
            ..ListFilter::default()
        };
        let listed = c.cockpit(at).list_tokens(&filter).await.map_err(api)?;
        for t in listed.iter().filter(|t| t.name == name) {
            delete(c, at, &t.id).await?;
        }
        Ok(None)
    }

    /// A token found by its checkpointed id is deleted, for the same reason.
    async fn found(op: &Op<'_, Self>, t: Token) -> Result<Option<Token>, DriverError> {
        delete(op.c, op.at, &t.id).await?;
        Ok(None)
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateTokenRequest, DriverError> {
        let config = op.config;
        Ok(CreateTokenRequest {
            project_id: op.project()?,
            name: string(config, "name").unwrap_or_default(),
            token_scopes: strings(config, "scopes")
                .iter()
                .filter_map(|s| api_scope(s))
                .map(str::to_string)
                .collect(),
        })
    }

    /// Runs after the id is checkpointed: a token without its secret key is of no use.
    async fn settle(_op: &Op<'_, Self>, t: Token) -> Result<Token, DriverError> {
        if t.secret_key.is_none() {
            return Err(DriverError::failed(format!(
                "Cockpit created token {} without returning its secret key; delete it and apply again",
                t.id
            )));
        }
        Ok(t)
    }

    /// Every argument forces a replacement: nothing changes in place.
    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<Token, DriverError> {
        let id = bare_id(update.recorded);
        fetch::<Self>(op.c, op.at, id)
            .await?
            .ok_or_else(|| DriverError::failed(format!("Cockpit token {id} is gone")))
    }
}
