//! Typed Scaleway API errors, keyed on the JSON `type` field, with "any 404 is not found".

use std::fmt;

use serde::Deserialize;

use super::config::ConfigError;
use super::locality::{Locality, LocalityError};
use super::open_enum::open_enum;

/// Result type of the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a Scaleway client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A region or zone is malformed or inconsistent.
    #[error(transparent)]
    Locality(#[from] LocalityError),
    /// A regional API was called with a zone, or the reverse.
    #[error("the {api} API is {expected}, it cannot be called with {given}")]
    LocalityMismatch {
        /// The API.
        api: &'static str,
        /// `regional` or `zonal`.
        expected: &'static str,
        /// The locality given.
        given: Locality,
    },
    /// The API answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A non-idempotent call (POST) failed in a way that leaves its outcome unknown: the
    /// server may have acted on it. Never retried blindly; the caller looks the resource up
    /// (by its kapstan tags) before trying again.
    #[error(
        "{method} {path}: outcome unknown ({reason}); the request may have taken effect, \
         look the resource up before retrying"
    )]
    Ambiguous {
        /// HTTP method.
        method: String,
        /// Request path (no query string).
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The request could not be completed (connection, timeout) after the allowed retries.
    #[error("{method} {path}: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// What went wrong.
        message: String,
        /// Whether the connection could not even be established (the request was not sent).
        connect: bool,
        /// Whether the request timed out.
        timeout: bool,
    },
    /// The response body did not match the expected wire type.
    #[error("{method} {path}: cannot decode the HTTP {status} response: {detail}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// HTTP status.
        status: u16,
        /// Position and category of the problem (never the body: it may hold secrets).
        detail: String,
    },
    /// The request was rejected before being sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A transient-state hook (a driver's waiter) failed.
    #[error("waiting for {resource} failed: {message}")]
    Wait {
        /// What was waited for.
        resource: String,
        /// Why the wait failed.
        message: String,
    },
}

impl From<ApiError> for Error {
    fn from(value: ApiError) -> Self {
        Error::Api(Box::new(value))
    }
}

impl Error {
    /// The API error, if the server answered with an error status.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        self.api_error().map(|e| e.status)
    }

    /// Any 404, typed or not: the resource does not exist (deletes treat this as done).
    pub fn is_not_found(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_not_found)
    }

    /// A 409 saying the resource (or its parent) is busy.
    pub fn is_transient_state(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_transient_state)
    }

    /// A 412 `resource_still_in_use` (e.g. deleting a private network with attachments).
    pub fn is_still_in_use(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_still_in_use)
    }

    /// A POST whose outcome is unknown.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Error::Ambiguous { .. })
    }

    /// Whether the same call may succeed later: rate limits, server errors, a busy resource,
    /// a connection that failed, a wait that failed. Refusals and unknown outcomes are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.is_rate_limited() || e.is_server_error() || e.is_transient_state(),
            Error::Transport { .. } | Error::Wait { .. } => true,
            _ => false,
        }
    }
}

/// The kind a typed error body names (`type`), if kapstan knows it.
fn typed_kind(
    error_type: Option<&str>,
    obj: &serde_json::Map<String, serde_json::Value>,
    resource: &Option<String>,
    resource_id: &Option<String>,
    help_message: &Option<String>,
) -> Option<ErrorKind> {
    match error_type {
        Some("invalid_arguments") => Some(ErrorKind::InvalidArguments {
            details: details(obj),
        }),
        Some("denied_authentication") => Some(ErrorKind::DeniedAuthentication {
            method: str_field(obj, "method"),
            reason: str_field(obj, "reason"),
        }),
        Some("permissions_denied") => Some(ErrorKind::PermissionsDenied {
            details: details(obj),
        }),
        Some("quotas_exceeded") => Some(ErrorKind::QuotasExceeded {
            details: details(obj),
        }),
        Some("not_found") => Some(ErrorKind::NotFound {
            resource: resource.clone(),
            resource_id: resource_id.clone(),
        }),
        Some("resource_expired" | "expired") => Some(ErrorKind::Expired {
            resource: resource.clone(),
            resource_id: resource_id.clone(),
        }),
        Some("transient_state") => Some(ErrorKind::TransientState {
            resource: resource.clone(),
            resource_id: resource_id.clone(),
            current_state: str_field(obj, "current_state"),
        }),
        Some("already_exists") => Some(ErrorKind::AlreadyExists {
            resource: resource.clone(),
            resource_id: resource_id.clone(),
            help_message: help_message.clone(),
        }),
        Some("precondition_failed") => Some(ErrorKind::PreconditionFailed {
            precondition: str_field(obj, "precondition")
                .map(Precondition::from)
                .unwrap_or_default(),
            help_message: help_message.clone(),
        }),
        Some("resource_still_in_use") => Some(ErrorKind::PreconditionFailed {
            precondition: Precondition::ResourceStillInUse,
            help_message: help_message.clone(),
        }),
        Some("locked") => Some(ErrorKind::Locked {
            resource: resource.clone(),
            resource_id: resource_id.clone(),
        }),
        Some("too_many_requests") => Some(ErrorKind::TooManyRequests {
            reset_seconds: obj.get("reset_seconds").and_then(|v| v.as_u64()),
        }),
        Some("out_of_stock") => Some(ErrorKind::OutOfStock {
            resource: resource.clone(),
        }),
        Some("conflict") => Some(ErrorKind::Conflict),
        _ => None,
    }
}

/// One rejected argument of an `invalid_arguments` error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InvalidArgument {
    /// The argument (JSON path of the field).
    pub argument_name: String,
    /// `unknown`, `required`, `format` or `constraint`.
    pub reason: String,
    /// A human explanation.
    pub help_message: Option<String>,
}

/// One missing permission of a `permissions_denied` error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PermissionDetail {
    /// The resource kind.
    pub resource: String,
    /// The action (`read`, `write`…).
    pub action: String,
}

/// One exceeded quota of a `quotas_exceeded` error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QuotaDetail {
    /// The resource the quota applies to.
    pub resource: String,
    /// The quota.
    pub quota: u64,
    /// Current usage.
    pub current: u64,
    /// The organization the quota belongs to.
    pub organization_id: Option<String>,
    /// The project the quota belongs to.
    pub project_id: Option<String>,
}

open_enum! {
    /// The `precondition` of a `precondition_failed` error.
    Precondition {
        ResourceStillInUse,
        AttributeMustBeSet,
        ProtectedResource,
        ResourceNotUsable,
    }
}

/// What kind of error the API reported, from the body's `type` (or the status when untyped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400 `invalid_arguments`.
    InvalidArguments {
        /// The rejected arguments.
        details: Vec<InvalidArgument>,
    },
    /// 401 `denied_authentication`.
    DeniedAuthentication {
        /// `api_key`, `jwt`…
        method: Option<String>,
        /// `invalid_argument`, `not_found`, `expired`…
        reason: Option<String>,
    },
    /// 403 `permissions_denied`.
    PermissionsDenied {
        /// Missing permissions.
        details: Vec<PermissionDetail>,
    },
    /// 403 `quotas_exceeded`.
    QuotasExceeded {
        /// Exceeded quotas.
        details: Vec<QuotaDetail>,
    },
    /// Any 404 (`not_found`, LB's untyped `{"message":"lbs not Found"}`, …).
    NotFound {
        /// The resource kind, when the body names it.
        resource: Option<String>,
        /// The resource ID, when given.
        resource_id: Option<String>,
    },
    /// 410 `resource_expired` / `expired`.
    Expired {
        /// The resource kind.
        resource: Option<String>,
        /// The resource ID.
        resource_id: Option<String>,
    },
    /// 409 `transient_state`: the resource is busy; wait and retry.
    TransientState {
        /// The busy resource kind (`instance`, `gateway`…).
        resource: Option<String>,
        /// Its ID.
        resource_id: Option<String>,
        /// Its current status.
        current_state: Option<String>,
    },
    /// 409 `already_exists`.
    AlreadyExists {
        /// The resource kind.
        resource: Option<String>,
        /// The existing resource's ID.
        resource_id: Option<String>,
        /// A human explanation.
        help_message: Option<String>,
    },
    /// 412 `precondition_failed` (including `resource_still_in_use`).
    PreconditionFailed {
        /// Which precondition.
        precondition: Precondition,
        /// A human explanation.
        help_message: Option<String>,
    },
    /// 423 `locked`.
    Locked {
        /// The resource kind.
        resource: Option<String>,
        /// Its ID.
        resource_id: Option<String>,
    },
    /// 429, with an empty body (Envoy) or a `too_many_requests` body.
    TooManyRequests {
        /// Seconds until the limit resets, when the body says.
        reset_seconds: Option<u64>,
    },
    /// `out_of_stock`.
    OutOfStock {
        /// What is out of stock.
        resource: Option<String>,
    },
    /// An untyped 409 (e.g. RDB's "Tuple concurrently updated") or legacy `conflict`.
    Conflict,
    /// Any other error; the raw `type` is kept in [`ApiError::error_type`].
    Other,
}

/// An error response of the Scaleway API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Parsed kind.
    pub kind: ErrorKind,
    /// The body's `type`, verbatim, when present.
    pub error_type: Option<String>,
    /// The body's `message`, or the status line when the body has none.
    pub message: String,
    /// HTTP method of the request.
    pub method: String,
    /// Path of the request (without query string).
    pub path: String,
    /// `X-Request-Id` of the response, for support tickets.
    pub request_id: Option<String>,
    /// The JSON body, when it was JSON.
    pub body: Option<serde_json::Value>,
    /// The delay a `Retry-After` header asked for.
    pub retry_after: Option<std::time::Duration>,
}

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: HTTP {}", self.method, self.path, self.status)?;
        if let Some(t) = &self.error_type {
            write!(f, " {t}")?;
        }
        write!(f, ": {}", self.message)?;
        match &self.kind {
            ErrorKind::InvalidArguments { details } if !details.is_empty() => {
                let parts: Vec<String> = details
                    .iter()
                    .map(|d| match &d.help_message {
                        Some(h) => format!("{} ({}): {h}", d.argument_name, d.reason),
                        None => format!("{} ({})", d.argument_name, d.reason),
                    })
                    .collect();
                write!(f, " [{}]", parts.join("; "))?;
            }
            ErrorKind::PermissionsDenied { details } if !details.is_empty() => {
                let parts: Vec<String> = details
                    .iter()
                    .map(|d| format!("{} {}", d.action, d.resource))
                    .collect();
                write!(f, " [missing: {}]", parts.join(", "))?;
            }
            ErrorKind::QuotasExceeded { details } if !details.is_empty() => {
                let parts: Vec<String> = details
                    .iter()
                    .map(|d| format!("{} {}/{}", d.resource, d.current, d.quota))
                    .collect();
                write!(f, " [{}]", parts.join(", "))?;
            }
            ErrorKind::TransientState {
                resource,
                resource_id,
                current_state,
            } => {
                write!(
                    f,
                    " [{} {} is {}]",
                    resource.as_deref().unwrap_or("resource"),
                    resource_id.as_deref().unwrap_or("?"),
                    current_state.as_deref().unwrap_or("busy")
                )?;
            }
            ErrorKind::PreconditionFailed {
                precondition,
                help_message,
            } => {
                write!(f, " [{precondition}")?;
                if let Some(h) = help_message {
                    write!(f, ": {h}")?;
                }
                f.write_str("]")?;
            }
            _ => {}
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

fn str_field(obj: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

fn details<T: for<'de> Deserialize<'de>>(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Vec<T> {
    obj.get("details")
        .and_then(|d| serde_json::from_value(d.clone()).ok())
        .unwrap_or_default()
}

fn status_reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or_else(|| format!("HTTP {status}"), |r| format!("{status} {r}"))
}

impl ApiError {
    /// Parses an error response. Never fails: an unparseable body becomes an untyped error
    /// classified by its status.
    pub fn from_response(
        method: &str,
        path: &str,
        status: u16,
        request_id: Option<String>,
        body: &[u8],
    ) -> ApiError {
        let json: Option<serde_json::Value> = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            serde_json::from_slice(body).ok()
        };
        let empty = serde_json::Map::new();
        let obj = json.as_ref().and_then(|v| v.as_object()).unwrap_or(&empty);
        let error_type = str_field(obj, "type");
        let message = str_field(obj, "message").unwrap_or_else(|| status_reason(status));
        let resource = str_field(obj, "resource");
        let resource_id = str_field(obj, "resource_id");
        let help_message = str_field(obj, "help_message");

        let typed = typed_kind(
            error_type.as_deref(),
            obj,
            &resource,
            &resource_id,
            &help_message,
        );

        let kind = match (typed, status) {
            // Any 404 means "not found", whatever the body says (LB answers
            // `{"message":"lbs not Found"}` without a type).
            (Some(k @ ErrorKind::NotFound { .. }), _) => k,
            (_, 404) => ErrorKind::NotFound {
                resource: resource.or_else(|| {
                    message
                        .strip_suffix(" not Found")
                        .or_else(|| message.strip_suffix(" not found"))
                        .map(str::to_owned)
                }),
                resource_id,
            },
            (Some(k), _) => k,
            (None, 401) => ErrorKind::DeniedAuthentication {
                method: None,
                reason: None,
            },
            (None, 403) => ErrorKind::PermissionsDenied {
                details: Vec::new(),
            },
            (None, 409) if error_type.is_none() => ErrorKind::Conflict,
            (None, 412) => ErrorKind::PreconditionFailed {
                precondition: Precondition::default(),
                help_message,
            },
            (None, 423) => ErrorKind::Locked {
                resource,
                resource_id,
            },
            (None, 429) => ErrorKind::TooManyRequests {
                reset_seconds: None,
            },
            (None, _) => ErrorKind::Other,
        };

        ApiError {
            status,
            kind,
            error_type,
            message,
            method: method.to_owned(),
            path: path.to_owned(),
            request_id,
            body: json,
            retry_after: None,
        }
    }

    /// Any 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, ErrorKind::NotFound { .. })
    }

    /// A busy resource: 409 `transient_state`, or an untyped 409 (RDB's concurrent-update
    /// conflict), both of which succeed after waiting.
    pub fn is_transient_state(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::TransientState { .. } | ErrorKind::Conflict
        ) && self.status == 409
    }

    /// 412 `resource_still_in_use`.
    pub fn is_still_in_use(&self) -> bool {
        matches!(
            &self.kind,
            ErrorKind::PreconditionFailed {
                precondition: Precondition::ResourceStillInUse,
                ..
            }
        )
    }

    /// 429.
    pub fn is_rate_limited(&self) -> bool {
        self.status == 429
    }

    /// A 5xx status.
    pub fn is_server_error(&self) -> bool {
        (500..600).contains(&self.status)
    }
}
