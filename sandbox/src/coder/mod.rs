//! A Coder API emulator for every Coder Deployment that becomes available, served on the
//! loopback endpoint of the load balancer in front of it, as strict as a Coder 2.21 server
//! (`reference/coder-api-real.md`): rate limits ([`limits`]), provisioner daemons and a job
//! queue with logs ([`jobs`]), name and password rules ([`rules`]), files, template versions,
//! templates with the 2.21 PATCH semantics, workspaces and their builds, and faults injected
//! like the Scaleway ones. Written from the reference, never from any client.
//!
//! The Helm chart repository serving the Coder-like chart lives in [`charts`].

pub mod charts;
mod files;
mod jobs;
mod limits;
mod options;
mod reply;
mod rules;
mod templates;
pub mod tls;
mod users;
mod versions;
mod workspaces;

pub use options::CoderOptions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::RngExt;
use serde_json::{Value, json};

use crate::kube::objects::{self, OBJECT};
use crate::server::AppState;
use crate::store::{Parent, Store};
use crate::wire::ts;
use reply::msg;

/// Store kind of a Coder deployment's database (users, files, templates, jobs, workspaces).
pub const INSTANCE: &str = "coder.instance";

#[derive(Clone)]
struct Ctx {
    app: Weak<AppState>,
    lb_id: String,
    limits: Arc<Mutex<limits::Limiter>>,
    /// The request came through Coder's TLS listener.
    over_tls: bool,
}

fn router(ctx: Ctx) -> Router {
    Router::new()
        .fallback(handle)
        // Coder reads at most 100 MiB of an upload; a larger body must reach the handler.
        .layer(DefaultBodyLimit::max(files::MAX_UPLOAD + (1 << 20)))
        .with_state(ctx)
}

/// Serves the Coder API for load balancer `lb_id` on `listener` (its port 80 frontend) and
/// on `tls_listener` (its port 443 frontend, passed through to Coder's TLS listener) until
/// the sandbox stops.
pub fn serve_endpoint(
    listener: tokio::net::TcpListener,
    tls_listener: tokio::net::TcpListener,
    app: Weak<AppState>,
    lb_id: String,
) {
    let watch = app.clone();
    let ctx = Ctx {
        app: app.clone(),
        lb_id: lb_id.clone(),
        limits: Arc::default(),
        over_tls: false,
    };
    tls::serve_tls_endpoint(
        tls_listener,
        app,
        lb_id,
        router(Ctx {
            over_tls: true,
            ..ctx.clone()
        }),
    );
    let router = router(ctx);
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

/// One API request, as the handlers see it.
pub struct Req<'a> {
    /// Path segments after `/api/v2`.
    pub seg: Vec<&'a str>,
    query: HashMap<String, String>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Request body.
    pub body: &'a Bytes,
    /// The clock.
    pub now: DateTime<Utc>,
    /// How long one provisioner job runs, at the sandbox's speed.
    pub build: chrono::Duration,
    /// The Deployment behind the endpoint.
    pub backend: &'a objects::CoderBackend,
    /// The session token sent.
    pub token: Option<String>,
    user: Option<Value>,
}

impl Req<'_> {
    /// The logged-in user (handlers behind authentication only).
    pub fn user(&self) -> &Value {
        self.user.as_ref().unwrap_or(&Value::Null)
    }

    /// A query parameter.
    pub fn query(&self, key: &str) -> Option<String> {
        self.query.get(key).cloned()
    }

    /// The JSON object body, or Coder's 400.
    pub fn json(&self) -> Result<Value, Box<Response>> {
        serde_json::from_slice::<Value>(self.body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                Box::new(msg(
                    StatusCode::BAD_REQUEST,
                    "Request body must be valid JSON.",
                ))
            })
    }
}

type Handler = fn(&mut Value, &Req) -> Response;

/// The route table: `(method, path pattern, needs a session, handler)`; `*` matches a segment.
const ROUTES: &[(&str, &str, bool, Handler)] = &[
    ("GET", "buildinfo", false, users::buildinfo),
    ("GET", "users/first", false, users::first_exists),
    ("POST", "users/first", false, users::create_first),
    ("POST", "users/login", false, users::login),
    ("GET", "users/authmethods", false, users::authmethods),
    ("POST", "users/logout", true, users::logout),
    ("GET", "users/me", true, users::me),
    (
        "GET",
        "users/me/organizations",
        true,
        users::my_organizations,
    ),
    ("GET", "organizations", true, users::my_organizations),
    ("POST", "organizations", true, users::create_organization),
    ("POST", "files", true, files::upload),
    ("GET", "files/*", true, files::download),
    (
        "POST",
        "organizations/*/templateversions",
        true,
        versions::create,
    ),
    ("GET", "templateversions/*", true, versions::get),
    ("GET", "templateversions/*/logs", true, versions::logs),
    ("GET", "organizations/*/templates", true, templates::list),
    ("POST", "organizations/*/templates", true, templates::create),
    (
        "GET",
        "organizations/*/templates/*",
        true,
        templates::by_name,
    ),
    ("GET", "templates/*", true, templates::get),
    ("PATCH", "templates/*", true, templates::update),
    ("DELETE", "templates/*", true, templates::delete),
    (
        "GET",
        "templates/*/versions",
        true,
        templates::list_versions,
    ),
    ("PATCH", "templates/*/versions", true, templates::promote),
    (
        "POST",
        "organizations/*/members/*/workspaces",
        true,
        workspaces::create,
    ),
    ("POST", "users/*/workspaces", true, workspaces::create),
    ("GET", "workspaces", true, workspaces::list),
    ("GET", "workspaces/*", true, workspaces::get),
    (
        "POST",
        "workspaces/*/builds",
        true,
        workspaces::create_build,
    ),
];

fn route(method: &str, seg: &[&str]) -> Option<(bool, Handler)> {
    ROUTES.iter().find_map(|(m, pattern, auth, h)| {
        let parts: Vec<&str> = pattern.split('/').collect();
        let fits = *m == method
            && parts.len() == seg.len()
            && parts.iter().zip(seg).all(|(p, s)| *p == "*" || p == s);
        fits.then_some((*auth, *h))
    })
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
    let backend = match app.read(|s, now| objects::coder_backend(s, &ctx.lb_id, now)) {
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
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if let Some(redirect) =
        app.read(|s, now| tls::redirect(s, now, &backend.deployment_key, ctx.over_tls, host, &path))
    {
        return redirect;
    }
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
    let Some((needs_session, handler)) = route(method.as_str(), api) else {
        return msg(StatusCode::NOT_FOUND, "Route not found.");
    };
    let opts = &app.coder;
    let mutation = method != Method::GET && method != Method::HEAD;
    if let Some(resp) = injected_fault(&opts.faults).await {
        return resp;
    }
    let token = headers
        .get("coder-session-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let window = if opts.rate_windows_follow_speed {
        Duration::from_secs_f64(60.0 / app.speed)
    } else {
        Duration::from_secs(60)
    };
    let build = chrono::Duration::from_std(opts.build_time.div_f64(app.speed))
        .unwrap_or_else(|_| chrono::Duration::seconds(6));
    let lose = mutation && rand::rng().random::<f64>() < opts.faults.lost;
    let call = ApiCall {
        req: Req {
            seg: api.to_vec(),
            query,
            headers: &headers,
            body: &body,
            now: Utc::now(),
            build,
            backend: &backend,
            token,
            user: None,
        },
        method: method.as_str(),
        path: &path,
        window,
        needs_session,
        handler,
    };
    let result = app.write(|s, now| Ok(serve_api(s, now, &ctx, opts, call)));
    let resp = result.unwrap_or_else(|_| msg(StatusCode::INTERNAL_SERVER_ERROR, "internal error"));
    if lose {
        // The change is made; the connection breaks before the client reads an answer.
        tracing::debug!("coder fault: severing the response to a mutation");
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, axum::body::Body::new(Severed));
    }
    resp
}

/// An API request routed to its handler, waiting for the store.
struct ApiCall<'a> {
    req: Req<'a>,
    method: &'a str,
    path: &'a str,
    /// The rate limits' window, at the sandbox's speed when asked.
    window: Duration,
    needs_session: bool,
    handler: Handler,
}

/// Runs `call` against its Coder instance: the daemons, the caller's identity, the rate
/// limits, the session check, then the handler.
fn serve_api(
    s: &mut Store,
    now: DateTime<Utc>,
    ctx: &Ctx,
    opts: &CoderOptions,
    call: ApiCall<'_>,
) -> Response {
    let ApiCall {
        mut req,
        method,
        path,
        window,
        needs_session,
        handler,
    } = call;
    let key = req.backend.deployment_key.clone();
    ensure_instance(s, &key, now);
    let inst = s.get_mut(INSTANCE, &key, now).expect("ensured");
    let db = &mut inst.body;
    jobs::ensure_daemons(db, opts.provisioner_daemons, now);
    req.now = now;
    req.user = req.token.as_deref().and_then(|t| user_of(db, t)).cloned();
    let who = req
        .user
        .as_ref()
        .and_then(|u| u["id"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| "ip:127.0.0.1".into());
    let mut limiter = ctx.limits.lock().unwrap_or_else(|p| p.into_inner());
    let verdict = match rate_limited(&mut limiter, opts, &who, method, path, window) {
        Ok(v) => v,
        Err(r) => {
            // Counted so that tests (and `/sandbox/v1/resources`) can see who was refused.
            let n = db["rate_limited"][path].as_u64().unwrap_or(0);
            db["rate_limited"][path] = json!(n + 1);
            return *r;
        }
    };
    if needs_session && req.user.is_none() {
        return msg(
            StatusCode::UNAUTHORIZED,
            "You must be logged in to perform this action.",
        );
    }
    let mut resp = handler(db, &req);
    if let Some(v) = verdict {
        rate_headers(&mut resp, &v);
    }
    resp
}

/// A body that fails at once, so the connection closes before a reply can be read.
struct Severed;

impl hyper::body::Body for Severed {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other("response lost"))))
    }
}

/// The 429 or 5xx the fault specification draws for this request, if any.
async fn injected_fault(f: &crate::options::FaultSpec) -> Option<Response> {
    if f.is_empty() {
        return None;
    }
    if !f.latency.is_zero() {
        tokio::time::sleep(f.latency).await;
    }
    let draw: f64 = rand::rng().random();
    let mut threshold = f.rate_limited;
    if draw < threshold {
        let mut r = msg(
            StatusCode::TOO_MANY_REQUESTS,
            "You've been rate limited for sending too many requests!",
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return Some(r);
    }
    for (code, p) in &f.server_errors {
        threshold += p;
        if draw < threshold {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_GATEWAY);
            return Some(msg(status, "An internal server error occurred."));
        }
    }
    None
}

/// Counts the request against Coder's limits: the 429 when one is exceeded, else the tightest
/// window (whose `X-RateLimit-*` headers the answer carries, as the rate limiter sets them).
fn rate_limited(
    limiter: &mut limits::Limiter,
    opts: &CoderOptions,
    who: &str,
    method: &str,
    path: &str,
    window: Duration,
) -> Result<Option<limits::Verdict>, Box<Response>> {
    let mut checks = vec![];
    if opts.api_rate_limit > 0 {
        checks.push((format!("api:{who}:{path}"), opts.api_rate_limit));
    }
    match (method, path) {
        ("POST", "/api/v2/files") => {
            checks.push((format!("files:{who}"), limits::FILES_PER_MINUTE))
        }
        ("POST", "/api/v2/users/login") => {
            checks.push(("login:ip:127.0.0.1".into(), limits::LOGINS_PER_MINUTE))
        }
        _ => {}
    }
    let mut tightest: Option<limits::Verdict> = None;
    for (key, limit) in checks {
        let v = limiter.check(&key, limit, window);
        if v.refused {
            let mut r = msg(
                StatusCode::TOO_MANY_REQUESTS,
                "You've been rate limited for sending too many requests!",
            );
            rate_headers(&mut r, &v);
            // As go-chi/httprate (Coder's rate limiter) does: the window's length, RFC 6585.
            let secs = window.as_secs_f64().ceil().max(1.0) as u64;
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
            return Err(Box::new(r));
        }
        if tightest.is_none_or(|t| v.remaining < t.remaining) {
            tightest = Some(v);
        }
    }
    Ok(tightest)
}

fn rate_headers(r: &mut Response, v: &limits::Verdict) {
    let reset = Utc::now() + chrono::Duration::from_std(v.reset_in).unwrap_or_default();
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(v.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(v.remaining));
    // Seconds since the epoch, with milliseconds (rounded up, never early), so that windows
    // scaled by the speed factor stay readable.
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{:.3}",
        (reset.timestamp_millis() + 1) as f64 / 1000.0
    )) {
        h.insert("x-ratelimit-reset", value);
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
            "jobs": {}, "workspaces": {}, "builds": {}, "daemons": [], "rate_limited": {},
        }),
        &[],
    );
}

/// Lower-case hex of `b`.
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn user_of<'a>(db: &'a Value, token: &str) -> Option<&'a Value> {
    let id = db["tokens"].get(token)?.as_str()?;
    db["users"].as_array()?.iter().find(|u| u["id"] == id)
}

/// The id of organization `given` (id, name, or `default`).
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
