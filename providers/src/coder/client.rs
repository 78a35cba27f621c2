//! A small client for the Coder REST API (`/api/v2`) that survives a real server's limits:
//! every call honours 429 and `Retry-After`; idempotent calls (GET, PATCH, DELETE, and the
//! content-addressed file upload) are retried with jittered exponential backoff on 5xx and
//! transport failures, other POSTs only when the server provably did not act; a 401 on a
//! logged-in client logs in again once; uploads share a budget learned from the server's
//! `X-RateLimit-*` headers (12 a minute without them). Errors carry Coder's message, never a
//! password or token.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backon::ExponentialBuilder;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A Coder API failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CoderError {
    /// Nothing answered at the URL before the deadline.
    #[error("Coder at {url} did not answer within {}s ({last})", .after.as_secs())]
    Unreachable {
        /// The access URL.
        url: String,
        /// The deadline.
        after: Duration,
        /// The last failure seen.
        last: String,
    },
    /// The API refused.
    #[error("Coder API {method} {path} returned {status}: {message}")]
    Api {
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// HTTP status.
        status: u16,
        /// Coder's message.
        message: String,
    },
    /// Transport failure on a call.
    #[error("Coder API {path}: {message}")]
    Transport {
        /// Path.
        path: String,
        /// What failed.
        message: String,
    },
}

impl CoderError {
    /// The HTTP status of an API refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            CoderError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Uploads Coder accepts per user and minute when it does not say otherwise.
pub const UPLOADS_PER_MINUTE: usize = 12;

/// Extra wait past a rate-limit window's reset, for clock granularity.
const RESET_MARGIN: Duration = Duration::from_millis(50);

/// How a call may be repeated after a failure.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Repeat {
    /// Repeating has the same effect as sending once.
    Idempotent,
    /// Only when the server provably did not act (429, connection never made).
    IfNotProcessed,
}

enum Body {
    None,
    Json(Value),
    Tar(Vec<u8>),
}

/// The upload budget of one user on one deployment, shared by every clone of a client.
#[derive(Debug, Default)]
struct UploadBudget {
    /// Server-reported remaining uploads and when the window frees up.
    server: Option<(u32, Instant)>,
    /// Local record of recent uploads, for servers that send no headers.
    sent: VecDeque<Instant>,
}

impl UploadBudget {
    /// How long to wait before the next upload may go out.
    fn wait(&mut self, window: Duration) -> Duration {
        let now = Instant::now();
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.sent.pop_front();
        }
        match self.server {
            // A little after the reset: a request that arrives early is refused, and a refusal
            // costs a whole window (`Retry-After`).
            Some((0, reset)) if reset > now => reset - now + RESET_MARGIN,
            Some((n, _)) if n > 0 => Duration::ZERO,
            _ if self.sent.len() >= UPLOADS_PER_MINUTE => self
                .sent
                .front()
                .map(|t| window.saturating_sub(now.duration_since(*t)))
                .unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }

    fn observe(&mut self, headers: &HeaderMap, retry_after: Option<Duration>) {
        let now = Instant::now();
        self.sent.push_back(now);
        let remaining = header_f64(headers, "x-ratelimit-remaining").map(|r| r as u32);
        let reset = header_f64(headers, "x-ratelimit-reset").map(|epoch| {
            let now_epoch = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            now + Duration::from_secs_f64((epoch - now_epoch).clamp(0.0, 120.0))
        });
        self.server = match (remaining, reset, retry_after) {
            (_, _, Some(after)) => Some((0, now + after)),
            (Some(r), Some(at), None) => Some((r, at)),
            _ => None,
        };
    }
}

/// What a lookup after an ambiguous create found.
enum Found {
    /// The object the create made.
    Created(Value),
    /// Another object in its place: the create is not repeated.
    Other,
    /// Nothing: the create is sent again.
    Nothing,
}

/// A failure after which the server may or may not have acted.
pub(crate) fn is_ambiguous(e: &CoderError) -> bool {
    match e {
        CoderError::Transport { .. } => true,
        CoderError::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
        CoderError::Unreachable { .. } => false,
    }
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` in seconds, capped at two minutes.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_f64(headers, "retry-after")
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(120.0)))
}

#[derive(Clone)]
struct Credentials {
    email: String,
    password: String,
}

/// A Coder API client, optionally logged in. Clones share the session token and the upload
/// budget.
#[derive(Clone)]
pub struct CoderClient {
    http: reqwest::Client,
    url: String,
    token: Arc<Mutex<Option<String>>>,
    credentials: Arc<Mutex<Option<Credentials>>>,
    uploads: Arc<tokio::sync::Mutex<UploadBudget>>,
    upload_window: Duration,
    max_retries: usize,
}

impl std::fmt::Debug for CoderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoderClient")
            .field("url", &self.url)
            .field("logged_in", &self.token().is_some())
            .finish_non_exhaustive()
    }
}

impl CoderClient {
    /// A client for the Coder at `url` (its access URL).
    pub fn new(url: &str) -> CoderClient {
        CoderClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            url: url.trim_end_matches('/').to_string(),
            token: Arc::default(),
            credentials: Arc::default(),
            uploads: Arc::default(),
            upload_window: Duration::from_secs(60),
            max_retries: 8,
        }
    }

    /// A client for the Coder at `url` reached as `reach` says (extra trust roots for its
    /// host, where the host leads in the sandbox); [`CoderClient::new`] when `reach` does not
    /// name the host.
    pub fn with_reach(url: &str, reach: &super::CoderReach) -> Result<CoderClient, CoderError> {
        let mut client = Self::new(url);
        if reach.for_url(url).is_some() {
            client.http = reach
                .http_client(url, Duration::from_secs(120))
                .map_err(|message| CoderError::Transport {
                    path: String::new(),
                    message,
                })?;
        }
        Ok(client)
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The session token, if logged in (never print it).
    pub fn token(&self) -> Option<String> {
        self.token.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until `/healthz` answers 200, up to `timeout`.
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<(), CoderError> {
        let start = Instant::now();
        loop {
            let last = match self.http.get(format!("{}/healthz", self.url)).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => format!("/healthz answered {}", r.status()),
                Err(e) => e.without_url().to_string(),
            };
            if start.elapsed() >= timeout {
                return Err(CoderError::Unreachable {
                    url: self.url.clone(),
                    after: timeout,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// POSTs `body` to `path` (201). When the answer is a 5xx or lost, `find` looks for what
    /// the create may have made before it is sent again with backoff; a create that cannot be
    /// repeated ([`Found::Other`]) or the last retry fails with the POST's error.
    async fn post_or_find<F, Fut>(
        &self,
        path: &str,
        body: &Value,
        find: F,
    ) -> Result<Value, CoderError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Found, CoderError>>,
    {
        let mut delays = self.backoff();
        loop {
            let err = match self
                .expect(Method::POST, path, Some(body.clone()), &[201])
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) if is_ambiguous(&e) => e,
                Err(e) => return Err(e),
            };
            match find().await? {
                Found::Created(v) => return Ok(v),
                Found::Other => return Err(err),
                Found::Nothing => {}
            }
            match delays.next() {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(err),
            }
        }
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> {
        use backon::BackoffBuilder;
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(15))
            .with_max_times(self.max_retries)
            .with_jitter()
            .build()
    }

    /// Sends one call, repeating it as `repeat` allows; returns status, body and headers.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        repeat: Repeat,
    ) -> Result<(u16, Value, HeaderMap), CoderError> {
        let mut delays = self.backoff();
        let mut relogged = false;
        let is_upload = matches!(body, Body::Tar(_));
        // Uploads go out one at a time per session, so the budget they read is exact.
        let mut budget = if is_upload {
            Some(self.uploads.lock().await)
        } else {
            None
        };
        loop {
            if let Some(b) = budget.as_mut() {
                let wait = b.wait(self.upload_window);
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            let mut req = self
                .http
                .request(method.clone(), format!("{}/api/v2{path}", self.url));
            if let Some(t) = self.token() {
                req = req.header("Coder-Session-Token", t);
            }
            req = match &body {
                Body::None => req,
                Body::Json(v) => req.json(v),
                Body::Tar(bytes) => req
                    .header("content-type", "application/x-tar")
                    .body(bytes.clone()),
            };
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.text().await {
                        Ok(text) => Ok((status, text, headers)),
                        // The server answered but the body was lost: it may have acted.
                        Err(e) => Err((false, e.without_url().to_string())),
                    }
                }
                Err(e) => Err((e.is_connect(), e.without_url().to_string())),
            };
            let (status, text, headers) = match outcome {
                Ok(x) => x,
                Err((never_connected, message)) => {
                    let again = never_connected || repeat == Repeat::Idempotent;
                    match delays.next().filter(|_| again) {
                        Some(d) => {
                            tokio::time::sleep(d).await;
                            continue;
                        }
                        None => {
                            return Err(CoderError::Transport {
                                path: path.into(),
                                message,
                            });
                        }
                    }
                }
            };
            if let Some(b) = budget.as_mut() {
                b.observe(
                    &headers,
                    (status == 429).then(|| retry_after(&headers)).flatten(),
                );
            }
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            let wait = match status {
                429 => delays
                    .next()
                    .map(|d| retry_after(&headers).map_or(d, |after| after.max(d / 4))),
                500 | 502 | 503 | 504 if repeat == Repeat::Idempotent => delays.next(),
                401 if !relogged && path != "/users/login" && self.has_credentials() => {
                    relogged = true;
                    Box::pin(self.relogin()).await?;
                    Some(Duration::ZERO)
                }
                _ => None,
            };
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => return Ok((status, value, headers)),
            }
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), CoderError> {
        let repeat = if method == Method::POST {
            Repeat::IfNotProcessed
        } else {
            Repeat::Idempotent
        };
        let body = body.map_or(Body::None, Body::Json);
        let (status, v, _) = self.send(method, path, body, repeat).await?;
        Ok((status, v))
    }

    fn fail(method: &str, path: &str, status: u16, v: &Value) -> CoderError {
        let mut message = v["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        if let Some(d) = v["detail"].as_str().filter(|d| !d.is_empty()) {
            message.push_str(&format!(" ({d})"));
        }
        if let Some(vs) = v["validations"].as_array() {
            let fields: Vec<String> = vs
                .iter()
                .map(|x| {
                    format!(
                        "{}: {}",
                        x["field"].as_str().unwrap_or(""),
                        x["detail"].as_str().unwrap_or("")
                    )
                })
                .collect();
            if !fields.is_empty() {
                message.push_str(&format!(" [{}]", fields.join("; ")));
            }
        }
        CoderError::Api {
            method: method.into(),
            path: path.into(),
            status,
            message,
        }
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        ok: &[u16],
    ) -> Result<Value, CoderError> {
        let m = method.to_string();
        let (status, v) = self.call(method, path, body).await?;
        if ok.contains(&status) {
            Ok(v)
        } else {
            Err(Self::fail(&m, path, status, &v))
        }
    }

    /// Whether the deployment already has its first user.
    pub async fn has_first_user(&self) -> Result<bool, CoderError> {
        let (status, v) = self.call(Method::GET, "/users/first", None).await?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            s => Err(Self::fail("GET", "/users/first", s, &v)),
        }
    }

    /// Creates the first user (owner); returns `(user_id, organization_id)`.
    pub async fn create_first_user(
        &self,
        email: &str,
        username: &str,
        password: &str,
        name: &str,
    ) -> Result<(String, String), CoderError> {
        let body = json!({"email": email, "username": username, "password": password, "name": name, "trial": false});
        let v = self
            .expect(Method::POST, "/users/first", Some(body), &[201])
            .await?;
        Ok((
            v["user_id"].as_str().unwrap_or_default().to_string(),
            v["organization_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ))
    }

    fn has_credentials(&self) -> bool {
        self.credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Logs in with a password; later calls (of every clone) carry the session token, and a
    /// 401 logs in again once with the same credentials.
    pub async fn login(&self, email: &str, password: &str) -> Result<(), CoderError> {
        *self.credentials.lock().unwrap_or_else(|p| p.into_inner()) = Some(Credentials {
            email: email.into(),
            password: password.into(),
        });
        self.relogin().await
    }

    async fn relogin(&self) -> Result<(), CoderError> {
        let creds = self
            .credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(c) = creds else {
            return Ok(());
        };
        // Logging in twice only mints a second session token: safe to repeat.
        let body = Body::Json(json!({"email": c.email, "password": c.password}));
        let (status, v, _) = self
            .send(Method::POST, "/users/login", body, Repeat::Idempotent)
            .await?;
        if status != 200 && status != 201 {
            return Err(Self::fail("POST", "/users/login", status, &v));
        }
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) =
            v["session_token"].as_str().map(str::to_string);
        Ok(())
    }

    /// The logged-in user.
    pub async fn me(&self) -> Result<Value, CoderError> {
        self.expect(Method::GET, "/users/me", None, &[200]).await
    }

    /// The logged-in user's organizations.
    pub async fn organizations(&self) -> Result<Vec<Value>, CoderError> {
        let v = self
            .expect(Method::GET, "/users/me/organizations", None, &[200])
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The id of the user's default organization (`is_default`, not the first listed).
    pub async fn default_organization(&self) -> Result<Option<String>, CoderError> {
        Ok(self
            .organizations()
            .await?
            .iter()
            .find(|o| o["is_default"] == true)
            .and_then(|o| o["id"].as_str())
            .map(str::to_string))
    }

    /// Uploads a tar archive within the session's upload budget; returns the file id. The same
    /// content uploaded again returns the same id, so repeating an upload is harmless.
    pub async fn upload(&self, tar: Vec<u8>) -> Result<String, CoderError> {
        let (status, v, _) = self
            .send(Method::POST, "/files", Body::Tar(tar), Repeat::Idempotent)
            .await?;
        if status == 200 || status == 201 {
            Ok(v["hash"].as_str().unwrap_or_default().to_string())
        } else {
            Err(Self::fail("POST", "/files", status, &v))
        }
    }

    /// Creates a template version from an uploaded file. When the answer is a 5xx or lost, the
    /// template's versions are searched for one built from the same file before asking again;
    /// a version of no template yet cannot be found, but an extra one is inert (nothing uses
    /// it).
    pub async fn create_version(
        &self,
        org: &str,
        file_id: &str,
        template_id: Option<&str>,
    ) -> Result<Value, CoderError> {
        let mut body = json!({"storage_method": "file", "file_id": file_id, "provisioner": "terraform", "tags": {}});
        if let Some(t) = template_id {
            body["template_id"] = json!(t);
        }
        let path = format!("/organizations/{org}/templateversions");
        self.post_or_find(&path, &body, || async {
            let Some(t) = template_id else {
                return Ok(Found::Nothing);
            };
            let list = self
                .expect(
                    Method::GET,
                    &format!("/templates/{t}/versions"),
                    None,
                    &[200],
                )
                .await?;
            let active = self
                .template(t)
                .await?
                .map(|t| t["active_version_id"].clone());
            let found = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["job"]["file_id"] == file_id && Some(&v["id"]) != active.as_ref());
            Ok(found.map_or(Found::Nothing, |v| Found::Created(v.clone())))
        })
        .await
    }

    /// Reads a template version.
    pub async fn version(&self, id: &str) -> Result<Value, CoderError> {
        self.expect(
            Method::GET,
            &format!("/templateversions/{id}"),
            None,
            &[200],
        )
        .await
    }

    /// The log lines of a template version's import job.
    pub async fn version_logs(&self, id: &str) -> Result<Vec<Value>, CoderError> {
        let v = self
            .expect(
                Method::GET,
                &format!("/templateversions/{id}/logs"),
                None,
                &[200],
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The object at `path`; `None` when Coder answers 404.
    async fn get_if_found(&self, path: &str) -> Result<Option<Value>, CoderError> {
        let (status, v) = self.call(Method::GET, path, None).await?;
        match status {
            200 => Ok(Some(v)),
            404 => Ok(None),
            s => Err(Self::fail("GET", path, s, &v)),
        }
    }

    /// The template `name` of `org`, if any.
    pub async fn template_by_name(
        &self,
        org: &str,
        name: &str,
    ) -> Result<Option<Value>, CoderError> {
        self.get_if_found(&format!("/organizations/{org}/templates/{name}"))
            .await
    }

    /// A template by id, if it exists.
    pub async fn template(&self, id: &str) -> Result<Option<Value>, CoderError> {
        self.get_if_found(&format!("/templates/{id}")).await
    }

    /// Creates a template from a built version. When the answer is a 5xx or lost, the template
    /// is looked up by name before the create is sent again.
    pub async fn create_template(&self, org: &str, body: Value) -> Result<Value, CoderError> {
        let path = format!("/organizations/{org}/templates");
        let name = body["name"].as_str().unwrap_or_default().to_string();
        let vid = body["template_version_id"].clone();
        self.post_or_find(&path, &body, || async {
            Ok(match self.template_by_name(org, &name).await? {
                Some(t) if t["active_version_id"] == vid => Found::Created(t),
                Some(_) => Found::Other,
                None => Found::Nothing,
            })
        })
        .await
    }

    /// Makes `version_id` the template's active version.
    pub async fn promote(&self, template_id: &str, version_id: &str) -> Result<(), CoderError> {
        self.expect(
            Method::PATCH,
            &format!("/templates/{template_id}/versions"),
            Some(json!({"id": version_id})),
            &[200],
        )
        .await
        .map(|_| ())
    }

    /// Writes template metadata: `body` must be the whole template (Coder 2.21 resets what a
    /// PATCH leaves out). 304 (nothing changed) is success.
    pub async fn update_template(&self, template_id: &str, body: Value) -> Result<(), CoderError> {
        self.expect(
            Method::PATCH,
            &format!("/templates/{template_id}"),
            Some(body),
            &[200, 304],
        )
        .await
        .map(|_| ())
    }

    /// Deletes a template; a missing one is fine.
    pub async fn delete_template(&self, template_id: &str) -> Result<(), CoderError> {
        let path = format!("/templates/{template_id}");
        let (status, v) = self.call(Method::DELETE, &path, None).await?;
        match status {
            200 | 204 | 404 => Ok(()),
            s => Err(Self::fail("DELETE", &path, s, &v)),
        }
    }

    /// The workspaces (not deleted) of template `name`.
    pub async fn workspaces_of_template(&self, name: &str) -> Result<Vec<Value>, CoderError> {
        let path = format!("/workspaces?q=template:{name}");
        let v = self.expect(Method::GET, &path, None, &[200]).await?;
        Ok(v["workspaces"].as_array().cloned().unwrap_or_default())
    }

    /// A workspace, or `None` once it is deleted (404 or 410).
    pub async fn workspace(&self, id: &str) -> Result<Option<Value>, CoderError> {
        let path = format!("/workspaces/{id}");
        let (status, v) = self.call(Method::GET, &path, None).await?;
        match status {
            200 => Ok(Some(v)),
            404 | 410 => Ok(None),
            s => Err(Self::fail("GET", &path, s, &v)),
        }
    }

    /// Starts a build of a workspace (`start`, `stop` or `delete`); `409` means another build
    /// is active.
    pub async fn build_workspace(
        &self,
        id: &str,
        transition: &str,
        orphan: bool,
    ) -> Result<Value, CoderError> {
        let mut body = json!({"transition": transition});
        if orphan {
            body["orphan"] = json!(true);
        }
        self.expect(
            Method::POST,
            &format!("/workspaces/{id}/builds"),
            Some(body),
            &[200, 201],
        )
        .await
    }
}
