//! The Kubernetes API emulator, checked with the real `kubectl` and `helm` (from
//! `$KAPSTAN_TOOLS/bin`, default `<workspace>/.tools/bin`) and with raw HTTP for the
//! semantics kubectl does not reach: server-side apply conflicts, resourceVersion conflicts,
//! label selectors, namespace cascading, LoadBalancer Services and the chart repository.

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::support::{strings, tool};

/// A sandbox with one cluster, its kubeconfig on disk for kubectl and helm.
pub(crate) struct Cluster {
    pub(crate) sandbox: Sandbox,
    pub(crate) http: reqwest::Client,
    pub(crate) id: String,
    pub(crate) server: String,
    pub(crate) token: String,
    pub(crate) dir: tempfile::TempDir,
}

impl Cluster {
    pub(crate) async fn start() -> Cluster {
        let sandbox = Sandbox::start(SandboxOptions {
            speed: 200.0,
            ..Default::default()
        })
        .await
        .expect("sandbox starts");
        let cluster = sandbox.create_cluster("c1").await.expect("cluster");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), &cluster.kubeconfig).unwrap();
        Cluster {
            sandbox,
            http: reqwest::Client::new(),
            id: cluster.id,
            server: cluster.server,
            token: cluster.token,
            dir,
        }
    }

    pub(crate) fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        self.run("kubectl", args, None)
    }

    pub(crate) fn run(
        &self,
        bin: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> (bool, String, String) {
        use std::io::Write;
        let mut cmd = Command::new(tool(bin));
        cmd.args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("HOME", self.dir.path())
            .env("HELM_CACHE_HOME", self.dir.path().join("helm-cache"))
            .env("HELM_CONFIG_HOME", self.dir.path().join("helm-config"))
            .env("HELM_DATA_HOME", self.dir.path().join("helm-data"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("tool runs");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    pub(crate) async fn req(
        &self,
        method: &str,
        path: &str,
        ctype: &str,
        body: Option<String>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.server))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.header("content-type", ctype).body(b);
        }
        let resp = r.send().await.unwrap();
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub(crate) async fn apply(
        &self,
        path: &str,
        manager: &str,
        force: bool,
        obj: Value,
    ) -> (u16, Value) {
        let q = format!(
            "?fieldManager={manager}{}",
            if force { "&force=true" } else { "" }
        );
        self.req(
            "PATCH",
            &format!("{path}{q}"),
            "application/apply-patch+yaml",
            Some(obj.to_string()),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_applies_and_deletes() {
    let c = Cluster::start().await;
    let (ok, out, err) = c.kubectl(&["get", "namespaces"]);
    assert!(ok, "kubectl get namespaces failed: {err}");
    assert!(
        out.contains("kube-system") && out.contains("Active"),
        "{out}"
    );
    let (ok, out, err) = c.kubectl(&["get", "storageclasses"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("scw-bssd (default)") && out.contains("sbs-default"),
        "{out}"
    );

    let manifest = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: team
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: team
  labels: {app: demo}
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"#;
    let path = c.dir.path().join("m.yaml");
    std::fs::write(&path, manifest).unwrap();
    let (ok, out, err) = c.kubectl(&["apply", "--server-side", "-f", path.to_str().unwrap()]);
    assert!(ok, "kubectl apply --server-side failed: {err}");
    assert!(out.contains("serverside-applied"), "{out}");
    // Applying again is a no-op.
    let (ok, _, err) = c.kubectl(&["apply", "--server-side", "-f", path.to_str().unwrap()]);
    assert!(ok, "{err}");

    let (ok, out, err) = c.kubectl(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "team",
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    assert!(ok, "{err}");
    let cm: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cm["data"]["greeting"], "hello");
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(cm["metadata"]["managedFields"][0]["operation"], "Apply");

    let (ok, out, err) = c.kubectl(&[
        "get",
        "configmaps",
        "-n",
        "team",
        "-l",
        "app=demo",
        "-o",
        "name",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "configmap/settings");

    // The Deployment becomes available after a delay.
    let mut available = false;
    for _ in 0..100 {
        let (_, out, _) = c.kubectl(&["get", "deploy", "web", "-n", "team", "-o", "json"]);
        let d: Value = serde_json::from_str(&out).unwrap_or_default();
        if d["status"]["availableReplicas"] == 2 {
            available = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(available, "deployment never became available");
    let (ok, out, _) = c.kubectl(&["get", "deploy", "-n", "team"]);
    assert!(ok && out.contains("2/2"), "{out}");

    let (ok, _, err) = c.kubectl(&["delete", "configmap", "settings", "-n", "team"]);
    assert!(ok, "{err}");
    let (ok, _, err) = c.kubectl(&["get", "configmap", "settings", "-n", "team"]);
    assert!(!ok && err.contains("NotFound"), "{err}");

    // Deleting the namespace takes its objects along.
    let (ok, _, err) = c.kubectl(&["delete", "namespace", "team"]);
    assert!(ok, "{err}");
    let (code, _) = c
        .req(
            "GET",
            "/apis/apps/v1/namespaces/team/deployments/web",
            "",
            None,
        )
        .await;
    assert_eq!(code, 404);
    c.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_conflicts_and_resource_versions() {
    let c = Cluster::start().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}});
    assert_eq!(
        c.apply("/api/v1/namespaces/a", "kapstan", false, ns)
            .await
            .0,
        201
    );
    let cm = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a"}, "data": {"k": v, "other": "1"}});
    let path = "/api/v1/namespaces/a/configmaps/x";
    let (code, first) = c.apply(path, "kapstan", false, cm("one")).await;
    assert_eq!(code, 201);
    let rv1 = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    // Re-applying the same object does not bump the resourceVersion.
    let (_, again) = c.apply(path, "kapstan", false, cm("one")).await;
    assert_eq!(again["metadata"]["resourceVersion"], rv1.as_str());
    // Another manager changing an owned field conflicts...
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "two"}});
    let (code, status) = c.apply(path, "someone", false, other.clone()).await;
    assert_eq!(code, 409, "{status}");
    assert_eq!(status["reason"], "Conflict");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("conflict with \"kapstan\": .data.k")
    );
    // ...unless forced, which takes ownership.
    let (code, forced) = c.apply(path, "someone", true, other).await;
    assert_eq!(code, 200);
    assert_eq!(forced["data"]["k"], "two");
    // Dropping a field from an apply removes it when nobody else owns it.
    let fewer = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "two"}});
    let (_, after) = c.apply(path, "kapstan", false, fewer).await;
    assert!(after["data"].get("other").is_none(), "{after}");
    // A stale resourceVersion on update is a 409 Status.
    let stale = json!({"metadata": {"resourceVersion": rv1}, "data": {"k": "three"}});
    let (code, status) = c
        .req(
            "PATCH",
            path,
            "application/merge-patch+json",
            Some(stale.to_string()),
        )
        .await;
    assert_eq!(code, 409);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("the object has been modified")
    );
    // Merge patch with null removes a key.
    let (code, patched) = c
        .req(
            "PATCH",
            path,
            "application/merge-patch+json",
            Some(json!({"data": {"k": null, "n": "1"}}).to_string()),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(patched["data"], json!({"n": "1"}));
    // Invalid names and missing namespaces are refused.
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}});
    let (code, _) = c
        .apply(
            "/api/v1/namespaces/a/configmaps/Bad_Name",
            "kapstan",
            false,
            bad,
        )
        .await;
    assert_eq!(code, 422);
    let orphan = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "o"}});
    let (code, status) = c
        .apply(
            "/api/v1/namespaces/nope/configmaps/o",
            "kapstan",
            false,
            orphan,
        )
        .await;
    assert_eq!(code, 404, "{status}");
    // Secrets: stringData becomes data.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"url": "postgres://x"}});
    let (_, s) = c
        .apply("/api/v1/namespaces/a/secrets/s", "kapstan", false, secret)
        .await;
    assert_eq!(
        s["data"]["url"],
        base64::engine::general_purpose::STANDARD.encode("postgres://x")
    );
    assert_eq!(s["type"], "Opaque");
    let _ = c.id.clone();
    c.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer_services_get_scaleway_load_balancers() {
    let c = Cluster::start().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}});
    c.apply("/api/v1/namespaces/web", "kapstan", false, ns)
        .await;
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "front"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}});
    let (code, created) = c
        .apply(
            "/api/v1/namespaces/web/services/front",
            "kapstan",
            false,
            svc,
        )
        .await;
    assert_eq!(code, 201, "{created}");
    let mut ip = None;
    for _ in 0..100 {
        let (_, s) = c
            .req("GET", "/api/v1/namespaces/web/services/front", "", None)
            .await;
        if let Some(i) = s["status"]["loadBalancer"]["ingress"][0]["ip"].as_str() {
            ip = Some(i.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ip = ip.expect("the service got an address");
    let (_, lbs) = c.scw("GET", "/lb/v1/zones/fr-par-1/lbs", None).await;
    let lb = lbs["lbs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"].as_str().unwrap().starts_with(&c.id))
        .expect("a load balancer named after the cluster")
        .clone();
    assert_eq!(lb["ip"][0]["ip_address"], ip.as_str());
    let ep: Value = c
        .http
        .get(format!(
            "{}/sandbox/v1/lb-endpoints/fr-par-1/{}",
            c.sandbox.url(),
            lb["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ep["url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    // Nothing healthy behind it yet: the endpoint answers 503.
    let r = c
        .http
        .get(format!("{}/healthz", ep["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    // Deleting the Service releases the load balancer the controller created.
    let (code, _) = c
        .req("DELETE", "/api/v1/namespaces/web/services/front", "", None)
        .await;
    assert_eq!(code, 200);
    let r = c
        .http
        .get(format!(
            "{}/lb/v1/zones/fr-par-1/lbs/{}",
            c.sandbox.url(),
            lb["id"].as_str().unwrap()
        ))
        .header("x-auth-token", c.sandbox.secret_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    c.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_renders_the_chart_from_the_sandbox_repository() {
    let c = Cluster::start().await;
    let repo = format!("{}/charts", c.sandbox.url());
    let values = r#"
coder:
  env:
    - name: CODER_ACCESS_URL
      value: http://coder.example.com
  service:
    annotations:
      service.beta.kubernetes.io/scw-loadbalancer-id: fr-par-1/abc
"#;
    let (ok, out, err) = c.run(
        "helm",
        &[
            "template",
            "coder",
            "coder",
            "--repo",
            &repo,
            "--version",
            "2.21.1",
            "--namespace",
            "coder",
            "-f",
            "-",
        ],
        Some(values),
    );
    assert!(ok, "helm template failed: {err}");
    let docs: Vec<Value> = out
        .split("\n---")
        .filter_map(|d| serde_norway::from_str::<Value>(d).ok())
        .filter(|d| d.is_object())
        .collect();
    let kinds: Vec<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "ServiceAccount/coder",
        "Role/coder-workspace-perms",
        "RoleBinding/coder",
        "Service/coder",
        "Deployment/coder",
    ] {
        assert!(
            kinds.contains(&want.to_string()),
            "{want} missing from {kinds:?}"
        );
    }
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let c0 = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c0["image"], "ghcr.io/coder/coder:v2.21.1");
    let env: Vec<&str> = strings(&c0["env"], "name");
    assert_eq!(
        env.iter().filter(|e| **e == "CODER_ACCESS_URL").count(),
        1,
        "{env:?}"
    );
    let svc = docs.iter().find(|d| d["kind"] == "Service").unwrap();
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    assert_eq!(
        svc["metadata"]["annotations"]["service.beta.kubernetes.io/scw-loadbalancer-id"],
        "fr-par-1/abc"
    );
    c.sandbox.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The cloud controller (production-path.md §2)

impl Cluster {
    pub(crate) async fn scw(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.sandbox.url()))
            .header("x-auth-token", self.sandbox.secret_key());
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let code = resp.status().as_u16();
        (code, resp.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn cluster_pn(&self) -> String {
        let (_, c) = self
            .scw(
                "GET",
                &format!("/k8s/v1/regions/fr-par/clusters/{}", self.id),
                None,
            )
            .await;
        c["private_network_id"].as_str().unwrap().to_string()
    }

    /// A ready load balancer with SSL level `modern`, attached to the cluster's network and to
    /// a foreign one.
    async fn own_lb(&self, name: &str) -> (String, String) {
        let (code, lb) = self
            .scw(
                "POST",
                "/lb/v1/zones/fr-par-1/lbs",
                Some(
                    json!({"name": name, "type": "LB-S", "description": "", "tags": [],
                    "ssl_compatibility_level": "ssl_compatibility_level_modern"}),
                ),
            )
            .await;
        assert_eq!(code, 200, "{lb}");
        let id = lb["id"].as_str().unwrap().to_string();
        self.wait_lb_ready(&id).await;
        let (_, foreign) = self
            .scw(
                "POST",
                "/vpc/v2/regions/fr-par/private-networks",
                Some(json!({"name": format!("{name}-foreign")})),
            )
            .await;
        let foreign = foreign["id"].as_str().unwrap().to_string();
        for pn in [self.cluster_pn().await, foreign.clone()] {
            let (code, a) = self
                .scw(
                    "POST",
                    &format!("/lb/v1/zones/fr-par-1/lbs/{id}/attach-private-network"),
                    Some(json!({"private_network_id": pn})),
                )
                .await;
            assert_eq!(code, 200, "{a}");
        }
        (id, foreign)
    }

    /// The `web` namespace, and a load balancer kapstan made (`coder-dev-lb`, see
    /// [`Cluster::own_lb`]): its id and the foreign private network's.
    async fn web_namespace_and_own_lb(&self) -> (String, String) {
        self.apply(
            "/api/v1/namespaces/web",
            "kapstan",
            false,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}),
        )
        .await;
        self.own_lb("coder-dev-lb").await
    }

    async fn wait_lb_ready(&self, id: &str) {
        for _ in 0..200 {
            let (_, lb) = self
                .scw("GET", &format!("/lb/v1/zones/fr-par-1/lbs/{id}"), None)
                .await;
            if lb["status"] == "ready" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("load balancer {id} never became ready");
    }

    async fn service(&self, name: &str, annotations: Value) -> Value {
        let svc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"type": "LoadBalancer", "selector": {"app": name},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}});
        let (code, created) = self
            .apply(
                &format!("/api/v1/namespaces/web/services/{name}"),
                "kapstan",
                false,
                svc,
            )
            .await;
        assert!(code == 201 || code == 200, "{created}");
        created
    }

    async fn lb_children(&self, lb: &str, what: &str) -> Vec<Value> {
        let (_, v) = self
            .scw(
                "GET",
                &format!("/lb/v1/zones/fr-par-1/lbs/{lb}/{what}"),
                None,
            )
            .await;
        let key = if what == "private-networks" {
            "private_network"
        } else {
            what
        };
        v[key].as_array().cloned().unwrap_or_default()
    }

    /// Waits for `n` more periodic controller syncs of this cluster.
    async fn ccm_syncs(&self, n: u64) {
        let count = |doc: &Value| {
            doc["resources"]["kube.ccm"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|r| r["object"]["syncs"].as_u64())
                .unwrap_or(0)
        };
        let (_, doc) = self.scw("GET", "/sandbox/v1/resources", None).await;
        let start = count(&doc);
        for _ in 0..400 {
            let (_, doc) = self.scw("GET", "/sandbox/v1/resources", None).await;
            if count(&doc) >= start + n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the controller did not sync {n} times");
    }
}

const SCW: &str = "service.beta.kubernetes.io/scw-loadbalancer-";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ccm_takes_over_a_load_balancer_that_is_not_externally_managed() {
    let c = Cluster::start().await;
    let (lb, foreign) = c.web_namespace_and_own_lb().await;
    let svc = c
        .service(
            "plain",
            json!({format!("{SCW}id"): format!("fr-par-1/{lb}")}),
        )
        .await;
    let uid = svc["metadata"]["uid"].as_str().unwrap().to_string();
    c.ccm_syncs(2).await;
    let (_, got) = c
        .scw("GET", &format!("/lb/v1/zones/fr-par-1/lbs/{lb}"), None)
        .await;
    assert_eq!(
        got["ssl_compatibility_level"], "ssl_compatibility_level_intermediate",
        "the controller resets the SSL level to its annotation's default"
    );
    let pns: Vec<Value> = c
        .lb_children(&lb, "private-networks")
        .await
        .iter()
        .map(|a| a["private_network_id"].clone())
        .collect();
    assert!(
        !pns.contains(&json!(foreign)),
        "foreign network detached: {pns:?}"
    );
    assert!(pns.contains(&json!(c.cluster_pn().await)), "{pns:?}");
    let frontends = c.lb_children(&lb, "frontends").await;
    assert_eq!(frontends.len(), 1);
    assert_eq!(frontends[0]["name"], format!("{uid}_tcp_80"));
    assert_eq!(frontends[0]["timeout_client"], 600_000);
    // Set back out of band, reset again on the next periodic sync.
    let (code, _) = c
        .scw(
            "PUT",
            &format!("/lb/v1/zones/fr-par-1/lbs/{lb}"),
            Some(
                json!({"name": "coder-dev-lb", "description": "", "tags": [],
                "ssl_compatibility_level": "ssl_compatibility_level_modern"}),
            ),
        )
        .await;
    assert_eq!(code, 200);
    c.ccm_syncs(2).await;
    let (_, got) = c
        .scw("GET", &format!("/lb/v1/zones/fr-par-1/lbs/{lb}"), None)
        .await;
    assert_eq!(
        got["ssl_compatibility_level"],
        "ssl_compatibility_level_intermediate"
    );
    // The Service goes; the load balancer is not named after it, so its frontends stay.
    let (code, _) = c
        .req("DELETE", "/api/v1/namespaces/web/services/plain", "", None)
        .await;
    assert_eq!(code, 200);
    assert_eq!(c.lb_children(&lb, "frontends").await.len(), 1);
    c.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_externally_managed_load_balancer_keeps_its_settings_and_loses_only_the_services_objects()
 {
    let c = Cluster::start().await;
    let (lb, foreign) = c.web_namespace_and_own_lb().await;
    // Someone else's frontend and backend on the same load balancer.
    let (code, b) = c
        .scw(
            "POST",
            &format!("/lb/v1/zones/fr-par-1/lbs/{lb}/backends"),
            Some(json!({"name": "manual", "forward_protocol": "tcp", "forward_port": 9000})),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    let (code, f) = c
        .scw(
            "POST",
            &format!("/lb/v1/zones/fr-par-1/lbs/{lb}/frontends"),
            Some(json!({"name": "manual", "inbound_port": 9000, "backend_id": b["id"]})),
        )
        .await;
    assert_eq!(code, 200, "{f}");
    let svc = c
        .service(
            "coder",
            json!({
                format!("{SCW}id"): format!("fr-par-1/{lb}"),
                format!("{SCW}externally-managed"): "true",
                format!("{SCW}timeout-tunnel"): "1h",
                format!("{SCW}timeout-client"): "1h",
                format!("{SCW}health-check-type"): "80:http;443:https",
                format!("{SCW}health-check-http-uri"): "/healthz",
            }),
        )
        .await;
    let uid = svc["metadata"]["uid"].as_str().unwrap().to_string();
    c.ccm_syncs(3).await;
    let (_, got) = c
        .scw("GET", &format!("/lb/v1/zones/fr-par-1/lbs/{lb}"), None)
        .await;
    assert_eq!(
        got["ssl_compatibility_level"],
        "ssl_compatibility_level_modern"
    );
    let pns: Vec<Value> = c
        .lb_children(&lb, "private-networks")
        .await
        .iter()
        .map(|a| a["private_network_id"].clone())
        .collect();
    assert!(pns.contains(&json!(foreign)), "never detached: {pns:?}");
    let frontends = c.lb_children(&lb, "frontends").await;
    let mine = frontends
        .iter()
        .find(|f| f["name"] == format!("{uid}_tcp_80"))
        .expect("the Service's frontend");
    assert_eq!(mine["timeout_client"], 3_600_000);
    let backends = c.lb_children(&lb, "backends").await;
    let mine = backends
        .iter()
        .find(|b| {
            b["name"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{uid}_tcp_"))
        })
        .expect("the Service's backend");
    assert_eq!(mine["timeout_tunnel"], 3_600_000);
    assert_eq!(mine["health_check"]["http_config"]["uri"], "/healthz");
    assert_eq!(
        frontends.len(),
        2,
        "the manual frontend is kept: {frontends:#?}"
    );
    let (_, s) = c
        .req("GET", "/api/v1/namespaces/web/services/coder", "", None)
        .await;
    assert!(
        s["status"]["loadBalancer"]["ingress"][0]["ip"].is_string(),
        "{s}"
    );
    // The Service goes: exactly its frontend and backend go with it.
    let (code, _) = c
        .req("DELETE", "/api/v1/namespaces/web/services/coder", "", None)
        .await;
    assert_eq!(code, 200);
    let names = |v: Vec<Value>| v.iter().map(|x| x["name"].clone()).collect::<Vec<_>>();
    assert_eq!(
        names(c.lb_children(&lb, "frontends").await),
        vec![json!("manual")]
    );
    assert_eq!(
        names(c.lb_children(&lb, "backends").await),
        vec![json!("manual")]
    );
    let (code, _) = c
        .scw("GET", &format!("/lb/v1/zones/fr-par-1/lbs/{lb}"), None)
        .await;
    assert_eq!(code, 200, "the load balancer itself stays");
    c.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ccm_refuses_a_bare_id_and_an_externally_managed_ccm_load_balancer() {
    let c = Cluster::start().await;
    let (lb, _) = c.web_namespace_and_own_lb().await;
    c.service(
        "bare",
        json!({format!("{SCW}id"): lb.clone(), format!("{SCW}externally-managed"): "true"}),
    )
    .await;
    // A Service with neither annotation gets a load balancer named after the cluster.
    let plain = c.service("plain", json!({})).await;
    let uid = plain["metadata"]["uid"].as_str().unwrap();
    c.ccm_syncs(2).await;
    let (_, lbs) = c.scw("GET", "/lb/v1/zones/fr-par-1/lbs", None).await;
    let ccm_lb = lbs["lbs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == format!("{}_{uid}", c.id))
        .expect("a CCM load balancer")
        .clone();
    assert!(
        ccm_lb["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("managed-by-scaleway-cloud-controller-manager"))
    );
    let ccm_id = ccm_lb["id"].as_str().unwrap().to_string();
    c.service(
        "stolen",
        json!({format!("{SCW}id"): format!("fr-par-1/{ccm_id}"), format!("{SCW}externally-managed"): "true"}),
    )
    .await;
    c.ccm_syncs(1).await;
    let (_, bare) = c
        .req("GET", "/api/v1/namespaces/web/services/bare", "", None)
        .await;
    assert!(
        bare["status"]["loadBalancer"]["ingress"].is_null(),
        "{bare}"
    );
    assert!(c.lb_children(&lb, "frontends").await.is_empty());
    let (_, events) = c
        .req("GET", "/api/v1/namespaces/web/events", "", None)
        .await;
    let messages: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "SyncLoadBalancerFailed")
        .map(|e| format!("{}: {}", e["involvedObject"]["name"], e["message"]))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("\"bare\"") && m.contains("<zone>/<load balancer id>")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("\"stolen\"")
                && m.contains("must not be prefixed by the cluster id")),
        "{messages:?}"
    );
    // The CCM's load balancer holds the cluster's network: deleting it answers 412; deleting
    // the cluster leaves the load balancer unless asked for its additional resources.
    c.wait_lb_ready(&ccm_id).await;
    c.ccm_syncs(1).await;
    let pn = c.cluster_pn().await;
    assert_eq!(c.lb_children(&ccm_id, "private-networks").await.len(), 1);
    let (code, _) = c
        .scw(
            "DELETE",
            &format!("/k8s/v1/regions/fr-par/clusters/{}", c.id),
            None,
        )
        .await;
    assert_eq!(code, 200);
    for _ in 0..400 {
        let (code, _) = c
            .scw(
                "GET",
                &format!("/k8s/v1/regions/fr-par/clusters/{}", c.id),
                None,
            )
            .await;
        if code == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, _) = c
        .scw("GET", &format!("/lb/v1/zones/fr-par-1/lbs/{ccm_id}"), None)
        .await;
    assert_eq!(code, 200, "the CCM's load balancer outlives the cluster");
    let (code, body) = c
        .scw(
            "DELETE",
            &format!("/vpc/v2/regions/fr-par/private-networks/{pn}"),
            None,
        )
        .await;
    assert_eq!(code, 412, "{body}");
    c.sandbox.shutdown().await;
}

/// The running pods of `default`: `(name, node)`.
async fn running_pods(c: &Cluster) -> Vec<(String, String)> {
    let (_, pods) = c
        .req("GET", "/api/v1/namespaces/default/pods", "", None)
        .await;
    pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["spec"]["nodeName"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordoned_nodes_drain_through_evictions_that_honour_disruption_budgets() {
    let c = Cluster::start().await;
    c.sandbox
        .create_pool(&c.id, "p1", 2)
        .await
        .expect("a pool of two nodes");
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
    });
    let (code, _) = c
        .apply(
            "/apis/apps/v1/namespaces/default/deployments/web",
            "t",
            false,
            deployment,
        )
        .await;
    assert!(code == 200 || code == 201, "{code}");
    let pdb = |min: u64| {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": {"name": "web", "namespace": "default"},
               "spec": {"minAvailable": min, "selector": {"matchLabels": {"app": "web"}}}})
    };
    let (code, _) = c
        .apply(
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web",
            "t",
            true,
            pdb(2),
        )
        .await;
    assert!(code == 200 || code == 201, "{code}");
    let running = || running_pods(&c);
    let mut pods = vec![];
    for _ in 0..400 {
        pods = running().await;
        if pods.len() == 2 && pods[0].1 != pods[1].1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(pods.len(), 2, "two pods on two nodes: {pods:?}");
    let (pod, node) = pods[0].clone();

    // kubectl cordons the node: unschedulable, tainted.
    let (ok, out, err) = c.kubectl(&["cordon", &node]);
    assert!(ok, "{out}{err}");
    let (_, n) = c
        .req("GET", &format!("/api/v1/nodes/{node}"), "", None)
        .await;
    assert_eq!(n["spec"]["unschedulable"], true);
    assert_eq!(
        n["spec"]["taints"][0]["key"],
        "node.kubernetes.io/unschedulable"
    );

    // The budget keeps both pods: the eviction is refused, the pod stays.
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                          "metadata": {"name": pod, "namespace": "default"}});
    let path = format!("/api/v1/namespaces/default/pods/{pod}/eviction");
    let (code, body) = c
        .req(
            "POST",
            &path,
            "application/json",
            Some(eviction.to_string()),
        )
        .await;
    assert_eq!(code, 429, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("disruption budget"),
        "{body}"
    );
    assert!(running().await.iter().any(|(_, n)| *n == node));

    // One disruption allowed: the pod leaves and the Deployment runs on the other node.
    c.apply(
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web",
        "t",
        true,
        pdb(1),
    )
    .await;
    let (code, body) = c
        .req(
            "POST",
            &path,
            "application/json",
            Some(eviction.to_string()),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let after = running().await;
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|(_, n)| *n != node), "drained: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csi_driver_provisions_volumes_for_its_claims_and_reclaims_them_by_policy() {
    let c = Cluster::start().await;
    let (code, _) = c
        .apply(
            "/apis/storage.k8s.io/v1/storageclasses/keep",
            "test",
            true,
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "keep"}, "provisioner": "csi.scaleway.com",
                "reclaimPolicy": "Retain"}),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = c
        .apply(
            "/apis/storage.k8s.io/v1/storageclasses/nfs",
            "test",
            true,
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "nfs"}, "provisioner": "example.com/nfs"}),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = c
        .apply(
            "/api/v1/namespaces/team",
            "test",
            true,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
        )
        .await;
    assert_eq!(code, 201);
    let mut uids = std::collections::BTreeMap::new();
    for (ns, name, class) in [
        ("default", "gone", "scw-bssd"),
        ("default", "kept", "keep"),
        ("default", "elsewhere", "nfs"),
        ("team", "home", "scw-bssd"),
    ] {
        let (code, pvc) = c
            .apply(
                &format!("/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}"),
                "test",
                true,
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                        "resources": {"requests": {"storage": "10Gi"}}}}),
            )
            .await;
        assert_eq!(code, 201, "{pvc}");
        uids.insert(name, pvc["metadata"]["uid"].as_str().unwrap().to_string());
        if class != "nfs" {
            assert_eq!(
                pvc["spec"]["volumeName"],
                format!("pvc-{}", uids[name]),
                "{pvc}"
            );
        }
    }
    let all = pvs(&c).await;
    assert_eq!(
        all.len(),
        3,
        "no volume for the other provisioner's claim: {all:#?}"
    );
    for pv in &all {
        let claim = pv["spec"]["claimRef"]["name"].as_str().unwrap();
        assert_eq!(pv["metadata"]["name"], format!("pvc-{}", uids[claim]));
        assert_eq!(pv["spec"]["claimRef"]["uid"], uids[claim].as_str());
        assert_eq!(pv["spec"]["csi"]["driver"], "csi.scaleway.com");
        let handle = pv["spec"]["csi"]["volumeHandle"].as_str().unwrap();
        let (zone, id) = handle.split_once('/').unwrap();
        assert_eq!(zone, "fr-par-1");
        assert!(uuid_like(id), "{handle}");
        assert_eq!(pv["spec"]["capacity"]["storage"], "10Gi");
        assert_eq!(pv["status"]["phase"], "Bound");
        let policy = if claim == "kept" { "Retain" } else { "Delete" };
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], policy);
    }
    // Deleting a claim deletes a `Delete` volume and keeps a `Retain` one, released; a
    // namespace takes its claims' volumes along.
    for path in [
        "/api/v1/namespaces/default/persistentvolumeclaims/gone",
        "/api/v1/namespaces/default/persistentvolumeclaims/kept",
        "/api/v1/namespaces/team",
    ] {
        let (code, body) = c.req("DELETE", path, "", None).await;
        assert_eq!(code, 200, "{path}: {body}");
    }
    let left = pvs(&c).await;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["spec"]["claimRef"]["name"], "kept");
    assert_eq!(left[0]["status"]["phase"], "Released");
}

async fn pvs(c: &Cluster) -> Vec<Value> {
    let (code, list) = c.req("GET", "/api/v1/persistentvolumes", "", None).await;
    assert_eq!(code, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-')
}
