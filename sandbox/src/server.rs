//! The HTTP server: shared state, the accept loop, authentication and fault injection.
//!
//! The accept loop is hand-written (hyper directly, not `axum::serve`) so that a "lost
//! response" fault can close one connection after the handler ran and before a single byte
//! of the reply is written: the handler's middleware fires a per-connection kill switch and the
//! connection task drops the socket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rand::RngExt;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::options::{Durations, FaultSpec};
use crate::store::Store;
use crate::wire::{ApiError, json_response};
use crate::{SandboxError, SandboxOptions};

/// State shared by every handler.
#[derive(Debug)]
pub struct AppState {
    /// Speed factor dividing every duration.
    pub speed: f64,
    /// Durations at speed 1.0.
    pub durations: Durations,
    /// Project and organization id of the credentials.
    pub project_id: String,
    /// Accepted `X-Auth-Token`.
    secret_key: String,
    /// Faults to inject.
    pub faults: FaultSpec,
    /// How the Coder emulator behaves.
    pub coder: crate::coder::CoderOptions,
    /// Base URL of the sandbox (`http://127.0.0.1:PORT`).
    pub base_url: String,
    data_dir: Option<PathBuf>,
    store: Mutex<Store>,
    /// Delay before a DNS change reaches the DNS responder (not scaled by `speed`).
    pub dns_visibility_delay: Duration,
    /// The charts the chart repository serves.
    pub(crate) charts: Arc<crate::coder::charts::Repository>,
    /// End of the current rate-limit window (fault `429-window`).
    rate_limited_until: Mutex<Option<std::time::Instant>>,
}

/// Shared handle to [`AppState`].
pub type Shared = Arc<AppState>;

impl AppState {
    /// `now + d / speed`.
    pub fn later(&self, now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        let scaled = d.as_secs_f64() / self.speed;
        now + chrono::Duration::microseconds((scaled * 1_000_000.0).round() as i64)
    }

    /// Whether state persists in a data directory (ports are then kept across restarts).
    pub fn persistent(&self) -> bool {
        self.data_dir.is_some()
    }

    /// When a DNS change made at `now` becomes visible to the DNS responder.
    pub fn dns_visible_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.dns_visibility_delay)
            .unwrap_or_else(|_| chrono::Duration::days(365))
    }

    /// Runs a read-only closure on the store.
    pub fn read<R>(&self, f: impl FnOnce(&Store, DateTime<Utc>) -> R) -> R {
        let now = Utc::now();
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.purge(now);
        f(&store, now)
    }

    /// Runs a mutation; on success the store is persisted before the response is sent.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Store, DateTime<Utc>) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let now = Utc::now();
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.purge(now);
        let out = f(&mut store, now)?;
        if let Some(dir) = &self.data_dir
            && let Err(e) = store.save(dir)
        {
            tracing::error!(error = %e, "cannot persist sandbox state");
            return Err(ApiError::raw(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"message": "internal error: cannot persist state"}),
            ));
        }
        Ok(out)
    }
}

/// Per-connection switch that closes the connection without replying.
#[derive(Clone, Debug)]
struct KillSwitch(Arc<Notify>);

/// A running sandbox. Dropping it stops the server too.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    dns_addr: SocketAddr,
    url: String,
    state: Shared,
    /// The routes the listener serves, for in-process calls (`crate::testing`).
    pub(crate) router: Router,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Starts a sandbox on 127.0.0.1 and returns once it accepts connections.
    pub async fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        options.validate()?;
        let addr = options
            .addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        if !addr.ip().is_loopback() {
            return Err(SandboxError::NotLoopback { addr });
        }
        let fresh = options
            .data_dir
            .as_ref()
            .is_none_or(|dir| !Store::path_in(dir).exists());
        let mut store = match &options.data_dir {
            Some(dir) => Store::load(dir)?,
            None => Store::new(),
        };
        let zones = options.dns_zones.clone().unwrap_or_else(|| {
            if options.data_dir.is_some() {
                vec![crate::DEFAULT_DNS_ZONE.to_string()]
            } else {
                vec![]
            }
        });
        if fresh {
            for zone in &zones {
                crate::api::domain::seed_zone(
                    &mut store,
                    zone,
                    "active",
                    &options.default_project_id,
                    Utc::now(),
                )
                .map_err(|_| SandboxError::InvalidOption {
                    name: "dns_zones",
                    reason: format!("{zone} is not a valid zone name"),
                })?;
            }
        }
        let charts = Arc::new(crate::coder::charts::Repository::new(&options.chart_dirs)?);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let url = format!("http://{addr}");
        let state = Arc::new(AppState {
            speed: options.speed,
            durations: options.durations,
            project_id: options.default_project_id,
            secret_key: options.secret_key,
            faults: options.faults,
            coder: options.coder,
            base_url: url.clone(),
            data_dir: options.data_dir,
            dns_visibility_delay: options.dns_visibility_delay,
            store: Mutex::new(store),
            charts,
            rate_limited_until: Mutex::new(None),
        });
        let router = crate::api::router(state.clone());
        let (shutdown, rx) = watch::channel(false);
        let dns_addr = crate::dns::start(&state, rx.clone())
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let task = tokio::spawn(accept_loop(listener, router.clone(), rx));
        tracing::info!(%url, "sandbox listening");
        Ok(Sandbox {
            addr,
            dns_addr,
            url,
            state,
            router,
            shutdown,
            task: Some(task),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`; use it as `SCW_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Address of the authoritative DNS responder (UDP and TCP on 127.0.0.1) serving the
    /// emulated DNS zones: `dig @127.0.0.1 -p PORT coder.example.test`. Its port is kept
    /// across restarts with a data directory.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
    }

    /// The secret key clients must send in `X-Auth-Token`.
    pub fn secret_key(&self) -> &str {
        &self.state.secret_key
    }

    /// The project id of the sandbox's credentials (`SCW_DEFAULT_PROJECT_ID`).
    pub fn project_id(&self) -> &str {
        &self.state.project_id
    }

    /// Stops accepting connections, closes open ones and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Runs a sandbox until Ctrl-C, for `kapstan sandbox serve`.
///
/// The URL is reported through `tracing` (`sandbox listening`); a caller that wants to print it
/// itself can use [`Sandbox::start`] and `tokio::signal::ctrl_c` instead.
pub async fn serve_until_ctrl_c(options: SandboxOptions) -> Result<(), SandboxError> {
    let sandbox = Sandbox::start(options).await?;
    let result = tokio::signal::ctrl_c().await.map_err(SandboxError::Signal);
    sandbox.shutdown().await;
    result
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let router = router.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let switch = KillSwitch(kill.clone());
            let svc = tower::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(switch.clone());
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            // Dropping `conn` closes the socket without writing anything further.
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

/// Authentication, fault injection and gateway headers for every API route.
pub async fn api_layer(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let gateway = path.split('/').nth(4).unwrap_or("sandbox").to_string();
    let mut resp = if path.starts_with("/sandbox/") {
        next.run(req).await
    } else {
        guarded(&st, req, next).await
    };
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("Scaleway API Gateway ({gateway};sandbox)")) {
        headers.insert("server", v);
    }
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-request-id", v);
    }
    resp
}

async fn guarded(st: &Shared, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match token {
        None => return ApiError::unauthenticated("not_found").into_response(),
        Some(t) if t != st.secret_key => {
            let reason = if uuid::Uuid::parse_str(&t).is_ok() {
                "not_found"
            } else {
                "invalid_argument"
            };
            return ApiError::unauthenticated(reason).into_response();
        }
        Some(_) => {}
    }
    let f = &st.faults;
    if f.is_empty() {
        return next.run(req).await;
    }
    if !f.latency.is_zero() {
        tokio::time::sleep(f.latency).await;
    }
    let mutation = req.method() != Method::GET && req.method() != Method::HEAD;
    let draw: f64 = rand::rng().random();
    let mut threshold = f.rate_limited;
    if in_rate_limit_window(st, draw < threshold) || draw < threshold {
        let mut resp = StatusCode::TOO_MANY_REQUESTS.into_response();
        resp.headers_mut()
            .insert("x-envoy-ratelimited", HeaderValue::from_static("true"));
        return resp;
    }
    for (code, p) in &f.server_errors {
        threshold += p;
        if draw < threshold {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return json_response(
                status,
                &json!({"message": "upstream connect error or disconnect/reset before headers"}),
            );
        }
    }
    if mutation {
        threshold += f.conflict;
        if draw < threshold {
            let (resource, id) = resource_of(req.uri().path());
            return if rand::rng().random_bool(0.5) {
                ApiError::transient(&resource, &id, "configuring").into_response()
            } else {
                json_response(
                    StatusCode::CONFLICT,
                    &json!({"message": "Tuple concurrently updated"}),
                )
            };
        }
        threshold += f.lost;
        if draw < threshold {
            let kill = req.extensions().get::<KillSwitch>().cloned();
            let resp = next.run(req).await;
            if let Some(KillSwitch(kill)) = kill {
                tracing::debug!(status = %resp.status(), "fault: dropping connection after mutation");
                kill.notify_one();
                std::future::pending::<()>().await;
            }
            return resp;
        }
    }
    next.run(req).await
}

/// Whether a rate-limit window (fault `429-window`) refuses this call; `drawn` opens one.
fn in_rate_limit_window(st: &Shared, drawn: bool) -> bool {
    if st.faults.rate_limit_window.is_zero() {
        return false;
    }
    let now = std::time::Instant::now();
    let mut until = st
        .rate_limited_until
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if until.is_some_and(|u| now < u) {
        return true;
    }
    if drawn {
        *until = Some(now + st.faults.rate_limit_window);
    }
    drawn
}

/// Best-effort `(resource, id)` of a path, for synthetic 409 bodies.
fn resource_of(path: &str) -> (String, String) {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for w in parts.windows(2).rev() {
        if uuid::Uuid::parse_str(w[1]).is_ok() {
            let resource = w[0].trim_end_matches('s').replace('-', "_");
            return (resource, w[1].to_string());
        }
    }
    ("unknown".into(), String::new())
}
