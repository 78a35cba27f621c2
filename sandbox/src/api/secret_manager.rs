//! Secret Manager `secret-manager/v1beta1` (regional): secrets, their numbered versions
//! (revisions) and access to a version's data, as the official SDKs describe the API (paths,
//! fields and enums of `scaleway.secret.v1beta1` / scaleway-sdk-go `api/secret/v1beta1`).
//!
//! Rules and where they come from:
//! - a secret's versions are numbered from 1, each new one `revision = version_count + 1`; a
//!   revision in a path is a number, `latest` or `latest_enabled` (SDK docs of `revision`);
//! - `data` is base64 on the wire both ways; an optional `data_crc32` is checked against the
//!   decoded data and returned on access (SDK docs of `CreateSecretVersionRequest`);
//! - `disable_previous` disables the version that was latest (SDK docs);
//! - only an `enabled` version can be accessed; `disabled` ones can be enabled again;
//!   deleting a version schedules it for deletion (`scheduled_for_deletion`, "deleted in 7
//!   days"), `restore` brings it back (SecretVersionStatus docs, `RestoreSecretVersion`);
//! - deleting a protected secret answers 412 `precondition_failed` / `protected_resource`
//!   (observed, reference §1.6); deleting another schedules it and its versions for deletion
//!   (`deletion_requested_at`), hidden from listings unless `scheduled_for_deletion=true`, and
//!   `restore` undoes it (`ListSecretsRequest.scheduled_for_deletion`, `RestoreSecret`);
//! - secret names are unique within a project and path (`/` by default); a second create is
//!   409 `already_exists` (inferred from the by-path access `secrets-by-path`, which needs a
//!   unique match);
//! - list ordering defaults to `name_asc` (first value of `ListSecretsRequestOrderBy`).
//!
//! Not modelled: Key Manager keys (`key_id` is echoed), ephemeral expiry (policies are stored
//! and rendered, versions never expire), `browse` folders, owners (`add-owner`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::server::Shared;
use crate::store::{Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, REGIONS, check_region, check_uuid, has_tags,
    list_response, new_id, no_content, ok, patch_field, tags, ts,
};

/// Store kind of secrets (their versions live inside the record, never rendered whole).
pub const SECRET: &str = "secret_manager.secret";

/// Largest decoded payload of one version (Secret Manager's documented 64 KiB limit).
const MAX_DATA: usize = 64 * 1024;

const TYPES: &[&str] = &[
    "opaque",
    "certificate",
    "key_value",
    "basic_credentials",
    "database_credentials",
    "ssh_key",
];

const VERSION_STATUSES: &[&str] = &["enabled", "disabled", "deleted", "scheduled_for_deletion"];

pub(super) fn routes() -> Router<Shared> {
    let base = "/secret-manager/v1beta1/regions/{region}";
    Router::new()
        .route(
            &format!("{base}/secrets"),
            get(list_secrets).post(create_secret),
        )
        .route(
            &format!("{base}/secrets/{{id}}"),
            get(get_secret).patch(update_secret).delete(delete_secret),
        )
        .route(
            &format!("{base}/secrets/{{id}}/protect"),
            post(protect_secret),
        )
        .route(
            &format!("{base}/secrets/{{id}}/unprotect"),
            post(unprotect_secret),
        )
        .route(
            &format!("{base}/secrets/{{id}}/restore"),
            post(restore_secret),
        )
        .route(
            &format!("{base}/secrets/{{id}}/versions"),
            get(list_versions).post(create_version),
        )
        .route(
            &format!("{base}/secrets/{{id}}/versions/{{revision}}"),
            get(get_version)
                .patch(update_version)
                .delete(delete_version),
        )
        .route(
            &format!("{base}/secrets/{{id}}/versions/{{revision}}/access"),
            get(access_version),
        )
        .route(
            &format!("{base}/secrets/{{id}}/versions/{{revision}}/enable"),
            post(enable_version),
        )
        .route(
            &format!("{base}/secrets/{{id}}/versions/{{revision}}/disable"),
            post(disable_version),
        )
        .route(
            &format!("{base}/secrets/{{id}}/versions/{{revision}}/restore"),
            post(restore_version),
        )
        .route(
            &format!("{base}/secrets-by-path/versions/{{revision}}/access"),
            get(access_by_path),
        )
}

fn precondition(help: &str) -> ApiError {
    ApiError::raw(
        StatusCode::PRECONDITION_FAILED,
        json!({"help_message": help, "message": "precondition is not respected", "precondition": "unknown_precondition", "type": "precondition_failed"}),
    )
}

fn find<'a>(
    s: &'a Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    check_uuid("secret_id", id)?;
    s.get(SECRET, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found("secret", id))
}

fn find_mut<'a>(
    s: &'a mut Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a mut Record, ApiError> {
    find(s, region, id, now)?;
    Ok(s.get_mut(SECRET, id, now).expect("found"))
}

fn versions(rec: &Record) -> Vec<Value> {
    rec.extra["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn render_secret(rec: &Record) -> Value {
    let mut v = rec.body.clone();
    v["version_count"] = json!(versions(rec).len());
    v
}

fn render_version(rec: &Record, version: &Value) -> Value {
    let latest = version["revision"] == json!(versions(rec).len());
    json!({
        "revision": version["revision"], "secret_id": rec.id, "status": version["status"],
        "latest": latest, "region": rec.body["region"], "created_at": version["created_at"],
        "updated_at": version["updated_at"], "deleted_at": version["deleted_at"],
        "description": version["description"], "ephemeral_properties": version["ephemeral_properties"],
        "deletion_requested_at": version["deletion_requested_at"],
    })
}

/// The index of the version a path's `revision` names.
fn pick(rec: &Record, revision: &str) -> Result<usize, ApiError> {
    let all = versions(rec);
    let index = match revision {
        "latest" => all.len().checked_sub(1),
        "latest_enabled" => all.iter().rposition(|v| v["status"] == "enabled"),
        n => {
            let n: usize = n.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::invalid(
                    "revision",
                    "syntax",
                    "revision must be a positive number, `latest` or `latest_enabled`",
                )
            })?;
            (n <= all.len()).then(|| n - 1)
        }
    };
    index.ok_or_else(|| ApiError::not_found("secret_version", &format!("{}/{revision}", rec.id)))
}

fn crc32(data: &[u8]) -> u32 {
    // IEEE 802.3 polynomial, reflected (what `data_crc32` means in the SDK docs).
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn scheduled(rec: &Record) -> bool {
    !rec.body["deletion_requested_at"].is_null()
}

async fn create_secret(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = body.req_str("name")?;
    let protected = body.opt::<bool>("protected")?.unwrap_or(false);
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    let kind = body
        .opt_enum("type", TYPES)?
        .unwrap_or_else(|| "opaque".into());
    let path = body
        .opt::<String>("path")?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".into());
    if !path.starts_with('/') {
        return Err(ApiError::invalid(
            "path",
            "syntax",
            "path must start with `/`",
        ));
    }
    let description = body.opt::<String>("description")?;
    let policy = body.opt::<Value>("ephemeral_policy")?;
    let key_id = body.opt::<String>("key_id")?;
    let tags = tags(&body)?;
    ok(st.write(|s, now| {
        let taken = s.list(SECRET, now).into_iter().any(|r| {
            r.str("region") == region
                && r.str("project_id") == project
                && r.str("path") == path
                && r.str("name") == name
        });
        if taken {
            return Err(ApiError::already_exists(
                "secret",
                &name,
                "cannot have same secret name in same path",
            ));
        }
        let id = new_id();
        let rec = s.insert(
            SECRET,
            &id,
            None,
            json!({
                "id": id, "project_id": project, "name": name, "status": "ready", "tags": tags,
                "managed": false, "protected": protected, "type": kind, "path": path,
                "used_by": [], "region": region, "created_at": ts(now), "updated_at": ts(now),
                "description": description, "ephemeral_policy": policy,
                "deletion_requested_at": null, "key_id": key_id,
            }),
            &[],
        );
        rec.extra = json!({"versions": []});
        Ok(render_secret(rec))
    })?)
}

async fn get_secret(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find(s, &region, &id, now).map(render_secret))?)
}

async fn list_secrets(State(st): State<Shared>, Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, REGIONS)?;
    let wanted_tags = q.all("tags");
    let want_scheduled = q.bool("scheduled_for_deletion")?.unwrap_or(false);
    let ephemeral = q.bool("ephemeral")?;
    let items = st.read(|s, now| {
        s.list(SECRET, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .filter(|r| scheduled(r) == want_scheduled)
            .map(render_secret)
            .filter(|v| has_tags(v, &wanted_tags))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .filter(|v| q.get("name").is_none_or(|n| v["name"] == n))
            .filter(|v| q.get("path").is_none_or(|p| v["path"] == p))
            .filter(|v| q.enum_filter("type").is_none_or(|t| v["type"] == t))
            .filter(|v| ephemeral.is_none_or(|e| v["ephemeral_policy"].is_object() == e))
            .collect::<Vec<_>>()
    });
    list_response("secrets", items, &q, "name_asc")
}

async fn update_secret(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    body.opt::<Vec<String>>("tags")?;
    if let Some(p) = body.opt::<String>("path")?
        && !p.starts_with('/')
    {
        return Err(ApiError::invalid(
            "path",
            "syntax",
            "path must start with `/`",
        ));
    }
    ok(st.write(|s, now| {
        let rec = find_mut(s, &region, &id, now)?;
        for key in ["name", "tags", "description", "path", "ephemeral_policy"] {
            patch_field(rec.obj(), &body.0, key);
        }
        rec.obj().insert("updated_at".into(), json!(ts(now)));
        Ok(render_secret(rec))
    })?)
}

async fn delete_secret(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.write(|s, now| {
        let rec = find_mut(s, &region, &id, now)?;
        if rec.body["protected"] == true {
            return Err(ApiError::raw(
                StatusCode::PRECONDITION_FAILED,
                json!({"help_message": "cannot delete a protected secret", "message": "precondition is not respected", "precondition": "protected_resource", "type": "precondition_failed"}),
            ));
        }
        rec.obj()
            .insert("deletion_requested_at".into(), json!(ts(now)));
        if let Some(vs) = rec.extra["versions"].as_array_mut() {
            for v in vs.iter_mut().filter(|v| v["status"] != "deleted") {
                v["status"] = json!("scheduled_for_deletion");
                v["deletion_requested_at"] = json!(ts(now));
            }
        }
        Ok(())
    })?;
    no_content()
}

async fn restore_secret(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        let rec = find_mut(s, &region, &id, now)?;
        rec.obj()
            .insert("deletion_requested_at".into(), Value::Null);
        if let Some(vs) = rec.extra["versions"].as_array_mut() {
            for v in vs
                .iter_mut()
                .filter(|v| v["status"] == "scheduled_for_deletion")
            {
                v["status"] = json!("disabled");
                v["deletion_requested_at"] = Value::Null;
            }
        }
        Ok(render_secret(rec))
    })?)
}

async fn set_protected(st: Shared, region: String, id: String, protected: bool) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        let rec = find_mut(s, &region, &id, now)?;
        rec.obj().insert("protected".into(), json!(protected));
        rec.obj().insert("updated_at".into(), json!(ts(now)));
        Ok(render_secret(rec))
    })?)
}

async fn protect_secret(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    set_protected(st, region, id, true).await
}

async fn unprotect_secret(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    set_protected(st, region, id, false).await
}

async fn create_version(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let encoded = body.req_str("data")?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .map_err(|_| ApiError::invalid("data", "syntax", "data must be base64-encoded"))?;
    if data.len() > MAX_DATA {
        return Err(ApiError::invalid(
            "data",
            "constraint",
            format!("data must be at most {MAX_DATA} bytes"),
        ));
    }
    let crc = body.opt::<u32>("data_crc32")?;
    if let Some(c) = crc
        && c != crc32(&data)
    {
        return Err(ApiError::invalid(
            "data_crc32",
            "constraint",
            "the CRC32 of data does not match data_crc32",
        ));
    }
    let description = body.opt::<String>("description")?;
    let disable_previous = body.opt::<bool>("disable_previous")?.unwrap_or(false);
    ok(st.write(|s, now| {
        let rec = find_mut(s, &region, &id, now)?;
        if scheduled(rec) {
            return Err(precondition("the secret is scheduled for deletion"));
        }
        let vs = rec.extra["versions"].as_array_mut().expect("versions");
        if disable_previous
            && let Some(prev) = vs.last_mut()
            && prev["status"] == "enabled"
        {
            prev["status"] = json!("disabled");
            prev["updated_at"] = json!(ts(now));
        }
        let version = json!({
            "revision": vs.len() + 1, "status": "enabled", "created_at": ts(now),
            "updated_at": ts(now), "deleted_at": null, "description": description,
            "ephemeral_properties": null, "deletion_requested_at": null,
            "data": encoded, "data_crc32": crc,
        });
        vs.push(version.clone());
        rec.obj().insert("updated_at".into(), json!(ts(now)));
        Ok(render_version(rec, &version))
    })?)
}

async fn list_versions(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let statuses: Vec<String> = q
        .all("status")
        .into_iter()
        .filter(|s| !s.starts_with("unknown"))
        .collect();
    if let Some(bad) = statuses
        .iter()
        .find(|s| !VERSION_STATUSES.contains(&s.as_str()))
    {
        return Err(ApiError::invalid(
            "status",
            "constraint",
            format!("{bad} is not one of {}", VERSION_STATUSES.join(", ")),
        ));
    }
    let items = st.read(|s, now| {
        let rec = find(s, &region, &id, now)?;
        Ok::<_, ApiError>(
            versions(rec)
                .iter()
                .filter(|v| statuses.is_empty() || statuses.iter().any(|s| v["status"] == **s))
                .map(|v| render_version(rec, v))
                .collect::<Vec<_>>(),
        )
    })?;
    // Versions stay in revision order (a string sort would put 10 before 2).
    let (page, total) = q.paginate(items)?;
    ok(json!({"versions": page, "total_count": total}))
}

async fn get_version(
    State(st): State<Shared>,
    Path((region, id, revision)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| {
        let rec = find(s, &region, &id, now)?;
        let i = pick(rec, &revision)?;
        Ok::<_, ApiError>(render_version(rec, &versions(rec)[i]))
    })?)
}

/// Applies `change` to the version `revision` names and renders it.
fn change_version(
    st: &Shared,
    region: &str,
    id: &str,
    revision: &str,
    change: impl FnOnce(&mut Value, DateTime<Utc>) -> Result<(), ApiError>,
) -> Result<Value, ApiError> {
    st.write(|s, now| {
        let rec = find_mut(s, region, id, now)?;
        let i = pick(rec, revision)?;
        let vs = rec.extra["versions"].as_array_mut().expect("versions");
        change(&mut vs[i], now)?;
        vs[i]["updated_at"] = json!(ts(now));
        let v = vs[i].clone();
        Ok(render_version(rec, &v))
    })
}

async fn update_version(
    State(st): State<Shared>,
    Path((region, id, revision)): Path<(String, String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let description = body.opt::<String>("description")?;
    let properties = body.opt::<Value>("ephemeral_properties")?;
    ok(change_version(&st, &region, &id, &revision, |v, _| {
        if let Some(d) = description {
            v["description"] = json!(d);
        }
        if let Some(p) = properties {
            v["ephemeral_properties"] = p;
        }
        Ok(())
    })?)
}

fn live(v: &Value) -> Result<(), ApiError> {
    match v["status"].as_str() {
        Some("deleted") | Some("scheduled_for_deletion") => {
            Err(precondition("the secret version is deleted"))
        }
        _ => Ok(()),
    }
}

async fn enable_version(
    State(st): State<Shared>,
    Path((region, id, revision)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(change_version(&st, &region, &id, &revision, |v, _| {
        live(v)?;
        v["status"] = json!("enabled");
        Ok(())
    })?)
}

async fn disable_version(
    State(st): State<Shared>,
    Path((region, id, revision)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(change_version(&st, &region, &id, &revision, |v, _| {
        live(v)?;
        v["status"] = json!("disabled");
        Ok(())
    })?)
}

async fn delete_version(
    State(st): State<Shared>,
    Path((region, id, revision)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    change_version(&st, &region, &id, &revision, |v, now| {
        live(v)?;
        v["status"] = json!("scheduled_for_deletion");
        v["deletion_requested_at"] = json!(ts(now));
        Ok(())
    })?;
    no_content()
}

async fn restore_version(
    State(st): State<Shared>,
    Path((region, id, revision)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(change_version(&st, &region, &id, &revision, |v, _| {
        if v["status"] != "scheduled_for_deletion" {
            return Err(precondition(
                "only a version scheduled for deletion can be restored",
            ));
        }
        v["status"] = json!("disabled");
        v["deletion_requested_at"] = Value::Null;
        Ok(())
    })?)
}

fn access(rec: &Record, revision: &str) -> Result<Value, ApiError> {
    let i = pick(rec, revision)?;
    let v = &versions(rec)[i];
    if v["status"] != "enabled" {
        return Err(precondition(&format!(
            "the secret version is {}: only an enabled version can be accessed",
            v["status"].as_str().unwrap_or("unknown_status")
        )));
    }
    Ok(json!({
        "secret_id": rec.id, "revision": v["revision"], "data": v["data"],
        "data_crc32": v["data_crc32"], "type": rec.body["type"],
    }))
}

async fn access_version(
    State(st): State<Shared>,
    Path((region, id, revision)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| access(find(s, &region, &id, now)?, &revision))?)
}

async fn access_by_path(
    State(st): State<Shared>,
    Path((region, revision)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = q
        .get("secret_name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("secret_name", "required", "secret_name is required"))?
        .to_string();
    let path = q.get("secret_path").unwrap_or("/").to_string();
    let project = q
        .get("project_id")
        .map(str::to_string)
        .unwrap_or_else(|| st.project_id.clone());
    ok(st.read(|s, now| {
        let rec = s
            .list(SECRET, now)
            .into_iter()
            .find(|r| {
                r.str("region") == region
                    && r.str("project_id") == project
                    && r.str("path") == path
                    && r.str("name") == name
                    && !scheduled(r)
            })
            .ok_or_else(|| ApiError::not_found("secret", &name))?;
        access(rec, &revision)
    })?)
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_is_the_ieee_checksum() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
