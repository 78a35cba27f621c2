//! Coder's response shapes: JSON bodies and the error body `{message, detail, validations}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A JSON answer.
pub fn reply(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// An answer with only a `message`.
pub fn msg(status: StatusCode, message: &str) -> Response {
    reply(status, &json!({"message": message}))
}

/// An answer with a `message` and a `detail`.
pub fn detailed(status: StatusCode, message: &str, detail: &str) -> Response {
    reply(status, &json!({"message": message, "detail": detail}))
}

/// `400 Validation failed.` naming each refused field.
pub fn invalid(problems: &[(&str, String)]) -> Response {
    let validations: Vec<Value> = problems
        .iter()
        .map(|(field, detail)| json!({"field": field, "detail": detail}))
        .collect();
    reply(
        StatusCode::BAD_REQUEST,
        &json!({"message": "Validation failed.", "validations": validations}),
    )
}

/// The 404 Coder answers for anything unknown or hidden.
pub fn not_found() -> Response {
    msg(
        StatusCode::NOT_FOUND,
        "Resource not found or you do not have access to this resource",
    )
}
