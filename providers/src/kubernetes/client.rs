//! A small typed Kubernetes client over reqwest: kubeconfig parsing (kept in memory, never
//! written to disk), discovery of resource types, get, list, server-side apply and delete of
//! dynamic objects.
//!
//! A fresh cluster's API server keeps failing for a while after its nodes are ready, and any
//! API server restarts: idempotent calls (everything but POST) are retried on connection
//! errors and 5xx answers with a capped backoff until the client's retry deadline.
//!
//! Why not `kube` + `k8s-openapi`: every kind kapstan manages is applied as a dynamic JSON
//! object (arbitrary manifests, every object a Helm chart renders), so the typed structs of
//! k8s-openapi buy nothing here, while the two crates add several minutes of compilation on
//! the project's two-core CI and a second TLS stack next to the reqwest/rustls one already in
//! the tree. Server-side apply is one PATCH with `application/apply-patch+yaml`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

/// A Kubernetes client failure. Messages never contain credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig cannot be used.
    #[error("invalid kubeconfig: {0}")]
    Config(String),
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
}

/// How long a call keeps retrying an unreachable or failing API server by default: a fresh
/// Kapsule control plane may take minutes to answer once its pool is ready.
pub const DEFAULT_RETRY_DEADLINE: Duration = Duration::from_secs(300);

/// The parts of a kubeconfig kapstan uses.
#[derive(Clone)]
pub struct Kubeconfig {
    /// API server URL.
    pub server: String,
    token: Option<String>,
    ca_pem: Option<Vec<u8>>,
    insecure: bool,
}

impl std::fmt::Debug for Kubeconfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kubeconfig")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "(sensitive)"))
            .finish()
    }
}

impl Kubeconfig {
    /// Parses a kubeconfig document and selects its current context.
    pub fn parse(text: &str) -> Result<Kubeconfig, KubeError> {
        let doc: Value = serde_norway::from_str(text)
            .map_err(|_| KubeError::Config("not a YAML kubeconfig document".into()))?;
        let find = |list: &str, name: &str| -> Option<Value> {
            doc[list]
                .as_array()?
                .iter()
                .find(|e| e["name"].as_str() == Some(name))
                .cloned()
        };
        let ctx_name = doc["current-context"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ctx = find("contexts", &ctx_name)
            .or_else(|| doc["contexts"].get(0).cloned())
            .ok_or_else(|| KubeError::Config("no context".into()))?;
        let cluster_name = ctx["context"]["cluster"].as_str().unwrap_or_default();
        let user_name = ctx["context"]["user"].as_str().unwrap_or_default();
        let cluster = find("clusters", cluster_name)
            .ok_or_else(|| KubeError::Config(format!("no cluster named {cluster_name:?}")))?;
        let user = find("users", user_name).unwrap_or(Value::Null);
        let server = cluster["cluster"]["server"]
            .as_str()
            .ok_or_else(|| KubeError::Config("the cluster has no server URL".into()))?
            .trim_end_matches('/')
            .to_string();
        let ca_pem = match cluster["cluster"]["certificate-authority-data"].as_str() {
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| {
                        KubeError::Config("certificate-authority-data is not base64".into())
                    })?,
            ),
            None => None,
        };
        if user["user"]["client-certificate-data"].is_string() && user["user"]["token"].is_null() {
            return Err(KubeError::Config(
                "client-certificate authentication is not supported; use a token (Kapsule kubeconfigs carry one)".into(),
            ));
        }
        Ok(Kubeconfig {
            server,
            token: user["user"]["token"].as_str().map(str::to_string),
            ca_pem,
            insecure: cluster["cluster"]["insecure-skip-tls-verify"].as_bool() == Some(true),
        })
    }
}

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
#[derive(Debug)]
pub struct KubeClient {
    http: reqwest::Client,
    config: Kubeconfig,
    discovery: Mutex<HashMap<String, Vec<ApiResource>>>,
    retry_deadline: Duration,
}

impl KubeClient {
    /// A client for a kubeconfig document.
    pub fn from_kubeconfig(text: &str) -> Result<KubeClient, KubeError> {
        let config = Kubeconfig::parse(text)?;
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("kapstan/", env!("CARGO_PKG_VERSION")));
        if config.server.starts_with("https://") {
            if let Some(pem) = &config.ca_pem {
                let cert = reqwest::Certificate::from_pem(pem).map_err(|_| {
                    KubeError::Config("certificate-authority-data is not a PEM certificate".into())
                })?;
                builder = builder.add_root_certificate(cert);
            }
            if config.insecure {
                builder = builder.danger_accept_invalid_certs(true);
            }
        }
        let http = builder
            .build()
            .map_err(|e| KubeError::Config(format!("HTTP client: {e}")))?;
        Ok(KubeClient {
            http,
            config,
            discovery: Mutex::new(HashMap::new()),
            retry_deadline: DEFAULT_RETRY_DEADLINE,
        })
    }

    /// How long idempotent calls retry an unreachable or failing API server (0: no retry).
    pub fn with_retry_deadline(mut self, deadline: Duration) -> Self {
        self.retry_deadline = deadline;
        self
    }

    /// Waits until the API server answers `GET /version` (with backoff, at most `deadline`),
    /// returning its `gitVersion`.
    pub async fn wait_until_ready(&self, deadline: Duration) -> Result<String, KubeError> {
        let (_, v) = self
            .send_within(reqwest::Method::GET, "/version", None, deadline)
            .await?;
        Ok(v["gitVersion"].as_str().unwrap_or_default().to_string())
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.config.server
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Result<(u16, Value), KubeError> {
        self.send_within(method, path, body, self.retry_deadline)
            .await
    }

    /// Sends, retrying transient failures of idempotent calls until `deadline` has passed.
    async fn send_within(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, String)>,
        deadline: Duration,
    ) -> Result<(u16, Value), KubeError> {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let result = self.send_once(method.clone(), path, body.clone()).await;
            match result {
                Err(e)
                    if e.is_transient()
                        && method != reqwest::Method::POST
                        && started.elapsed() + delay <= deadline =>
                {
                    tracing::info!(
                        server = %self.config.server,
                        %method,
                        path = path.split('?').next().unwrap_or_default(),
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

    async fn send_once(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Result<(u16, Value), KubeError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.config.server))
            .header("accept", "application/json");
        if let Some(t) = &self.config.token {
            req = req.bearer_auth(t);
        }
        if let Some((ctype, b)) = body {
            req = req.header("content-type", ctype).body(b);
        }
        let resp = req.send().await.map_err(|e| KubeError::Unreachable {
            server: self.config.server.clone(),
            message: e.without_url().to_string(),
        })?;
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if code >= 400 {
            return Err(KubeError::Api {
                code,
                reason: value["reason"].as_str().unwrap_or("").to_string(),
                message: value["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HTTP {code}")),
            });
        }
        Ok((code, value))
    }

    /// How `kind` in `api_version` is served.
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
                let path = if api_version.contains('/') {
                    format!("/apis/{api_version}")
                } else {
                    format!("/api/{api_version}")
                };
                let doc = match self.send(reqwest::Method::GET, &path, None).await {
                    Ok((_, d)) => d,
                    Err(e) if e.is_not_found() => Value::Null,
                    Err(e) => return Err(e),
                };
                let list: Vec<ApiResource> = doc["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| !r["name"].as_str().unwrap_or("").contains('/'))
                    .map(|r| ApiResource {
                        api_version: api_version.to_string(),
                        kind: r["kind"].as_str().unwrap_or_default().to_string(),
                        plural: r["name"].as_str().unwrap_or_default().to_string(),
                        namespaced: r["namespaced"].as_bool().unwrap_or(false),
                    })
                    .collect();
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

    fn collection_path(res: &ApiResource, ns: Option<&str>) -> String {
        let base = if res.api_version.contains('/') {
            format!("/apis/{}", res.api_version)
        } else {
            format!("/api/{}", res.api_version)
        };
        match (res.namespaced, ns) {
            (true, Some(ns)) => format!("{base}/namespaces/{ns}/{}", res.plural),
            _ => format!("{base}/{}", res.plural),
        }
    }

    async fn object_path(&self, r: &ObjectRef) -> Result<(ApiResource, String), KubeError> {
        let res = self.resource(&r.api_version, &r.kind).await?;
        let ns = if res.namespaced {
            Some(r.namespace.as_deref().unwrap_or("default"))
        } else {
            None
        };
        let path = format!("{}/{}", Self::collection_path(&res, ns), r.name);
        Ok((res, path))
    }

    /// Reads an object; `None` when it does not exist.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Value>, KubeError> {
        let (_, path) = self.object_path(r).await?;
        match self.send(reqwest::Method::GET, &path, None).await {
            Ok((_, v)) => Ok(Some(v)),
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
        let res = self.resource(api_version, kind).await?;
        let mut path = Self::collection_path(&res, ns);
        if let Some(sel) = label_selector {
            let enc: String = url_encode(sel);
            path.push_str(&format!("?labelSelector={enc}"));
        }
        let (_, v) = self.send(reqwest::Method::GET, &path, None).await?;
        Ok(v["items"].as_array().cloned().unwrap_or_default())
    }

    /// Server-side apply of `obj` with `manager`; namespaced objects without a namespace go to
    /// `default`. Returns the live object.
    pub async fn apply(&self, obj: &Value, manager: &str, force: bool) -> Result<Value, KubeError> {
        let r = ObjectRef::of(obj).ok_or_else(|| KubeError::Api {
            code: 400,
            reason: "BadRequest".into(),
            message: "the object needs apiVersion, kind and metadata.name".into(),
        })?;
        let (res, path) = self.object_path(&r).await?;
        let mut obj = obj.clone();
        if res.namespaced && obj["metadata"]["namespace"].is_null() {
            obj["metadata"]["namespace"] = Value::String("default".into());
        }
        let q = format!(
            "{path}?fieldManager={}{}",
            url_encode(manager),
            if force { "&force=true" } else { "" }
        );
        let (_, live) = self
            .send(
                reqwest::Method::PATCH,
                &q,
                Some(("application/apply-patch+yaml", obj.to_string())),
            )
            .await?;
        Ok(live)
    }

    /// Deletes an object; returns whether it existed.
    pub async fn delete(&self, r: &ObjectRef) -> Result<bool, KubeError> {
        let (_, path) = self.object_path(r).await?;
        let body = serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"});
        match self
            .send(
                reqwest::Method::DELETE,
                &path,
                Some(("application/json", body.to_string())),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lists objects of a kind by label and field selectors (`spec.nodeName=…`).
    pub async fn list_selected(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        let res = self.resource(api_version, kind).await?;
        let mut query = vec![];
        if let Some(sel) = label_selector {
            query.push(format!("labelSelector={}", url_encode(sel)));
        }
        if let Some(sel) = field_selector {
            query.push(format!("fieldSelector={}", url_encode(sel)));
        }
        let mut path = Self::collection_path(&res, ns);
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query.join("&"));
        }
        let (_, v) = self.send(reqwest::Method::GET, &path, None).await?;
        Ok(v["items"].as_array().cloned().unwrap_or_default())
    }

    /// JSON merge patch of an object (e.g. `{"spec":{"unschedulable":true}}` cordons a node).
    pub async fn merge_patch(&self, r: &ObjectRef, patch: &Value) -> Result<Value, KubeError> {
        let (_, path) = self.object_path(r).await?;
        let (_, live) = self
            .send(
                reqwest::Method::PATCH,
                &path,
                Some(("application/merge-patch+json", patch.to_string())),
            )
            .await?;
        Ok(live)
    }

    /// Asks the Eviction API to evict a pod. A PodDisruptionBudget that allows no disruption
    /// answers 429 (`Err` with `code: 429`): try again later. A pod already gone is a success.
    pub async fn evict(&self, ns: &str, pod: &str) -> Result<(), KubeError> {
        let body = serde_json::json!({
            "apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": pod, "namespace": ns},
        });
        let path = format!("/api/v1/namespaces/{ns}/pods/{pod}/eviction");
        match self
            .send(
                reqwest::Method::POST,
                &path,
                Some(("application/json", body.to_string())),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether objects of this kind are namespaced.
    pub async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, KubeError> {
        Ok(self.resource(api_version, kind).await?.namespaced)
    }
}

fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
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
                            json!({"gitVersion": "v1.35.3"}).to_string(),
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
            .get(&ObjectRef {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: "x".into(),
            })
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
