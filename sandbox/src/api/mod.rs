//! The emulated APIs, one module per API, assembled into one router.

pub mod cockpit;
pub mod cockpit_push;
pub mod cockpit_query;
pub mod domain;
pub mod inspect;
pub mod instance;
pub mod ipam;
pub mod k8s;
pub mod lb;
pub mod rdb;
pub mod secret_manager;
pub mod vpc;
pub mod vpcgw;

use axum::Router;
use axum::http::Uri;
use axum::middleware;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::server::{Shared, api_layer};
use crate::store::{GONE, Record};
use crate::wire::{ApiError, ts};

/// The whole sandbox router. Each API contributes its routes; new emulators (Kubernetes API
/// under `/k8s-api/{cluster_id}`, Coder, …) are added here the same way.
pub fn router(state: Shared) -> Router {
    let charts = state.charts.clone();
    Router::new()
        .merge(vpc::routes())
        .merge(ipam::routes())
        .merge(k8s::routes())
        .merge(rdb::routes())
        .merge(lb::routes())
        .merge(vpcgw::routes())
        .merge(inspect::routes())
        .merge(instance::routes())
        .merge(domain::routes())
        .merge(cockpit::routes())
        .merge(secret_manager::routes())
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(state.clone(), api_layer))
        .with_state(state.clone())
        // Kubernetes API, load-balancer endpoints and chart repository: outside the Scaleway
        // auth layer (kubectl and helm send bearer tokens or nothing).
        .merge(cockpit_push::routes(state.clone()))
        .merge(cockpit_query::routes(state.clone()))
        .merge(crate::kube::routes(state))
        .merge(crate::coder::charts::routes(charts))
}

async fn unknown_route(uri: Uri) -> ApiError {
    tracing::debug!(%uri, "no such route");
    ApiError::not_found("unknown", "")
}

/// A record's wire object: its body plus the current `status` (when it has a timeline) and an
/// `updated_at` that moves with status changes.
pub fn render(rec: &Record, now: DateTime<Utc>) -> Value {
    let mut body = rec.body.clone();
    if let Some(obj) = body.as_object_mut() {
        if rec.timeline.iter().any(|s| s.status != GONE) {
            obj.insert("status".into(), Value::String(rec.status(now).to_string()));
        }
        if let Some(changed) = rec.status_changed_at(now) {
            let stored = obj
                .get("updated_at")
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc));
            if obj.contains_key("updated_at") && stored.is_none_or(|s| s < changed) {
                obj.insert("updated_at".into(), Value::String(ts(changed)));
            }
        }
    }
    body
}

/// Marks a record as modified now.
pub fn touch(rec: &mut Record, now: DateTime<Utc>) {
    if rec.body.get("updated_at").is_some() {
        rec.obj()
            .insert("updated_at".into(), Value::String(ts(now)));
    }
}
