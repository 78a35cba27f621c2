//! `kapstan audit`: checks an environment's live cluster against its security policy (Pod
//! Security labels on the platform namespaces, default-deny network policies, wildcard
//! ClusterRoles, container limits and non-root security contexts, Secrets in `default`),
//! reports findings by severity, exits 2 on high ones, and with `--fix` re-applies the
//! objects kapstan manages through the app stack (`coder-<env>-app`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use kapstan_engine::{ApplyOptions, PlanOptions};
use kapstan_providers::kubernetes::KubeClient;
use kapstan_stacks::coder::{Environment, Phase, PodSecurityLevel, Profile, app::NAMESPACES};
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::ListFormat;
use crate::commands::platform::{Platform, UpOptions};
use crate::context::Project;
use crate::error::CliError;
use crate::render::plan::render_plan;

/// Exit code of an audit with high-severity findings.
pub const EXIT_HIGH_FINDINGS: i32 = crate::EXIT_CHANGES;

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
    /// Output format.
    pub format: ListFormat,
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

/// Findings as an aligned table with a summary line.
pub fn render_table(policy: &Policy, findings: &[Finding], checks: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Audit of {}: Pod Security {}, default-deny network policies {}, namespaces {}",
        policy.environment,
        policy.pod_security.unwrap_or("not required"),
        if policy.network_policies {
            "required"
        } else {
            "not required"
        },
        policy.namespaces.join(", ")
    );
    if findings.is_empty() {
        let _ = writeln!(out, "No findings ({checks} checks).");
        return out;
    }
    let rows: Vec<[String; 5]> = findings
        .iter()
        .map(|f| {
            [
                f.severity.as_str().to_uppercase(),
                f.check.to_string(),
                f.object.clone(),
                f.message.clone(),
                if f.kapstan_address.is_some() {
                    "kapstan audit --fix".to_string()
                } else {
                    format!("manual: {}", f.remedy)
                },
            ]
        })
        .collect();
    let headers = ["SEVERITY", "CHECK", "OBJECT", "FINDING", "FIX"];
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (i, cell) in r.iter().enumerate().take(4) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i < 4 {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            } else {
                l.push_str(c);
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(headers));
    for r in &rows {
        let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    let (h, m, l) = counts(findings);
    let _ = writeln!(
        out,
        "{} finding(s): {h} high, {m} medium, {l} low ({checks} checks).",
        findings.len()
    );
    out
}

fn counts(findings: &[Finding]) -> (usize, usize, usize) {
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
) -> Result<(Vec<Finding>, usize), CliError> {
    let infra = platform.engine.state(infra_name).await?;
    let kubeconfig = infra
        .outputs
        .get("kubeconfig")
        .and_then(|o| o.value.as_str())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            CliError::usage(
                format!("{infra_name} has no kubeconfig: the environment is not deployed"),
                format!("deploy it with `kapstan up --env {}`", policy.environment),
            )
        })?;
    let client = KubeClient::from_kubeconfig(kubeconfig).map_err(|e| {
        CliError::usage(
            format!("the kubeconfig of {infra_name}: {e}"),
            "run `kapstan up` again",
        )
    })?;
    let snap = Snapshot::read(&client).await.map_err(|e| {
        CliError::usage(
            format!("cannot read the cluster of {}: {e}", policy.environment),
            "check that the cluster is reachable (`kapstan health --env ENV`)",
        )
    })?;
    Ok(check(policy, &snap))
}

/// `kapstan audit`.
pub async fn audit(project: &Project, options: &AuditOptions) -> Result<i32, CliError> {
    let env = Environment::parse(&options.env)?;
    let profile = Profile::load(env, &project.dir)?;
    let policy = Policy::of(&profile);
    let platform = Platform::open(project, env.name(), options.sandbox).await?;
    let infra_name = profile.stack_name(Phase::Infra);
    let result = audit_with(project, &platform, &policy, options, &infra_name).await;
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    result
}

async fn audit_with(
    project: &Project,
    platform: &Platform,
    policy: &Policy,
    options: &AuditOptions,
    infra_name: &str,
) -> Result<i32, CliError> {
    let json_out = options.format == ListFormat::Json;
    let (mut findings, mut checks) = run_checks(platform, policy, infra_name).await?;
    let mut fixed: Vec<String> = vec![];
    if !json_out {
        print!("{}", render_table(policy, &findings, checks));
    }
    let say = |text: String| {
        if json_out {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };
    if options.fix {
        let app_name = platform.profile.stack_name(Phase::App);
        let app = platform.engine.state(&app_name).await?;
        let targets: BTreeSet<String> = findings
            .iter()
            .filter_map(|f| f.kapstan_address.clone())
            .filter(|a| app.resources.contains_key(a) || app.serial > 0)
            .collect();
        let manual: Vec<Finding> = findings
            .iter()
            .filter(|f| f.kapstan_address.is_none())
            .cloned()
            .collect();
        if targets.is_empty() {
            say("\nNothing for kapstan to fix.".into());
        } else if app.serial == 0 {
            say(format!(
                "\n{app_name} is not deployed: run `kapstan up --env {}` to create what the policy requires.",
                policy.environment
            ));
        } else {
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
                sandbox: options.sandbox,
                ..Default::default()
            };
            let spec = platform.stack(project, Phase::App, &up).await?;
            let declared: BTreeSet<&str> =
                spec.resources.iter().map(|r| r.address.as_str()).collect();
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
            say(format!(
                "\n== {app_name} (re-applying {})",
                targets.join(", ")
            ));
            let rendered = render_plan(&plan);
            if json_out {
                eprint!("{rendered}");
            } else {
                print!("{rendered}");
            }
            if !plan.has_changes() {
                say("The app phase already matches its declaration; the findings need manual action.".into());
            } else if !options.auto_approve
                && !crate::commands::confirm(&format!("\nApply these corrections to {app_name}?"))?
            {
                say("Cancelled; nothing was changed.".into());
            } else {
                let report = platform
                    .engine
                    .apply(&plan, &ApplyOptions::default())
                    .await?;
                if !report.is_success() {
                    for f in &report.failed {
                        say(format!("  ✗ {} ({}): {}", f.address, f.action, f.error));
                    }
                    return Err(CliError::ApplyFailed {
                        failed: report.failed.len(),
                        skipped: report.skipped.len(),
                    });
                }
                fixed = targets;
                (findings, checks) = run_checks(platform, policy, infra_name).await?;
                if !json_out {
                    println!("\nAfter the fix:");
                    print!("{}", render_table(policy, &findings, checks));
                }
            }
        }
        if !manual.is_empty() {
            say(format!(
                "\n{} finding(s) kapstan does not manage need manual action:",
                manual.len()
            ));
            for f in manual {
                say(format!(
                    "  - {} {}: {} ({})",
                    f.severity.as_str(),
                    f.object,
                    f.message,
                    f.remedy
                ));
            }
        }
    }
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&render_json(policy, &findings, checks, &fixed))
                .expect("json")
        );
    }
    Ok(if findings.iter().any(|f| f.severity == Severity::High) {
        EXIT_HIGH_FINDINGS
    } else {
        0
    })
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
