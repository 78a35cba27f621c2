//! The HTTP core: URL building, authentication, rate limiting, retries, error parsing and the
//! generic `get` / `post` / `patch` / `put` / `delete` / `list_all` calls drivers build on.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::config::ScalewayConfig;
use super::error::{ApiError, Error, ErrorKind, Result};
use super::locality::{Locality, Region, Zone};
use super::pagination::{MAX_PAGES, Paginated, is_last_page};
use super::query::Query;
use super::rate_limit::{RateLimit, TokenBucket};
use super::retry::{
    RATE_LIMIT_TARGET, RetryPolicy, finalize, parse_retry_after, server_suggested_delay,
    should_retry,
};
use super::transient::{TransientConflict, TransientStateHook};

/// The Scaleway APIs kapstan calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// Kubernetes Kapsule, `k8s/v1`, regional.
    K8s,
    /// Managed Database, `rdb/v1`, regional.
    Rdb,
    /// Load Balancer, `lb/v1`, zonal.
    Lb,
    /// VPC, `vpc/v2`, regional.
    Vpc,
    /// Public Gateway, `vpc-gw/v2`, zonal.
    VpcGw,
    /// IP address management, `ipam/v1`, regional.
    Ipam,
    /// Domains and DNS, `domain/v2beta1`, global (no region or zone in the path).
    Domain,
    /// Cockpit (observability), `cockpit/v1`, regional.
    Cockpit,
    /// Secret Manager, `secret-manager/v1beta1`, regional.
    SecretManager,
}

impl Api {
    /// Every API.
    pub const ALL: [Api; 9] = [
        Api::K8s,
        Api::Rdb,
        Api::Lb,
        Api::Vpc,
        Api::VpcGw,
        Api::Ipam,
        Api::Domain,
        Api::Cockpit,
        Api::SecretManager,
    ];

    /// Product and version path prefix, e.g. `k8s/v1`.
    pub fn prefix(self) -> &'static str {
        match self {
            Api::K8s => "k8s/v1",
            Api::Rdb => "rdb/v1",
            Api::Lb => "lb/v1",
            Api::Vpc => "vpc/v2",
            Api::VpcGw => "vpc-gw/v2",
            Api::Ipam => "ipam/v1",
            Api::Domain => "domain/v2beta1",
            Api::Cockpit => "cockpit/v1",
            Api::SecretManager => "secret-manager/v1beta1",
        }
    }

    /// Whether paths are `/zones/{zone}` (otherwise `/regions/{region}`).
    pub fn is_zonal(self) -> bool {
        matches!(self, Api::Lb | Api::VpcGw)
    }

    /// Whether paths carry no locality at all (`/domain/v2beta1/dns-zones`).
    pub fn is_global(self) -> bool {
        matches!(self, Api::Domain)
    }

    fn scope(self) -> &'static str {
        if self.is_global() {
            "global"
        } else if self.is_zonal() {
            "zonal"
        } else {
            "regional"
        }
    }

    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Api::K8s => "Kapsule",
            Api::Rdb => "RDB",
            Api::Lb => "Load Balancer",
            Api::Vpc => "VPC",
            Api::VpcGw => "Public Gateway",
            Api::Ipam => "IPAM",
            Api::Domain => "Domains and DNS",
            Api::Cockpit => "Cockpit",
            Api::SecretManager => "Secret Manager",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// Tuning of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Rate limit of every API (default 20 requests/s; the CLI's `--api-rate`).
    pub rate_limit: RateLimit,
    /// Per-API rate limits that replace `rate_limit`.
    pub rate_limit_overrides: HashMap<Api, RateLimit>,
    /// `page_size` sent by [`Client::list_all`]; `None` lets the server choose (20).
    pub page_size: Option<u32>,
    /// Timeout of one HTTP attempt.
    pub timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::default(),
            rate_limit_overrides: HashMap::new(),
            page_size: Some(100),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            user_agent: format!("kapstan/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A fully described API call, for callers that need more than the shorthand methods.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Target API.
    pub api: Api,
    /// Region or zone.
    pub locality: Locality,
    /// Path below `/{product}/{version}/{regions|zones}/{locality}`, starting with `/`.
    pub path: String,
    /// Query parameters.
    pub query: Query,
    /// JSON body, already serialized.
    pub body: Option<Vec<u8>>,
    /// Not retried blindly whatever the method: an unknown outcome is
    /// [`Error::Ambiguous`](super::Error::Ambiguous), as for a POST (a PATCH that adds).
    pub once: bool,
}

impl Request {
    /// A request without query or body.
    pub fn new(method: Method, api: Api, locality: impl Into<Locality>, path: &str) -> Self {
        Self {
            method,
            api,
            locality: locality.into(),
            path: path.to_owned(),
            query: Query::new(),
            body: None,
            once: false,
        }
    }

    /// Marks the request as not idempotent (see [`Request::once`]).
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// Sets the query.
    pub fn query(mut self, query: Query) -> Self {
        self.query = query;
        self
    }

    /// Serializes `body` as the JSON body.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        self.body = Some(
            serde_json::to_vec(body)
                .map_err(|e| Error::InvalidRequest(format!("cannot serialize body: {e}")))?,
        );
        Ok(self)
    }
}

/// Declares the `Client` shorthands, one entry each: generics, the argument, the method and
/// how the argument goes on the request (a query or a JSON body) before [`Client::send`].
macro_rules! shorthand_calls {
    ($(
        $(#[$m:meta])*
        $name:ident[$($generics:tt)*]($arg:ident: $arg_ty:ty) => $method:ident, |$req:ident| $attach:expr;
    )*) => {$(
        $(#[$m])*
        pub async fn $name<T: DeserializeOwned, $($generics)*>(
            &self,
            api: Api,
            locality: impl Into<Locality>,
            path: &str,
            $arg: $arg_ty,
        ) -> Result<T> {
            let $req = Request::new(Method::$method, api, locality, path);
            self.send($attach).await
        }
    )*};
}

/// A successful response.
struct RawResponse {
    status: u16,
    body: Vec<u8>,
}

struct Inner {
    http: reqwest::Client,
    config: ScalewayConfig,
    options: ClientOptions,
    auth: HeaderValue,
    buckets: HashMap<Api, TokenBucket>,
}

/// The Scaleway API client. Cheap to clone; clones share connections and rate limiters.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    hook: Option<Arc<dyn TransientStateHook>>,
    /// Replaces the options' retry policy for this clone.
    retry: Option<RetryPolicy>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("options", &self.inner.options)
            .field("transient_hook", &self.hook.is_some())
            .finish()
    }
}

impl Client {
    /// A client with default options.
    pub fn new(config: ScalewayConfig) -> Result<Self> {
        Self::with_options(config, ClientOptions::default())
    }

    /// A client with explicit options.
    pub fn with_options(config: ScalewayConfig, options: ClientOptions) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(|e| Error::InvalidRequest(format!("cannot build the HTTP client: {e}")))?;
        let mut auth = HeaderValue::from_str(config.secret_key.expose()).map_err(|_| {
            Error::InvalidRequest(
                "the secret key contains characters not allowed in a header".into(),
            )
        })?;
        // Keeps the token out of reqwest's and hyper's debug output.
        auth.set_sensitive(true);
        let buckets = Api::ALL
            .iter()
            .map(|api| {
                let limit = options
                    .rate_limit_overrides
                    .get(api)
                    .copied()
                    .unwrap_or(options.rate_limit);
                (*api, TokenBucket::new(limit))
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                options,
                auth,
                buckets,
            }),
            hook: None,
            retry: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ScalewayConfig {
        &self.inner.config
    }

    /// The default region.
    pub fn region(&self) -> &Region {
        &self.inner.config.region
    }

    /// The default zone.
    pub fn zone(&self) -> &Zone {
        &self.inner.config.zone
    }

    /// The project created resources belong to.
    pub fn project_id(&self) -> &str {
        &self.inner.config.project_id
    }

    /// The options.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// A clone of this client whose calls, on a 409 `transient_state` (or untyped 409), run
    /// `hook` and retry, at most [`RetryPolicy::max_transient_waits`] times.
    pub fn with_transient_hook(&self, hook: Arc<dyn TransientStateHook>) -> Client {
        Client {
            inner: self.inner.clone(),
            hook: Some(hook),
            retry: self.retry.clone(),
        }
    }

    /// A clone of this client with another retry policy (e.g. [`RetryPolicy::none`] for a
    /// best-effort read that must not hold a plan up when the API is unreachable).
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Client {
        Client {
            inner: self.inner.clone(),
            hook: self.hook.clone(),
            retry: Some(policy),
        }
    }

    /// A clone of this client without transient-state hook: 409s are returned as errors.
    pub fn without_transient_hook(&self) -> Client {
        Client {
            inner: self.inner.clone(),
            hook: None,
            retry: self.retry.clone(),
        }
    }

    /// `GET` and decode.
    pub async fn get<T: DeserializeOwned>(
        &self,
        api: Api,
        locality: impl Into<Locality>,
        path: &str,
    ) -> Result<T> {
        self.get_query(api, locality, path, Query::new()).await
    }

    shorthand_calls! {
        /// `GET` with a query and decode.
        get_query[](query: Query) => GET, |req| req.query(query);
        /// `DELETE` with a query and decode; use `T = ()` for 204 responses. A 404 is returned
        /// as an error ([`Error::is_not_found`]); drivers treat it as "already deleted".
        delete[](query: Query) => DELETE, |req| req.query(query);
        /// `POST` a JSON body and decode. Never retried blindly: see [`Error::Ambiguous`].
        post[B: Serialize + ?Sized](body: &B) => POST, |req| req.json(body)?;
        /// `PATCH` a JSON body (absent fields are left unchanged) and decode.
        patch[B: Serialize + ?Sized](body: &B) => PATCH, |req| req.json(body)?;
        /// `PUT` a JSON body (full replacement) and decode.
        put[B: Serialize + ?Sized](body: &B) => PUT, |req| req.json(body)?;
    }

    /// Fetches every page of a list endpoint and returns all items.
    pub async fn list_all<R: Paginated>(
        &self,
        api: Api,
        locality: impl Into<Locality>,
        path: &str,
        query: Query,
    ) -> Result<Vec<R::Item>> {
        let locality = locality.into();
        let mut items = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut q = query.clone().set("page", page);
            if let Some(size) = self.inner.options.page_size {
                q = q.set("page_size", size);
            }
            let resp: R = self
                .send(Request::new(Method::GET, api, locality.clone(), path).query(q))
                .await?;
            let total = resp.total_count();
            let page_items = resp.into_items();
            let page_len = page_items.len();
            items.extend(page_items);
            if is_last_page(total, items.len(), page_len) {
                return Ok(items);
            }
        }
        Err(Error::InvalidRequest(format!(
            "listing {path} did not finish after {MAX_PAGES} pages"
        )))
    }

    /// Sends a request (rate limit, retries, transient-state hook) and decodes the body;
    /// an empty body decodes as JSON `null` so `T = ()` fits 204 responses.
    pub async fn send<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        let full_path = self.full_path(&req)?;
        let resp = self.execute(&req, &full_path).await?;
        decode(req.method.as_str(), &full_path, resp.status, &resp.body)
    }

    fn full_path(&self, req: &Request) -> Result<String> {
        let given = match req.locality {
            Locality::Zone(_) => "zonal",
            Locality::Region(_) => "regional",
            Locality::Global => "global",
        };
        if given != req.api.scope() {
            return Err(Error::LocalityMismatch {
                api: req.api.prefix(),
                expected: req.api.scope(),
                given: req.locality.clone(),
            });
        }
        if !req.path.starts_with('/') {
            return Err(Error::InvalidRequest(format!(
                "path {:?} must start with '/'",
                req.path
            )));
        }
        let segment = req.locality.path_segment();
        Ok(if segment.is_empty() {
            format!("/{}{}", req.api.prefix(), req.path)
        } else {
            format!("/{}/{}{}", req.api.prefix(), segment, req.path)
        })
    }

    async fn execute(&self, req: &Request, full_path: &str) -> Result<RawResponse> {
        let mut waits = 0;
        loop {
            match self.execute_with_retries(req, full_path).await {
                Err(e) if e.is_transient_state() => {
                    let Some(hook) = &self.hook else {
                        return Err(e);
                    };
                    let policy = self.retry.as_ref().unwrap_or(&self.inner.options.retry);
                    if waits >= policy.max_transient_waits {
                        return Err(e);
                    }
                    let conflict = conflict_of(&e, waits);
                    tracing::debug!(
                        method = %req.method,
                        path = full_path,
                        resource = ?conflict.resource,
                        state = ?conflict.current_state,
                        "resource busy, waiting before retrying"
                    );
                    hook.wait(&conflict).await?;
                    waits += 1;
                }
                other => return other,
            }
        }
    }

    async fn execute_with_retries(&self, req: &Request, full_path: &str) -> Result<RawResponse> {
        let policy = self.retry.as_ref().unwrap_or(&self.inner.options.retry);
        let mut backoff = policy.backoff().build();
        let mut rate_backoff = policy.rate_limit_backoff().build();
        let mut rate_limited_since: Option<Instant> = None;
        // A non-idempotent PATCH (`Request::once`) is retried like a POST: never blindly.
        let retry_as = if req.once {
            Method::POST
        } else {
            req.method.clone()
        };
        loop {
            let err = match self.attempt(req, full_path).await {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            if err.api_error().is_some_and(|e| e.is_rate_limited()) {
                let since = *rate_limited_since.get_or_insert_with(Instant::now);
                let waited = since.elapsed();
                let Some(left) = policy.rate_limit_patience.checked_sub(waited) else {
                    return Err(finalize(&retry_as, err));
                };
                if left.is_zero() {
                    return Err(finalize(&retry_as, err));
                }
                let delay = server_suggested_delay(&err)
                    .or_else(|| rate_backoff.next())
                    .unwrap_or(policy.max_delay)
                    .min(left);
                // Info, not debug: a run can sit here for minutes and must say why.
                tracing::info!(
                    target: RATE_LIMIT_TARGET,
                    api = req.api.name(),
                    method = %req.method,
                    path = full_path,
                    delay_ms = delay.as_millis() as u64,
                    waited_s = waited.as_secs(),
                    "waiting on the Scaleway API's rate limit"
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            if !should_retry(&retry_as, &err) {
                return Err(finalize(&retry_as, err));
            }
            let Some(delay) = backoff.next() else {
                return Err(finalize(&retry_as, err));
            };
            tracing::debug!(
                method = %req.method,
                path = full_path,
                error = %err,
                ?delay,
                "retrying Scaleway API call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, req: &Request, full_path: &str) -> Result<RawResponse> {
        if let Some(bucket) = self.inner.buckets.get(&req.api) {
            bucket.acquire().await;
        }
        let mut url =
            reqwest::Url::parse(&format!("{}{}", self.inner.config.api_url, full_path))
                .map_err(|e| Error::InvalidRequest(format!("bad URL for {full_path}: {e}")))?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.pairs());
        }
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), url)
            .header("X-Auth-Token", self.inner.auth.clone())
            .header(USER_AGENT, &self.inner.options.user_agent);
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let transport = |e: reqwest::Error| Error::Transport {
            method: req.method.to_string(),
            path: full_path.to_owned(),
            message: transport_message(&e),
            connect: e.is_connect(),
            timeout: e.is_timeout(),
        };
        let resp = builder.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let body = resp.bytes().await.map_err(transport)?;
        tracing::debug!(
            method = %req.method,
            path = full_path,
            status,
            request_id = ?request_id,
            "Scaleway API call"
        );
        if status >= 400 {
            let mut err =
                ApiError::from_response(req.method.as_str(), full_path, status, request_id, &body);
            err.retry_after = retry_after;
            return Err(err.into());
        }
        Ok(RawResponse {
            status,
            body: body.to_vec(),
        })
    }
}

/// reqwest's message plus its source chain (connection refused, DNS…), never the URL's query.
fn transport_message(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "request timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn conflict_of(e: &Error, attempt: usize) -> TransientConflict {
    let api = e.api_error();
    let (resource, resource_id, current_state) = match api.map(|a| &a.kind) {
        Some(ErrorKind::TransientState {
            resource,
            resource_id,
            current_state,
        }) => (resource.clone(), resource_id.clone(), current_state.clone()),
        _ => (None, None, None),
    };
    TransientConflict {
        method: api.map(|a| a.method.clone()).unwrap_or_default(),
        path: api.map(|a| a.path.clone()).unwrap_or_default(),
        resource,
        resource_id,
        current_state,
        attempt,
    }
}

/// Decodes a response body; never echoes the body (it may hold kubeconfigs or certificates).
pub(crate) fn decode<T: DeserializeOwned>(
    method: &str,
    path: &str,
    status: u16,
    body: &[u8],
) -> Result<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        method: method.to_owned(),
        path: path.to_owned(),
        status,
        detail: format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}
