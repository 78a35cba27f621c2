//! The Prometheus-compatible instant query of a metrics data source, on loopback:
//! `GET {url}/prometheus/api/v1/query?query=SELECTOR[&time=UNIX_SECONDS]`, standing for the
//! query API a Cockpit metrics data source offers Grafana, authenticated like the push with
//! `X-Token` (scope `read_only_metrics`).
//!
//! It answers as Prometheus's HTTP API does (`{"status": "success", "data": {"resultType":
//! "vector", "result": [{"metric": {…}, "value": [seconds, "value"]}]}}`, errors as
//! `{"status": "error", "errorType": "bad_data", "error": …}`) over what the data source
//! received. Only vector selectors are evaluated — a metric name and/or `label="v"` /
//! `label!="v"` matchers — with Prometheus's default lookback of 5 minutes: each series
//! answers with its newest sample no older than that. Anything else is refused as `bad_data`
//! naming what the sandbox does not evaluate.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::cockpit_push::{RECEIVED, authorize_scope};
use crate::server::Shared;

/// Prometheus's default lookback delta for instant queries.
const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// The query route, outside the `X-Auth-Token` layer.
pub fn routes(state: Shared) -> Router {
    Router::new()
        .route("/cockpit-push/{id}/prometheus/api/v1/query", get(query))
        .with_state(state)
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"status": "error", "errorType": kind, "error": message})),
    )
        .into_response()
}

/// A label matcher: name, whether it must equal (`=`) or differ (`!=`), value.
type Matcher = (String, bool, String);

/// Parses `name{l="v", l2!="w"}`, `name` or `{l="v"}`.
fn parse_selector(q: &str) -> Result<Vec<Matcher>, String> {
    let q = q.trim();
    let (name, rest) = match q.find('{') {
        Some(i) => (q[..i].trim(), Some(&q[i..])),
        None => (q, None),
    };
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    let mut matchers = vec![];
    if !name.is_empty() {
        if !is_name(name) {
            return Err(format!(
                "the sandbox evaluates vector selectors only (a metric name and label matchers), not {q:?}"
            ));
        }
        matchers.push(("__name__".to_string(), true, name.to_string()));
    }
    if let Some(rest) = rest {
        let inner = rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| format!("unclosed label matchers in {q:?}"))?;
        for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (label, equal, value) = if let Some((l, v)) = part.split_once("!=") {
                (l, false, v)
            } else if let Some((l, v)) = part.split_once("=~") {
                return Err(format!(
                    "regular-expression matchers ({l}=~{v}) are not evaluated by the sandbox; use = or !="
                ));
            } else if let Some((l, v)) = part.split_once('=') {
                (l, true, v)
            } else {
                return Err(format!("{part:?} is not a label matcher"));
            };
            let label = label.trim();
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| format!("the value of {label} must be a quoted string"))?;
            if !is_name(label) {
                return Err(format!("{label:?} is not a label name"));
            }
            matchers.push((label.to_string(), equal, value.to_string()));
        }
    }
    // Prometheus refuses selectors that match everything.
    if !matchers.iter().any(|(_, eq, v)| *eq && !v.is_empty()) {
        return Err("vector selector must contain at least one non-empty matcher".into());
    }
    Ok(matchers)
}

fn matches(labels: &Value, matchers: &[Matcher]) -> bool {
    matchers.iter().all(|(name, equal, value)| {
        let have = labels[name.as_str()].as_str().unwrap_or("");
        (have == value) == *equal
    })
}

async fn query(
    State(st): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize_scope(&st, &id, "metrics", "read_only_metrics", &headers) {
        return (r.status, format!("{}\n", r.message)).into_response();
    }
    let Some(q) = params.get("query") else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "missing the query parameter",
        );
    };
    let matchers = match parse_selector(q) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_data", &e),
    };
    // Samples carry the pusher's wall-clock timestamps, so the evaluation time is wall-clock
    // too (not the sandbox's possibly accelerated clock).
    let at_ms = match params.get("time") {
        Some(t) => match t.parse::<f64>() {
            Ok(secs) => (secs * 1000.0) as i64,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_data",
                    &format!("time {t:?} is not a Unix timestamp in seconds"),
                );
            }
        },
        None => chrono::Utc::now().timestamp_millis(),
    };
    let received = st.read(|s, now| s.get(RECEIVED, &id, now).map(|r| r.body.clone()));
    let mut result = vec![];
    for series in received
        .as_ref()
        .and_then(|r| r["series"].as_array())
        .into_iter()
        .flatten()
    {
        if !matches(&series["labels"], &matchers) {
            continue;
        }
        let newest = series["samples"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s[0].as_i64()?, s[1].as_f64()?)))
            .filter(|(ts, _)| *ts <= at_ms && *ts > at_ms - LOOKBACK_MS)
            .max_by_key(|(ts, _)| *ts);
        if let Some((ts, value)) = newest {
            result.push(json!({
                "metric": series["labels"],
                "value": [ts as f64 / 1000.0, value.to_string()],
            }));
        }
    }
    axum::Json(json!({
        "status": "success",
        "data": {"resultType": "vector", "result": result},
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::parse_selector;

    #[test]
    fn selectors_parse_and_unsupported_queries_are_named() {
        assert_eq!(
            parse_selector("up{job=\"coder\", pod!=\"x\"}").unwrap(),
            vec![
                ("__name__".into(), true, "up".into()),
                ("job".into(), true, "coder".into()),
                ("pod".into(), false, "x".into()),
            ]
        );
        assert!(parse_selector("{job=\"coder\"}").is_ok());
        assert!(parse_selector("{job!=\"coder\"}").is_err());
        assert!(
            parse_selector("rate(up[5m])")
                .unwrap_err()
                .contains("vector selectors only")
        );
        assert!(
            parse_selector("up{job=~\"c.*\"}")
                .unwrap_err()
                .contains("=~")
        );
    }
}
