//! `POST /files` and `GET /files/{id}` (reference §4): the content type must be exactly
//! `application/x-tar` or `application/zip`, bodies are capped at 100 MiB, and the same content
//! uploaded again by the same user answers 200 with the id it already has (201 otherwise).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::Req;
use super::reply::{detailed, msg, not_found, reply};

/// Largest upload accepted.
pub const MAX_UPLOAD: usize = 100 << 20;

/// `POST /files`.
pub fn upload(db: &mut Value, req: &Req) -> Response {
    let ctype = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !matches!(ctype, "application/x-tar" | "application/zip") {
        return msg(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported content type header {ctype:?}."),
        );
    }
    if req.body.len() > MAX_UPLOAD {
        return detailed(
            StatusCode::BAD_REQUEST,
            "Failed to read file from request.",
            "http: request body too large",
        );
    }
    use sha2::Digest;
    let digest = super::hex(&sha2::Sha256::digest(req.body));
    let uid = req.user()["id"].clone();
    let existing = db["files"].as_object().and_then(|f| {
        f.iter()
            .find(|(_, v)| v["hash"] == digest.as_str() && v["created_by"] == uid)
            .map(|(k, _)| k.clone())
    });
    if let Some(id) = existing {
        return reply(StatusCode::OK, &json!({"hash": id}));
    }
    let id = uuid::Uuid::new_v4().to_string();
    db["files"][&id] = json!({
        "hash": digest, "created_by": uid, "mimetype": ctype,
        "data": base64::engine::general_purpose::STANDARD.encode(req.body),
    });
    reply(StatusCode::CREATED, &json!({"hash": id}))
}

/// The stored bytes of file `id`.
pub fn bytes(db: &Value, id: &str) -> Option<Vec<u8>> {
    let f = db["files"].get(id)?;
    base64::engine::general_purpose::STANDARD
        .decode(f["data"].as_str().unwrap_or_default())
        .ok()
}

/// `GET /files/{id}`.
pub fn download(db: &mut Value, req: &Req) -> Response {
    match bytes(db, req.seg[1]) {
        Some(data) => (StatusCode::OK, data).into_response(),
        None => not_found(),
    }
}
