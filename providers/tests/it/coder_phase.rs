//! The Coder phase end to end in the sandbox: namespace, database Secret, the Coder release
//! (rendered by the real helm from the sandbox's chart repository), first user and two
//! templates; then no-op plan, a one-template update, destroy. The real `kubectl` and `helm`
//! (from `$KAPSTAN_TOOLS/bin`, default `<workspace>/.tools/bin`) check what kapstan applied.
//! Also the bad inputs: helm missing or too old, a chart that fails to render, a template
//! without Terraform files, Coder unreachable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kapstan_engine::{Action, Driver, DriverContext, Engine, Input, PlanMode, Stack, StackSpec};
use kapstan_providers::coder::{
    CoderFirstUser, CoderFirstUserDriver, CoderTemplate, CoderTemplateDriver, CoderValues,
    SecretKeyRef,
};
use kapstan_providers::helm::{Helm, HelmRelease, HelmReleaseDriver};
use kapstan_providers::kubernetes::{
    KubernetesManifest, KubernetesNamespace, KubernetesSecret, PodSecurity,
};
use kapstan_providers::local::RandomPassword;
use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::steps::{self, apply_ok, apply_plan_ok, assert_converged, assert_mentions, changes};
use crate::support::{official_coder_chart, scw_post, tool};

struct Env {
    sandbox: Sandbox,
    kubeconfig: String,
    /// The cluster's API server URL and admin token (from the kubeconfig).
    server: String,
    token: String,
    lb: String,
    coder_url: String,
    dir: tempfile::TempDir,
}

async fn env() -> Env {
    env_with(SandboxOptions::default()).await
}

fn official_chart_dir() -> PathBuf {
    official_coder_chart()
}

async fn env_with(options: SandboxOptions) -> Env {
    sandbox_cluster(SandboxOptions {
        speed: 200.0,
        ..options
    })
    .await
}

/// A sandbox started with `options` holding a Kapsule cluster (its kubeconfig) and a load
/// balancer with its loopback endpoint.
async fn sandbox_cluster(options: SandboxOptions) -> Env {
    let sandbox = Sandbox::start(options).await.unwrap();
    let cluster = sandbox.create_cluster("coder-dev").await.unwrap();
    let http = reqwest::Client::new();
    let base = sandbox.url().to_string();
    let lb = scw_post(
        &sandbox,
        "/lb/v1/zones/fr-par-1/lbs",
        json!({"name": "coder-dev", "type": "LB-S"}),
    )
    .await;
    let lb_id = lb["id"].as_str().unwrap().to_string();
    let ep = json_of(http.get(format!("{base}/sandbox/v1/lb-endpoints/fr-par-1/{lb_id}"))).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kubeconfig"), &cluster.kubeconfig).unwrap();
    Env {
        coder_url: ep["url"].as_str().unwrap().to_string(),
        sandbox,
        kubeconfig: cluster.kubeconfig,
        server: cluster.server,
        token: cluster.token,
        lb: format!("fr-par-1/{lb_id}"),
        dir,
    }
}

impl Env {
    fn run(&self, bin: &str, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(tool(bin))
            .args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("HOME", self.dir.path())
            .env("HELM_CACHE_HOME", self.dir.path().join("hc"))
            .env("HELM_CONFIG_HOME", self.dir.path().join("hcfg"))
            .env("HELM_DATA_HOME", self.dir.path().join("hd"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Applies the phase with the templates `docker` and `kubernetes`: the engine's state
    /// directory, the engine and the two templates' directories.
    async fn applied(&self) -> (tempfile::TempDir, Engine, PathBuf, PathBuf) {
        let t1 = self.template_dir("docker", "resource \"null_resource\" \"a\" {}\n");
        let t2 = self.template_dir("kubernetes", "resource \"null_resource\" \"b\" {}\n");
        let state = tempfile::tempdir().unwrap();
        let engine = engine(state.path());
        apply_ok(&engine, &self.stack(&t1, &t2), PlanMode::Normal).await;
        (state, engine, t1, t2)
    }

    fn template_dir(&self, name: &str, body: &str) -> PathBuf {
        let d = self.dir.path().join("templates").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("main.tf"), body).unwrap();
        d
    }

    fn stack(&self, t1: &Path, t2: &Path) -> StackSpec {
        let kc = || Input::sensitive(self.kubeconfig.clone());
        let mut s = Stack::new("coder-dev-app");
        let ns = s.add(
            "ns",
            KubernetesNamespace {
                kubeconfig: kc(),
                name: "coder".into(),
                labels: BTreeMap::from([("team".to_string(), "platform".to_string())]),
                pod_security: Some(PodSecurity::all("baseline")),
                ..Default::default()
            },
        );
        let db = s.add(
            "db_url",
            KubernetesSecret {
                kubeconfig: kc(),
                namespace: ns.name().into(),
                name: "coder-db-url".into(),
                data: BTreeMap::from([(
                    "url".to_string(),
                    // `postgres_url`'s encoding of the password `p@ss/w#rd:%` (its unit test).
                    Input::sensitive(
                        "postgres://coder:p%40ss%2Fw%23rd%3A%25@10.0.0.5:5432/coder_dev_db?sslmode=require"
                            .to_string(),
                    ),
                )]),
                ..Default::default()
            },
        );
        s.add(
            "quota",
            KubernetesManifest {
                kubeconfig: kc(),
                manifest: json!({"apiVersion": "v1", "kind": "ResourceQuota",
                "metadata": {"name": "coder-quota", "namespace": "coder"},
                "spec": {"hard": {"pods": "20"}}}),
                ..Default::default()
            },
        )
        .depends_on(&ns);
        let values = CoderValues {
            access_url: self.coder_url.clone().into(),
            wildcard_access_url: Some("*.coder.example.com".into()),
            database_url: SecretKeyRef::new(db.name(), "url"),
            load_balancer_id: Some(self.lb.clone().into()),
            ..Default::default()
        };
        assert!(values.problems().is_empty());
        let release = s.add(
            "coder",
            HelmRelease {
                kubeconfig: kc(),
                name: "coder".into(),
                namespace: ns.name().into(),
                repository: Some(format!("{}/charts", self.sandbox.url())),
                chart: "coder".into(),
                version: Some("2.21.1".into()),
                values: values.to_values(),
                timeout_seconds: Some(60),
                ..Default::default()
            },
        );
        let password = s.add(
            "admin_password",
            RandomPassword {
                length: 24.into(),
                ..Default::default()
            },
        );
        let admin = s.add(
            "admin",
            CoderFirstUser {
                url: self.coder_url.clone().into(),
                email: "admin@example.com".into(),
                username: "admin".into(),
                password: password.result().into(),
                timeout_seconds: Some(30),
                ..Default::default()
            },
        );
        admin.depends_on(&release);
        for (addr, dir) in [("tpl_docker", t1), ("tpl_k8s", t2)] {
            let name = if addr == "tpl_docker" {
                "docker"
            } else {
                "kubernetes"
            };
            s.add(
                addr,
                CoderTemplate {
                    timeout_seconds: Some(30),
                    ..CoderTemplate::from_dir(
                        name,
                        dir,
                        self.coder_url.clone(),
                        admin.email(),
                        admin.password(),
                    )
                },
            );
        }
        s.output("coder_url", self.coder_url.clone());
        s.build()
    }
}

/// Coder's health endpoint at `url` answers 200.
async fn assert_healthy(url: &str) {
    let health = reqwest::Client::new()
        .get(format!("{url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200, "{url}/healthz");
}

/// The error of creating `config` at `address` with `driver`, as text.
async fn create_error(driver: &dyn Driver, address: &str, config: &Value) -> String {
    driver
        .create(&DriverContext::detached("t", address), config)
        .await
        .unwrap_err()
        .to_string()
}

fn engine(dir: &Path) -> Engine {
    steps::engine_with(crate::support::registry_with_tools_helm(), dir)
}

/// The real kubectl and helm see what kapstan applied: the Deployment, the namespace's Pod
/// Security level, the Service's address, and the release in `helm list`, `status`, `history`.
fn real_tools_see_the_release(e: &Env) {
    let (ok, out, err) = e.run(
        "kubectl",
        &["get", "deployment", "coder", "-n", "coder", "-o", "json"],
    );
    assert!(ok, "{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["status"]["availableReplicas"], 1);
    assert_eq!(
        d["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "coder"
    );
    let (ok, out, _) = e.run("kubectl", &["get", "namespace", "coder", "-o", "json"]);
    assert!(ok);
    let ns: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "baseline"
    );
    let (ok, out, _) = e.run(
        "kubectl",
        &["get", "svc", "coder", "-n", "coder", "-o", "json"],
    );
    assert!(ok);
    let svc: Value = serde_json::from_str(&out).unwrap();
    assert!(
        svc["status"]["loadBalancer"]["ingress"][0]["ip"].is_string(),
        "{svc}"
    );

    // The real helm sees the release.
    for (args, wants) in [
        (&["list", "-n", "coder"][..], ["coder-2.21.1", "deployed"]),
        (
            &["status", "coder", "-n", "coder"],
            ["STATUS: deployed", "REVISION: 1"],
        ),
        (
            &["history", "coder", "-n", "coder"],
            ["coder-2.21.1", "Install complete"],
        ),
    ] {
        let (ok, out, err) = e.run("helm", args);
        assert!(ok, "helm {} failed: {err}", args[0]);
        assert!(wants.iter().all(|w| out.contains(w)), "{out}");
    }
}

/// A template without Terraform files: Coder's build fails and its error is reported, without
/// the admin password.
async fn empty_template_reports_coders_build_error(e: &Env, engine: &Engine) {
    let empty = e.dir.path().join("templates").join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("README.md"), "no terraform here\n").unwrap();
    let driver = CoderTemplateDriver::new();
    let password = {
        let st = engine.state("coder-dev-app").await.unwrap();
        st.resources["admin_password"].attributes["result"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let bad = json!({"url": e.coder_url, "email": "admin@example.com", "password": password,
        "name": "empty", "directory": empty.display().to_string(), "source_hash": "", "timeout_seconds": 30});
    let problems = driver.problems(&bad);
    assert!(
        problems
            .iter()
            .any(|p| p.problem.contains("no Terraform file")),
        "{problems:?}"
    );
    let err = create_error(&driver, "tpl", &bad).await;
    assert_mentions(&err, &["failed", "no Terraform files"]);
    assert!(!err.contains(&password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coder_phase_applies_noops_updates_one_template_and_destroys() {
    let e = env().await;
    let (_state, engine, t1, t2) = e.applied().await;
    let spec = e.stack(&t1, &t2);

    // Coder answers at the access URL, with its first user.
    let http = reqwest::Client::new();
    assert_healthy(&e.coder_url).await;
    let first = http
        .get(format!("{}/api/v2/users/first", e.coder_url))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 200);

    real_tools_see_the_release(&e);

    // Nothing to do afterwards.
    let plan = assert_converged(&engine, &spec, "second plan").await;

    // No secret in the plan output.
    let rendered = serde_json::to_string(&plan).unwrap();
    assert!(
        !rendered.contains("p@ss") && !rendered.contains("token:"),
        "secret leaked into the plan"
    );

    // A file change in one template updates only that template.
    std::fs::write(
        t2.join("main.tf"),
        "resource \"null_resource\" \"b\" { count = 2 }\n",
    )
    .unwrap();
    let spec = e.stack(&t1, &t2);
    let plan = steps::plan(&engine, &spec, PlanMode::Normal).await;
    assert_eq!(
        changes(&plan),
        vec![("tpl_k8s".to_string(), Action::Update)]
    );
    apply_plan_ok(&engine, &plan).await;
    assert_converged(&engine, &spec, "after the template update").await;

    empty_template_reports_coders_build_error(&e, &engine).await;

    // Destroy leaves nothing behind.
    apply_ok(&engine, &spec, PlanMode::Destroy).await;
    let (ok, out, _) = e.run("helm", &["list", "-A", "-a"]);
    assert!(ok && !out.contains("coder-2.21.1"), "{out}");
    let (ok, _, err) = e.run("kubectl", &["get", "namespace", "coder"]);
    assert!(!ok && err.contains("NotFound"), "{err}");
    let all = json_of(http.get(format!("{}/sandbox/v1/resources", e.sandbox.url()))).await;
    let left: Vec<String> = all["resources"]["kube.object"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .filter(|id| id.contains("/coder/") || id.contains("sh.helm.release"))
        .collect();
    assert!(left.is_empty(), "objects left: {left:?}");
    // The infra phase's load balancer stays.
    let lb_id = e.lb.rsplit('/').next().unwrap();
    let r = http
        .get(format!(
            "{}/lb/v1/zones/fr-par-1/lbs/{lb_id}",
            e.sandbox.url()
        ))
        .header("x-auth-token", e.sandbox.secret_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    e.sandbox.shutdown().await;
}

/// The same phase with the official Coder chart, served by the sandbox's chart repository the
/// way `helm.coder.com` serves it (index.yaml and the packaged archive): helm installs what the
/// real chart renders, the Kubernetes emulator runs it, Coder answers behind the load balancer,
/// and the real chart's rendering (`nodePort: null`, empty lists and maps) leaves the next plan
/// empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coder_phase_runs_the_official_coder_chart() {
    let e = env_with(SandboxOptions {
        chart_dirs: vec![official_chart_dir()],
        ..Default::default()
    })
    .await;
    let index = reqwest::get(format!("{}/charts/index.yaml", e.sandbox.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("Remote development environments on your infrastructure")
            && index.contains("coder-2.21.1.tgz"),
        "the repository does not serve the official chart:\n{index}"
    );
    let (_state, engine, t1, t2) = e.applied().await;
    let spec = e.stack(&t1, &t2);

    // What the official chart renders, as the real kubectl sees it.
    let (ok, out, err) = e.run(
        "kubectl",
        &["get", "deployment", "coder", "-n", "coder", "-o", "json"],
    );
    assert!(ok, "{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["status"]["availableReplicas"], 1, "{d}");
    assert_eq!(
        d["metadata"]["labels"]["helm.sh/chart"], "coder-2.21.1",
        "not the official chart: {d}"
    );
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "ghcr.io/coder/coder:v2.21.1", "{d}");
    for (kind, name) in [
        ("serviceaccount", "coder"),
        ("role", "coder-workspace-perms"),
        ("rolebinding", "coder"),
        ("service", "coder"),
    ] {
        let (ok, _, err) = e.run("kubectl", &["get", kind, name, "-n", "coder"]);
        assert!(ok, "{kind}/{name} of the official chart is missing: {err}");
    }
    // Coder runs behind the load balancer for it.
    assert_healthy(&e.coder_url).await;
    let (ok, out, err) = e.run("helm", &["list", "-n", "coder"]);
    assert!(ok, "{err}");
    assert_mentions(&out, &["coder-2.21.1", "deployed"]);

    // The real chart's quirks do not make the release look changed.
    assert_converged(&engine, &spec, "second plan with the official chart").await;
    e.sandbox.shutdown().await;
}

#[tokio::test]
async fn helm_missing_or_too_old_is_reported_clearly() {
    let err = Helm::at(Path::new("/nonexistent/helm"))
        .await
        .unwrap_err()
        .to_string();
    assert_mentions(&err, &["helm was not found", "KAPSTAN_HELM"]);
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("helm");
    std::fs::write(&fake, "#!/bin/sh\necho v3.5.4\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let err = Helm::at(&fake).await.unwrap_err().to_string();
    assert_mentions(&err, &["v3.5.4", "too old", ">= 3.12.0"]);
    let ok = Helm::at(&tool("helm")).await.unwrap();
    assert!(ok.version.starts_with("v3.18"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_that_fails_to_render_shows_helms_message() {
    let e = env().await;
    let chart = e.dir.path().join("broken");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.x | nope }}\n",
    )
    .unwrap();
    let config = json!({"kubeconfig": e.kubeconfig, "name": "broken", "namespace": "default", "chart": chart.display().to_string()});
    let helm = HelmReleaseDriver::new().with_helm(Some(tool("helm")));
    let err = create_error(&helm, "broken", &config).await;
    assert_mentions(&err, &["helm template failed", "nope"]);
    assert!(!err.contains("token"), "{err}");
    e.sandbox.shutdown().await;
}

#[tokio::test]
async fn coder_unreachable_times_out_with_a_clear_error() {
    let config = json!({"url": "http://127.0.0.1:9", "email": "a@example.com", "username": "admin",
        "password": "correct-horse-battery", "timeout_seconds": 1});
    let err = create_error(&CoderFirstUserDriver::new(), "admin", &config).await;
    assert_mentions(&err, &["timed out after 1s", "Coder at http://127.0.0.1:9"]);
    assert!(!err.contains("correct-horse-battery"));
}

// ---- The client against a Coder as strict as the real one ----

const OWNER_PASSWORD: &str = "Kx7#mQ2$vL9@pR4!wT6&";

/// A sandbox with a Coder Deployment behind a load balancer, its first user created by the
/// driver: `(sandbox, coder url)`.
async fn coder_only(speed: f64, coder: kapstan_sandbox::CoderOptions) -> (Sandbox, String) {
    let Env {
        sandbox,
        server,
        token,
        lb,
        coder_url: url,
        ..
    } = sandbox_cluster(SandboxOptions {
        speed,
        coder,
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let labels = json!({"app.kubernetes.io/name": "coder"});
    for (path, body) in [
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coder"},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                    {"name": "coder", "image": "ghcr.io/coder/coder:v2.21.1"}]}}}}),
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "coder", "annotations": {
                "service.beta.kubernetes.io/scw-loadbalancer-id": lb}},
            "spec": {"type": "LoadBalancer", "selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
        ),
    ] {
        let r = http
            .post(format!("{server}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let admin = json!({"url": url, "email": "admin@example.com", "username": "admin",
        "password": OWNER_PASSWORD, "timeout_seconds": 30});
    CoderFirstUserDriver::new()
        .create(&DriverContext::detached("t", "admin"), &admin)
        .await
        .unwrap();
    (sandbox, url)
}

/// The Coder database of the sandbox (users, tokens, files, versions, templates, jobs).
async fn coder_db(sandbox: &Sandbox) -> Value {
    let all: Value = reqwest::get(format!("{}/sandbox/v1/resources", sandbox.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all["resources"]["coder.instance"][0]["object"].clone()
}

/// The error of a push that fails without waiting out its deadline.
async fn fails_at_once(
    driver: &CoderTemplateDriver,
    ctx: &DriverContext,
    config: &Value,
) -> kapstan_engine::DriverError {
    let err = driver.create(ctx, config).await.unwrap_err();
    assert!(
        !matches!(err, kapstan_engine::DriverError::Timeout { .. }),
        "{err}"
    );
    err
}

fn template_config(url: &str, name: &str, dir: &Path) -> Value {
    let hash = kapstan_providers::coder::archive_dir(dir).unwrap().sha256;
    json!({"url": url, "email": "admin@example.com", "password": OWNER_PASSWORD, "name": name,
        "directory": dir.display().to_string(), "source_hash": hash, "timeout_seconds": 60})
}

/// A Coder with its first user ([`coder_only`]), its URL, a directory for template files, and
/// the template driver with its context.
async fn templates(
    speed: f64,
) -> (
    Sandbox,
    String,
    tempfile::TempDir,
    CoderTemplateDriver,
    DriverContext,
) {
    let (sandbox, url) = coder_only(speed, Default::default()).await;
    (
        sandbox,
        url,
        tempfile::tempdir().unwrap(),
        CoderTemplateDriver::new(),
        DriverContext::detached("t", "tpl"),
    )
}

/// The driver config of a template `name` whose `main.tf` (under `root`) holds `body`.
fn template_in(url: &str, root: &Path, name: &str, body: &str) -> Value {
    template_config(url, name, &tf_dir(root, name, body))
}

fn tf_dir(root: &Path, name: &str, body: &str) -> PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("main.tf"), body).unwrap();
    d
}

async fn api(
    url: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{url}/api/v2{path}"))
        .header("coder-session-token", token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The JSON answer to `request`.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn owner_token(url: &str) -> String {
    let v = json_of(
        reqwest::Client::new()
            .post(format!("{url}/api/v2/users/login"))
            .json(&json!({"email": "admin@example.com", "password": OWNER_PASSWORD})),
    )
    .await;
    v["session_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_pushes_log_in_once_poll_politely_and_stay_within_the_upload_budget() {
    // Windows of 6 s at speed 10; 40 requests per path and window; builds of 2 s on 3 daemons,
    // so the last of 15 builds waits about 10 s: polling every 100 ms would hit the limit.
    let (sandbox, url) = coder_only(
        10.0,
        kapstan_sandbox::CoderOptions {
            api_rate_limit: 40,
            build_time: Duration::from_secs(20),
            ..Default::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let driver = Arc::new(CoderTemplateDriver::new());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..15 {
        let config = template_config(
            &url,
            &format!("t{i}"),
            &tf_dir(
                dir.path(),
                &format!("t{i}"),
                &format!("resource \"null_resource\" \"r{i}\" {{}}\n"),
            ),
        );
        let driver = driver.clone();
        set.spawn(async move {
            driver
                .create(&DriverContext::detached("t", "tpl"), &config)
                .await
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap()
            .expect("every push succeeds within Coder's limits");
    }
    let db = coder_db(&sandbox).await;
    assert_eq!(db["templates"].as_object().unwrap().len(), 15);
    // The upload budget was used without a single refused upload, and polling stayed polite.
    assert_eq!(db["rate_limited"], json!({}), "requests refused with 429");
    // One session for the whole apply (plus none from the first user, which did not log in).
    assert_eq!(
        db["tokens"].as_object().unwrap().len(),
        1,
        "{}",
        db["tokens"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_update_keeps_console_settings_and_uploads_nothing() {
    let (sandbox, url, dir, driver, ctx) = templates(200.0).await;
    let mut config = template_in(
        &url,
        dir.path(),
        "docker",
        "resource \"null_resource\" \"a\" {}\n",
    );
    config["display_name"] = json!("Docker");
    let created = driver.create(&ctx, &config).await.unwrap();
    let tid = created.id.clone();
    // An operator sets an icon and a 2 h activity bump in the console.
    let token = owner_token(&url).await;
    let (_, mut t) = api(&url, &token, "GET", &format!("/templates/{tid}"), None).await;
    t["icon"] = json!("/icon/docker.png");
    t["activity_bump_ms"] = json!(7_200_000);
    assert_eq!(
        api(&url, &token, "PATCH", &format!("/templates/{tid}"), Some(t))
            .await
            .0,
        200
    );
    let versions_before = coder_db(&sandbox).await["versions"]
        .as_object()
        .unwrap()
        .len();
    let recorded = kapstan_engine::state::ResourceState {
        config: config.clone(),
        attributes: created.attributes.clone(),
        ..serde_json::from_value(json!({"kind": "coder_template", "id": tid})).unwrap()
    };
    config["display_name"] = json!("Docker (team)");
    driver
        .update(
            &ctx,
            &kapstan_engine::Update {
                recorded: &recorded,
                config: &config,
                changed: &["display_name".into()],
            },
        )
        .await
        .unwrap();
    let (_, t) = api(&url, &token, "GET", &format!("/templates/{tid}"), None).await;
    assert_eq!(t["display_name"], "Docker (team)");
    assert_eq!(
        t["icon"], "/icon/docker.png",
        "the PATCH must not reset the icon"
    );
    assert_eq!(t["activity_bump_ms"], 7_200_000, "nor the activity bump");
    let versions_after = coder_db(&sandbox).await["versions"]
        .as_object()
        .unwrap()
        .len();
    assert_eq!(
        versions_before, versions_after,
        "unchanged content is not pushed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_failures_quote_the_log_and_stuck_jobs_fail_fast() {
    let (_sandbox, url, dir, driver, ctx) = templates(200.0).await;
    let body = format!(
        "# kapstan-sandbox: fail=Unsupported argument \"imgae\" (token {OWNER_PASSWORD})\n"
    );
    let bad = tf_dir(dir.path(), "broken", &body);
    let err = driver
        .create(&ctx, &template_config(&url, "broken", &bad))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("template broken") && err.contains(&bad.display().to_string()),
        "{err}"
    );
    assert!(err.contains("terraform plan: exit status 1"), "{err}");
    assert!(
        err.contains("Unsupported argument \"imgae\""),
        "the cause from the log: {err}"
    );
    assert!(!err.contains(OWNER_PASSWORD), "{err}");
    let unknown = tf_dir(dir.path(), "lost", "# kapstan-sandbox: status=unknown\n");
    let err = fails_at_once(&driver, &ctx, &template_config(&url, "lost", &unknown)).await;
    assert!(err.to_string().contains("\"unknown\""), "{err}");

    let (_sandbox, url) = coder_only(
        200.0,
        kapstan_sandbox::CoderOptions {
            provisioner_daemons: 0,
            ..Default::default()
        },
    )
    .await;
    let ok = tf_dir(dir.path(), "ok", "resource \"null_resource\" \"a\" {}\n");
    let err = fails_at_once(&driver, &ctx, &template_config(&url, "ok", &ok)).await;
    assert!(
        err.to_string().contains("matched_provisioners.count = 0"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_survive_429s_and_5xx_and_use_the_default_organization() {
    let (_sandbox, url) = coder_only(
        200.0,
        kapstan_sandbox::CoderOptions {
            faults: kapstan_sandbox::FaultSpec::parse("429=0.2,503=0.1").unwrap(),
            ..Default::default()
        },
    )
    .await;
    // Another organization that sorts before the default one.
    let token = loop {
        let r = reqwest::Client::new()
            .post(format!("{url}/api/v2/users/login"))
            .json(&json!({"email": "admin@example.com", "password": OWNER_PASSWORD}))
            .send()
            .await
            .unwrap();
        if r.status() == 201 {
            break r.json::<Value>().await.unwrap()["session_token"]
                .as_str()
                .unwrap()
                .to_string();
        }
    };
    loop {
        if api(
            &url,
            &token,
            "POST",
            "/organizations",
            Some(json!({"name": "acme"})),
        )
        .await
        .0 == 201
        {
            break;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let driver = CoderTemplateDriver::new();
    for i in 0..4 {
        let config = template_in(&url, dir.path(), &format!("f{i}"), &format!("# {i}\n"));
        driver
            .create(&DriverContext::detached("t", "tpl"), &config)
            .await
            .expect("retried through the faults");
    }
    loop {
        let (s, t) = api(
            &url,
            &token,
            "GET",
            "/organizations/coder/templates/f0",
            None,
        )
        .await;
        if s == 200 {
            assert_eq!(t["name"], "f0");
            break;
        }
        assert!(s == 429 || s == 503, "{s} {t}");
    }
}

#[tokio::test]
async fn names_and_passwords_coder_refuses_are_reported_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let d = tf_dir(dir.path(), "x", "#\n");
    let mut config = template_config("http://127.0.0.1:9", "my_template", &d);
    config["display_name"] = json!(" Padded");
    config["description"] = json!("d".repeat(130));
    let problems = CoderTemplateDriver::new().problems(&config);
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["name", "display_name", "description"],
        "{problems:?}"
    );
    assert!(problems[0].fix.contains("'-'"), "{problems:?}");
    let user = json!({"url": "http://127.0.0.1:9", "email": "a@example.com", "username": "new", "password": "password1"});
    let problems = CoderFirstUserDriver::new().problems(&user);
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["username", "password"], "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| !p.to_string().contains("password1"))
    );
    // A weak password that only becomes known at apply is refused before Coder is called.
    let weak = json!({"url": "http://127.0.0.1:9", "email": "a@example.com", "username": "admin", "password": "password1", "timeout_seconds": 1});
    let err = create_error(&CoderFirstUserDriver::new(), "admin", &weak).await;
    assert_mentions(&err, &["too weak", "nothing was sent"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_template_with_workspaces_fails_first_unless_told_to_delete_them() {
    let (_sandbox, url, dir, driver, ctx) = templates(20.0).await;
    let config = template_in(
        &url,
        dir.path(),
        "docker",
        "resource \"null_resource\" \"a\" {}\n",
    );
    let created = driver.create(&ctx, &config).await.unwrap();
    let token = owner_token(&url).await;
    for name in ["alice-dev", "bob-dev"] {
        let (s, w) = api(
            &url,
            &token,
            "POST",
            "/users/me/workspaces",
            Some(json!({"name": name, "template_id": created.id})),
        )
        .await;
        assert_eq!(s, 201, "{w}");
    }
    let path = format!("/templates/{}", created.id);
    let template_status = || api(&url, &token, "GET", &path, None);
    let recorded = |config: &Value| kapstan_engine::state::ResourceState {
        config: config.clone(),
        attributes: created.attributes.clone(),
        ..serde_json::from_value(json!({"kind": "coder_template", "id": created.id})).unwrap()
    };
    let err = driver
        .delete(&ctx, &recorded(&config))
        .await
        .unwrap_err()
        .to_string();
    assert_mentions(
        &err,
        &["admin/alice-dev", "admin/bob-dev", "delete_workspaces"],
    );
    let (s, _) = template_status().await;
    assert_eq!(s, 200, "nothing was deleted");
    let (_, list) = api(&url, &token, "GET", "/workspaces?q=template:docker", None).await;
    assert_eq!(list["count"], 2);
    let mut forced = config.clone();
    forced["delete_workspaces"] = json!(true);
    driver.delete(&ctx, &recorded(&forced)).await.unwrap();
    let (s, _) = template_status().await;
    assert_eq!(s, 404);
}
