//! Cockpit `cockpit/v1` (regional): custom data sources, tokens, the alert manager and its
//! e-mail contact points, as Scaleway's API reference and the official SDKs describe them.
//!
//! Facts kept from the reference: a data source has a type (`metrics`, `logs`, `traces`), an
//! origin (`custom` when created through the API), a retention between 1 and 1825 days (default
//! 31 for metrics, 7 for logs and traces) and a `url` its push endpoint hangs under; a token's
//! secret key is shown only in the creation response; the alert manager is one per project and
//! region, disabled by default, and disabling it deletes its contact points and turns managed
//! alerts off; contact points are deleted by e-mail address (`POST .../contact-points/delete`).
//! In the sandbox a data source's `url` is `{sandbox}/cockpit-push/{id}` (see `cockpit_push`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{render, touch};
use crate::server::Shared;
use crate::store::{Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, REGIONS, check_region, check_uuid, list_response, new_id,
    no_content, ok, ts,
};

/// Store kind of data sources.
pub const DATA_SOURCE: &str = "cockpit.data_source";
/// Store kind of tokens.
pub const TOKEN: &str = "cockpit.token";
/// Store kind of alert managers (id `{project}/{region}`).
pub const ALERT_MANAGER: &str = "cockpit.alert_manager";

/// Data source types.
const TYPES: &[&str] = &["metrics", "logs", "traces"];
/// Token scopes (`TokenScope` of the API).
pub const SCOPES: &[&str] = &[
    "read_only_metrics",
    "write_only_metrics",
    "full_access_metrics_rules",
    "read_only_logs",
    "write_only_logs",
    "full_access_logs_rules",
    "full_access_alert_manager",
    "read_only_traces",
    "write_only_traces",
];
/// Retention bounds of custom data sources, in days (Cockpit concepts page, June 2025).
const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 1..=1825;

pub(super) fn routes() -> Router<Shared> {
    let base = "/cockpit/v1/regions/{region}";
    Router::new()
        .route(
            &format!("{base}/data-sources"),
            get(list_data_sources).post(create_data_source),
        )
        .route(
            &format!("{base}/data-sources/{{id}}"),
            get(get_data_source)
                .patch(update_data_source)
                .delete(delete_data_source),
        )
        .route(
            &format!("{base}/tokens"),
            get(list_tokens).post(create_token),
        )
        .route(
            &format!("{base}/tokens/{{id}}"),
            get(get_token).delete(delete_token),
        )
        .route(&format!("{base}/alert-manager"), get(get_alert_manager))
        .route(
            &format!("{base}/alert-manager/enable"),
            manager_action(enable_alert_manager),
        )
        .route(
            &format!("{base}/alert-manager/disable"),
            manager_action(disable_alert_manager),
        )
        .route(
            &format!("{base}/alert-manager/managed-alerts/enable"),
            manager_action(enable_managed_alerts),
        )
        .route(
            &format!("{base}/alert-manager/managed-alerts/disable"),
            manager_action(disable_managed_alerts),
        )
        .route(
            &format!("{base}/alert-manager/contact-points"),
            get(list_contact_points).post(create_contact_point),
        )
        .route(
            &format!("{base}/alert-manager/contact-points/delete"),
            post(delete_contact_point),
        )
}

/// The hex SHA-256 of a token secret: the sandbox keeps no secret in clear, even on disk.
pub fn secret_digest(secret: &str) -> String {
    hex_string(&Sha256::digest(secret.as_bytes()))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn project_of(st: &Shared, body: &JsonBody) -> Result<String, ApiError> {
    let project = body
        .opt::<String>("project_id")?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    Ok(project)
}

fn query_project(st: &Shared, q: &Query) -> Result<String, ApiError> {
    let project = q
        .get("project_id")
        .map(str::to_string)
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    Ok(project)
}

fn find<'a>(
    s: &'a Store,
    kind: &str,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    let resource = if kind == DATA_SOURCE {
        "data_source"
    } else {
        "token"
    };
    s.get(kind, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found(resource, id))
}

fn check_retention(kind: &str, days: u32) -> Result<(), ApiError> {
    if RETENTION_DAYS.contains(&days) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "retention_days",
            "constraint",
            format!(
                "retention_days of a {kind} data source must be between {} and {}",
                RETENTION_DAYS.start(),
                RETENTION_DAYS.end()
            ),
        ))
    }
}

async fn create_data_source(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = body.req_str("name")?;
    let kind = body
        .opt_enum("type", TYPES)?
        .ok_or_else(|| ApiError::invalid("type", "required", "type is required"))?;
    let retention = match body.opt::<u32>("retention_days")? {
        None | Some(0) => {
            if kind == "metrics" {
                31
            } else {
                7
            }
        }
        Some(days) => days,
    };
    check_retention(&kind, retention)?;
    let project = project_of(&st, &body)?;
    let id = new_id();
    let url = format!("{}/cockpit-push/{id}", st.base_url);
    ok(st.write(|s, now| {
        let body = json!({
            "id": id, "project_id": project, "name": name, "url": url, "type": kind,
            "origin": "custom", "synchronized_with_grafana": true, "retention_days": retention,
            "region": region, "created_at": ts(now), "updated_at": ts(now),
            "current_month_usage": 0,
        });
        s.insert(DATA_SOURCE, &id, None, body, &[]);
        Ok(render(s.get(DATA_SOURCE, &id, now).expect("inserted"), now))
    })?)
}

async fn get_data_source(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find(s, DATA_SOURCE, &region, &id, now).map(|r| render(r, now)))?)
}

async fn list_data_sources(
    State(st): State<Shared>,
    Path(region): Path<String>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let project = query_project(&st, &q)?;
    let types = q.all("types");
    let origin = q.enum_filter("origin").map(str::to_string);
    let items = st.read(|s, now| {
        s.list(DATA_SOURCE, now)
            .into_iter()
            .filter(|r| r.str("region") == region && r.str("project_id") == project)
            .filter(|r| {
                types.is_empty()
                    || types
                        .iter()
                        .any(|t| t.starts_with("unknown") || t == r.str("type"))
            })
            .filter(|r| origin.as_deref().is_none_or(|o| r.str("origin") == o))
            .map(|r| render(r, now))
            .collect::<Vec<_>>()
    });
    list_response("data_sources", items, &q, "created_at_asc")
}

async fn update_data_source(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = body.opt::<String>("name")?.filter(|n| !n.is_empty());
    let retention = body.opt::<u32>("retention_days")?;
    ok(st.write(|s, now| {
        let kind = find(s, DATA_SOURCE, &region, &id, now)?
            .str("type")
            .to_string();
        if let Some(days) = retention {
            check_retention(&kind, days)?;
        }
        let rec = s.get_mut(DATA_SOURCE, &id, now).expect("found");
        if let Some(n) = &name {
            rec.obj().insert("name".into(), json!(n));
        }
        if let Some(days) = retention {
            rec.obj().insert("retention_days".into(), json!(days));
        }
        touch(rec, now);
        Ok(render(s.get(DATA_SOURCE, &id, now).expect("found"), now))
    })?)
}

async fn delete_data_source(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.write(|s, now| {
        find(s, DATA_SOURCE, &region, &id, now)?;
        s.remove(DATA_SOURCE, &id);
        // The data goes with its source (API reference: "any data associated with it").
        s.remove(crate::api::cockpit_push::RECEIVED, &id);
        Ok(())
    })?;
    no_content()
}

fn render_token(rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("secret_sha256");
        // Reads carry the key with a null value: the secret is only in the creation response.
        obj.insert("secret_key".into(), Value::Null);
    }
    v
}

async fn create_token(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = body.req_str("name")?;
    let scopes = body.opt::<Vec<String>>("token_scopes")?.unwrap_or_default();
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::invalid(
            "token_scopes",
            "constraint",
            format!("{bad} is not one of {}", SCOPES.join(", ")),
        ));
    }
    let project = project_of(&st, &body)?;
    let id = new_id();
    let secret = new_id();
    let mut v = st.write(|s, now| {
        let body = json!({
            "id": id, "project_id": project, "name": name, "scopes": scopes,
            "region": region, "created_at": ts(now), "updated_at": ts(now),
            "secret_sha256": secret_digest(&secret),
        });
        s.insert(TOKEN, &id, None, body, &[]);
        Ok(render_token(s.get(TOKEN, &id, now).expect("inserted"), now))
    })?;
    v["secret_key"] = json!(secret);
    ok(v)
}

async fn get_token(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find(s, TOKEN, &region, &id, now).map(|r| render_token(r, now)))?)
}

async fn list_tokens(State(st): State<Shared>, Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, REGIONS)?;
    let project = query_project(&st, &q)?;
    let wanted: Vec<String> = q
        .all("token_scopes")
        .into_iter()
        .filter(|s| !s.starts_with("unknown"))
        .collect();
    let items = st.read(|s, now| {
        s.list(TOKEN, now)
            .into_iter()
            .filter(|r| r.str("region") == region && r.str("project_id") == project)
            .filter(|r| {
                let have = r.body["scopes"].as_array().cloned().unwrap_or_default();
                wanted.iter().all(|w| have.iter().any(|h| h == w))
            })
            .map(|r| render_token(r, now))
            .collect::<Vec<_>>()
    });
    list_response("tokens", items, &q, "created_at_asc")
}

async fn delete_token(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.write(|s, now| {
        find(s, TOKEN, &region, &id, now)?;
        s.remove(TOKEN, &id);
        Ok(())
    })?;
    no_content()
}

fn manager_id(project: &str, region: &str) -> String {
    format!("{project}/{region}")
}

/// The alert manager of a project and region, created disabled on first use.
fn manager<'a>(
    s: &'a mut Store,
    st: &Shared,
    project: &str,
    region: &str,
    now: DateTime<Utc>,
) -> &'a mut Record {
    let id = manager_id(project, region);
    if s.get(ALERT_MANAGER, &id, now).is_none() {
        let body = json!({
            "alert_manager_enabled": false, "managed_alerts_enabled": false,
            "alert_manager_url": null, "region": region,
            "project_id": project, "contact_points": [],
            "sandbox_url": format!("{}/cockpit-alertmanager/{project}/{region}", st.base_url),
        });
        s.insert(ALERT_MANAGER, &id, None, body, &[]);
    }
    s.get_mut(ALERT_MANAGER, &id, now).expect("inserted")
}

fn render_manager(rec: &Record) -> Value {
    json!({
        "alert_manager_enabled": rec.body["alert_manager_enabled"],
        "managed_alerts_enabled": rec.body["managed_alerts_enabled"],
        "alert_manager_url": rec.body["alert_manager_url"],
        "region": rec.body["region"],
    })
}

fn manager_write(
    st: &Shared,
    region: &str,
    project: &str,
    change: impl FnOnce(&mut Record) -> Result<(), ApiError>,
) -> ApiResult {
    ok(st.write(|s, now| {
        let rec = manager(s, st, project, region, now);
        change(rec)?;
        Ok(render_manager(rec))
    })?)
}

fn require_enabled(rec: &Record) -> Result<(), ApiError> {
    if rec.body["alert_manager_enabled"] == true {
        Ok(())
    } else {
        Err(ApiError::raw(
            StatusCode::PRECONDITION_FAILED,
            json!({"type": "precondition_failed", "precondition": "resource_not_usable",
                   "message": "precondition is not respected",
                   "help_message": "the alert manager must be enabled first"}),
        ))
    }
}

async fn get_alert_manager(
    State(st): State<Shared>,
    Path(region): Path<String>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let project = query_project(&st, &q)?;
    let id = manager_id(&project, &region);
    let v = st.read(|s, now| s.get(ALERT_MANAGER, &id, now).map(render_manager));
    ok(v.unwrap_or_else(|| {
        json!({"alert_manager_enabled": false, "managed_alerts_enabled": false,
               "alert_manager_url": null, "region": region})
    }))
}

/// A `POST` action on the project's alert manager in a region: the manager (created on
/// first use) changed by `change`, which may refuse it.
fn manager_action(change: fn(&mut Record) -> Result<(), ApiError>) -> MethodRouter<Shared> {
    post(
        move |State(st): State<Shared>, Path(region): Path<String>, body: JsonBody| async move {
            check_region(&region, REGIONS)?;
            let project = project_of(&st, &body)?;
            manager_write(&st, &region, &project, change)
        },
    )
}

fn enable_alert_manager(rec: &mut Record) -> Result<(), ApiError> {
    let url = rec.body["sandbox_url"].clone();
    rec.obj()
        .insert("alert_manager_enabled".into(), json!(true));
    rec.obj().insert("alert_manager_url".into(), url);
    Ok(())
}

/// Disabling deletes the contact points and turns managed alerts off.
fn disable_alert_manager(rec: &mut Record) -> Result<(), ApiError> {
    let obj = rec.obj();
    obj.insert("alert_manager_enabled".into(), json!(false));
    obj.insert("managed_alerts_enabled".into(), json!(false));
    obj.insert("alert_manager_url".into(), Value::Null);
    obj.insert("contact_points".into(), json!([]));
    Ok(())
}

fn enable_managed_alerts(rec: &mut Record) -> Result<(), ApiError> {
    require_enabled(rec)?;
    rec.obj()
        .insert("managed_alerts_enabled".into(), json!(true));
    Ok(())
}

fn disable_managed_alerts(rec: &mut Record) -> Result<(), ApiError> {
    require_enabled(rec)?;
    rec.obj()
        .insert("managed_alerts_enabled".into(), json!(false));
    Ok(())
}

/// The e-mail address of a contact point request (`email.to`).
fn contact_email(body: &JsonBody) -> Result<String, ApiError> {
    let to = body
        .obj("email")?
        .map(|e| e.opt::<String>("to"))
        .transpose()?
        .flatten()
        .unwrap_or_default();
    let valid = to.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !to.contains(' ')
    });
    if valid {
        Ok(to)
    } else {
        Err(ApiError::invalid(
            "email.to",
            "constraint",
            "email.to must be a valid e-mail address",
        ))
    }
}

async fn create_contact_point(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let project = project_of(&st, &body)?;
    let to = contact_email(&body)?;
    let resolved = body
        .opt::<bool>("send_resolved_notifications")?
        .unwrap_or(false);
    let point =
        json!({"email": {"to": to}, "send_resolved_notifications": resolved, "region": region});
    ok(st.write(|s, now| {
        let rec = manager(s, &st, &project, &region, now);
        require_enabled(rec)?;
        let points = rec.obj().entry("contact_points").or_insert(json!([]));
        let list = points.as_array_mut().expect("array");
        if list.iter().any(|p| p["email"]["to"] == to.as_str()) {
            return Err(ApiError::already_exists(
                "contact_point",
                &to,
                "a contact point with this e-mail address already exists",
            ));
        }
        list.push(point.clone());
        Ok(point)
    })?)
}

async fn list_contact_points(
    State(st): State<Shared>,
    Path(region): Path<String>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let project = query_project(&st, &q)?;
    let id = manager_id(&project, &region);
    let (items, enabled) = st.read(|s, now| {
        s.get(ALERT_MANAGER, &id, now)
            .map(|r| {
                (
                    r.body["contact_points"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                    r.body["alert_manager_enabled"] == true,
                )
            })
            .unwrap_or_default()
    });
    let total = items.len();
    let (page, _) = q.paginate(items)?;
    ok(json!({
        "total_count": total, "contact_points": page,
        "has_additional_receivers": false, "has_additional_contact_points": false,
        "alert_manager_enabled": enabled,
    }))
}

async fn delete_contact_point(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let project = project_of(&st, &body)?;
    let to = contact_email(&body)?;
    st.write(|s, now| {
        let rec = manager(s, &st, &project, &region, now);
        let points = rec.obj().entry("contact_points").or_insert(json!([]));
        let list = points.as_array_mut().expect("array");
        let before = list.len();
        list.retain(|p| p["email"]["to"] != to.as_str());
        if list.len() == before {
            return Err(ApiError::not_found("contact_point", &to));
        }
        Ok(())
    })?;
    no_content()
}

/// A token of `project` holding `scope`, found by its secret key (for the push endpoints).
pub fn token_with_secret<'a>(s: &'a Store, secret: &str, now: DateTime<Utc>) -> Option<&'a Record> {
    let digest = secret_digest(secret);
    s.list(TOKEN, now)
        .into_iter()
        .find(|t| t.str("secret_sha256") == digest)
}
