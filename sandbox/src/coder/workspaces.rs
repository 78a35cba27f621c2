//! Workspaces (reference §4): created for a user from a template
//! (`POST /organizations/{org}/members/{user}/workspaces` or `POST /users/{user}/workspaces`),
//! listed with `GET /workspaces?q=template:NAME owner:NAME name:NAME`, and changed only by
//! builds (`POST /workspaces/{id}/builds {transition, orphan}`) that run on the provisioner
//! daemons like template imports. A workspace is gone once its `delete` build succeeded.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::jobs::{self, Outcome};
use super::reply::{invalid, msg, not_found, reply};
use super::{Req, org_id, rules};
use crate::wire::ts;

fn latest_build<'a>(db: &'a Value, w: &Value) -> &'a Value {
    &db["builds"][w["_latest_build"].as_str().unwrap_or_default()]
}

/// Whether workspace `w` was deleted by a succeeded `delete` build.
fn deleted(db: &Value, w: &Value, now: DateTime<Utc>) -> bool {
    let b = latest_build(db, w);
    b["transition"] == "delete"
        && jobs::status(&db["jobs"][b["_job_id"].as_str().unwrap_or_default()], now) == "succeeded"
}

/// How many workspaces of template `id` still exist.
pub fn live_of_template(db: &Value, id: &str, now: DateTime<Utc>) -> usize {
    db["workspaces"]
        .as_object()
        .into_iter()
        .flat_map(|w| w.values())
        .filter(|w| w["template_id"] == id && !deleted(db, w, now))
        .count()
}

fn render_build(db: &Value, b: &Value, now: DateTime<Utc>) -> Value {
    let job_id = b["_job_id"].as_str().unwrap_or_default();
    let mut out = b.clone();
    if let Some(m) = out.as_object_mut() {
        m.retain(|k, _| !k.starts_with('_'));
    }
    let job = jobs::render(db, job_id, now);
    out["status"] = json!(match (b["transition"].as_str(), job["status"].as_str()) {
        (_, Some("pending")) => "pending",
        (Some("delete"), Some("running")) => "deleting",
        (Some("delete"), Some("succeeded")) => "deleted",
        (Some("stop"), Some("running")) => "stopping",
        (Some("stop"), Some("succeeded")) => "stopped",
        (_, Some("running")) => "starting",
        (_, Some("succeeded")) => "running",
        (_, Some("failed")) => "failed",
        _ => "pending",
    });
    out["job"] = job;
    out
}

fn render(db: &Value, w: &Value, now: DateTime<Utc>) -> Value {
    let mut out = w.clone();
    if let Some(m) = out.as_object_mut() {
        m.retain(|k, _| !k.starts_with('_'));
    }
    out["latest_build"] = render_build(db, latest_build(db, w), now);
    out["deleted"] = json!(deleted(db, w, now));
    out
}

fn build(
    db: &mut Value,
    req: &Req,
    workspace: &str,
    transition: &str,
    version: &Value,
    number: u64,
) -> String {
    let job = jobs::enqueue(
        db,
        "workspace_build",
        json!({}),
        Outcome::Succeeded,
        req.build,
        req.now,
    );
    let id = uuid::Uuid::new_v4().to_string();
    let user = req.user();
    db["builds"][&id] = json!({
        "id": id, "workspace_id": workspace, "build_number": number,
        "transition": transition, "template_version_id": version,
        "initiator_id": user["id"], "initiator_name": user["username"],
        "created_at": ts(req.now), "updated_at": ts(req.now), "_job_id": job,
    });
    db["workspaces"][workspace]["_latest_build"] = json!(id);
    id
}

fn find_user(db: &Value, given: &str, me: &Value) -> Option<Value> {
    if given == "me" {
        return Some(me.clone());
    }
    db["users"]
        .as_array()?
        .iter()
        .find(|u| u["id"] == given || u["username"] == given)
        .cloned()
}

/// `POST /organizations/{org}/members/{user}/workspaces` and `POST /users/{user}/workspaces`.
pub fn create(db: &mut Value, req: &Req) -> Response {
    let (org_given, user_given) = match req.seg.as_slice() {
        ["organizations", org, "members", user, "workspaces"] => (Some(*org), *user),
        [_, user, _] => (None, *user),
        _ => return not_found(),
    };
    let Some(owner) = find_user(db, user_given, req.user()) else {
        return not_found();
    };
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let name = b["name"].as_str().unwrap_or("").to_string();
    if let Some(p) = rules::name(&name) {
        return invalid(&[("name", p)]);
    }
    let template = match (b["template_id"].as_str(), b["template_version_id"].as_str()) {
        (Some(t), _) => db["templates"].get(t).cloned(),
        (None, Some(v)) => db["versions"]
            .get(v)
            .and_then(|v| v["template_id"].as_str())
            .and_then(|t| db["templates"].get(t))
            .cloned(),
        _ => None,
    };
    let Some(template) = template else {
        return invalid(&[(
            "template_id",
            "Template does not exist or you do not have access to it.".into(),
        )]);
    };
    if let Some(o) = org_given
        && org_id(db, o).as_deref() != template["organization_id"].as_str()
    {
        return not_found();
    }
    let taken = db["workspaces"].as_object().is_some_and(|ws| {
        ws.values().any(|w| {
            w["owner_id"] == owner["id"] && w["name"] == name.as_str() && !deleted(db, w, req.now)
        })
    });
    if taken {
        return msg(
            StatusCode::CONFLICT,
            &format!("Workspace {name:?} already exists."),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let version = b
        .get("template_version_id")
        .cloned()
        .unwrap_or_else(|| template["active_version_id"].clone());
    db["workspaces"][&id] = json!({
        "id": id, "name": name, "owner_id": owner["id"], "owner_name": owner["username"],
        "organization_id": template["organization_id"], "template_id": template["id"],
        "template_name": template["name"], "template_display_name": template["display_name"],
        "created_at": ts(req.now), "updated_at": ts(req.now),
        "ttl_ms": b.get("ttl_ms").cloned().unwrap_or(Value::Null),
        "automatic_updates": "never", "outdated": false,
    });
    build(db, req, &id, "start", &version, 1);
    let w = db["workspaces"][&id].clone();
    reply(StatusCode::CREATED, &render(db, &w, req.now))
}

/// `GET /workspaces?q=...`: `template:`, `owner:` and `name:` filters, deleted ones left out.
pub fn list(db: &mut Value, req: &Req) -> Response {
    let q = req.query("q").unwrap_or_default();
    let filters: Vec<(&str, &str)> = q
        .split_whitespace()
        .filter_map(|f| f.split_once(':'))
        .collect();
    let list: Vec<Value> = db["workspaces"]
        .as_object()
        .into_iter()
        .flat_map(|w| w.values())
        .filter(|w| !deleted(db, w, req.now))
        .filter(|w| {
            filters.iter().all(|(k, v)| match *k {
                "template" => w["template_name"] == *v,
                "owner" => {
                    w["owner_name"] == *v || (*v == "me" && w["owner_id"] == req.user()["id"])
                }
                "name" => w["name"].as_str().is_some_and(|n| n.contains(v)),
                _ => true,
            })
        })
        .map(|w| render(db, w, req.now))
        .collect();
    reply(
        StatusCode::OK,
        &json!({"workspaces": list, "count": list.len()}),
    )
}

/// `GET /workspaces/{id}`: 410 once deleted.
pub fn get(db: &mut Value, req: &Req) -> Response {
    let Some(w) = db["workspaces"].get(req.seg[1]) else {
        return not_found();
    };
    if deleted(db, w, req.now) {
        return msg(
            StatusCode::GONE,
            &format!("Workspace {:?} was deleted.", req.seg[1]),
        );
    }
    reply(StatusCode::OK, &render(db, w, req.now))
}

/// `POST /workspaces/{id}/builds {transition, orphan}`.
pub fn create_build(db: &mut Value, req: &Req) -> Response {
    let id = req.seg[1].to_string();
    let Some(w) = db["workspaces"].get(&id).cloned() else {
        return not_found();
    };
    if deleted(db, &w, req.now) {
        return msg(StatusCode::GONE, &format!("Workspace {id:?} was deleted."));
    }
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let transition = b["transition"].as_str().unwrap_or("");
    if !matches!(transition, "start" | "stop" | "delete") {
        return invalid(&[(
            "transition",
            format!("Validation failed for tag \"oneof\" with value: {transition:?}"),
        )]);
    }
    let last = latest_build(db, &w).clone();
    let busy = matches!(
        jobs::status(
            &db["jobs"][last["_job_id"].as_str().unwrap_or_default()],
            req.now
        ),
        "pending" | "running"
    );
    if busy && b["orphan"] != true {
        return msg(StatusCode::CONFLICT, "A workspace build is already active.");
    }
    let number = last["build_number"].as_u64().unwrap_or(0) + 1;
    let version = last["template_version_id"].clone();
    let bid = build(db, req, &id, transition, &version, number);
    let built = db["builds"][&bid].clone();
    reply(StatusCode::CREATED, &render_build(db, &built, req.now))
}
