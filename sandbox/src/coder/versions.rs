//! Template versions (reference §2): creating one queues an import job on the provisioner
//! daemons; the job fails when the archive holds no Terraform file at its root or a Terraform
//! file carries a `kapstan-sandbox: fail=<cause>` comment (short `job.error`, the cause in the
//! logs), and ends `unknown` for a `kapstan-sandbox: status=unknown` comment. Jobs whose tags
//! no daemon has stay `pending` with no matched provisioner.

use std::io::Read;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::jobs::{self, Outcome};
use super::reply::{msg, not_found, reply};
use super::{Req, files, org_id};
use crate::wire::ts;

/// What the archive's Terraform files ask of the import job.
fn outcome_of(archive: &[u8]) -> Outcome {
    let mut tar = tar::Archive::new(archive);
    let Ok(entries) = tar.entries() else {
        return failed(vec!["Error: read template archive: not a tar file".into()]);
    };
    let mut found = false;
    let mut outcome = Outcome::Succeeded;
    for entry in entries {
        let Ok(mut entry) = entry else {
            return failed(vec!["Error: read template archive: corrupt entry".into()]);
        };
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut text = String::new();
        let _ = entry.read_to_string(&mut text);
        let top = !path.trim_start_matches("./").contains('/');
        if top && (path.ends_with(".tf") || path.ends_with(".tf.json")) {
            found = true;
            for line in text.lines() {
                if let Some(m) = line.split("kapstan-sandbox:").nth(1) {
                    let m = m.trim();
                    if let Some(cause) = m.strip_prefix("fail=") {
                        outcome = failed(vec![
                            format!("Error: {cause}"),
                            format!("  on {path} line 1:"),
                        ]);
                    } else if m == "status=unknown" {
                        outcome = Outcome::Unknown;
                    }
                }
            }
        }
    }
    if !found {
        return failed(vec![
            "Error: No configuration files".into(),
            "no Terraform files (*.tf, *.tf.json) found in the template archive".into(),
        ]);
    }
    outcome
}

fn failed(cause: Vec<String>) -> Outcome {
    Outcome::Failed {
        error: "terraform plan: exit status 1".into(),
        cause,
    }
}

/// The version as the API shows it, with its job and matched provisioners.
pub fn render(db: &Value, v: &Value, now: chrono::DateTime<chrono::Utc>) -> Value {
    let job_id = v["_job_id"].as_str().unwrap_or_default();
    let mut out = v.clone();
    if let Some(m) = out.as_object_mut() {
        m.retain(|k, _| !k.starts_with('_'));
    }
    let mut job = jobs::render(db, job_id, now);
    job["file_id"] = v["_file_id"].clone();
    job["organization_id"] = v["organization_id"].clone();
    job["input"] = json!({"template_version_id": v["id"]});
    out["job"] = job;
    let count = jobs::matched(db, &db["jobs"][job_id]["tags"]);
    out["matched_provisioners"] = json!({"count": count, "available": count,
        "most_recently_seen": if count > 0 { json!(ts(now)) } else { Value::Null }});
    out
}

/// `POST /organizations/{org}/templateversions`.
pub fn create(db: &mut Value, req: &Req) -> Response {
    let Some(org) = org_id(db, req.seg[1]) else {
        return not_found();
    };
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if b["storage_method"].as_str() != Some("file") {
        return msg(
            StatusCode::BAD_REQUEST,
            "Only storage_method \"file\" is supported.",
        );
    }
    if b["provisioner"].as_str() != Some("terraform") {
        return msg(
            StatusCode::BAD_REQUEST,
            "Provisioner must be \"terraform\".",
        );
    }
    let file_id = b["file_id"].as_str().unwrap_or("").to_string();
    let Some(data) = files::bytes(db, &file_id) else {
        return msg(
            StatusCode::NOT_FOUND,
            &format!("File {file_id:?} not found."),
        );
    };
    let template_id = b["template_id"].clone();
    if let Some(t) = template_id.as_str()
        && db["templates"].get(t).is_none()
    {
        return not_found();
    }
    let outcome = outcome_of(&data);
    let job = jobs::enqueue(
        db,
        "template_version_import",
        b["tags"].clone(),
        outcome,
        req.build,
        req.now,
    );
    let id = uuid::Uuid::new_v4().to_string();
    let name = b["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("v-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
    let user = req.user();
    let v = json!({
        "id": id, "template_id": template_id, "organization_id": org, "name": name,
        "message": b.get("message").cloned().unwrap_or(json!("")),
        "created_at": ts(req.now), "updated_at": ts(req.now), "readme": "", "archived": false,
        "warnings": [], "created_by": {"id": user["id"], "username": user["username"]},
        "_job_id": job, "_file_id": file_id,
    });
    db["versions"][&id] = v.clone();
    reply(StatusCode::CREATED, &render(db, &v, req.now))
}

/// `GET /templateversions/{id}`.
pub fn get(db: &mut Value, req: &Req) -> Response {
    match db["versions"].get(req.seg[1]) {
        Some(v) => reply(StatusCode::OK, &render(db, v, req.now)),
        None => not_found(),
    }
}

/// `GET /templateversions/{id}/logs` (`?after=N`): the job's log lines so far.
pub fn logs(db: &mut Value, req: &Req) -> Response {
    let Some(v) = db["versions"].get(req.seg[1]) else {
        return not_found();
    };
    let after = req.query("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let job = &db["jobs"][v["_job_id"].as_str().unwrap_or_default()];
    reply(StatusCode::OK, &json!(jobs::logs(job, req.now, after)))
}

/// The status of version `id`'s import job.
pub fn status(db: &Value, id: &str, now: chrono::DateTime<chrono::Utc>) -> Option<&'static str> {
    let v = db["versions"].get(id)?;
    Some(jobs::status(
        &db["jobs"][v["_job_id"].as_str().unwrap_or_default()],
        now,
    ))
}
