//! The Kubernetes client: `kube::Client` configured from kubeconfig text (see `kubeconfig.rs`),
//! discovery of resource types, get, list, server-side apply, merge patch, eviction and delete
//! of dynamic JSON objects (whatever a chart renders), and typed reads of `k8s-openapi`
//! objects for the kinds kapstan itself inspects (Deployments, Pods, Nodes, volumes, Secrets,
//! Services).
//!
//! A fresh cluster's API server keeps failing for a while after its nodes are ready, and any
//! API server restarts: idempotent calls (everything but POST) are retried on connection
//! errors, 429 and 5xx answers with a capped backoff until the client's retry deadline.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::api::{DeleteParams, EvictParams, ListParams, Patch, PatchParams};
use kube::client::{Body, ClientBuilder, DynBody};
use kube::core::{ObjectList, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use super::kubeconfig::Kubeconfig;

/// The transport kube builds from a kubeconfig (its `GenericService`, which it does not export).
type Transport =
    tower::util::BoxService<http::Request<Body>, http::Response<Box<DynBody>>, tower::BoxError>;

/// A Kubernetes client failure. Messages never contain credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig cannot be used.
    #[error("invalid kubeconfig: {0}")]
    Config(String),
    /// The credentials of the kubeconfig could not be obtained (exec plugin, token file,
    /// client certificate).
    #[error("cannot authenticate to the Kubernetes API at {server}: {message}")]
    Auth {
        /// API server URL.
        server: String,
        /// What failed.
        message: String,
    },
    /// The API server could not be reached.
    #[error("cannot reach the Kubernetes API at {server}: {message}")]
    Unreachable {
        /// API server URL.
        server: String,
        /// What failed.
        message: String,
    },
    /// The API answered with a failure `Status`.
    #[error("Kubernetes API error {code} {reason}: {message}")]
    Api {
        /// HTTP status.
        code: u16,
        /// `reason` of the Status.
        reason: String,
        /// `message` of the Status.
        message: String,
    },
    /// The cluster serves no such apiVersion/kind.
    #[error("the cluster does not serve {kind} in {api_version}")]
    UnknownKind {
        /// apiVersion.
        api_version: String,
        /// kind.
        kind: String,
    },
    /// The API answered with a body that is not the documented object.
    #[error("unexpected answer from the Kubernetes API: {0}")]
    Decode(String),
}

impl KubeError {
    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::Api { code: 404, .. })
    }

    /// Whether the API server was unreachable or failed (5xx, 429): worth trying again.
    pub fn is_transient(&self) -> bool {
        match self {
            KubeError::Unreachable { .. } => true,
            KubeError::Api { code, .. } => *code >= 500 || *code == 429,
            _ => false,
        }
    }

    fn bad_request(message: &str) -> KubeError {
        KubeError::Api {
            code: 400,
            reason: "BadRequest".into(),
            message: message.into(),
        }
    }
}

/// How long a call keeps retrying an unreachable or failing API server by default: a fresh
/// Kapsule control plane may take minutes to answer once its pool is ready.
pub const DEFAULT_RETRY_DEADLINE: Duration = Duration::from_secs(300);

/// How a resource type is served.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResource {
    /// apiVersion.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Plural path segment.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl ApiResource {
    /// The path of the collection, in `ns` when the kind is namespaced.
    fn collection_path(&self, ns: Option<&str>) -> String {
        let base = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        match (self.namespaced, ns) {
            (true, Some(ns)) => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }
}

/// Names one object.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ObjectRef {
    /// apiVersion.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`None` for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// The object `name` of `kind` in `namespace` (`None` for cluster-scoped objects).
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    /// The reference of an object manifest.
    pub fn of(obj: &Value) -> Option<ObjectRef> {
        Some(ObjectRef {
            api_version: obj["apiVersion"].as_str()?.to_string(),
            kind: obj["kind"].as_str()?.to_string(),
            namespace: obj["metadata"]["namespace"].as_str().map(str::to_string),
            name: obj["metadata"]["name"].as_str()?.to_string(),
        })
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{} {ns}/{}", self.api_version, self.kind, self.name),
            None => write!(f, "{}/{} {}", self.api_version, self.kind, self.name),
        }
    }
}

/// A Kubernetes API client.
pub struct KubeClient {
    server: String,
    /// The configured transport, TLS and authentication, built into a client on first use
    /// (a `kube::Client` needs a running tokio runtime).
    builder: Mutex<Option<ClientBuilder<Transport>>>,
    client: tokio::sync::OnceCell<kube::Client>,
    discovery: Mutex<HashMap<String, Vec<ApiResource>>>,
    retry_deadline: Duration,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("server", &self.server)
            .field("retry_deadline", &self.retry_deadline)
            .finish()
    }
}

impl KubeClient {
    /// A client for a kubeconfig document. Credentials are resolved here: an exec credential
    /// plugin runs now, and a client certificate that cannot be loaded is reported now, before
    /// any API call.
    pub fn from_kubeconfig(text: &str) -> Result<KubeClient, KubeError> {
        let kubeconfig = Kubeconfig::parse(text)?;
        let server = kubeconfig.server.clone();
        let builder = ClientBuilder::try_from(kubeconfig.config).map_err(|e| match e {
            kube::Error::Auth(auth) => KubeError::Auth {
                server: server.clone(),
                message: auth.to_string(),
            },
            other => KubeError::Config(other.to_string()),
        })?;
        Ok(KubeClient {
            server,
            builder: Mutex::new(Some(builder)),
            client: tokio::sync::OnceCell::new(),
            discovery: Mutex::new(HashMap::new()),
            retry_deadline: DEFAULT_RETRY_DEADLINE,
        })
    }

    /// How long idempotent calls retry an unreachable or failing API server (0: no retry).
    pub fn with_retry_deadline(mut self, deadline: Duration) -> Self {
        self.retry_deadline = deadline;
        self
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    async fn kube(&self) -> &kube::Client {
        self.client
            .get_or_init(|| async {
                self.builder
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .expect("the OnceCell runs its initialiser once")
                    .build()
            })
            .await
    }

    fn error(&self, e: kube::Error) -> KubeError {
        match e {
            kube::Error::Api(status) => {
                let code = status.code;
                KubeError::Api {
                    code,
                    reason: status.reason.clone(),
                    message: if status.message.is_empty() {
                        format!("HTTP {code}")
                    } else {
                        status.message.clone()
                    },
                }
            }
            kube::Error::Auth(auth) => KubeError::Auth {
                server: self.server.clone(),
                message: auth.to_string(),
            },
            kube::Error::SerdeError(e) => KubeError::Decode(e.to_string()),
            kube::Error::BuildRequest(e) => KubeError::Config(e.to_string()),
            other => KubeError::Unreachable {
                server: self.server.clone(),
                message: other.to_string(),
            },
        }
    }

    /// Runs `call`, retrying transient failures until `deadline` has passed when the call is
    /// idempotent.
    async fn retrying<T, F, Fut>(
        &self,
        what: &str,
        idempotent: bool,
        deadline: Duration,
        call: F,
    ) -> Result<T, KubeError>
    where
        F: Fn(kube::Client) -> Fut,
        Fut: Future<Output = Result<T, KubeError>>,
    {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let client = self.kube().await.clone();
            match call(client).await {
                Err(e)
                    if e.is_transient() && idempotent && started.elapsed() + delay <= deadline =>
                {
                    tracing::info!(
                        server = %self.server,
                        call = what,
                        error = %e,
                        retry_in_ms = delay.as_millis() as u64,
                        "Kubernetes API not answering yet, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
    }

    /// Sends one request built by kube and decodes the answer as `T`.
    async fn send<T: DeserializeOwned>(
        &self,
        what: &str,
        request: Result<http::Request<Vec<u8>>, kube::core::request::Error>,
    ) -> Result<T, KubeError> {
        let request = request.map_err(|e| KubeError::Config(e.to_string()))?;
        self.send_within(what, request, self.retry_deadline).await
    }

    async fn send_within<T: DeserializeOwned>(
        &self,
        what: &str,
        request: http::Request<Vec<u8>>,
        deadline: Duration,
    ) -> Result<T, KubeError> {
        let idempotent = request.method() != http::Method::POST;
        self.retrying(what, idempotent, deadline, |client| {
            let request = clone_request(&request);
            async move { self.exchange(client, request).await }
        })
        .await
    }

    /// One round trip. A failure is keyed on the HTTP status (a proxy in front of a
    /// starting API server may answer without a `Status` body).
    async fn exchange<T: DeserializeOwned>(
        &self,
        client: kube::Client,
        request: http::Request<Vec<u8>>,
    ) -> Result<T, KubeError> {
        let response = client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|e| self.error(e))?;
        let code = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| self.error(e))?;
        if code >= 400 {
            let status: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(KubeError::Api {
                code,
                reason: status["reason"].as_str().unwrap_or_default().to_string(),
                message: status["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HTTP {code}")),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| KubeError::Decode(e.to_string()))
    }

    /// Waits until the API server answers `GET /version` (with backoff, at most `deadline`),
    /// returning its `gitVersion`.
    pub async fn wait_until_ready(&self, deadline: Duration) -> Result<String, KubeError> {
        let info: k8s_openapi::apimachinery::pkg::version::Info = self
            .send_within("version", get_request("/version"), deadline)
            .await?;
        Ok(info.git_version)
    }

    /// How `kind` in `api_version` is served (discovery, cached per apiVersion).
    pub async fn resource(&self, api_version: &str, kind: &str) -> Result<ApiResource, KubeError> {
        let cached = self
            .discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(api_version)
            .cloned();
        let list = match cached {
            Some(l) => l,
            None => {
                let list = self.discover(api_version).await?;
                self.discovery
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(api_version.to_string(), list.clone());
                list
            }
        };
        list.into_iter()
            .find(|r| r.kind == kind)
            .ok_or_else(|| KubeError::UnknownKind {
                api_version: api_version.into(),
                kind: kind.into(),
            })
    }

    /// The resource types of one group version; none when the cluster does not serve it.
    async fn discover(&self, api_version: &str) -> Result<Vec<ApiResource>, KubeError> {
        let path = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let answer = self
            .send_within("discovery", get_request(&path), self.retry_deadline)
            .await;
        let list: APIResourceList = match answer {
            Ok(list) => list,
            Err(e) if e.is_not_found() => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        Ok(list
            .resources
            .into_iter()
            // Subresources (`pods/eviction`) are not kinds one applies.
            .filter(|r| !r.name.contains('/'))
            .map(|r| ApiResource {
                api_version: api_version.to_string(),
                kind: r.kind,
                plural: r.name,
                namespaced: r.namespaced,
            })
            .collect())
    }

    /// The resource type of `r` and the request builder of its collection.
    async fn collection(&self, r: &ObjectRef) -> Result<(ApiResource, Request), KubeError> {
        let res = self.resource(&r.api_version, &r.kind).await?;
        let ns = res
            .namespaced
            .then(|| r.namespace.as_deref().unwrap_or("default"));
        let request = Request::new(res.collection_path(ns));
        Ok((res, request))
    }

    /// Reads an object; `None` when it does not exist.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Value>, KubeError> {
        let (_, request) = self.collection(r).await?;
        let request = request.get(&r.name, &Default::default());
        match self.send::<Value>("get", request).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists objects of a kind, optionally in one namespace and by label selector.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        self.list_selected(api_version, kind, ns, label_selector, None)
            .await
    }

    /// Lists objects of a kind by label and field selectors (`spec.nodeName=…`). Every item
    /// carries its `apiVersion` and `kind` (a List's items need not).
    pub async fn list_selected(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        let res = self.resource(api_version, kind).await?;
        let request =
            Request::new(res.collection_path(ns)).list(&selectors(label_selector, field_selector));
        let list: Value = self.send("list", request).await?;
        let Value::Array(mut items) = list["items"].clone() else {
            return Ok(vec![]);
        };
        for item in &mut items {
            if item["apiVersion"].is_null() {
                item["apiVersion"] = Value::String(res.api_version.clone());
            }
            if item["kind"].is_null() {
                item["kind"] = Value::String(res.kind.clone());
            }
        }
        Ok(items)
    }

    /// Server-side apply of `obj` with `manager`; namespaced objects without a namespace go to
    /// `default`. Returns the live object.
    pub async fn apply(&self, obj: &Value, manager: &str, force: bool) -> Result<Value, KubeError> {
        let r = ObjectRef::of(obj).ok_or_else(|| {
            KubeError::bad_request("the object needs apiVersion, kind and metadata.name")
        })?;
        let (res, request) = self.collection(&r).await?;
        let mut obj = obj.clone();
        if res.namespaced && obj["metadata"]["namespace"].is_null() {
            obj["metadata"]["namespace"] = Value::String("default".into());
        }
        let mut params = PatchParams::apply(manager);
        params.force = force;
        let request = request.patch(&r.name, &params, &Patch::Apply(&obj));
        self.send("apply", request).await
    }

    /// Deletes an object (dependents in the background); returns whether it existed.
    pub async fn delete(&self, r: &ObjectRef) -> Result<bool, KubeError> {
        let (_, request) = self.collection(r).await?;
        let request = request.delete(&r.name, &DeleteParams::background());
        match self.send::<Value>("delete", request).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// JSON merge patch of an object (e.g. `{"spec":{"unschedulable":true}}` cordons a node).
    pub async fn merge_patch(&self, r: &ObjectRef, patch: &Value) -> Result<Value, KubeError> {
        let (_, request) = self.collection(r).await?;
        let request = request.patch(&r.name, &PatchParams::default(), &Patch::Merge(patch));
        self.send("merge patch", request).await
    }

    /// Asks the Eviction API to evict a pod. A PodDisruptionBudget that allows no disruption
    /// answers 429 (`Err` with `code: 429`): try again later. A pod already gone is a success.
    pub async fn evict(&self, ns: &str, pod: &str) -> Result<(), KubeError> {
        let request = Request::new(format!("/api/v1/namespaces/{ns}/pods"))
            .evict(pod, &EvictParams::default());
        match self.send::<Value>("evict", request).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether objects of this kind are namespaced.
    pub async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, KubeError> {
        Ok(self.resource(api_version, kind).await?.namespaced)
    }

    /// Lists typed objects (`k8s_openapi::api::apps::v1::Deployment`, `…::core::v1::Pod`,
    /// `Node`, `PersistentVolume`, `PersistentVolumeClaim`, `Secret`, `Service`, …) in `ns`
    /// (every namespace when `None`; cluster-scoped kinds ignore it), by label selector.
    pub async fn list_typed<K>(
        &self,
        ns: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<K>, KubeError>
    where
        K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    {
        let ns = ns.filter(|_| is_namespaced::<K>());
        let request = Request::new(K::url_path(&(), ns)).list(&selectors(label_selector, None));
        let list: ObjectList<K> = self.send("list", request).await?;
        Ok(list.items)
    }

    /// Reads one typed object; `None` when it does not exist.
    pub async fn get_typed<K>(&self, ns: Option<&str>, name: &str) -> Result<Option<K>, KubeError>
    where
        K: kube::Resource<DynamicType = ()> + DeserializeOwned,
    {
        let ns = ns.filter(|_| is_namespaced::<K>());
        let request = Request::new(K::url_path(&(), ns)).get(name, &Default::default());
        match self.send::<K>("get", request).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Whether a typed kind lives in namespaces (k8s-openapi states its scope as a type).
fn is_namespaced<K: kube::Resource>() -> bool {
    std::any::type_name::<K::Scope>().ends_with("NamespaceResourceScope")
}

fn selectors(label_selector: Option<&str>, field_selector: Option<&str>) -> ListParams {
    let mut params = ListParams::default();
    if let Some(sel) = label_selector {
        params = params.labels(sel);
    }
    if let Some(sel) = field_selector {
        params = params.fields(sel);
    }
    params
}

fn get_request(path: &str) -> http::Request<Vec<u8>> {
    let mut request = http::Request::new(vec![]);
    if let Ok(uri) = path.parse() {
        *request.uri_mut() = uri;
    }
    request
}

fn clone_request(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// The live value projected onto the shape of `declared`: only the keys the declaration sets
/// (recursively, arrays element by element), so server defaults are not seen as drift.
pub fn project(declared: &Value, live: &Value) -> Value {
    match (declared, live) {
        (Value::Object(d), Value::Object(l)) => Value::Object(
            d.iter()
                .filter_map(|(k, dv)| l.get(k).map(|lv| (k.clone(), project(dv, lv))))
                .collect(),
        ),
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            Value::Array(d.iter().zip(l).map(|(a, b)| project(a, b)).collect())
        }
        (Value::Number(d), Value::String(l)) if d.to_string() == *l => declared.clone(),
        _ => live.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_kapsule_kubeconfig_without_leaking_the_token() {
        let text = "apiVersion: v1\nclusters:\n- name: \"c\"\n  cluster:\n    certificate-authority-data: Zm9v\n    server: https://x.api.k8s.fr-par.scw.cloud:6443\ncontexts:\n- name: admin@c\n  context:\n    cluster: \"c\"\n    user: c-admin\ncurrent-context: admin@c\nkind: Config\nusers:\n- name: c-admin\n  user:\n    token: SECRET-TOKEN\n";
        let k = Kubeconfig::parse(text).unwrap();
        assert_eq!(k.server, "https://x.api.k8s.fr-par.scw.cloud:6443");
        assert!(!format!("{k:?}").contains("SECRET-TOKEN"));
        assert!(Kubeconfig::parse("::: not yaml").is_err());
    }

    fn kubeconfig_for(server: &str) -> String {
        format!(
            "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
        )
    }

    #[tokio::test]
    async fn idempotent_calls_wait_for_an_api_server_that_is_down_then_failing() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Nothing listens on the port yet: connection refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            // Then it answers 503 twice before it serves.
            let app = axum::Router::new().fallback(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "{}".to_string(),
                        )
                    } else {
                        (
                            axum::http::StatusCode::OK,
                            json!({"major": "1", "minor": "35", "gitVersion": "v1.35.3",
                                "gitCommit": "c", "gitTreeState": "clean",
                                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                                "compiler": "gc", "platform": "linux/amd64"})
                            .to_string(),
                        )
                    }
                }
            });
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            axum::serve(listener, app).await.unwrap();
        });
        let server = format!("http://127.0.0.1:{port}");
        let client = KubeClient::from_kubeconfig(&kubeconfig_for(&server)).unwrap();
        let v = client
            .wait_until_ready(Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(v, "v1.35.3");
        assert_eq!(hits.load(Ordering::SeqCst), 3);

        // Without a deadline the first failure is the answer.
        let client = KubeClient::from_kubeconfig(&kubeconfig_for("http://127.0.0.1:9"))
            .unwrap()
            .with_retry_deadline(Duration::ZERO);
        let err = client
            .get(&ObjectRef::new("v1", "Namespace", None, "x"))
            .await
            .unwrap_err();
        assert!(matches!(err, KubeError::Unreachable { .. }), "{err}");
    }

    #[test]
    fn projection_ignores_server_defaults() {
        let declared =
            json!({"spec": {"ports": [{"port": 80}]}, "metadata": {"labels": {"a": "b"}}});
        let live = json!({"spec": {"ports": [{"port": 80, "protocol": "TCP", "nodePort": 30001}], "clusterIP": "10.0.0.1"},
            "metadata": {"labels": {"a": "b", "x": "y"}, "uid": "u"}});
        assert_eq!(project(&declared, &live), declared);
    }
}
