//! `kapstan audit`: checks an environment's live cluster against its security policy (Pod
//! Security labels on the platform namespaces, default-deny network policies, wildcard
//! ClusterRoles, container limits and non-root security contexts, Secrets in `default`),
//! reports findings by severity, exits 2 on high ones, and with `--fix` re-applies the
//! objects kapstan manages through the app stack (`coder-<env>-app`).

use std::collections::BTreeSet;

use kapstan_engine::{ApplyOptions, PlanOptions};
use kapstan_providers::kubernetes::KubeClient;
use kapstan_stacks::coder::{Environment, Phase, PodSecurityLevel, Profile, app::NAMESPACES};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::PlatformError;
use crate::events::{Confirmation, Observer, PlatformEvent};
use crate::project::Project;
use crate::session::Platform;
use crate::up::UpOptions;

/// Namespaces that belong to Kubernetes itself and are not audited for workloads.
const SYSTEM_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "kube-flannel",
];

/// Options of `kapstan audit`.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Environment name.
    pub env: String,
    /// Plan and apply the corrections kapstan manages.
    pub fix: bool,
    /// Do not ask before applying the fix.
    pub auto_approve: bool,
    /// Run against the offline sandbox.
    pub sandbox: bool,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the audit.
    High,
    /// Should be fixed.
    Medium,
    /// Worth knowing.
    Low,
}

impl Severity {
    /// `high`, `medium` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// One departure from the policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// Which check (`pod-security`, `network-policy`, `rbac`, `containers`, `secrets`).
    pub check: &'static str,
    /// The object concerned, e.g. `namespace/coder`.
    pub object: String,
    /// What is wrong.
    pub message: String,
    /// The app stack address whose re-apply corrects it, when kapstan manages the object.
    pub kapstan_address: Option<String>,
    /// What to do about it.
    pub remedy: String,
}

/// What the environment's profile requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Environment name.
    pub environment: String,
    /// Pod Security level of the platform namespaces (`None`: no labels required).
    pub pod_security: Option<&'static str>,
    /// Default-deny network policies in the platform namespaces.
    pub network_policies: bool,
    /// The platform namespaces.
    pub namespaces: Vec<String>,
}

impl Policy {
    /// The policy of a profile.
    pub fn of(profile: &Profile) -> Self {
        Self {
            environment: profile.env.name().into(),
            pod_security: match profile.pod_security {
                PodSecurityLevel::None => None,
                PodSecurityLevel::Baseline => Some("baseline"),
                PodSecurityLevel::Restricted => Some("restricted"),
            },
            network_policies: profile.network_policies,
            namespaces: NAMESPACES.iter().map(|n| n.to_string()).collect(),
        }
    }
}

/// The live objects an audit reads.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every Namespace.
    pub namespaces: Vec<Value>,
    /// Every NetworkPolicy.
    pub network_policies: Vec<Value>,
    /// Every ClusterRole.
    pub cluster_roles: Vec<Value>,
    /// Every Pod.
    pub pods: Vec<Value>,
    /// Secrets of namespace `default` (only names and types are read).
    pub default_secrets: Vec<Value>,
}

impl Snapshot {
    /// Reads the snapshot from a cluster.
    pub async fn read(client: &KubeClient) -> Result<Self, String> {
        let list = |api: &'static str, kind: &'static str, ns: Option<&'static str>| async move {
            client
                .list(api, kind, ns, None)
                .await
                .map_err(|e| format!("listing {kind}s: {e}"))
        };
        Ok(Self {
            namespaces: list("v1", "Namespace", None).await?,
            network_policies: list("networking.k8s.io/v1", "NetworkPolicy", None).await?,
            cluster_roles: list("rbac.authorization.k8s.io/v1", "ClusterRole", None).await?,
            pods: list("v1", "Pod", None).await?,
            default_secrets: list("v1", "Secret", Some("default")).await?,
        })
    }
}

fn level_rank(level: &str) -> u8 {
    match level {
        "restricted" => 2,
        "baseline" => 1,
        _ => 0,
    }
}

fn name_of(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or("?")
}

fn ns_of(v: &Value) -> &str {
    v["metadata"]["namespace"].as_str().unwrap_or("")
}

/// Whether a NetworkPolicy selects every pod and denies `direction` (`Ingress`/`Egress`).
fn denies_all(policy: &Value, direction: &str) -> bool {
    let selects_all = policy["spec"]["podSelector"].as_object().is_none_or(|s| {
        s.values().all(|v| {
            v.as_object().is_none_or(|m| m.is_empty()) && v.as_array().is_none_or(|a| a.is_empty())
        })
    });
    let types: Vec<&str> = policy["spec"]["policyTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let rules = policy["spec"][direction.to_ascii_lowercase()]
        .as_array()
        .is_none_or(|r| r.is_empty());
    selects_all && types.contains(&direction) && rules
}

/// The pod's owner as a workload name (`deployment/coder` for a ReplicaSet's pod).
fn workload_of(pod: &Value) -> String {
    let owner = &pod["metadata"]["ownerReferences"][0];
    match (owner["kind"].as_str(), owner["name"].as_str()) {
        (Some("ReplicaSet"), Some(rs)) => {
            let base = rs.rsplit_once('-').map(|(b, _)| b).unwrap_or(rs);
            format!("deployment/{}/{base}", ns_of(pod))
        }
        (Some(kind), Some(name)) => format!("{}/{}/{name}", kind.to_ascii_lowercase(), ns_of(pod)),
        _ => format!("pod/{}/{}", ns_of(pod), name_of(pod)),
    }
}

/// Checks a snapshot against a policy. Pure: findings are sorted and deduplicated.
pub fn check(policy: &Policy, snap: &Snapshot) -> (Vec<Finding>, usize) {
    let mut findings = BTreeSet::new();
    let mut checks = 0usize;
    let mut add = |f: Finding| {
        findings.insert(f);
    };

    // Pod Security labels.
    if let Some(level) = policy.pod_security {
        for ns in &policy.namespaces {
            checks += 1;
            let address = format!("namespace-{ns}");
            let Some(live) = snap.namespaces.iter().find(|n| name_of(n) == ns) else {
                add(Finding {
                    severity: Severity::High,
                    check: "pod-security",
                    object: format!("namespace/{ns}"),
                    message: "the platform namespace does not exist".into(),
                    kapstan_address: Some(address.clone()),
                    remedy: "re-apply the app phase".into(),
                });
                continue;
            };
            for mode in ["enforce", "audit", "warn"] {
                let label = format!("pod-security.kubernetes.io/{mode}");
                let actual = live["metadata"]["labels"][&label].as_str();
                let severity = match actual {
                    Some(a) if a == level => continue,
                    Some(a) if level_rank(a) > level_rank(level) => Severity::Low,
                    _ if mode == "enforce" => Severity::High,
                    _ => Severity::Medium,
                };
                add(Finding {
                    severity,
                    check: "pod-security",
                    object: format!("namespace/{ns}"),
                    message: match actual {
                        Some(a) => format!("{label} is `{a}`, the policy wants `{level}`"),
                        None => format!("{label} is missing, the policy wants `{level}`"),
                    },
                    kapstan_address: Some(address.clone()),
                    remedy: format!("label the namespace {label}={level}"),
                });
            }
        }
    }

    // Default-deny network policies.
    if policy.network_policies {
        for ns in &policy.namespaces {
            checks += 1;
            let in_ns: Vec<&Value> = snap
                .network_policies
                .iter()
                .filter(|p| ns_of(p) == ns)
                .collect();
            for (direction, severity) in [("Ingress", Severity::High), ("Egress", Severity::Medium)]
            {
                if !in_ns.iter().any(|p| denies_all(p, direction)) {
                    add(Finding {
                        severity,
                        check: "network-policy",
                        object: format!("namespace/{ns}"),
                        message: format!(
                            "no default-deny {} policy (podSelector {{}}, no {} rules)",
                            direction.to_ascii_lowercase(),
                            direction.to_ascii_lowercase()
                        ),
                        kapstan_address: Some(format!("netpol-{ns}-deny-all")),
                        remedy: "restore NetworkPolicy deny-all".into(),
                    });
                }
            }
        }
    }

    // Wildcard ClusterRoles outside the system.
    for role in &snap.cluster_roles {
        let name = name_of(role);
        let labels = &role["metadata"]["labels"];
        let system = name.starts_with("system:")
            || labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
            || labels.get("k8s.scw.cloud/system").is_some();
        if system {
            continue;
        }
        checks += 1;
        for rule in role["rules"].as_array().into_iter().flatten() {
            let wild: Vec<&str> = ["apiGroups", "resources", "verbs"]
                .into_iter()
                .filter(|k| {
                    rule[*k]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v == "*"))
                })
                .collect();
            if !wild.is_empty() {
                add(Finding {
                    severity: Severity::High,
                    check: "rbac",
                    object: format!("clusterrole/{name}"),
                    message: format!("wildcard `*` in {}", wild.join(", ")),
                    kapstan_address: None,
                    remedy: format!(
                        "list the groups, resources and verbs it needs, or `kubectl delete clusterrole {name}`"
                    ),
                });
            }
        }
    }

    // Containers: limits and non-root.
    for pod in &snap.pods {
        let ns = ns_of(pod);
        if SYSTEM_NAMESPACES.contains(&ns)
            || matches!(
                pod["status"]["phase"].as_str(),
                Some("Succeeded" | "Failed")
            )
        {
            continue;
        }
        let workload = workload_of(pod);
        let pod_ctx = &pod["spec"]["securityContext"];
        let containers = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                pod["spec"]["initContainers"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            );
        for c in containers {
            checks += 1;
            let cname = c["name"].as_str().unwrap_or("?");
            let object = format!("{workload} container {cname}");
            let ctx = &c["securityContext"];
            let mut finding = |severity, message: String, remedy: &str| {
                add(Finding {
                    severity,
                    check: "containers",
                    object: object.clone(),
                    message,
                    kapstan_address: None,
                    remedy: remedy.into(),
                })
            };
            if ctx["privileged"] == true {
                finding(
                    Severity::High,
                    "runs privileged".into(),
                    "remove securityContext.privileged",
                );
            }
            let non_root = ctx["runAsNonRoot"]
                .as_bool()
                .or_else(|| pod_ctx["runAsNonRoot"].as_bool());
            let user = ctx["runAsUser"]
                .as_i64()
                .or_else(|| pod_ctx["runAsUser"].as_i64());
            match (non_root, user) {
                (_, Some(0)) => finding(
                    Severity::High,
                    "runs as root (runAsUser 0)".into(),
                    "run as a non-root user: runAsNonRoot: true, runAsUser > 0",
                ),
                (Some(true), _) | (_, Some(_)) => {}
                _ => finding(
                    Severity::Medium,
                    "may run as root: neither runAsNonRoot nor a non-zero runAsUser is set".into(),
                    "set securityContext.runAsNonRoot: true (and runAsUser) in the workload",
                ),
            }
            let missing: Vec<&str> = ["cpu", "memory"]
                .into_iter()
                .filter(|r| c["resources"]["limits"][*r].is_null())
                .collect();
            if !missing.is_empty() {
                finding(
                    Severity::Medium,
                    format!("no {} limit", missing.join(" or ")),
                    "set resources.limits in the workload (workspace templates: stacks/templates)",
                );
            }
        }
    }

    // Secrets in `default`.
    for secret in &snap.default_secrets {
        checks += 1;
        if secret["type"] == "kubernetes.io/service-account-token"
            && name_of(secret).starts_with("default-token-")
        {
            continue;
        }
        add(Finding {
            severity: Severity::Medium,
            check: "secrets",
            object: format!("secret/default/{}", name_of(secret)),
            message: "a Secret in namespace default".into(),
            kapstan_address: None,
            remedy: "move it to the namespace of the workload that uses it".into(),
        });
    }
    (findings.into_iter().collect(), checks)
}

/// How many findings are high, medium and low.
pub fn counts(findings: &[Finding]) -> (usize, usize, usize) {
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    (n(Severity::High), n(Severity::Medium), n(Severity::Low))
}

/// The JSON report.
pub fn render_json(
    policy: &Policy,
    findings: &[Finding],
    checks: usize,
    fixed: &[String],
) -> Value {
    let (h, m, l) = counts(findings);
    json!({
        "environment": policy.environment,
        "policy": policy,
        "summary": {"checks": checks, "findings": findings.len(), "high": h, "medium": m, "low": l},
        "findings": findings,
        "fixed": fixed,
    })
}

async fn run_checks(
    platform: &Platform,
    policy: &Policy,
    infra_name: &str,
) -> Result<(Vec<Finding>, usize), PlatformError> {
    let infra = platform.engine.state(infra_name).await?;
    let kubeconfig = infra
        .outputs
        .get("kubeconfig")
        .and_then(|o| o.value.as_str())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            PlatformError::usage(
                format!("{infra_name} has no kubeconfig: the environment is not deployed"),
                format!("deploy it with `kapstan up --env {}`", policy.environment),
            )
        })?;
    let client = KubeClient::from_kubeconfig(kubeconfig).map_err(|e| {
        PlatformError::usage(
            format!("the kubeconfig of {infra_name}: {e}"),
            "run `kapstan up` again",
        )
    })?;
    let snap = Snapshot::read(&client).await.map_err(|e| {
        PlatformError::usage(
            format!("cannot read the cluster of {}: {e}", policy.environment),
            "check that the cluster is reachable (`kapstan health --env ENV`)",
        )
    })?;
    Ok(check(policy, &snap))
}

/// What `audit` found and fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The policy checked.
    pub policy: Policy,
    /// The findings (after `--fix`, those left).
    pub findings: Vec<Finding>,
    /// How many checks ran.
    pub checks: usize,
    /// The app stack addresses `--fix` re-applied.
    pub fixed: Vec<String>,
}

impl AuditReport {
    /// Whether a finding is high.
    pub fn has_high(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::High)
    }

    /// The JSON report.
    pub fn to_json(&self) -> Value {
        render_json(&self.policy, &self.findings, self.checks, &self.fixed)
    }
}

/// `audit`: checks the environment's cluster against its profile's policy; with `fix`,
/// re-applies what kapstan manages.
pub async fn audit(
    project: &Project,
    options: &AuditOptions,
    observer: &dyn Observer,
) -> Result<AuditReport, PlatformError> {
    let env = Environment::parse(&options.env)?;
    let profile = Profile::load(env, &project.dir)?;
    let policy = Policy::of(&profile);
    let platform = Platform::open(project, env.name(), options.sandbox, observer).await?;
    let infra_name = profile.stack_name(Phase::Infra);
    let auditing = Auditing {
        project,
        platform: &platform,
        policy: &policy,
        options,
        observer,
        infra_name: &infra_name,
    };
    let result = auditing.run().await;
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    result
}

/// One audit: what its steps share.
struct Auditing<'a> {
    project: &'a Project,
    platform: &'a Platform,
    policy: &'a Policy,
    options: &'a AuditOptions,
    observer: &'a dyn Observer,
    infra_name: &'a str,
}

impl Auditing<'_> {
    async fn run(&self) -> Result<AuditReport, PlatformError> {
        let (findings, checks) = run_checks(self.platform, self.policy, self.infra_name).await?;
        self.observer.event(PlatformEvent::AuditFindings {
            policy: self.policy,
            findings: &findings,
            checks,
            after_fix: false,
        });
        let mut report = AuditReport {
            policy: self.policy.clone(),
            findings,
            checks,
            fixed: vec![],
        };
        if self.options.fix {
            let manual: Vec<Finding> = report
                .findings
                .iter()
                .filter(|f| f.kapstan_address.is_none())
                .cloned()
                .collect();
            self.fix(&mut report).await?;
            if !manual.is_empty() {
                self.observer
                    .event(PlatformEvent::AuditManual { findings: &manual });
            }
        }
        Ok(report)
    }

    /// Re-applies the app phase's addresses that correct findings, then audits again.
    async fn fix(&self, report: &mut AuditReport) -> Result<(), PlatformError> {
        let (platform, policy) = (self.platform, self.policy);
        let app_name = platform.profile.stack_name(Phase::App);
        let app = platform.engine.state(&app_name).await?;
        let targets: BTreeSet<String> = report
            .findings
            .iter()
            .filter_map(|f| f.kapstan_address.clone())
            .filter(|a| app.resources.contains_key(a) || app.serial > 0)
            .collect();
        if targets.is_empty() {
            self.observer.event(PlatformEvent::AuditNothingToFix);
            return Ok(());
        }
        if app.serial == 0 {
            self.observer.event(PlatformEvent::AuditAppNotDeployed {
                stack: &app_name,
                env: &policy.environment,
            });
            return Ok(());
        }
        // Re-declare the app phase as it was applied: the same templates, Coder or not.
        let templates: Vec<String> = app
            .resources
            .keys()
            .filter_map(|a| a.strip_prefix("template-").map(String::from))
            .collect();
        let up = UpOptions {
            env: policy.environment.clone(),
            no_coder: !app.resources.contains_key("coder"),
            templates,
            sandbox: self.options.sandbox,
            ..Default::default()
        };
        let spec = platform.stack(self.project, Phase::App, &up).await?;
        let declared: BTreeSet<&str> = spec.resources.iter().map(|r| r.address.as_str()).collect();
        let targets: Vec<String> = targets
            .into_iter()
            .filter(|t| declared.contains(t.as_str()))
            .collect();
        let plan = platform
            .engine
            .plan(
                &spec,
                &PlanOptions {
                    targets: targets.clone(),
                    ..Default::default()
                },
            )
            .await?;
        self.observer.event(PlatformEvent::AuditFixing {
            stack: &app_name,
            targets: &targets,
        });
        self.observer.event(PlatformEvent::PlanReady {
            plan: &plan,
            cost: None,
        });
        if !plan.has_changes() {
            self.observer.event(PlatformEvent::AuditFixUnneeded);
            return Ok(());
        }
        if !self.options.auto_approve
            && !self
                .observer
                .confirm(Confirmation::AuditFix { stack: &app_name })?
        {
            return Ok(());
        }
        let applied = platform
            .engine
            .apply(&plan, &ApplyOptions::default())
            .await?;
        if !applied.is_success() {
            for f in &applied.failed {
                self.observer
                    .event(PlatformEvent::OperationFailed { failure: f });
            }
            return Err(PlatformError::ApplyFailed {
                failed: applied.failed.len(),
                skipped: applied.skipped.len(),
            });
        }
        report.fixed = targets;
        (report.findings, report.checks) = run_checks(platform, policy, self.infra_name).await?;
        self.observer.event(PlatformEvent::AuditFindings {
            policy,
            findings: &report.findings,
            checks: report.checks,
            after_fix: true,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staging() -> Policy {
        Policy::of(&Profile::builtin(Environment::Staging))
    }

    fn clean_snapshot() -> Snapshot {
        let ns = |n: &str| {
            json!({"metadata": {"name": n, "labels": {
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/audit": "baseline",
                "pod-security.kubernetes.io/warn": "baseline",
            }}})
        };
        let deny = |n: &str| {
            json!({"metadata": {"name": "deny-all", "namespace": n},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
        };
        Snapshot {
            namespaces: vec![ns("coder"), ns("monitoring")],
            network_policies: vec![deny("coder"), deny("monitoring")],
            cluster_roles: vec![
                json!({"metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
                       "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
            ],
            pods: vec![json!({
                "metadata": {"name": "coder-abc-1", "namespace": "coder",
                             "ownerReferences": [{"kind": "ReplicaSet", "name": "coder-abc"}]},
                "spec": {"containers": [{"name": "coder",
                    "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 1000}}]},
                "status": {"phase": "Running"},
            })],
            default_secrets: vec![],
        }
    }

    #[test]
    fn a_clean_cluster_has_no_findings() {
        let (findings, checks) = check(&staging(), &clean_snapshot());
        assert!(findings.is_empty(), "{findings:?}");
        assert!(checks > 0);
    }

    #[test]
    fn planted_violations_are_found() {
        let mut snap = clean_snapshot();
        snap.namespaces[0]["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("pod-security.kubernetes.io/enforce");
        snap.network_policies.remove(1);
        snap.cluster_roles.push(json!({"metadata": {"name": "oops"}, "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]}));
        snap.default_secrets
            .push(json!({"metadata": {"name": "token"}, "type": "Opaque"}));
        snap.pods[0]["spec"]["containers"][0] =
            json!({"name": "coder", "securityContext": {"runAsUser": 0}});
        let (findings, _) = check(&staging(), &snap);
        let high: Vec<&str> = findings
            .iter()
            .filter(|f| f.severity == Severity::High)
            .map(|f| f.object.as_str())
            .collect();
        assert!(high.contains(&"namespace/coder"), "{findings:#?}");
        assert!(high.contains(&"namespace/monitoring"), "{findings:#?}");
        assert!(high.contains(&"clusterrole/oops"), "{findings:#?}");
        assert!(
            high.contains(&"deployment/coder/coder container coder"),
            "{findings:#?}"
        );
        assert!(findings.iter().any(|f| f.object == "secret/default/token"));
        let fixable: Vec<_> = findings
            .iter()
            .filter_map(|f| f.kapstan_address.as_deref())
            .collect();
        assert!(
            fixable.contains(&"namespace-coder") && fixable.contains(&"netpol-monitoring-deny-all")
        );
    }
}
