//! Set-ups that tests of the sandbox and of its clients share: a Kapsule cluster (with its
//! private network and, when asked, a node pool) created through the sandbox's own Scaleway
//! API, and its admin kubeconfig once the Kubernetes API serves it.
//!
//! The calls go through the same routes, authentication and fault layer as a client's, in
//! process: a test sees the cluster exactly as a client that had created it would.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kapstan_sandbox::SandboxError> {
//! use kapstan_sandbox::{Sandbox, SandboxOptions};
//! let sandbox = Sandbox::start(SandboxOptions { speed: 200.0, ..Default::default() }).await?;
//! let cluster = sandbox.create_cluster("c1").await?;
//! sandbox.create_pool(&cluster.id, "p1", 2).await?;
//! std::fs::write("kubeconfig", &cluster.kubeconfig).ok();
//! # Ok(()) }
//! ```

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{Sandbox, SandboxError};

/// How often a set-up call is tried again after a 429, a 5xx or a 409 the fault layer injected.
const ATTEMPTS: usize = 40;
/// Pause between two tries, and between two looks at a cluster that is not ready yet.
const PAUSE: Duration = Duration::from_millis(50);
/// How long a new cluster may take to serve its kubeconfig (at the test speeds, well under a
/// second).
const KUBECONFIG_WAIT: Duration = Duration::from_secs(120);
/// The Kubernetes version set-up clusters run (one the sandbox offers).
const VERSION: &str = "1.32.13";

/// A Kapsule cluster created by [`Sandbox::create_cluster`], its Kubernetes API reachable.
#[derive(Debug, Clone)]
pub struct SandboxCluster {
    /// The cluster's id (region `fr-par`).
    pub id: String,
    /// The id of the private network created for it.
    pub private_network_id: String,
    /// The admin kubeconfig Kapsule serves for it (YAML).
    pub kubeconfig: String,
    /// The Kubernetes API server URL of the kubeconfig.
    pub server: String,
    /// The admin bearer token of the kubeconfig (a test credential of the emulator).
    pub token: String,
}

impl Sandbox {
    /// Creates a private network and a Kapsule cluster named `name` on it (region `fr-par`,
    /// Cilium) and waits until its kubeconfig is served.
    pub async fn create_cluster(&self, name: &str) -> Result<SandboxCluster, SandboxError> {
        let pn = self
            .setup_call(
                "POST",
                "/vpc/v2/regions/fr-par/private-networks",
                Some(json!({"name": format!("{name}-pn")})),
            )
            .await?;
        let private_network_id =
            string_field(&pn, "id", "/vpc/v2/regions/fr-par/private-networks")?;
        let path = "/k8s/v1/regions/fr-par/clusters";
        let cluster = self
            .setup_call(
                "POST",
                path,
                Some(json!({"name": name, "version": VERSION, "cni": "cilium",
                            "private_network_id": private_network_id})),
            )
            .await?;
        let id = string_field(&cluster, "id", path)?;
        let kubeconfig = self.wait_for_kubeconfig(&id).await?;
        let line = |key: &str| {
            kubeconfig
                .lines()
                .find_map(|l| l.trim().strip_prefix(key))
                .map(str::to_string)
                .ok_or_else(|| SandboxError::Setup {
                    method: "GET",
                    path: format!("{path}/{id}/kubeconfig"),
                    status: 200,
                    body: format!("the kubeconfig has no `{key}` line"),
                })
        };
        Ok(SandboxCluster {
            server: line("server: ")?,
            token: line("token: ")?,
            id,
            private_network_id,
            kubeconfig,
        })
    }

    /// Adds a pool of `size` `GP1-XS` nodes named `name` (zone `fr-par-1`, no autoscaling) to
    /// the cluster `cluster_id`; returns the pool's id.
    pub async fn create_pool(
        &self,
        cluster_id: &str,
        name: &str,
        size: u32,
    ) -> Result<String, SandboxError> {
        let path = format!("/k8s/v1/regions/fr-par/clusters/{cluster_id}/pools");
        let pool = self
            .setup_call(
                "POST",
                &path,
                Some(json!({"name": name, "node_type": "GP1-XS", "size": size,
                            "autoscaling": false, "autohealing": true, "zone": "fr-par-1"})),
            )
            .await?;
        string_field(&pool, "id", &path)
    }

    async fn wait_for_kubeconfig(&self, cluster_id: &str) -> Result<String, SandboxError> {
        let path = format!("/k8s/v1/regions/fr-par/clusters/{cluster_id}/kubeconfig");
        let mut last = None;
        let deadline = std::time::Instant::now() + KUBECONFIG_WAIT;
        // The cluster serves its kubeconfig once it leaves `creating`.
        while std::time::Instant::now() < deadline {
            match self.setup_call("GET", &path, None).await {
                Ok(answer) => {
                    let content = string_field(&answer, "content", &path)?;
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(content)
                        .map_err(|e| setup_error("GET", &path, 200, e.to_string()))?;
                    return String::from_utf8(raw)
                        .map_err(|e| setup_error("GET", &path, 200, e.to_string()));
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(PAUSE).await;
        }
        Err(last.unwrap_or_else(|| setup_error("GET", &path, 0, "never ready".into())))
    }

    /// One call of the Scaleway API in process, tried again while the fault layer refuses it.
    async fn setup_call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, SandboxError> {
        let mut last = setup_error(method, path, 0, "not tried".into());
        for _ in 0..ATTEMPTS {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("x-auth-token", self.secret_key())
                .header("content-type", "application/json")
                .body(
                    body.as_ref()
                        .map_or_else(Body::empty, |b| Body::from(b.to_string())),
                )
                .map_err(|e| setup_error(method, path, 0, e.to_string()))?;
            let answer = self.router.clone().oneshot(request).await;
            let Ok(answer) = answer;
            let status = answer.status();
            let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
                .await
                .map_err(|e| setup_error(method, path, status.as_u16(), e.to_string()))?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if status.is_success() {
                return serde_json::from_str(&text)
                    .map_err(|e| setup_error(method, path, status.as_u16(), e.to_string()));
            }
            last = setup_error(method, path, status.as_u16(), text);
            let injected = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::CONFLICT
                || status.is_server_error();
            if !injected {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
        Err(last)
    }
}

fn string_field(answer: &Value, key: &str, path: &str) -> Result<String, SandboxError> {
    answer[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| setup_error("GET", path, 200, format!("no string `{key}` in {answer}")))
}

fn setup_error(method: &'static str, path: &str, status: u16, body: String) -> SandboxError {
    SandboxError::Setup {
        method,
        path: path.to_string(),
        status,
        body,
    }
}
