//! `kapstan health`: live checks of a deployed environment — Kapsule cluster, pool and nodes,
//! kube-system pods, storage classes, the PostgreSQL instance and its private endpoint, the
//! load balancer and its IP, the Coder Deployment, `/healthz`, `/api/v2/buildinfo`, the
//! templates and, when monitoring is on, the collector and whether Coder's metrics reach
//! Cockpit. Each failure names its cause; any failure makes the exit code 1.
//!
//! Scaleway credentials come from the environment (`SCW_*`, or the `scw` config file); in
//! sandbox mode the caller points `SCW_API_URL` at the sandbox before calling [`health`].

use kapstan_providers::coder::CoderReach;
use kapstan_providers::coder::probe;
use kapstan_providers::kubernetes::KubeClient;
use kapstan_providers::kubernetes::inspect;
use kapstan_providers::scaleway::client::{Client, Region, Zone};
use kapstan_stacks::coder::{Environment, Phase, monitoring};
use kapstan_state::StateDocument;
use serde::Serialize;
use serde_json::{Value, json};

use crate::environment::{load_phase, output_string, stack_name, value_string};
use crate::error::PlatformError;
use crate::project::Project;

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

/// The recorded infra phase and a Scaleway client: what the Scaleway checks read.
struct InfraChecks<'a> {
    client: &'a Client,
    infra: &'a StateDocument,
    region: Result<Region, String>,
    zone: Result<Zone, String>,
    cluster_id: Result<String, String>,
}

impl InfraChecks<'_> {
    /// The Kapsule cluster is ready.
    async fn cluster(&self) -> Result<String, String> {
        match (&self.region, &self.cluster_id) {
            (Ok(region), Ok(id)) => match self.client.k8s(region).get_cluster(id).await {
                Ok(c) if c.status.as_str() == "ready" => {
                    Ok(format!("{} ready, Kubernetes {}", c.name, c.version))
                }
                Ok(c) => Err(format!("{} is {}, not ready", c.name, c.status.as_str())),
                Err(e) => Err(format!("cluster {id}: {e}")),
            },
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        }
    }

    /// The default pool is ready.
    async fn pool(&self) -> Result<String, String> {
        match (&self.region, recorded_id(self.infra, "pool-default")) {
            (Ok(region), Ok(id)) => match self.client.k8s(region).get_pool(&id).await {
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
        }
    }

    /// Every node of the cluster is ready.
    async fn nodes(&self) -> Result<String, String> {
        match (&self.region, &self.cluster_id) {
            (Ok(region), Ok(id)) => match self.client.k8s(region).list_nodes(id, None).await {
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
        }
    }

    /// The PostgreSQL instance is ready with an endpoint on the private network.
    async fn database(&self) -> Result<String, String> {
        let pn = required(self.infra, "private_network_id");
        match (&self.region, recorded_id(self.infra, "database")) {
            (Ok(region), Ok(id)) => match self.client.rdb(region).get_instance(&id).await {
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
        }
    }

    /// The load balancer is ready and holds its flexible IP.
    async fn load_balancer(&self) -> Result<String, String> {
        match (&self.zone, required(self.infra, "lb_id")) {
            (Ok(zone), Ok(id)) => match self.client.lb(zone).get_lb(&id).await {
                Ok(lb) if lb.status.as_str() != "ready" => {
                    Err(format!("{} is {}, not ready", lb.name, lb.status.as_str()))
                }
                Ok(lb) => {
                    let want = required(self.infra, "lb_ip").unwrap_or_default();
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
        }
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
) -> Result<HealthReport, PlatformError> {
    let infra_name = stack_name(env, Phase::Infra);
    let infra = load_phase(project, env, Phase::Infra)
        .await?
        .ok_or_else(|| {
            PlatformError::usage(
                format!(
                    "environment {} is not deployed: stack `{infra_name}` has no state",
                    env.name()
                ),
                format!("deploy it with `kapstan up --env {}`", env.name()),
            )
        })?;
    let app = load_phase(project, env, Phase::App).await?;
    let client = project.scaleway_client()?;
    let mut report = HealthReport {
        environment: env.name().into(),
        quick,
        checks: vec![],
    };
    let scw = InfraChecks {
        client: &client,
        infra: &infra,
        region: required(&infra, "region")
            .and_then(|r| Region::parse(&r).map_err(|e| e.to_string())),
        zone: required(&infra, "zone").and_then(|z| Zone::parse(&z).map_err(|e| e.to_string())),
        cluster_id: required(&infra, "cluster_id"),
    };
    let cluster = scw.cluster().await;
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
        let pool = scw.pool().await;
        report.push("cluster", "node pool", pool);
        let nodes = scw.nodes().await;
        report.push("cluster", "nodes ready", nodes);

        // Kubernetes API.
        let pods = match &kube {
            Ok(k) => kube_system_pods(k).await,
            Err(e) => Err(e.clone()),
        };
        report.push("kubernetes", "kube-system pods", pods);
        let classes = match &kube {
            Ok(k) => storage_classes(k).await,
            Err(e) => Err(e.clone()),
        };
        report.push("kubernetes", "storage classes", classes);

        // Database.
        let db = scw.database().await;
        report.push("database", "PostgreSQL instance", db);

        // Load balancer.
        let lb = scw.load_balancer().await;
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
    // Coder on its https:// access URL is reached as the infra phase says (the chain's
    // issuers, the sandbox's address of the host); a failure to work that out is reported.
    let reach = match crate::reach::coder_reach(&infra, project.sandbox_url()).await {
        Ok(reach) => reach,
        Err(e) => {
            report.push("coder", "access URL", Err(e.to_string()));
            CoderReach::default()
        }
    };
    let at = Reached {
        sandbox: project.sandbox_url(),
        reach: &reach,
    };
    coder_checks(&mut report, env, &infra, &app, &kube, quick, at).await;
    // Single sign-on: the issuer's discovery document, as Coder's login reads it.
    if let Ok(profile) = kapstan_stacks::coder::Profile::load(env, &project.dir)
        && let Some(oidc) = &profile.oidc
    {
        report.push("sign-in", "OIDC discovery", oidc_check(oidc).await);
    }
    Ok(report)
}

/// Where the Coder checks go: the sandbox the environment runs in (its base URL) and how
/// Coder's access URL is reached.
#[derive(Clone, Copy)]
struct Reached<'a> {
    sandbox: Option<&'a str>,
    reach: &'a CoderReach,
}

/// The Coder checks: its Deployment, `/healthz`, the version, the certificate, and the
/// templates.
async fn coder_checks(
    report: &mut HealthReport,
    env: Environment,
    infra: &StateDocument,
    app: &StateDocument,
    kube: &Result<KubeClient, String>,
    quick: bool,
    at: Reached<'_>,
) {
    if app.resources.contains_key("coder") {
        let deployment = match kube {
            Ok(k) => deployment_status(k, "coder", "coder").await,
            Err(e) => Err(e.clone()),
        };
        report.push("coder", "Deployment coder/coder", deployment);
    }
    // `--quick` checks the cluster and Coder only.
    let monitoring = !quick && app.resources.contains_key(monitoring::ALLOY_RELEASE);
    if monitoring {
        let collector = match kube {
            Ok(k) => {
                deployment_status(
                    k,
                    monitoring::MONITORING_NAMESPACE,
                    monitoring::ALLOY_RELEASE,
                )
                .await
            }
            Err(e) => Err(e.clone()),
        };
        report.push(
            "monitoring",
            "collector (Deployment monitoring/alloy)",
            collector,
        );
    }
    let url = output_string(app, "access_url")
        .or_else(|| output_string(infra, "access_url"))
        .unwrap_or_default();
    let base = url.trim_end_matches('/').to_string();
    let healthz = if base.is_empty() {
        Err("no access URL recorded".to_string())
    } else {
        probe::healthz_with(&base, at.reach).await
    };
    let reachable = healthz.is_ok();
    report.push("coder", "/healthz", healthz);
    let buildinfo = if !reachable {
        Err("skipped: Coder does not answer".to_string())
    } else {
        probe::build_version_with(&base, at.reach).await
    };
    report.push("coder", "/api/v2/buildinfo", buildinfo);
    if let Some(recorded) = output_string(infra, "tls_certificate_sha256") {
        let names = output_string(infra, "tls_names").unwrap_or_default();
        let expiry = certificate_expiry(
            &names,
            output_string(infra, "tls_not_after").as_deref(),
            env,
            chrono::Utc::now(),
        );
        report.push("tls", "certificate", expiry);
        // The certificate is the domain's: probe the infra phase's https:// URL (an app phase
        // recorded before it kept the domain's URL in the sandbox has the loopback one).
        let domain_url = output_string(infra, "access_url").unwrap_or_default();
        report.push(
            "tls",
            "served certificate",
            served_matches(domain_url.trim_end_matches('/'), &recorded, at.sandbox).await,
        );
    }

    if monitoring && app.resources.contains_key(monitoring::METRICS_SOURCE) {
        report.push(
            "monitoring",
            "Coder metrics in Cockpit",
            coder_metrics_arrived(app).await,
        );
    }

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
                templates_present(&base, at.reach, app, &wanted).await
            };
            report.push("coder", "templates", templates);
        }
    }
}

async fn kube_system_pods(kube: &KubeClient) -> Result<String, String> {
    let pods = inspect::pods(kube, Some("kube-system"))
        .await
        .map_err(|e| format!("listing kube-system pods: {e}"))?;
    let bad: Vec<String> = pods
        .iter()
        .filter(|p| !matches!(p.phase.as_deref(), Some("Running" | "Succeeded")))
        .map(|p| {
            format!(
                "{} is {}",
                p.name,
                p.phase.as_deref().unwrap_or("in no phase")
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

async fn storage_classes(kube: &KubeClient) -> Result<String, String> {
    let names = inspect::storage_class_names(kube)
        .await
        .map_err(|e| format!("listing storage classes: {e}"))?;
    if names.iter().any(|n| n == "scw-bssd") {
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

/// Asks the metrics data source's Prometheus query API for series of the `coder` scrape job
/// seen in the last 5 minutes (its default lookback), with the read-only health token. An
/// endpoint that cannot be reached, or offers no query API, is reported as not checked.
async fn coder_metrics_arrived(app: &StateDocument) -> Result<String, String> {
    use kapstan_providers::scaleway::cockpit_query::{QueryOutcome, instant_query};
    let url = app.resources[monitoring::METRICS_SOURCE].attributes["url"]
        .as_str()
        .filter(|u| !u.is_empty())
        .ok_or("the metrics data source has no recorded url")?;
    let replace = format!(
        "replace it with `kapstan apply --stack {} --replace {}`",
        app.stack,
        monitoring::HEALTH_TOKEN
    );
    let token = app
        .resources
        .get(monitoring::HEALTH_TOKEN)
        .and_then(|t| t.attributes["secret_key"].as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            format!(
                "`{}` has no secret key recorded (imported?); {replace}",
                monitoring::HEALTH_TOKEN
            )
        })?;
    match instant_query(url, token, "{job=\"coder\"}").await {
        QueryOutcome::Series(0) => Err("no samples of job `coder` in the last 5 minutes: check that the collector runs (`kubectl -n monitoring logs deploy/alloy`) and that Coder's pods expose port prometheus-http".into()),
        QueryOutcome::Series(n) => Ok(format!("{n} series of job `coder` in the last 5 minutes")),
        QueryOutcome::NotChecked(why) => Ok(format!("not checked: {why}")),
        QueryOutcome::Failed(why) if why.contains("refused the token") => Err(format!("{why}; {replace}")),
        QueryOutcome::Failed(why) => Err(why),
    }
}

async fn deployment_status(kube: &KubeClient, ns: &str, name: &str) -> Result<String, String> {
    match inspect::deployment_replicas(kube, ns, name).await {
        Ok(None) => Err(format!(
            "Deployment {ns}/{name} does not exist in the cluster (deleted outside kapstan?); run `kapstan up` to restore it"
        )),
        Ok(Some(r)) => {
            let (want, available) = (r.desired, r.available);
            if available >= want && want > 0 {
                Ok(format!("{available}/{want} replica(s) available"))
            } else {
                Err(format!("{available}/{want} replica(s) available"))
            }
        }
        Err(e) => Err(format!("reading Deployment {ns}/{name}: {e}")),
    }
}

async fn templates_present(
    base: &str,
    reach: &CoderReach,
    app: &StateDocument,
    wanted: &[String],
) -> Result<String, String> {
    let email = output_string(app, "admin_email").ok_or("no admin_email output")?;
    let password = app
        .outputs
        .get("admin_password")
        .map(|o| value_string(&o.value))
        .ok_or("no admin_password output")?;
    probe::templates_present_with(base, reach, &email, &password, wanted).await
}

/// The `[oidc]` issuer checked the way Coder uses it: `Ok(endpoints)` or `Err(problems)`.
pub async fn oidc_check(
    oidc: &kapstan_stacks::coder::sign_in::OidcSettings,
) -> Result<String, String> {
    use kapstan_providers::coder::oidc_discovery::check_issuer;
    match check_issuer(&oidc.issuer_url, &oidc.scopes, probe::PROBE_TIMEOUT).await {
        Ok(r) if r.is_ok() => {
            let mut detail = format!(
                "{} answers: authorization {}, token {}, keys {}",
                oidc.issuer_url,
                r.endpoints.authorization_endpoint.unwrap_or_default(),
                r.endpoints.token_endpoint.unwrap_or_default(),
                r.endpoints.jwks_uri.unwrap_or_default()
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

/// Days before expiry under which `health` warns.
pub const CERTIFICATE_WARN_DAYS: i64 = 14;

/// The recorded certificate's names and days left: a warning (still passing) under
/// [`CERTIFICATE_WARN_DAYS`], a failure once expired.
pub fn certificate_expiry(
    names: &str,
    not_after: Option<&str>,
    env: Environment,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, String> {
    let Some(not_after) = not_after else {
        return Err(format!("{names}: no expiry recorded"));
    };
    let t = chrono::DateTime::parse_from_rfc3339(not_after)
        .map_err(|e| format!("{names}: recorded expiry {not_after:?} is unreadable: {e}"))?
        .with_timezone(&chrono::Utc);
    let days = (t - now).num_days();
    let renew = format!("`kapstan up --env {}` renews it", env.name());
    if t <= now {
        Err(format!("{names}: EXPIRED on {not_after}; {renew}"))
    } else if days < CERTIFICATE_WARN_DAYS {
        Ok(format!(
            "{names}: WARNING expires in {days} days ({not_after}); {renew}, or see docs/certificates.md when renewals fail"
        ))
    } else {
        Ok(format!("{names}: {days} days left (expires {not_after})"))
    }
}

/// Whether the certificate the access URL serves is the recorded one (by SHA-256 of the leaf).
/// In the sandbox the host is reached where the sandbox's DNS resolves it (its load
/// balancer's 443 frontend on loopback), still named in the handshake.
async fn served_matches(
    base: &str,
    recorded: &str,
    sandbox: Option<&str>,
) -> Result<String, String> {
    let Some(host) = base.strip_prefix("https://") else {
        return Err(format!("{base:?} is not an https:// URL"));
    };
    let host = host.split(['/', ':']).next().unwrap_or_default();
    let (connect_to, via) = match sandbox {
        None => (None, String::new()),
        Some(url) => {
            let at = kapstan_providers::sandbox_api::resolve_name(url, host)
                .await
                .map_err(|why| format!("the sandbox does not resolve {host}: {why}"))?;
            let addr = at.https.parse().map_err(|e| {
                format!(
                    "the sandbox gave {host} the unreadable endpoint {:?}: {e}",
                    at.https
                )
            })?;
            (
                Some(addr),
                format!(" (reached at {}, where the sandbox resolves it)", at.https),
            )
        }
    };
    let served =
        kapstan_providers::coder::probe::served_certificate_sha256(base, connect_to).await?;
    if served == recorded {
        Ok(format!(
            "{base} serves the recorded certificate ({}…){via}",
            &served[..16]
        ))
    } else {
        Err(format!(
            "{base}{via} serves certificate {}…, not the recorded {}…; the Coder pod has not restarted since the renewal (`kubectl -n coder rollout restart deployment/coder`) or something else answers for the name",
            &served[..16],
            &recorded[..recorded.len().min(16)]
        ))
    }
}

#[cfg(test)]
mod certificate_tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn days_left_warn_under_fourteen_and_fail_once_expired() {
        let names = "coder.example.test, *.coder.example.test";
        let now = at("2026-12-01T00:00:00Z");
        let ok = certificate_expiry(
            names,
            Some("2027-02-01T00:00:00+00:00"),
            Environment::Prod,
            now,
        );
        assert_eq!(
            ok,
            Ok(format!(
                "{names}: 62 days left (expires 2027-02-01T00:00:00+00:00)"
            ))
        );
        let soon = certificate_expiry(
            names,
            Some("2026-12-11T00:00:00+00:00"),
            Environment::Prod,
            now,
        )
        .expect("a warning still passes");
        assert!(soon.contains("WARNING expires in 10 days"), "{soon}");
        assert!(soon.contains("kapstan up --env prod"), "{soon}");
        let gone = certificate_expiry(
            names,
            Some("2026-11-30T00:00:00+00:00"),
            Environment::Prod,
            now,
        )
        .expect_err("expired fails");
        assert!(gone.contains("EXPIRED"), "{gone}");
        assert!(certificate_expiry(names, None, Environment::Prod, now).is_err());
    }
}
