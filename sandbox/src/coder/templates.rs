//! Templates (reference §2–§4): create from a built version (409 on a duplicate name in the
//! organization, 400 for a version another template has), read by id or name, the 2.21 PATCH
//! that writes every field as given (omitted fields reset to their zero values; 304 when
//! nothing changes), promote a version (403 unless its job succeeded), and delete (400 while
//! workspaces use the template).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::reply::{invalid, msg, not_found, reply};
use super::{Req, org_id, rules, versions, workspaces};
use crate::wire::ts;

/// A field of `UpdateTemplateMeta` and its zero value.
type MetaField = (&'static str, fn() -> Value);

/// Fields of `UpdateTemplateMeta` with their zero values, as the 2.21 handler writes them.
const META: [MetaField; 12] = [
    ("display_name", || json!("")),
    ("description", || json!("")),
    ("icon", || json!("")),
    ("default_ttl_ms", || json!(0)),
    ("activity_bump_ms", || json!(0)),
    ("allow_user_autostart", || json!(false)),
    ("allow_user_autostop", || json!(false)),
    ("allow_user_cancel_workspace_jobs", || json!(false)),
    ("require_active_version", || json!(false)),
    ("failure_ttl_ms", || json!(0)),
    ("time_til_dormant_ms", || json!(0)),
    ("deprecation_message", || json!("")),
];

fn check_meta(b: &Value) -> Vec<(&'static str, String)> {
    let mut problems = vec![];
    if let Some(p) = b
        .get("display_name")
        .and_then(Value::as_str)
        .and_then(rules::display_name)
    {
        problems.push(("display_name", p));
    }
    if let Some(p) = b
        .get("description")
        .and_then(Value::as_str)
        .and_then(rules::description)
    {
        problems.push(("description", p));
    }
    problems
}

fn in_org<'a>(db: &'a Value, org: &str) -> impl Iterator<Item = &'a Value> {
    let org = org.to_string();
    db["templates"]
        .as_object()
        .into_iter()
        .flat_map(|t| t.values())
        .filter(move |t| t["organization_id"] == org.as_str())
}

/// `GET /organizations/{org}/templates`.
pub fn list(db: &mut Value, req: &Req) -> Response {
    let Some(org) = org_id(db, req.seg[1]) else {
        return not_found();
    };
    let list: Vec<Value> = in_org(db, &org).cloned().collect();
    reply(StatusCode::OK, &json!(list))
}

/// `GET /organizations/{org}/templates/{name}`.
pub fn by_name(db: &mut Value, req: &Req) -> Response {
    let Some(org) = org_id(db, req.seg[1]) else {
        return not_found();
    };
    match in_org(db, &org).find(|t| t["name"] == req.seg[3]) {
        Some(t) => reply(StatusCode::OK, t),
        None => not_found(),
    }
}

/// `POST /organizations/{org}/templates`.
pub fn create(db: &mut Value, req: &Req) -> Response {
    let Some(org) = org_id(db, req.seg[1]) else {
        return not_found();
    };
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let name = b["name"].as_str().unwrap_or("").to_string();
    let mut problems = check_meta(&b);
    if let Some(p) = rules::name(&name) {
        problems.insert(0, ("name", p));
    }
    if !problems.is_empty() {
        return invalid(&problems);
    }
    if in_org(db, &org).any(|t| t["name"] == name.as_str()) {
        return msg(
            StatusCode::CONFLICT,
            &format!("Template with name {name:?} already exists."),
        );
    }
    let vid = b["template_version_id"].as_str().unwrap_or("").to_string();
    let Some(v) = db["versions"].get(&vid).cloned() else {
        return msg(
            StatusCode::NOT_FOUND,
            &format!("Template version {vid:?} not found."),
        );
    };
    if !v["template_id"].is_null() {
        return msg(
            StatusCode::BAD_REQUEST,
            &format!("Template version {vid} is already part of a template."),
        );
    }
    match versions::status(db, &vid, req.now) {
        Some("succeeded") => {}
        Some("failed") => {
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
    let id = uuid::Uuid::new_v4().to_string();
    let user = req.user();
    let s = |k: &str| b.get(k).cloned().unwrap_or(json!(""));
    let or = |k: &str, d: Value| b.get(k).cloned().unwrap_or(d);
    let t = json!({
        "id": id, "name": name, "display_name": s("display_name"), "description": s("description"),
        "icon": s("icon"), "organization_id": org, "organization_name": "coder",
        "active_version_id": vid, "provisioner": "terraform", "created_at": ts(req.now),
        "updated_at": ts(req.now), "created_by_id": user["id"], "created_by_name": user["username"],
        "active_user_count": 0, "deprecated": false, "deprecation_message": "",
        "default_ttl_ms": or("default_ttl_ms", json!(0)),
        "activity_bump_ms": or("activity_bump_ms", json!(3_600_000)),
        "allow_user_autostart": or("allow_user_autostart", json!(true)),
        "allow_user_autostop": or("allow_user_autostop", json!(true)),
        "allow_user_cancel_workspace_jobs": or("allow_user_cancel_workspace_jobs", json!(true)),
        "require_active_version": or("require_active_version", json!(false)),
        "failure_ttl_ms": 0, "time_til_dormant_ms": 0,
    });
    db["templates"][&id] = t.clone();
    db["versions"][&vid]["template_id"] = json!(id);
    reply(StatusCode::CREATED, &t)
}

/// `GET /templates/{id}`.
pub fn get(db: &mut Value, req: &Req) -> Response {
    match db["templates"].get(req.seg[1]) {
        Some(t) => reply(StatusCode::OK, t),
        None => not_found(),
    }
}

/// `PATCH /templates/{id}` with 2.21 semantics.
pub fn update(db: &mut Value, req: &Req) -> Response {
    let id = req.seg[1];
    let Some(current) = db["templates"].get(id).cloned() else {
        return not_found();
    };
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut problems = check_meta(&b);
    let name = match b["name"].as_str().filter(|n| !n.is_empty()) {
        Some(n) => {
            if let Some(p) = rules::name(n) {
                problems.insert(0, ("name", p));
            }
            n.to_string()
        }
        None => current["name"].as_str().unwrap_or_default().to_string(),
    };
    if !problems.is_empty() {
        return invalid(&problems);
    }
    let mut next = current.clone();
    next["name"] = json!(name);
    for (k, zero) in META {
        next[k] = b.get(k).cloned().unwrap_or_else(zero);
    }
    if next == current {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    next["updated_at"] = json!(ts(req.now));
    db["templates"][id] = next.clone();
    reply(StatusCode::OK, &next)
}

/// `DELETE /templates/{id}`.
pub fn delete(db: &mut Value, req: &Req) -> Response {
    let id = req.seg[1];
    if db["templates"].get(id).is_none() {
        return not_found();
    }
    if workspaces::live_of_template(db, id, req.now) > 0 {
        return msg(
            StatusCode::BAD_REQUEST,
            "All workspaces must be deleted before a template can be removed.",
        );
    }
    db["templates"].as_object_mut().map(|t| t.remove(id));
    msg(StatusCode::OK, "Template has been deleted!")
}

/// `GET /templates/{id}/versions`.
pub fn list_versions(db: &mut Value, req: &Req) -> Response {
    let id = req.seg[1];
    if db["templates"].get(id).is_none() {
        return not_found();
    }
    let list: Vec<Value> = db["versions"]
        .as_object()
        .into_iter()
        .flat_map(|vs| vs.values())
        .filter(|v| v["template_id"] == id)
        .map(|v| versions::render(db, v, req.now))
        .collect();
    reply(StatusCode::OK, &json!(list))
}

/// `PATCH /templates/{id}/versions`: makes a built version the active one.
pub fn promote(db: &mut Value, req: &Req) -> Response {
    let id = req.seg[1];
    if db["templates"].get(id).is_none() {
        return not_found();
    }
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let vid = b["id"].as_str().unwrap_or("").to_string();
    let Some(v) = db["versions"].get(&vid).cloned() else {
        return msg(
            StatusCode::NOT_FOUND,
            &format!("Template version {vid:?} not found."),
        );
    };
    if v["template_id"] != id {
        return msg(
            StatusCode::BAD_REQUEST,
            "The provided template version doesn't belong to the specified template.",
        );
    }
    if versions::status(db, &vid, req.now) != Some("succeeded") {
        return msg(
            StatusCode::FORBIDDEN,
            "Only versions whose import job succeeded can be made active.",
        );
    }
    db["templates"][id]["active_version_id"] = json!(vid);
    db["templates"][id]["updated_at"] = json!(ts(req.now));
    msg(StatusCode::OK, "Updated the active template version!")
}
