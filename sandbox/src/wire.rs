//! Wire conventions shared by every emulated API: error bodies, query strings, JSON bodies,
//! pagination, timestamps and localities (reference §1.4–§1.6).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// An API error response: status plus the exact body the real API sends.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

/// Result of a handler.
pub type ApiResult = Result<Response, ApiError>;

impl ApiError {
    /// A raw error with any body.
    pub fn raw(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    /// Standard 404 `not_found` (k8s, rdb, vpc, ipam).
    pub fn not_found(resource: &str, id: &str) -> Self {
        Self::raw(
            StatusCode::NOT_FOUND,
            json!({"message": "resource is not found", "resource": resource, "resource_id": id, "type": "not_found"}),
        )
    }

    /// LB's untyped 404: `{"message":"lbs not Found"}`.
    pub fn lb_not_found(what: &str) -> Self {
        Self::raw(
            StatusCode::NOT_FOUND,
            json!({"message": format!("{what} not Found")}),
        )
    }

    /// 400 `invalid_arguments` for one argument.
    pub fn invalid(argument: &str, reason: &str, help: impl Into<String>) -> Self {
        Self::invalid_many(vec![(
            argument.to_string(),
            reason.to_string(),
            help.into(),
        )])
    }

    /// 400 `invalid_arguments` with several details `(argument_name, reason, help_message)`.
    pub fn invalid_many(details: Vec<(String, String, String)>) -> Self {
        let details: Vec<Value> = details
            .into_iter()
            .map(|(a, r, h)| json!({"argument_name": a, "reason": r, "help_message": h}))
            .collect();
        Self::raw(
            StatusCode::BAD_REQUEST,
            json!({"type": "invalid_arguments", "message": "invalid argument(s)", "details": details}),
        )
    }

    /// 409 `transient_state`.
    pub fn transient(resource: &str, id: &str, current_state: &str) -> Self {
        Self::raw(
            StatusCode::CONFLICT,
            json!({"current_state": current_state, "message": "resource is in a transient state", "resource": resource, "resource_id": id, "type": "transient_state"}),
        )
    }

    /// 409 `already_exists`.
    pub fn already_exists(resource: &str, id: &str, help: &str) -> Self {
        Self::raw(
            StatusCode::CONFLICT,
            json!({"help_message": help, "message": "resource already exists", "resource": resource, "resource_id": id, "type": "already_exists"}),
        )
    }

    /// 412 `precondition_failed` / `resource_still_in_use`.
    pub fn still_in_use(help: &str) -> Self {
        Self::raw(
            StatusCode::PRECONDITION_FAILED,
            json!({"help_message": help, "message": "precondition is not respected", "precondition": "resource_still_in_use", "type": "precondition_failed"}),
        )
    }

    /// 401 `denied_authentication`.
    pub fn unauthenticated(reason: &str) -> Self {
        Self::raw(
            StatusCode::UNAUTHORIZED,
            json!({"type": "denied_authentication", "method": "api_key", "reason": reason, "message": "authentication is denied"}),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body)
    }
}

/// A JSON response with the given status.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `200 OK` with a JSON body.
pub fn ok(body: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, &body))
}

/// `204 No Content`; the real API still labels it JSON.
pub fn no_content() -> ApiResult {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// Parsed query string, keeping repeated keys (`tags=a&tags=b`).
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Query(
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl Query {
    /// First value of `key`, if non-empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated key (also accepting comma-separated values).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// An enum filter; `unknown`, `unknown_*` and `all` mean "no filter" (reference §1.4).
    pub fn enum_filter(&self, key: &str) -> Option<&str> {
        self.get(key)
            .filter(|v| *v != "unknown" && !v.starts_with("unknown_") && *v != "all")
    }

    /// A boolean parameter.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        // Case-insensitive: the Python SDK sends `True`/`False`.
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(key, "format", "must be a boolean")),
        }
    }

    /// Applies `page` / `page_size` (default 20, at most 100) and returns the page and the total.
    pub fn paginate(&self, items: Vec<Value>) -> Result<(Vec<Value>, usize), ApiError> {
        let page: usize = match self.get("page") {
            None => 1,
            Some(p) => p.parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
                ApiError::invalid("page", "constraint", "must be a positive integer")
            })?,
        };
        let size: usize = match self.get("page_size") {
            None => 20,
            Some(p) => match p.parse::<usize>() {
                Ok(0) => 20,
                Ok(n) if n <= 100 => n,
                _ => {
                    return Err(ApiError::invalid(
                        "page_size",
                        "constraint",
                        "must be between 1 and 100",
                    ));
                }
            },
        };
        let total = items.len();
        let start = (page - 1).saturating_mul(size).min(total);
        let end = (start + size).min(total);
        Ok((items[start..end].to_vec(), total))
    }
}

/// Sorts rendered objects by an `order_by` value such as `created_at_desc` or `name_asc`.
pub fn sort_by(items: &mut [Value], order_by: Option<&str>, default: &str) {
    let order = order_by.unwrap_or(default);
    let (field, desc) = match order.rsplit_once('_') {
        Some((f, "desc")) => (f, true),
        Some((f, "asc")) => (f, false),
        _ => return,
    };
    let key = |v: &Value| -> String {
        match v.get(field) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    };
    // Stable sort keeps creation order among equal keys, like the real API.
    items.sort_by(|a, b| {
        let o = key(a).cmp(&key(b));
        if desc { o.reverse() } else { o }
    });
}

/// A list response `{<key>: [...], total_count}` after sorting and paginating.
pub fn list_response(
    key: &str,
    mut items: Vec<Value>,
    q: &Query,
    default_order: &str,
) -> ApiResult {
    sort_by(&mut items, q.get("order_by"), default_order);
    let (page, total) = q.paginate(items)?;
    ok(json!({ key: page, "total_count": total }))
}

/// Tag filter: every requested tag must be present.
pub fn has_tags(body: &Value, wanted: &[String]) -> bool {
    let tags: Vec<&str> = body
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    wanted.iter().all(|w| tags.contains(&w.as_str()))
}

/// Name filter: substring match (reference §1.5).
pub fn name_matches(body: &Value, wanted: Option<&str>) -> bool {
    wanted.is_none_or(|w| {
        body.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.contains(w))
    })
}

/// A JSON request body; an empty body is `{}`.
#[derive(Debug)]
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::invalid("body", "format", "cannot read request body"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(JsonBody(m)),
            Ok(_) => Err(ApiError::invalid(
                "body",
                "format",
                "request body must be a JSON object",
            )),
            Err(e) => Err(ApiError::invalid(
                "body",
                "format",
                format!("invalid JSON: {e}"),
            )),
        }
    }
}

impl JsonBody {
    /// A typed optional field: absent or `null` is `None`; a wrong type is `invalid_arguments`.
    pub fn opt<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        field(&self.0, key)
    }

    /// A required, non-null field.
    pub fn req<T: DeserializeOwned>(&self, key: &str) -> Result<T, ApiError> {
        self.opt(key)?
            .ok_or_else(|| ApiError::invalid(key, "required", format!("{key} is required")))
    }

    /// A required, non-empty string.
    pub fn req_str(&self, key: &str) -> Result<String, ApiError> {
        let s: String = self.req(key)?;
        if s.is_empty() {
            return Err(ApiError::invalid(
                key,
                "required",
                format!("{key} is required"),
            ));
        }
        Ok(s)
    }

    /// A nested object (absent/null = `None`).
    pub fn obj(&self, key: &str) -> Result<Option<JsonBody>, ApiError> {
        Ok(self.opt::<Map<String, Value>>(key)?.map(JsonBody))
    }

    /// An optional enum value where `unknown*` sentinels mean "not set".
    pub fn opt_enum(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        match self.opt::<String>(key)? {
            None => Ok(None),
            Some(v) if v.is_empty() || v.starts_with("unknown") => Ok(None),
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
            Some(v) => Err(ApiError::invalid(
                key,
                "constraint",
                format!("{v} is not one of {}", allowed.join(", ")),
            )),
        }
    }

    /// True if the key is present with a non-null value.
    pub fn has(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| !v.is_null())
    }
}

/// Reads a typed optional field from a JSON object.
pub fn field<T: DeserializeOwned>(
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
            ApiError::invalid(key, "format", format!("{key} has the wrong type: {e}"))
        }),
    }
}

/// Copies a PATCH field onto `target` when present and non-null (absent/null = unchanged).
pub fn patch_field(target: &mut Map<String, Value>, body: &Map<String, Value>, key: &str) {
    if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
        target.insert(key.to_string(), v.clone());
    }
}

/// RFC 3339 with microseconds and `Z`, as the API renders timestamps.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A fresh UUID string.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Regions every regional API of the sandbox serves.
pub const REGIONS: &[&str] = &["fr-par", "nl-ams", "pl-waw", "it-mil"];

/// Zones the zoned APIs of the sandbox serve.
pub const ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "fr-par-3", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2",
    "pl-waw-3", "it-mil-1",
];

/// Rejects unknown regions with 400 `invalid_arguments`.
pub fn check_region(region: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&region) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "region",
            "constraint",
            format!(
                "unknown region {region}; expected one of {}",
                allowed.join(", ")
            ),
        ))
    }
}

/// Rejects unknown zones with 400 `invalid_arguments`.
pub fn check_zone(zone: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&zone) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "zone",
            "constraint",
            format!(
                "unknown zone {zone}; expected one of {}",
                allowed.join(", ")
            ),
        ))
    }
}

/// Region of a zone (`fr-par-1` → `fr-par`).
pub fn region_of(zone: &str) -> String {
    zone.rsplit_once('-')
        .map(|(r, _)| r.to_string())
        .unwrap_or_default()
}

/// A random public IPv6 address in a Scaleway-like range.
pub fn random_public_ipv6() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    format!(
        "2001:bc8:{:x}:{:x}::{:x}",
        rng.random_range(0x1000..0xffffu32),
        rng.random_range(1..0xffffu32),
        rng.random_range(1..0xffffu32)
    )
}

/// A random public IPv4 address in a Scaleway-like range.
pub fn random_public_ip() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    let prefixes = [
        (51, 15),
        (51, 158),
        (51, 159),
        (62, 210),
        (163, 172),
        (212, 47),
    ];
    let (a, b) = prefixes[rng.random_range(0..prefixes.len())];
    format!(
        "{a}.{b}.{}.{}",
        rng.random_range(0..=255u8),
        rng.random_range(1..=254u8)
    )
}

/// Validates a UUID-shaped path or body id.
pub fn check_uuid(argument: &str, id: &str) -> Result<(), ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| ApiError::invalid(argument, "format", format!("{argument} must be a UUID")))
}

/// Tags from a body (absent/null = empty).
pub fn tags(body: &JsonBody) -> Result<Vec<String>, ApiError> {
    Ok(body.opt::<Vec<String>>("tags")?.unwrap_or_default())
}
