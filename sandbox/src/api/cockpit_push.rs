//! Cockpit push endpoints on loopback, standing for `https://ID.metrics.cockpit.R.scw.cloud` and
//! `https://ID.logs.cockpit.R.scw.cloud`: a data source's `url` is `{sandbox}/cockpit-push/{ID}`,
//! so `{url}/api/v1/push` takes Prometheus remote write (snappy-compressed protobuf) and
//! `{url}/loki/api/v1/push` Loki pushes (JSON, optionally gzip, or snappy protobuf).
//!
//! Authentication is the `X-Token` header: no or an unknown token is 401, a token of another
//! project or without the type's write scope is 403. What arrives is recorded per data source and
//! readable (no token: the sandbox listens on loopback only) at
//! `GET /sandbox/v1/cockpit/{ID}/received`.

use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prost::Message;
use serde_json::{Value, json};

use super::cockpit::{DATA_SOURCE, token_with_secret};
use crate::server::Shared;
use crate::wire::{ApiError, ApiResult, ok};

/// Store kind of what a data source received (id = the data source id).
pub const RECEIVED: &str = "cockpit.received";
/// How many series and lines a data source keeps; older ones are dropped first.
const KEPT: usize = 10_000;

/// Prometheus remote write 1.0 `WriteRequest` (prompb), only the fields Cockpit stores.
#[derive(Clone, PartialEq, Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

/// Loki `logproto.PushRequest`.
#[derive(Clone, PartialEq, Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<Stream>,
}

#[derive(Clone, PartialEq, Message)]
struct Stream {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, Message)]
struct Entry {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The push endpoints and the query endpoint, outside the `X-Auth-Token` layer.
pub fn routes(state: Shared) -> Router {
    Router::new()
        .route("/cockpit-push/{id}/api/v1/push", post(push_metrics))
        .route("/cockpit-push/{id}/loki/api/v1/push", post(push_logs))
        .route("/sandbox/v1/cockpit/{id}/received", get(received))
        .with_state(state)
}

/// Why a push was refused: the status and a plain-text message, as the push gateways answer.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, format!("{}\n", self.message)).into_response()
    }
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal {
        status,
        message: message.to_string(),
    }
}

/// Checks the data source exists and has `kind`, and that `X-Token` may write to it.
fn authorize(st: &Shared, id: &str, kind: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    authorize_scope(st, id, kind, &format!("write_only_{kind}"), headers)
}

/// Checks the data source exists and has `kind`, and that `X-Token` carries `scope` for it.
pub(super) fn authorize_scope(
    st: &Shared,
    id: &str,
    kind: &str,
    scope: &str,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    st.read(|s, now| {
        let source = s
            .get(DATA_SOURCE, id, now)
            .filter(|d| d.str("type") == kind)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such data source"))?;
        let secret = headers
            .get("x-token")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "missing X-Token header"))?;
        let token = token_with_secret(s, secret, now)
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "invalid token"))?;
        let same_project = token.str("project_id") == source.str("project_id")
            && token.str("region") == source.str("region");
        let scoped = token.body["scopes"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == scope));
        if same_project && scoped {
            Ok(())
        } else {
            Err(refuse(
                StatusCode::FORBIDDEN,
                &format!("token lacks the {scope} scope for this data source"),
            ))
        }
    })
}

fn header_is(headers: &HeaderMap, name: impl header::AsHeaderName, wanted: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(wanted))
        })
}

fn snappy(body: &[u8]) -> Result<Vec<u8>, Refusal> {
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("body is not snappy: {e}")))
}

fn record(st: &Shared, id: &str, field: &str, items: Vec<Value>) -> Result<(), Refusal> {
    let count = items.len();
    st.write(|s, now| {
        if s.get(RECEIVED, id, now).is_none() {
            s.insert(
                RECEIVED,
                id,
                None,
                json!({"data_source_id": id, "series": [], "lines": []}),
                &[],
            );
        }
        let rec = s.get_mut(RECEIVED, id, now).expect("inserted");
        let list = rec.obj().entry(field).or_insert(json!([]));
        let list = list.as_array_mut().expect("array");
        list.extend(items);
        let excess = list.len().saturating_sub(KEPT);
        list.drain(..excess);
        Ok(())
    })
    .map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "cannot record the push"))?;
    tracing::debug!(data_source = id, field, count, "cockpit push recorded");
    Ok(())
}

async fn push_metrics(
    State(st): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match metrics(&st, &id, &headers, &body) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r.into_response(),
    }
}

fn metrics(st: &Shared, id: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    authorize(st, id, "metrics", headers)?;
    if !header_is(headers, header::CONTENT_ENCODING, "snappy") {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "remote write needs Content-Encoding: snappy",
        ));
    }
    if !header_is(headers, header::CONTENT_TYPE, "application/x-protobuf") {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "remote write needs Content-Type: application/x-protobuf",
        ));
    }
    let raw = snappy(body)?;
    let request = WriteRequest::decode(raw.as_slice()).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            &format!("body is not a remote write request: {e}"),
        )
    })?;
    let series = request
        .timeseries
        .into_iter()
        .map(|ts| {
            let labels: serde_json::Map<String, Value> = ts
                .labels
                .into_iter()
                .map(|l| (l.name, Value::String(l.value)))
                .collect();
            let samples: Vec<Value> = ts
                .samples
                .into_iter()
                .map(|s| json!([s.timestamp, s.value]))
                .collect();
            json!({"labels": labels, "samples": samples})
        })
        .collect();
    record(st, id, "series", series)
}

async fn push_logs(
    State(st): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match logs(&st, &id, &headers, &body) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r.into_response(),
    }
}

fn logs(st: &Shared, id: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    authorize(st, id, "logs", headers)?;
    let lines = if header_is(headers, header::CONTENT_TYPE, "application/json") {
        let text = if header_is(headers, header::CONTENT_ENCODING, "gzip") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("body is not gzip: {e}")))?;
            out
        } else {
            body.to_vec()
        };
        json_lines(&text)?
    } else if header_is(headers, header::CONTENT_TYPE, "application/x-protobuf") {
        let raw = snappy(body)?;
        let request = PushRequest::decode(raw.as_slice()).map_err(|e| {
            refuse(
                StatusCode::BAD_REQUEST,
                &format!("body is not a Loki push request: {e}"),
            )
        })?;
        request
            .streams
            .into_iter()
            .flat_map(|stream| {
                let labels = stream.labels;
                stream.entries.into_iter().map(move |e| {
                    let ns = e
                        .timestamp
                        .map(|t| t.seconds as i128 * 1_000_000_000 + t.nanos as i128)
                        .unwrap_or_default();
                    json!({"labels": labels, "timestamp_ns": ns.to_string(), "line": e.line})
                })
            })
            .collect()
    } else {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Loki push needs Content-Type application/json or application/x-protobuf",
        ));
    };
    record(st, id, "lines", lines)
}

/// Lines of a Loki JSON push: `{"streams":[{"stream":{..},"values":[["<ns>","line"],..]}]}`.
fn json_lines(text: &[u8]) -> Result<Vec<Value>, Refusal> {
    let bad = |why: &str| refuse(StatusCode::BAD_REQUEST, &format!("bad Loki push: {why}"));
    let doc: Value = serde_json::from_slice(text).map_err(|e| bad(&e.to_string()))?;
    let streams = doc["streams"]
        .as_array()
        .ok_or_else(|| bad("no streams array"))?;
    let mut out = Vec::new();
    for stream in streams {
        let labels = stream["stream"]
            .as_object()
            .ok_or_else(|| bad("a stream has no stream labels"))?;
        let rendered: Vec<String> = labels
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    Value::String(v.as_str().unwrap_or("").to_string())
                )
            })
            .collect();
        let labels = format!("{{{}}}", rendered.join(", "));
        for value in stream["values"]
            .as_array()
            .ok_or_else(|| bad("a stream has no values"))?
        {
            let (Some(ns), Some(line)) = (value[0].as_str(), value[1].as_str()) else {
                return Err(bad("a value is not [\"<ns>\", \"<line>\"]"));
            };
            if ns.parse::<i128>().is_err() {
                return Err(bad("a timestamp is not nanoseconds"));
            }
            out.push(json!({"labels": labels, "timestamp_ns": ns, "line": line}));
        }
    }
    Ok(out)
}

async fn received(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let v = st.read(|s, now| {
        if s.get(DATA_SOURCE, &id, now).is_none() {
            return Err(ApiError::not_found("data_source", &id));
        }
        Ok(s.get(RECEIVED, &id, now)
            .map(|r| r.body.clone())
            .unwrap_or_else(|| json!({"data_source_id": id, "series": [], "lines": []})))
    })?;
    ok(v)
}
