//! `kapstan health`: live checks of a deployed environment — Kapsule cluster, pool and nodes,
//! kube-system pods, storage classes, the PostgreSQL instance and its private endpoint, the
//! load balancer and its IP, the Coder Deployment, `/healthz`, `/api/v2/buildinfo` and the
//! templates. Each failure names its cause; any failure makes the exit code 1.
//!
//! Scaleway credentials come from the environment (`SCW_*`, or the `scw` config file); in
//! sandbox mode the caller points `SCW_API_URL` at the sandbox before calling [`health`].

use std::time::Duration;

use kapstan_providers::coder::CoderClient;
use kapstan_providers::kubernetes::{KubeClient, ObjectRef};
use kapstan_providers::scaleway::client::{Region, Zone};
use kapstan_stacks::coder::{Environment, Phase};
use kapstan_state::StateDocument;
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::ListFormat;
use crate::context::Project;
use crate::error::CliError;
use crate::platform::{load_phase, output_string, stack_name, value_string};

/// How long one HTTP check may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What part of the platform (`cluster`, `database`, `coder`, …).
    pub component: String,
    /// What was checked.
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen, or the cause of the failure.
    pub detail: String,
}

/// Every check of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// The environment.
    pub environment: String,
    /// Only the quick checks were run.
    pub quick: bool,
    /// The checks, in the order they were run.
    pub checks: Vec<Check>,
}

impl HealthReport {
    /// Whether every check passed.
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    fn push(&mut self, component: &str, check: &str, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.checks.push(Check {
            component: component.into(),
            check: check.into(),
            ok,
            detail,
        });
    }

    /// The report as a table.
    pub fn render_table(&self) -> String {
        let mut out = format!(
            "Health of {}{}\n\n",
            self.environment,
            if self.quick { " (quick)" } else { "" }
        );
        let w1 = self
            .checks
            .iter()
            .map(|c| c.component.len())
            .max()
            .unwrap_or(0);
        let w2 = self.checks.iter().map(|c| c.check.len()).max().unwrap_or(0);
        for c in &self.checks {
            out.push_str(&format!(
                "  {:<4}  {:<w1$}  {:<w2$}  {}\n",
                if c.ok { "ok" } else { "FAIL" },
                c.component,
                c.check,
                c.detail
            ));
        }
        let failed = self.failures().count();
        out.push_str(&format!(
            "\n{} check(s), {} failed: {}\n",
            self.checks.len(),
            failed,
            if failed == 0 { "healthy" } else { "unhealthy" }
        ));
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "environment": self.environment,
            "quick": self.quick,
            "healthy": self.healthy(),
            "checks": self.checks.iter().map(|c| json!({
                "component": c.component,
                "check": c.check,
                "status": if c.ok { "pass" } else { "fail" },
                "detail": c.detail,
            })).collect::<Vec<_>>(),
        })
    }
}

/// `kapstan health --env ENV [--quick] [--format table|json]`: prints the report; returns 0
/// when healthy, 1 otherwise.
pub async fn health(
    project: &Project,
    env: Environment,
    quick: bool,
    format: ListFormat,
) -> Result<i32, CliError> {
    let report = check(project, env, quick).await?;
    match format {
        ListFormat::Table => print!("{}", report.render_table()),
        ListFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).expect("json")
        ),
    }
    Ok(if report.healthy() { 0 } else { 1 })
}

/// The `[oidc]` issuer checked the way Coder uses it: `Ok(endpoints)` or `Err(problems)`.
pub async fn oidc_check(
    oidc: &kapstan_stacks::coder::sign_in::OidcSettings,
) -> Result<String, String> {
    use kapstan_providers::coder::oidc_discovery::check_issuer;
    match check_issuer(&oidc.issuer_url, &oidc.scopes, HTTP_TIMEOUT).await {
        Ok(r) if r.is_ok() => {
            let mut detail = format!(
                "{} answers: authorization {}, token {}, keys {}",
                oidc.issuer_url,
                r.authorization_endpoint.unwrap_or_default(),
                r.token_endpoint.unwrap_or_default(),
                r.jwks_uri.unwrap_or_default()
            );
            for w in r.warnings {
                detail.push_str(&format!("; warning: {w}"));
            }
            Ok(detail)
        }
        Ok(r) => Err(r.problems.join("; ")),
        Err(e) => Err(e.to_string()),
    }
}

fn recorded_id(doc: &StateDocument, address: &str) -> Result<String, String> {
    doc.resources
        .get(address)
        .and_then(|r| r.id.clone())
        .ok_or_else(|| format!("`{address}` is not recorded in {}", doc.stack))
}

fn required(doc: &StateDocument, name: &str) -> Result<String, String> {
    output_string(doc, name)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{} has no output `{name}`", doc.stack))
}

/// Runs the checks of `env` and returns the report (never fails on a check: only when the
/// environment has no state or the credentials are unusable).
pub async fn check(
    project: &Project,
    env: Environment,
    quick: bool,
) -> Result<HealthReport, CliError> {
    let infra_name = stack_name(env, Phase::Infra);
    let infra = load_phase(project, env, Phase::Infra)
        .await?
        .ok_or_else(|| {
            CliError::usage(
                format!(
                    "environment {} is not deployed: stack `{infra_name}` has no state",
                    env.name()
                ),
                format!("deploy it with `kapstan up --env {}`", env.name()),
            )
        })?;
    let app = load_phase(project, env, Phase::App).await?;
    let client = crate::commands::platform::scaleway_client()?;
    let mut report = HealthReport {
        environment: env.name().into(),
        quick,
        checks: vec![],
    };
    let region =
        required(&infra, "region").and_then(|r| Region::parse(&r).map_err(|e| e.to_string()));
    let zone = required(&infra, "zone").and_then(|z| Zone::parse(&z).map_err(|e| e.to_string()));

    // Cluster.
    let cluster_id = required(&infra, "cluster_id");
    let cluster = match (&region, &cluster_id) {
        (Ok(region), Ok(id)) => match client.k8s(region).get_cluster(id).await {
            Ok(c) if c.status.as_str() == "ready" => {
                Ok(format!("{} ready, Kubernetes {}", c.name, c.version))
            }
            Ok(c) => Err(format!("{} is {}, not ready", c.name, c.status.as_str())),
            Err(e) => Err(format!("cluster {id}: {e}")),
        },
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };
    report.push("cluster", "Kapsule cluster", cluster);

    let kube = infra
        .outputs
        .get("kubeconfig")
        .map(|o| value_string(&o.value))
        .filter(|k| !k.is_empty())
        .ok_or_else(|| format!("{infra_name} has no kubeconfig output"))
        .and_then(|k| KubeClient::from_kubeconfig(&k).map_err(|e| e.to_string()));

    if !quick {
        // Pool and nodes.
        let pool = match (&region, recorded_id(&infra, "pool-default")) {
            (Ok(region), Ok(id)) => match client.k8s(region).get_pool(&id).await {
                Ok(p) if p.status.as_str() == "ready" => Ok(format!(
                    "{} ready: {} × {} (autoscaling {}..{})",
                    p.name, p.size, p.node_type, p.min_size, p.max_size
                )),
                Ok(p) => Err(format!(
                    "pool {} is {}, not ready",
                    p.name,
                    p.status.as_str()
                )),
                Err(e) => Err(format!("pool {id}: {e}")),
            },
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
        };
        report.push("cluster", "node pool", pool);
        let nodes = match (&region, &cluster_id) {
            (Ok(region), Ok(id)) => match client.k8s(region).list_nodes(id, None).await {
                Ok(nodes) if nodes.is_empty() => Err("the cluster has no nodes".to_string()),
                Ok(nodes) => {
                    let bad: Vec<String> = nodes
                        .iter()
                        .filter(|n| n.status.as_str() != "ready")
                        .map(|n| {
                            let why = n
                                .error_message
                                .as_deref()
                                .filter(|m| !m.is_empty())
                                .map(|m| format!(": {m}"))
                                .unwrap_or_default();
                            format!("{} is {}{why}", n.name, n.status.as_str())
                        })
                        .collect();
                    if bad.is_empty() {
                        Ok(format!("{} node(s) ready", nodes.len()))
                    } else {
                        Err(format!(
                            "{} of {} node(s) not ready: {}",
                            bad.len(),
                            nodes.len(),
                            bad.join("; ")
                        ))
                    }
                }
                Err(e) => Err(format!("listing nodes: {e}")),
            },
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        report.push("cluster", "nodes ready", nodes);

        // Kubernetes API.
        let pods = match &kube {
            Ok(k) => match k.list("v1", "Pod", Some("kube-system"), None).await {
                Ok(pods) => {
                    let bad: Vec<String> = pods
                        .iter()
                        .filter(|p| {
                            !matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded"))
                        })
                        .map(|p| {
                            format!(
                                "{} is {}",
                                p["metadata"]["name"].as_str().unwrap_or("?"),
                                p["status"]["phase"].as_str().unwrap_or("in no phase")
                            )
                        })
                        .collect();
                    if bad.is_empty() {
                        Ok(format!("{} pod(s) running", pods.len()))
                    } else {
                        Err(format!(
                            "{} pod(s) not running: {}",
                            bad.len(),
                            bad.join("; ")
                        ))
                    }
                }
                Err(e) => Err(format!("listing kube-system pods: {e}")),
            },
            Err(e) => Err(e.clone()),
        };
        report.push("kubernetes", "kube-system pods", pods);
        let classes = match &kube {
            Ok(k) => match k
                .list("storage.k8s.io/v1", "StorageClass", None, None)
                .await
            {
                Ok(list) => {
                    let names: Vec<&str> = list
                        .iter()
                        .filter_map(|c| c["metadata"]["name"].as_str())
                        .collect();
                    if names.contains(&"scw-bssd") {
                        Ok(format!("present: {}", names.join(", ")))
                    } else {
                        Err(format!(
                            "storage class scw-bssd is missing (present: {})",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ))
                    }
                }
                Err(e) => Err(format!("listing storage classes: {e}")),
            },
            Err(e) => Err(e.clone()),
        };
        report.push("kubernetes", "storage classes", classes);

        // Database.
        let pn = required(&infra, "private_network_id");
        let db = match (&region, recorded_id(&infra, "database")) {
            (Ok(region), Ok(id)) => match client.rdb(region).get_instance(&id).await {
                Ok(i) if i.status.as_str() != "ready" => {
                    Err(format!("{} is {}, not ready", i.name, i.status.as_str()))
                }
                Ok(i) => {
                    let private = i.endpoints.iter().find(|e| {
                        e.private_network.as_ref().is_some_and(|p| {
                            pn.as_ref().is_ok_and(|pn| &p.private_network_id == pn)
                        })
                    });
                    match private {
                        Some(e) => Ok(format!(
                            "{} ready, private endpoint {}:{}",
                            i.name,
                            e.ip.clone()
                                .or_else(|| e.hostname.clone())
                                .unwrap_or_default(),
                            e.port
                        )),
                        None => Err(format!(
                            "{} is ready but has no endpoint on the private network {}",
                            i.name,
                            pn.as_deref().unwrap_or("?")
                        )),
                    }
                }
                Err(e) => Err(format!("instance {id}: {e}")),
            },
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
        };
        report.push("database", "PostgreSQL instance", db);

        // Load balancer.
        let lb = match (&zone, required(&infra, "lb_id")) {
            (Ok(zone), Ok(id)) => match client.lb(zone).get_lb(&id).await {
                Ok(lb) if lb.status.as_str() != "ready" => {
                    Err(format!("{} is {}, not ready", lb.name, lb.status.as_str()))
                }
                Ok(lb) => {
                    let want = required(&infra, "lb_ip").unwrap_or_default();
                    let ips: Vec<&str> = lb.ip.iter().map(|i| i.ip_address.as_str()).collect();
                    if want.is_empty() || ips.contains(&want.as_str()) {
                        Ok(format!("{} ready on {}", lb.name, ips.join(", ")))
                    } else {
                        Err(format!(
                            "{} does not hold its flexible IP {want} (holds {})",
                            lb.name,
                            ips.join(", ")
                        ))
                    }
                }
                Err(e) => Err(format!("load balancer {id}: {e}")),
            },
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
        };
        report.push("network", "load balancer", lb);
    }

    // Coder.
    let Some(app) = app else {
        report.push(
            "coder",
            "app phase",
            Err(format!(
                "stack `{}` has no state: run `kapstan up --env {} --phase app`",
                stack_name(env, Phase::App),
                env.name()
            )),
        );
        return Ok(report);
    };
    if app.resources.contains_key("coder") {
        let deployment = match &kube {
            Ok(k) => deployment_status(k).await,
            Err(e) => Err(e.clone()),
        };
        report.push("coder", "Deployment coder/coder", deployment);
    }
    let url = output_string(&app, "access_url")
        .or_else(|| output_string(&infra, "access_url"))
        .unwrap_or_default();
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| CliError::usage(format!("HTTP client: {e}"), "this is a bug"))?;
    let base = url.trim_end_matches('/').to_string();
    let healthz = if base.is_empty() {
        Err("no access URL recorded".to_string())
    } else {
        match http.get(format!("{base}/healthz")).send().await {
            Ok(r) if r.status().is_success() => {
                Ok(format!("{base}/healthz answered {}", r.status()))
            }
            Ok(r) => Err(format!("{base}/healthz answered {}", r.status())),
            Err(e) => Err(format!("{base}/healthz: {}", cause(&e))),
        }
    };
    let reachable = healthz.is_ok();
    report.push("coder", "/healthz", healthz);
    let buildinfo = if !reachable {
        Err("skipped: Coder does not answer".to_string())
    } else {
        match http.get(format!("{base}/api/v2/buildinfo")).send().await {
            Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                Ok(v) => match v["version"].as_str() {
                    Some(ver) => Ok(format!("Coder {ver}")),
                    None => Err("the answer has no version".to_string()),
                },
                Err(e) => Err(format!("the answer is not JSON: {}", cause(&e))),
            },
            Ok(r) => Err(format!("/api/v2/buildinfo answered {}", r.status())),
            Err(e) => Err(format!("/api/v2/buildinfo: {}", cause(&e))),
        }
    };
    report.push("coder", "/api/v2/buildinfo", buildinfo);

    if !quick {
        let wanted: Vec<String> = app
            .resources
            .iter()
            .filter(|(_, r)| r.kind == "coder_template")
            .filter_map(|(_, r)| r.config["name"].as_str().map(str::to_string))
            .collect();
        if !wanted.is_empty() {
            let templates = if !reachable {
                Err("skipped: Coder does not answer".to_string())
            } else {
                templates_present(&base, &app, &wanted).await
            };
            report.push("coder", "templates", templates);
        }
    }
    // Single sign-on: the issuer's discovery document, as Coder's login reads it.
    if let Ok(profile) = kapstan_stacks::coder::Profile::load(env, &project.dir)
        && let Some(oidc) = &profile.oidc
    {
        report.push("sign-in", "OIDC discovery", oidc_check(oidc).await);
    }
    Ok(report)
}

/// A reqwest error's cause without its URL (the URL is shown by the caller).
fn cause(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else {
        "request failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !text.is_empty() && !msg.contains(&text) {
            msg = format!("{msg} ({text})");
            break;
        }
        src = s.source();
    }
    msg
}

async fn deployment_status(kube: &KubeClient) -> Result<String, String> {
    let r = ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some("coder".into()),
        name: "coder".into(),
    };
    match kube.get(&r).await {
        Ok(None) => Err("Deployment coder/coder does not exist in the cluster (deleted outside kapstan?); run `kapstan up` to restore it".into()),
        Ok(Some(d)) => {
            let want = d["spec"]["replicas"].as_u64().unwrap_or(1);
            let available = d["status"]["availableReplicas"].as_u64().unwrap_or(0);
            if available >= want && want > 0 {
                Ok(format!("{available}/{want} replica(s) available"))
            } else {
                Err(format!("{available}/{want} replica(s) available"))
            }
        }
        Err(e) => Err(format!("reading Deployment coder/coder: {e}")),
    }
}

async fn templates_present(
    base: &str,
    app: &StateDocument,
    wanted: &[String],
) -> Result<String, String> {
    let email = output_string(app, "admin_email").ok_or("no admin_email output")?;
    let password = app
        .outputs
        .get("admin_password")
        .map(|o| value_string(&o.value))
        .ok_or("no admin_password output")?;
    let coder = CoderClient::new(base);
    coder
        .login(&email, &password)
        .await
        .map_err(|e| format!("admin login: {e}"))?;
    let orgs = coder
        .organizations()
        .await
        .map_err(|e| format!("listing organizations: {e}"))?;
    let mut missing = vec![];
    for name in wanted {
        let mut found = false;
        for org in &orgs {
            let Some(org_id) = org["id"].as_str() else {
                continue;
            };
            match coder.template_by_name(org_id, name).await {
                Ok(Some(_)) => {
                    found = true;
                    break;
                }
                Ok(None) => {}
                Err(e) => return Err(format!("reading template {name}: {e}")),
            }
        }
        if !found {
            missing.push(name.clone());
        }
    }
    if missing.is_empty() {
        Ok(format!(
            "{} template(s) present: {}",
            wanted.len(),
            wanted.join(", ")
        ))
    } else {
        Err(format!(
            "{} of {} template(s) missing: {}",
            missing.len(),
            wanted.len(),
            missing.join(", ")
        ))
    }
}
