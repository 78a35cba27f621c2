//! `kapstan audit`: checks an environment's live cluster against its security policy (Pod
//! Security labels on the platform namespaces, default-deny network policies, wildcard
//! ClusterRoles, container limits and non-root security contexts, Secrets in `default`),
//! reports findings by severity, exits 2 on high ones, and with `--fix` re-applies the
//! objects kapstan manages through the app stack (`coder-<env>-app`).

use std::collections::BTreeSet;

use kapstan_engine::{ApplyOptions, PlanOptions};
use kapstan_providers::kubernetes::KubeClient;
use kapstan_providers::kubernetes::inspect::{
    self, ClusterRoleSummary, NamespaceSummary, NetworkPolicySummary, Owner, PodSummary,
    SecretSummary,
};
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
    pub namespaces: Vec<NamespaceSummary>,
    /// Every NetworkPolicy.
    pub network_policies: Vec<NetworkPolicySummary>,
    /// Every ClusterRole.
    pub cluster_roles: Vec<ClusterRoleSummary>,
    /// Every Pod.
    pub pods: Vec<PodSummary>,
    /// Secrets of namespace `default` (only names and types are read).
    pub default_secrets: Vec<SecretSummary>,
}

impl Snapshot {
    /// Reads the snapshot from a cluster.
    pub async fn read(client: &KubeClient) -> Result<Self, String> {
        fn listing(
            kind: &'static str,
        ) -> impl Fn(kapstan_providers::kubernetes::KubeError) -> String {
            move |e| format!("listing {kind}s: {e}")
        }
        Ok(Self {
            namespaces: inspect::namespaces(client)
                .await
                .map_err(listing("Namespace"))?,
            network_policies: inspect::network_policies(client)
                .await
                .map_err(listing("NetworkPolicy"))?,
            cluster_roles: inspect::cluster_roles(client)
                .await
                .map_err(listing("ClusterRole"))?,
            pods: inspect::pods(client, None).await.map_err(listing("Pod"))?,
            default_secrets: inspect::secrets(client, "default")
                .await
                .map_err(listing("Secret"))?,
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

/// The pod's owner as a workload name (`deployment/coder` for a ReplicaSet's pod).
fn workload_of(pod: &PodSummary) -> String {
    let ns = &pod.namespace;
    match &pod.owner {
        Some(Owner { kind, name: rs }) if kind == "ReplicaSet" => {
            let base = rs.rsplit_once('-').map(|(b, _)| b).unwrap_or(rs);
            format!("deployment/{ns}/{base}")
        }
        Some(Owner { kind, name }) => format!("{}/{ns}/{name}", kind.to_ascii_lowercase()),
        None => format!("pod/{ns}/{}", pod.name),
    }
}

/// Pod Security labels of the platform namespaces. Returns how many checks ran.
fn pod_security(policy: &Policy, snap: &Snapshot, add: &mut dyn FnMut(Finding)) -> usize {
    let mut checks = 0usize;
    if let Some(level) = policy.pod_security {
        for ns in &policy.namespaces {
            checks += 1;
            let address = format!("namespace-{ns}");
            let Some(live) = snap.namespaces.iter().find(|n| &n.name == ns) else {
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
                let actual = live.labels.get(&label).map(String::as_str);
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
    checks
}

/// Default-deny network policies in the platform namespaces. Returns how many checks ran.
fn network_policies(policy: &Policy, snap: &Snapshot, add: &mut dyn FnMut(Finding)) -> usize {
    let mut checks = 0usize;
    if policy.network_policies {
        for ns in &policy.namespaces {
            checks += 1;
            let in_ns: Vec<&NetworkPolicySummary> = snap
                .network_policies
                .iter()
                .filter(|p| &p.namespace == ns)
                .collect();
            for (direction, severity) in [("Ingress", Severity::High), ("Egress", Severity::Medium)]
            {
                if !in_ns.iter().any(|p| p.denies_all(direction)) {
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
    checks
}

/// Wildcard ClusterRoles outside the system. Returns how many checks ran.
fn cluster_roles(_policy: &Policy, snap: &Snapshot, add: &mut dyn FnMut(Finding)) -> usize {
    let mut checks = 0usize;
    for role in &snap.cluster_roles {
        let name = &role.name;
        let labels = &role.labels;
        let system = name.starts_with("system:")
            || labels
                .get("kubernetes.io/bootstrapping")
                .is_some_and(|v| v == "rbac-defaults")
            || labels.contains_key("k8s.scw.cloud/system");
        if system {
            continue;
        }
        checks += 1;
        for rule in &role.rules {
            let wild: Vec<&str> = [
                ("apiGroups", rule.api_groups),
                ("resources", rule.resources),
                ("verbs", rule.verbs),
            ]
            .into_iter()
            .filter_map(|(k, wild)| wild.then_some(k))
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
    checks
}

/// Containers: limits and non-root. Returns how many checks ran.
fn containers(_policy: &Policy, snap: &Snapshot, add: &mut dyn FnMut(Finding)) -> usize {
    let mut checks = 0usize;
    for pod in &snap.pods {
        if SYSTEM_NAMESPACES.contains(&pod.namespace.as_str()) || pod.finished() {
            continue;
        }
        let workload = workload_of(pod);
        for c in &pod.containers {
            checks += 1;
            let object = format!("{workload} container {}", c.name);
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
            if c.privileged {
                finding(
                    Severity::High,
                    "runs privileged".into(),
                    "remove securityContext.privileged",
                );
            }
            let run_as = c.run_as.or(pod.run_as);
            match (run_as.non_root, run_as.user) {
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
            let missing: Vec<&str> = [("cpu", c.cpu_limit), ("memory", c.memory_limit)]
                .into_iter()
                .filter_map(|(r, set)| (!set).then_some(r))
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
    checks
}

/// Secrets in namespace `default`. Returns how many checks ran.
fn secrets(_policy: &Policy, snap: &Snapshot, add: &mut dyn FnMut(Finding)) -> usize {
    let mut checks = 0usize;
    for secret in &snap.default_secrets {
        checks += 1;
        if secret.secret_type == "kubernetes.io/service-account-token"
            && secret.name.starts_with("default-token-")
        {
            continue;
        }
        add(Finding {
            severity: Severity::Medium,
            check: "secrets",
            object: format!("secret/default/{}", secret.name),
            message: "a Secret in namespace default".into(),
            kapstan_address: None,
            remedy: "move it to the namespace of the workload that uses it".into(),
        });
    }
    checks
}

/// Checks a snapshot against a policy. Pure: findings are sorted and deduplicated.
pub fn check(policy: &Policy, snap: &Snapshot) -> (Vec<Finding>, usize) {
    let mut findings = BTreeSet::new();
    let mut checks = 0usize;
    let mut add = |f: Finding| {
        findings.insert(f);
    };

    for section in [
        pod_security,
        network_policies,
        cluster_roles,
        containers,
        secrets,
    ] {
        checks += section(policy, snap, &mut add);
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
            namespaces: [ns("coder"), ns("monitoring")]
                .iter()
                .map(NamespaceSummary::from_object)
                .collect(),
            network_policies: [deny("coder"), deny("monitoring")]
                .iter()
                .map(NetworkPolicySummary::from_object)
                .collect(),
            cluster_roles: vec![ClusterRoleSummary::from_object(
                &json!({"metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
                       "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
            )],
            pods: vec![PodSummary::from_object(&coder_pod(json!({"name": "coder",
                    "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 1000}})))],
            default_secrets: vec![],
        }
    }

    fn coder_pod(container: Value) -> Value {
        json!({
            "metadata": {"name": "coder-abc-1", "namespace": "coder",
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "coder-abc"}]},
            "spec": {"containers": [container]},
            "status": {"phase": "Running"},
        })
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
        snap.namespaces[0]
            .labels
            .remove("pod-security.kubernetes.io/enforce");
        snap.network_policies.remove(1);
        snap.cluster_roles.push(ClusterRoleSummary::from_object(&json!({"metadata": {"name": "oops"}, "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]})));
        snap.default_secrets.push(SecretSummary::from_object(
            &json!({"metadata": {"name": "token"}, "type": "Opaque"}),
        ));
        snap.pods[0] = PodSummary::from_object(&coder_pod(
            json!({"name": "coder", "securityContext": {"runAsUser": 0}}),
        ));
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
