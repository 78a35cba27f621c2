//! A Coder API emulator for every Coder Deployment that becomes available, served on the
//! loopback endpoint of the load balancer in front of it: `/healthz`, `/api/v2/buildinfo`,
//! first user (GET/POST), login, `users/me`, organizations, files, template versions (import
//! jobs that succeed after a delay, or fail when the archive holds no Terraform file) and
//! templates (create, get by name, promote a version, delete). Written from the API reference
//! (coder-on-scaleway §11.6), not from any client.
//!
//! The Helm chart repository serving the Coder-like chart lives in [`charts`].

pub mod charts;

use std::io::Read;
use std::sync::Weak;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::kube::objects::{self, OBJECT};
use crate::server::AppState;
use crate::store::{Parent, Store};
use crate::wire::ts;

/// Store kind of a Coder deployment's database (users, files, templates).
pub const INSTANCE: &str = "coder.instance";

/// How long a template version import job takes, at speed 1.
pub const IMPORT_JOB: Duration = Duration::from_secs(6);

#[derive(Clone)]
struct Ctx {
    app: Weak<AppState>,
    lb_id: String,
}

/// Serves the Coder API for load balancer `lb_id` on `listener` until the sandbox stops.
pub fn serve_endpoint(listener: tokio::net::TcpListener, app: Weak<AppState>, lb_id: String) {
    let watch = app.clone();
    let router = Router::new()
        .fallback(handle)
        .with_state(Ctx { app, lb_id });
    tokio::spawn(async move {
        let stop = async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if watch.strong_count() == 0 {
                    return;
                }
            }
        };
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await;
    });
}

fn reply(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn msg(status: StatusCode, message: &str) -> Response {
    reply(status, &json!({"message": message}))
}

fn not_found() -> Response {
    msg(
        StatusCode::NOT_FOUND,
        "Resource not found or you do not have access to this resource",
    )
}

async fn handle(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(app) = ctx.app.upgrade() else {
        return msg(StatusCode::SERVICE_UNAVAILABLE, "sandbox stopped");
    };
    let backend = app.read(|s, now| objects::coder_backend(s, &ctx.lb_id, now));
    let backend = match backend {
        Ok(b) => b,
        Err(why) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("503 Service Unavailable: {why}\n"),
            )
                .into_response();
        }
    };
    let path = uri.path().to_string();
    if path == "/healthz" {
        return (StatusCode::OK, "OK").into_response();
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(api) = segs.strip_prefix(&["api", "v2"]) else {
        return (
            StatusCode::OK,
            "<html><body>Coder (kapstan sandbox)</body></html>",
        )
            .into_response();
    };
    let api: Vec<String> = api.iter().map(|s| s.to_string()).collect();
    let token = headers
        .get("coder-session-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let speed_later = |now: DateTime<Utc>| app.later(now, IMPORT_JOB);
    let key = backend.deployment_key.clone();
    let result = app.write(|s, now| {
        ensure_instance(s, &key, now);
        let inst = s.get_mut(INSTANCE, &key, now).expect("ensured");
        let db = &mut inst.body;
        Ok(route(
            db,
            &method,
            &api,
            token.as_deref(),
            &headers,
            &body,
            now,
            speed_later(now),
            &backend,
        ))
    });
    match result {
        Ok(r) => r,
        Err(_) => msg(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

fn ensure_instance(s: &mut Store, key: &str, now: DateTime<Utc>) {
    if s.get(INSTANCE, key, now).is_some() {
        return;
    }
    let org = uuid::Uuid::new_v4().to_string();
    s.insert(
        INSTANCE,
        key,
        Some(Parent {
            kind: OBJECT.into(),
            id: key.into(),
        }),
        json!({
            "deployment_id": uuid::Uuid::new_v4().to_string(),
            "organizations": [{"id": org, "name": "coder", "display_name": "Coder", "is_default": true,
                "created_at": ts(now), "updated_at": ts(now), "description": "", "icon": ""}],
            "users": [], "tokens": {}, "files": {}, "versions": {}, "templates": {},
        }),
        &[],
    );
}

fn hash_password(p: &str) -> String {
    use sha2::Digest;
    hex_lower(&sha2::Sha256::digest(
        format!("coder-sandbox:{p}").as_bytes(),
    ))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn user_of<'a>(db: &'a Value, token: Option<&str>) -> Option<&'a Value> {
    let id = db["tokens"].get(token?)?.as_str()?;
    db["users"].as_array()?.iter().find(|u| u["id"] == id)
}

fn org_id(db: &Value, given: &str) -> Option<String> {
    db["organizations"]
        .as_array()?
        .iter()
        .find(|o| {
            o["id"] == given
                || o["name"] == given
                || (given == "default" && o["is_default"] == true)
        })
        .and_then(|o| o["id"].as_str().map(str::to_string))
}

fn parse(body: &Bytes) -> Result<Map<String, Value>, Box<Response>> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| {
            Box::new(msg(
                StatusCode::BAD_REQUEST,
                "Request body must be valid JSON.",
            ))
        })
}

fn job_status(v: &Value, now: DateTime<Utc>) -> (&'static str, Option<String>) {
    let at = |k: &str| {
        v[k].as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let started = at("_starts_at").is_some_and(|t| t <= now);
    let done = at("_done_at").is_some_and(|t| t <= now);
    match (started, done) {
        (_, true) => match v["_error"].as_str() {
            Some(e) => ("failed", Some(e.to_string())),
            None => ("succeeded", None),
        },
        (true, false) => ("running", None),
        _ => ("pending", None),
    }
}

fn render_version(v: &Value, now: DateTime<Utc>) -> Value {
    let (status, error) = job_status(v, now);
    let mut out = v.clone();
    if let Some(m) = out.as_object_mut() {
        m.retain(|k, _| !k.starts_with('_'));
    }
    let done = matches!(status, "succeeded" | "failed");
    out["job"] = json!({
        "id": v["_job_id"], "created_at": v["created_at"],
        "started_at": if status == "pending" { Value::Null } else { v["_starts_at"].clone() },
        "completed_at": if done { v["_done_at"].clone() } else { Value::Null },
        "status": status, "error": error.unwrap_or_default(),
        "error_code": "",
        "file_id": v["_file_id"], "tags": {"scope": "organization", "owner": ""},
        "queue_position": 0, "queue_size": 0, "organization_id": v["organization_id"],
        "type": "template_version_import", "input": {"template_version_id": v["id"]},
    });
    out
}

fn render_template(t: &Value) -> Value {
    t.clone()
}

/// Whether a tar archive holds a Terraform file at its root.
fn has_terraform(archive: &[u8]) -> Result<bool, String> {
    let mut tar = tar::Archive::new(archive);
    let entries = tar.entries().map_err(|e| format!("read archive: {e}"))?;
    let mut found = false;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("read archive: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("read archive: {e}"))?
            .to_string_lossy()
            .to_string();
        let mut sink = vec![];
        let _ = entry.read_to_end(&mut sink);
        let top = !path.trim_start_matches("./").contains('/');
        if top && (path.ends_with(".tf") || path.ends_with(".tf.json")) {
            found = true;
        }
    }
    Ok(found)
}

#[allow(clippy::too_many_arguments)]
fn route(
    db: &mut Value,
    method: &Method,
    api: &[String],
    token: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
    now: DateTime<Utc>,
    job_done: DateTime<Utc>,
    backend: &objects::CoderBackend,
) -> Response {
    let seg: Vec<&str> = api.iter().map(String::as_str).collect();
    let m = method.as_str();
    // Unauthenticated routes.
    match (m, seg.as_slice()) {
        ("GET", ["buildinfo"]) => {
            let url = backend.access_url.clone().unwrap_or_default();
            return reply(
                StatusCode::OK,
                &json!({
                    "external_url": "https://github.com/coder/coder",
                    "version": format!("{}+sandbox", backend.version),
                    "dashboard_url": url, "access_url": url, "telemetry": false,
                    "workspace_proxy": false, "agent_api_version": "2.0",
                    "upgrade_message": "", "deployment_id": db["deployment_id"],
                }),
            );
        }
        ("GET", ["users", "first"]) => {
            return if db["users"].as_array().is_some_and(|u| !u.is_empty()) {
                msg(StatusCode::OK, "The initial user has already been created!")
            } else {
                msg(
                    StatusCode::NOT_FOUND,
                    "The initial user has not been created!",
                )
            };
        }
        ("POST", ["users", "first"]) => {
            if db["users"].as_array().is_some_and(|u| !u.is_empty()) {
                return msg(
                    StatusCode::CONFLICT,
                    "The initial user has already been created.",
                );
            }
            let b = match parse(body) {
                Ok(b) => b,
                Err(r) => return *r,
            };
            let get = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let (email, username, password) = (get("email"), get("username"), get("password"));
            let mut problems = vec![];
            if !email.contains('@') {
                problems.push(json!({"field": "email", "detail": "Validation failed for tag \"email\" with value: \"\""}));
            }
            let name_ok = !username.is_empty()
                && username.len() <= 32
                && username
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !username.starts_with('-')
                && !username.ends_with('-');
            if !name_ok {
                problems.push(json!({"field": "username", "detail": "Validation failed for tag \"username\""}));
            }
            if password.len() < 8 {
                problems.push(json!({"field": "password", "detail": "Password must be at least 8 characters."}));
            }
            if !problems.is_empty() {
                return reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"message": "Validation failed.", "validations": problems}),
                );
            }
            let org = db["organizations"][0]["id"].clone();
            let id = uuid::Uuid::new_v4().to_string();
            db["users"].as_array_mut().expect("array").push(json!({
                "id": id, "username": username, "email": email, "name": get("name"),
                "created_at": ts(now), "updated_at": ts(now), "last_seen_at": ts(now),
                "status": "active", "login_type": "password", "organization_ids": [org.clone()],
                "roles": [{"name": "owner", "display_name": "Owner"}], "avatar_url": "", "theme_preference": "",
                "_password": hash_password(&password),
            }));
            return reply(
                StatusCode::CREATED,
                &json!({"user_id": id, "organization_id": org}),
            );
        }
        ("POST", ["users", "login"]) => {
            let b = match parse(body) {
                Ok(b) => b,
                Err(r) => return *r,
            };
            let email = b.get("email").and_then(Value::as_str).unwrap_or("");
            let password = b.get("password").and_then(Value::as_str).unwrap_or("");
            let user = db["users"].as_array().and_then(|us| {
                us.iter()
                    .find(|u| {
                        u["email"] == email && u["_password"] == hash_password(password).as_str()
                    })
                    .cloned()
            });
            let Some(user) = user else {
                return msg(StatusCode::UNAUTHORIZED, "Incorrect email or password.");
            };
            let token = format!(
                "{}-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..10],
                uuid::Uuid::new_v4().simple()
            );
            db["tokens"][&token] = user["id"].clone();
            return reply(StatusCode::CREATED, &json!({"session_token": token}));
        }
        ("GET", ["users", "authmethods"]) => {
            return reply(
                StatusCode::OK,
                &json!({"password": {"enabled": true}, "github": {"enabled": false}, "oidc": {"enabled": false}}),
            );
        }
        _ => {}
    }
    let Some(user) = user_of(db, token).cloned() else {
        return msg(
            StatusCode::UNAUTHORIZED,
            "You must be logged in to perform this action.",
        );
    };
    let public_user = |u: &Value| {
        let mut u = u.clone();
        if let Some(m) = u.as_object_mut() {
            m.retain(|k, _| !k.starts_with('_'));
        }
        u
    };
    match (m, seg.as_slice()) {
        ("GET", ["users", "me"]) => reply(StatusCode::OK, &public_user(&user)),
        ("GET", ["users", "me", "organizations"]) | ("GET", ["organizations"]) => {
            reply(StatusCode::OK, &db["organizations"])
        }
        ("POST", ["files"]) => {
            let ctype = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !matches!(ctype, "application/x-tar" | "application/zip") {
                return msg(
                    StatusCode::BAD_REQUEST,
                    &format!("Unsupported content type header {ctype:?}."),
                );
            }
            use sha2::Digest;
            let digest = hex_lower(&sha2::Sha256::digest(body));
            let existing = db["files"].as_object().and_then(|f| {
                f.iter()
                    .find(|(_, v)| v["hash"] == digest.as_str() && v["created_by"] == user["id"])
                    .map(|(k, _)| k.clone())
            });
            if let Some(id) = existing {
                return reply(StatusCode::OK, &json!({"hash": id}));
            }
            let id = uuid::Uuid::new_v4().to_string();
            db["files"][&id] = json!({
                "hash": digest, "created_by": user["id"], "mimetype": ctype,
                "data": base64::engine::general_purpose::STANDARD.encode(body),
            });
            reply(StatusCode::CREATED, &json!({"hash": id}))
        }
        ("GET", ["files", id]) => match db["files"].get(*id) {
            Some(f) => {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(f["data"].as_str().unwrap_or_default())
                    .unwrap_or_default();
                (StatusCode::OK, data).into_response()
            }
            None => not_found(),
        },
        ("POST", ["organizations", org, "templateversions"]) => {
            let Some(org) = org_id(db, org) else {
                return not_found();
            };
            let b = match parse(body) {
                Ok(b) => b,
                Err(r) => return *r,
            };
            if b.get("storage_method").and_then(Value::as_str) != Some("file") {
                return msg(
                    StatusCode::BAD_REQUEST,
                    "Only storage_method \"file\" is supported.",
                );
            }
            if b.get("provisioner").and_then(Value::as_str) != Some("terraform") {
                return msg(
                    StatusCode::BAD_REQUEST,
                    "Provisioner must be \"terraform\".",
                );
            }
            let file_id = b
                .get("file_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(file) = db["files"].get(&file_id) else {
                return msg(
                    StatusCode::NOT_FOUND,
                    &format!("File {file_id:?} not found."),
                );
            };
            let data = base64::engine::general_purpose::STANDARD
                .decode(file["data"].as_str().unwrap_or_default())
                .unwrap_or_default();
            let error = match has_terraform(&data) {
                Ok(true) => None,
                Ok(false) => Some("template import provision for start: recv import source: no Terraform files (*.tf, *.tf.json) found in the template archive".to_string()),
                Err(e) => Some(format!("template import provision for start: {e}")),
            };
            let template_id = b.get("template_id").cloned().unwrap_or(Value::Null);
            if let Some(t) = template_id.as_str()
                && db["templates"].get(t).is_none()
            {
                return not_found();
            }
            let id = uuid::Uuid::new_v4().to_string();
            let name = b
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| {
                    format!("v-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
                });
            let starts = now + (job_done - now) / 3;
            let v = json!({
                "id": id, "template_id": template_id, "organization_id": org, "name": name,
                "message": b.get("message").cloned().unwrap_or(json!("")),
                "created_at": ts(now), "updated_at": ts(now), "readme": "", "archived": false,
                "warnings": [], "created_by": {"id": user["id"], "username": user["username"]},
                "_job_id": uuid::Uuid::new_v4().to_string(), "_file_id": file_id,
                "_starts_at": ts(starts), "_done_at": ts(job_done), "_error": error,
            });
            db["versions"][&id] = v.clone();
            reply(StatusCode::CREATED, &render_version(&v, now))
        }
        ("GET", ["templateversions", id]) => match db["versions"].get(*id) {
            Some(v) => reply(StatusCode::OK, &render_version(v, now)),
            None => not_found(),
        },
        ("GET", ["templateversions", id, "logs"]) => match db["versions"].get(*id) {
            Some(v) => {
                let (status, error) = job_status(v, now);
                let mut logs = vec![
                    json!({"id": 1, "created_at": v["created_at"], "log_source": "provisioner_daemon", "log_level": "info", "stage": "Setting up", "output": ""}),
                ];
                if let Some(e) = error {
                    logs.push(json!({"id": 2, "created_at": v["_done_at"], "log_source": "provisioner", "log_level": "error", "stage": "Parsing template parameters", "output": e}));
                } else if status == "succeeded" {
                    logs.push(json!({"id": 2, "created_at": v["_done_at"], "log_source": "provisioner", "log_level": "info", "stage": "Detecting persistent resources", "output": "Terraform 1.9.8"}));
                }
                reply(StatusCode::OK, &json!(logs))
            }
            None => not_found(),
        },
        ("GET", ["organizations", org, "templates"]) => {
            let Some(org) = org_id(db, org) else {
                return not_found();
            };
            let list: Vec<Value> = db["templates"]
                .as_object()
                .map(|t| {
                    t.values()
                        .filter(|t| t["organization_id"] == org.as_str())
                        .map(render_template)
                        .collect()
                })
                .unwrap_or_default();
            reply(StatusCode::OK, &json!(list))
        }
        ("GET", ["organizations", org, "templates", name]) => {
            let Some(org) = org_id(db, org) else {
                return not_found();
            };
            let found = db["templates"].as_object().and_then(|t| {
                t.values()
                    .find(|t| t["organization_id"] == org.as_str() && t["name"] == *name)
                    .cloned()
            });
            match found {
                Some(t) => reply(StatusCode::OK, &render_template(&t)),
                None => not_found(),
            }
        }
        ("POST", ["organizations", org, "templates"]) => {
            let Some(org) = org_id(db, org) else {
                return not_found();
            };
            let b = match parse(body) {
                Ok(b) => b,
                Err(r) => return *r,
            };
            let name = b
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let name_ok = !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"message": "Validation failed.", "validations": [{"field": "name", "detail": "Validation failed for tag \"template_name\""}]}),
                );
            }
            let exists = db["templates"].as_object().is_some_and(|t| {
                t.values()
                    .any(|t| t["organization_id"] == org.as_str() && t["name"] == name.as_str())
            });
            if exists {
                return msg(
                    StatusCode::CONFLICT,
                    &format!("Template with name {name:?} already exists."),
                );
            }
            let vid = b
                .get("template_version_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(v) = db["versions"].get(&vid).cloned() else {
                return msg(
                    StatusCode::NOT_FOUND,
                    &format!("Template version {vid:?} not found."),
                );
            };
            match job_status(&v, now) {
                ("succeeded", _) => {}
                ("failed", _) => {
                    return msg(
                        StatusCode::BAD_REQUEST,
                        "The provided template version has failed to import. You cannot create a template from a failed version.",
                    );
                }
                _ => {
                    return msg(
                        StatusCode::BAD_REQUEST,
                        "The provided template version is still being imported. Wait for the import job to complete.",
                    );
                }
            }
            if !v["template_id"].is_null() {
                return msg(
                    StatusCode::CONFLICT,
                    "The provided template version is already attached to a template.",
                );
            }
            let id = uuid::Uuid::new_v4().to_string();
            let s = |k: &str| b.get(k).cloned().unwrap_or(json!(""));
            let t = json!({
                "id": id, "name": name, "display_name": s("display_name"), "description": s("description"),
                "icon": s("icon"), "organization_id": org, "organization_name": "coder",
                "active_version_id": vid, "provisioner": "terraform", "created_at": ts(now),
                "updated_at": ts(now), "created_by_id": user["id"], "created_by_name": user["username"],
                "active_user_count": 0, "deprecated": false, "deprecation_message": "",
                "default_ttl_ms": b.get("default_ttl_ms").cloned().unwrap_or(json!(0)),
                "activity_bump_ms": 3_600_000, "allow_user_autostart": true, "allow_user_autostop": true,
                "allow_user_cancel_workspace_jobs": true, "require_active_version": false,
            });
            db["templates"][&id] = t.clone();
            db["versions"][&vid]["template_id"] = json!(id);
            reply(StatusCode::CREATED, &t)
        }
        ("GET", ["templates", id]) => match db["templates"].get(*id) {
            Some(t) => reply(StatusCode::OK, &render_template(t)),
            None => not_found(),
        },
        ("PATCH", ["templates", id]) => {
            if db["templates"].get(*id).is_none() {
                return not_found();
            }
            let b = match parse(body) {
                Ok(b) => b,
                Err(r) => return *r,
            };
            for k in ["display_name", "description", "icon", "default_ttl_ms"] {
                if let Some(v) = b.get(k) {
                    db["templates"][*id][k] = v.clone();
                }
            }
            db["templates"][*id]["updated_at"] = json!(ts(now));
            reply(StatusCode::OK, &db["templates"][*id])
        }
        ("DELETE", ["templates", id]) => {
            let removed = db["templates"].as_object_mut().and_then(|t| t.remove(*id));
            match removed {
                Some(_) => msg(StatusCode::OK, "Template has been deleted!"),
                None => not_found(),
            }
        }
        ("GET", ["templates", id, "versions"]) => {
            if db["templates"].get(*id).is_none() {
                return not_found();
            }
            let list: Vec<Value> = db["versions"]
                .as_object()
                .map(|vs| {
                    vs.values()
                        .filter(|v| v["template_id"] == *id)
                        .map(|v| render_version(v, now))
                        .collect()
                })
                .unwrap_or_default();
            reply(StatusCode::OK, &json!(list))
        }
        ("PATCH", ["templates", id, "versions"]) => {
            if db["templates"].get(*id).is_none() {
                return not_found();
            }
            let b = match parse(body) {
                Ok(b) => b,
                Err(r) => return *r,
            };
            let vid = b
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(v) = db["versions"].get(&vid).cloned() else {
                return msg(
                    StatusCode::NOT_FOUND,
                    &format!("Template version {vid:?} not found."),
                );
            };
            if v["template_id"] != *id {
                return msg(
                    StatusCode::BAD_REQUEST,
                    "The provided template version doesn't belong to the specified template.",
                );
            }
            if job_status(&v, now).0 != "succeeded" {
                return msg(
                    StatusCode::BAD_REQUEST,
                    "The provided template version has not finished importing successfully.",
                );
            }
            db["templates"][*id]["active_version_id"] = json!(vid);
            db["templates"][*id]["updated_at"] = json!(ts(now));
            msg(StatusCode::OK, "Updated the active template version!")
        }
        _ => msg(StatusCode::NOT_FOUND, "Route not found."),
    }
}
