//! Build info, the first user, login and logout, the session's user and its organizations
//! (reference §4, §5).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::reply::{invalid, msg, reply};
use super::{Req, rules};
use crate::wire::ts;

/// `GET /buildinfo`.
pub fn buildinfo(db: &mut Value, req: &Req) -> Response {
    let url = req.backend.access_url.clone().unwrap_or_default();
    reply(
        StatusCode::OK,
        &json!({
            "external_url": "https://github.com/coder/coder",
            "version": format!("{}+sandbox", req.backend.version),
            "dashboard_url": url, "access_url": url, "telemetry": false,
            "workspace_proxy": false, "agent_api_version": "2.0",
            "upgrade_message": "", "deployment_id": db["deployment_id"],
        }),
    )
}

fn has_users(db: &Value) -> bool {
    db["users"].as_array().is_some_and(|u| !u.is_empty())
}

/// `GET /users/first`: 200 once the first user exists, 404 before.
pub fn first_exists(db: &mut Value, _req: &Req) -> Response {
    if has_users(db) {
        msg(StatusCode::OK, "The initial user has already been created!")
    } else {
        msg(
            StatusCode::NOT_FOUND,
            "The initial user has not been created!",
        )
    }
}

fn hash_password(p: &str) -> String {
    use sha2::Digest;
    super::hex(&sha2::Sha256::digest(
        format!("coder-sandbox:{p}").as_bytes(),
    ))
}

/// `POST /users/first`: 201 once, 409 afterwards.
pub fn create_first(db: &mut Value, req: &Req) -> Response {
    if has_users(db) {
        return msg(
            StatusCode::CONFLICT,
            "The initial user has already been created.",
        );
    }
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let get = |k: &str| b[k].as_str().unwrap_or("").to_string();
    let (email, username, password) = (get("email"), get("username"), get("password"));
    let mut problems = vec![];
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        problems.push((
            "email",
            format!("Validation failed for tag \"email\" with value: {email:?}"),
        ));
    }
    if let Some(p) = rules::name(&username) {
        problems.push(("username", p));
    }
    if !problems.is_empty() {
        return invalid(&problems);
    }
    if let Some(p) = rules::password(&password) {
        return super::reply::reply(
            StatusCode::BAD_REQUEST,
            &json!({"message": "Password not strong enough!", "validations": [{"field": "password", "detail": p}]}),
        );
    }
    let org = db["organizations"][0]["id"].clone();
    let id = uuid::Uuid::new_v4().to_string();
    let now = ts(req.now);
    db["users"].as_array_mut().expect("array").push(json!({
        "id": id, "username": username, "email": email, "name": get("name"),
        "created_at": now, "updated_at": now, "last_seen_at": now,
        "status": "active", "login_type": "password", "organization_ids": [org.clone()],
        "roles": [{"name": "owner", "display_name": "Owner"}], "avatar_url": "", "theme_preference": "",
        "_password": hash_password(&password),
    }));
    reply(
        StatusCode::CREATED,
        &json!({"user_id": id, "organization_id": org}),
    )
}

/// `POST /users/login`: a session token for a known email and password.
pub fn login(db: &mut Value, req: &Req) -> Response {
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let email = b["email"].as_str().unwrap_or("");
    let password = b["password"].as_str().unwrap_or("");
    let user = db["users"].as_array().and_then(|us| {
        us.iter()
            .find(|u| u["email"] == email && u["_password"] == hash_password(password).as_str())
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
    reply(StatusCode::CREATED, &json!({"session_token": token}))
}

/// `POST /users/logout`: revokes the session token.
pub fn logout(db: &mut Value, req: &Req) -> Response {
    if let (Some(t), Some(tokens)) = (&req.token, db["tokens"].as_object_mut()) {
        tokens.remove(t);
    }
    msg(StatusCode::OK, "You've been logged out!")
}

/// `GET /users/authmethods`.
pub fn authmethods(_db: &mut Value, _req: &Req) -> Response {
    reply(
        StatusCode::OK,
        &json!({"password": {"enabled": true}, "github": {"enabled": false}, "oidc": {"enabled": false}}),
    )
}

/// The user without its private fields.
pub fn public(u: &Value) -> Value {
    let mut u = u.clone();
    if let Some(m) = u.as_object_mut() {
        m.retain(|k, _| !k.starts_with('_'));
    }
    u
}

/// `GET /users/me`.
pub fn me(_db: &mut Value, req: &Req) -> Response {
    reply(StatusCode::OK, &public(req.user()))
}

/// `GET /users/me/organizations`: the user's organizations, sorted by name as Coder lists them.
pub fn my_organizations(db: &mut Value, req: &Req) -> Response {
    let mine = req.user()["organization_ids"].clone();
    let mut list: Vec<Value> = db["organizations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| mine.as_array().is_some_and(|m| m.contains(&o["id"])))
        .cloned()
        .collect();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    reply(StatusCode::OK, &json!(list))
}

/// `POST /organizations`: a further organization, its creator a member.
pub fn create_organization(db: &mut Value, req: &Req) -> Response {
    let b = match req.json() {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let name = b["name"].as_str().unwrap_or("").to_string();
    if let Some(p) = rules::name(&name) {
        return invalid(&[("name", p)]);
    }
    if db["organizations"]
        .as_array()
        .is_some_and(|o| o.iter().any(|o| o["name"] == name.as_str()))
    {
        return msg(
            StatusCode::CONFLICT,
            "Organization already exists with that name.",
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = ts(req.now);
    let org = json!({"id": id, "name": name, "display_name": b["display_name"].as_str().unwrap_or(&name),
        "is_default": false, "created_at": now, "updated_at": now, "description": "", "icon": ""});
    db["organizations"]
        .as_array_mut()
        .expect("array")
        .push(org.clone());
    let uid = req.user()["id"].clone();
    if let Some(u) = db["users"]
        .as_array_mut()
        .and_then(|us| us.iter_mut().find(|u| u["id"] == uid))
    {
        u["organization_ids"]
            .as_array_mut()
            .expect("array")
            .push(json!(id));
    }
    reply(StatusCode::CREATED, &org)
}
