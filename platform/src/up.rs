//! `up`: the two-phase Coder platform of an environment, against Scaleway or the offline
//! sandbox — hooks around each phase, plan with cost, confirmation, apply, the kubeconfig
//! and the summary of how to reach the platform.

use std::path::{Path, PathBuf};

use kapstan_engine::{ApplyOptions, ApplyReport, Cancel, Plan, PlanOptions, StackSpec};
use kapstan_providers::pricing::PriceTable;
use kapstan_stacks::coder::{Environment, Phase, Profile};
use kapstan_state::StateDocument;
use serde_json::Value;

use crate::cost::plan_cost;
use crate::error::PlatformError;
use crate::events::{Confirmation, Observer, PlatformEvent};
use crate::logs::RunLog;
use crate::project::Project;
use crate::session::{Platform, hook, phases};

/// Options of `kapstan up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Environment name.
    pub env: String,
    /// Only this phase.
    pub phase: Option<Phase>,
    /// Skip the Coder release, admin and templates.
    pub no_coder: bool,
    /// `--enable-monitoring`: monitoring on although `[monitoring]` leaves it off.
    pub enable_monitoring: bool,
    /// Plan only.
    pub dry_run: bool,
    /// Templates to push.
    pub templates: Vec<String>,
    /// Domain of the access URL.
    pub domain: Option<String>,
    /// Subdomain under the domain.
    pub subdomain: Option<String>,
    /// With a domain: `acme` (DNS records and a certificate by ACME in the domain's Scaleway
    /// zone) or `external` (records printed, TLS left to the user); `None`: the profile's.
    pub tls: Option<String>,
    /// Do not ask.
    pub auto_approve: bool,
    /// Run against the offline sandbox.
    pub sandbox: bool,
    /// Operations in flight at once.
    pub parallelism: usize,
    /// The Coder version to run instead of the environment's (`kapstan upgrade --coder`).
    pub coder_version: Option<String>,
    /// Interrupts: the first stops scheduling, the second abandons in-flight calls (the
    /// caller triggers it, e.g. on Ctrl-C).
    pub cancel: Cancel,
    /// Where the infra phase's kubeconfig is written as `config-coder-<env>` (mode 0600),
    /// e.g. `~/.kube`; `None`: not written.
    pub kubeconfig_dir: Option<PathBuf>,
}

/// What `up` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpReport {
    /// The confirmation of this stack's changes was refused: nothing more was changed.
    pub cancelled: Option<String>,
    /// How to reach the platform (after a complete run, not a dry run).
    pub summary: Option<UpSummary>,
    /// The run log.
    pub log: Option<PathBuf>,
}

/// How to reach a deployed platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpSummary {
    /// The environment.
    pub env: String,
    /// Coder's access URL.
    pub access_url: Option<String>,
    /// The admin's user name and email.
    pub admin: Option<(String, String)>,
    /// DNS records of the access host and the wildcard host to the load balancer IP.
    pub dns: Option<(String, String, String)>,
    /// The records are for the user to create (`--tls external`); otherwise kapstan created
    /// them in the domain's Scaleway zone.
    pub dns_external: bool,
    /// The certificate kapstan obtained: its names, expiry (RFC 3339) and days left.
    pub certificate: Option<(String, String, i64)>,
    /// No domain: Coder answers plain HTTP on the load balancer's address.
    pub plain_http: bool,
    /// Monthly cost of both phases and the price table's name.
    pub monthly_cost: Option<(String, String)>,
}

/// How one phase of a run ended.
enum PhaseOutcome {
    /// Go on with the next phase.
    Next,
    /// The user refused the changes.
    Cancelled,
    /// Stop: the run failed or was interrupted.
    Stop(PlatformError),
}

/// `up`: deploys the phases `options` select.
pub async fn up(
    project: &Project,
    options: &UpOptions,
    observer: &dyn Observer,
) -> Result<UpReport, PlatformError> {
    if options.domain.is_some() && options.subdomain.is_none() {
        return Err(PlatformError::usage(
            format!(
                "--domain {} was given without --subdomain",
                options.domain.as_deref().unwrap_or_default()
            ),
            "add --subdomain NAME (the access URL becomes https://NAME.DOMAIN)",
        ));
    }
    let env = Environment::parse(&options.env)?;
    let profile = Profile::load(env, &project.dir)?;
    check_template_names(&options.templates)?;
    // A version change is an upgrade (backup first) or a refused downgrade, decided from the
    // recorded state before anything calls an API.
    let coder_version = options
        .coder_version
        .clone()
        .unwrap_or_else(|| profile.coder_version.clone());
    let upgrade = if options.no_coder || options.phase == Some(Phase::Infra) {
        None
    } else {
        crate::upgrade::check(project, env, &coder_version).await?
    };
    let log = RunLog::create(&project.dir, "up", env.name())?;
    log.line(&format!(
        "kapstan up --env {} (sandbox: {}, dry run: {})",
        env.name(),
        options.sandbox,
        options.dry_run
    ));
    if !options.dry_run {
        // Hooks run before anything touches an API: a failing pre-up stops here.
        hook(project, &profile, "pre-up", None, &log, observer).await?;
    }
    let mut platform = Platform::open_cancellable(
        project,
        &options.env,
        options.sandbox,
        observer,
        options.cancel.clone(),
    )
    .await?;
    if let Some(sandbox) = &platform.sandbox
        && phases(options.phase).contains(&Phase::App)
        && !options.no_coder
        && (platform.profile.monitoring.enabled || options.enable_monitoring)
    {
        sandbox_serves_alloy(sandbox.url(), &platform.profile.monitoring.alloy_version).await?;
    }
    let mut result = Ok(());
    for phase in phases(options.phase) {
        // The app phase reaches Coder as the infra phase just recorded says (the certificate
        // it obtained, the sandbox's address of the access host).
        if phase == Phase::App && !options.no_coder {
            platform.reach_coder(project).await?;
        }
        let run = Run {
            project,
            options,
            observer,
            platform: &platform,
            log: &log,
            coder_version: &coder_version,
            upgrade: upgrade.as_ref(),
        };
        match run.phase(phase).await? {
            PhaseOutcome::Next => {}
            PhaseOutcome::Cancelled => {
                return Ok(UpReport {
                    cancelled: Some(platform.profile.stack_name(phase)),
                    ..UpReport::default()
                });
            }
            PhaseOutcome::Stop(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // An interrupted or failed run gives no access URL: the platform is not complete.
    let mut summary = None;
    if !options.dry_run && result.is_ok() {
        let s = summarize(&platform, options).await?;
        observer.event(PlatformEvent::UpFinished { summary: &s });
        summary = Some(s);
        hook(project, &profile, "post-up", None, &log, observer).await?;
    }
    log.line(&format!(
        "finished: {}",
        if result.is_ok() { "ok" } else { "failed" }
    ));
    observer.event(PlatformEvent::RunLogWritten { path: log.path() });
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    result.map(|()| UpReport {
        cancelled: None,
        summary,
        log: Some(log.path().to_path_buf()),
    })
}

/// The address of the Coder Helm release in the app phase.
const CODER_RELEASE: &str = "coder";

/// One run of `up`: what every phase needs.
struct Run<'a> {
    project: &'a Project,
    options: &'a UpOptions,
    observer: &'a dyn Observer,
    platform: &'a Platform,
    log: &'a RunLog,
    /// The Coder version the app phase runs.
    coder_version: &'a str,
    /// The upgrade a version change makes.
    upgrade: Option<&'a kapstan_stacks::coder::upgrade::CoderUpgrade>,
}

impl Run<'_> {
    async fn hook(&self, name: &str, phase: Option<Phase>) -> Result<(), PlatformError> {
        let profile = &self.platform.profile;
        hook(self.project, profile, name, phase, self.log, self.observer).await
    }

    /// Plans one phase and, unless a dry run, applies it.
    async fn phase(&self, phase: Phase) -> Result<PhaseOutcome, PlatformError> {
        let (platform, options) = (self.platform, self.options);
        let env = platform.env;
        let stack_name = platform.profile.stack_name(phase);
        if phase == Phase::App
            && platform
                .engine
                .state(&platform.profile.stack_name(Phase::Infra))
                .await?
                .serial
                == 0
        {
            if options.dry_run {
                self.observer
                    .event(PlatformEvent::PhaseNotPlanned { stack: &stack_name });
                return Ok(PhaseOutcome::Next);
            }
            return Err(PlatformError::usage(
                format!("phase app of {} needs phase infra first", env.name()),
                format!(
                    "run `kapstan up --env {}` (or with --phase infra)",
                    env.name()
                ),
            ));
        }
        self.observer
            .event(PlatformEvent::PhaseStarted { stack: &stack_name });
        let post_hook = format!("post-up-{}", phase.name());
        if !options.dry_run {
            self.hook(&format!("pre-up-{}", phase.name()), Some(phase))
                .await?;
        }
        let coder = phase == Phase::App && !options.no_coder;
        if coder {
            self.observer.event(PlatformEvent::CoderRelease {
                version: self.coder_version,
                provisioner_daemons: platform.profile.provisioner_daemons,
                upgrade: self.upgrade,
            });
        }
        let spec = platform.stack(self.project, phase, options).await?;
        if coder
            && !options.dry_run
            && self.upgrade.is_none()
            && let Some(outcome) = self.release_first(&stack_name, &spec).await?
        {
            return Ok(outcome);
        }
        let plan = self.plan(phase, &spec, Vec::new()).await?;
        // Said once per run, with the first phase planned.
        if phases(options.phase).first() == Some(&phase)
            && effective_profile(&platform.profile, options)?
                .domain
                .is_empty()
        {
            self.observer
                .event(PlatformEvent::PlainHttpPlanned { env: env.name() });
        }
        if options.dry_run {
            return Ok(PhaseOutcome::Next);
        }
        if !plan.has_changes() {
            self.hook(&post_hook, Some(phase)).await?;
            return Ok(PhaseOutcome::Next);
        }
        if !options.auto_approve
            && !self
                .observer
                .confirm(Confirmation::ApplyPhase { stack: &stack_name })?
        {
            return Ok(PhaseOutcome::Cancelled);
        }
        let upgrade_backup = match self.upgrade {
            Some(u) if coder => {
                let record = crate::upgrade::backup_before(self.project, env, u, self.log).await?;
                self.observer
                    .event(PlatformEvent::UpgradeBackedUp { record: &record });
                Some(record)
            }
            _ => None,
        };
        let report = platform
            .engine
            .apply(
                &plan,
                &ApplyOptions {
                    parallelism: options.parallelism,
                },
            )
            .await?;
        let stop = self.applied(&stack_name, &report).await?;
        // After an upgrade's backup, a failed release is a failed upgrade like an unhealthy
        // one: both stop with the backup and the rollback. An interrupt only stops.
        match (&upgrade_backup, stop) {
            (Some(record), stop) if !report.interrupted => {
                if let Some(failed) = self.upgraded_health(record, stop, &report).await? {
                    return Ok(PhaseOutcome::Stop(failed));
                }
            }
            (_, Some(stop)) => return Ok(PhaseOutcome::Stop(stop)),
            (_, None) => {}
        }
        if phase == Phase::Infra
            && let Some(kc) = report
                .outputs
                .get("kubeconfig")
                .and_then(|o| o.value.as_str())
            && let Some(dir) = &options.kubeconfig_dir
            && let Some(path) = write_kubeconfig(dir, env, kc)?
        {
            self.observer
                .event(PlatformEvent::KubeconfigWritten { path: &path });
        }
        self.hook(&post_hook, Some(phase)).await?;
        Ok(PhaseOutcome::Next)
    }

    /// The quick health check after an upgrade, with the served version compared to the one
    /// upgraded to: the error that stops `up` with the backup and the rollback when it fails.
    /// `apply_failed` is the apply's own error: it stops the run as it is when Coder came up
    /// healthy anyway (a template push failed, say), and is part of the cause otherwise.
    async fn upgraded_health(
        &self,
        record: &crate::upgrade::UpgradeRecord,
        apply_failed: Option<PlatformError>,
        report: &ApplyReport,
    ) -> Result<Option<PlatformError>, PlatformError> {
        let env = self.platform.env;
        let health = crate::health::check(self.project, env, true).await?;
        let mut failures: Vec<String> = health
            .failures()
            .map(|c| format!("{} {}: {}", c.component, c.check, c.detail))
            .collect();
        failures.extend(crate::upgrade::served_version_problem(&health, &record.to));
        if failures.is_empty() {
            self.observer
                .event(PlatformEvent::UpgradeHealthy { record });
            return Ok(apply_failed);
        }
        if apply_failed.is_some() {
            let operations = report
                .failed
                .iter()
                .map(|f| format!("{} ({}) failed: {}", f.address, f.action, f.error));
            failures.splice(0..0, operations);
        }
        self.log.line(&format!(
            "upgrade to {} unhealthy: {}",
            record.to,
            failures.join("; ")
        ));
        Ok(Some(crate::upgrade::failed(
            env,
            record,
            failures.join("; "),
        )))
    }

    /// When a deployed Coder does not answer (a crash-looping release, the rollback of a failed
    /// upgrade), applies its release alone first: the resources kapstan reads through Coder's
    /// API cannot be refreshed before it answers again. `Some` when that stops the run.
    async fn release_first(
        &self,
        stack_name: &str,
        spec: &StackSpec,
    ) -> Result<Option<PhaseOutcome>, PlatformError> {
        let app = self.platform.engine.state(stack_name).await?;
        let Some(url) = crate::environment::output_string(&app, "access_url") else {
            return Ok(None);
        };
        if !app.resources.contains_key(CODER_RELEASE)
            || kapstan_providers::coder::probe::healthz_with(
                url.trim_end_matches('/'),
                &self.platform.coder_reach,
            )
            .await
            .is_ok()
        {
            return Ok(None);
        }
        self.log.line(&format!(
            "{stack_name}: Coder does not answer at {url}: its release is applied first"
        ));
        let plan = self
            .plan(Phase::App, spec, vec![CODER_RELEASE.to_string()])
            .await?;
        if !plan.has_changes() {
            return Ok(None);
        }
        if !self.options.auto_approve
            && !self
                .observer
                .confirm(Confirmation::ApplyPhase { stack: stack_name })?
        {
            return Ok(Some(PhaseOutcome::Cancelled));
        }
        let report = self
            .platform
            .engine
            .apply(
                &plan,
                &ApplyOptions {
                    parallelism: self.options.parallelism,
                },
            )
            .await?;
        Ok(self
            .applied(stack_name, &report)
            .await?
            .map(PhaseOutcome::Stop))
    }

    /// Plans `spec` (only the named templates with `--template`, only `only` and what it needs
    /// when given) and shows the plan.
    async fn plan(
        &self,
        phase: Phase,
        spec: &StackSpec,
        only: Vec<String>,
    ) -> Result<Plan, PlatformError> {
        let options = self.options;
        // `--template` limits which templates are pushed, not what the platform is: the rest
        // of phase app (namespaces, quotas, policies, the release, the admin) is applied as
        // usual, and the templates not named are left as they are.
        let targets = if !only.is_empty() {
            only
        } else if phase == Phase::App && !options.templates.is_empty() {
            let mut targets: Vec<String> = spec
                .resources
                .iter()
                .filter(|r| r.kind != "coder_template")
                .map(|r| r.address.clone())
                .collect();
            targets.extend(crate::templates::push_targets(spec, &options.templates)?);
            targets
        } else {
            Vec::new()
        };
        let plan = self
            .platform
            .engine
            .plan(
                spec,
                &PlanOptions {
                    parallelism: options.parallelism,
                    targets,
                    ..Default::default()
                },
            )
            .await?;
        let cost = plan_cost(&plan, &PriceTable::latest());
        if let Err(error) = &cost {
            self.observer.event(PlatformEvent::CostNotEstimated {
                stack: &plan.stack,
                error,
            });
        }
        self.observer.event(PlatformEvent::PlanReady {
            plan: &plan,
            cost: cost.as_ref().ok(),
        });
        let (add, change, replace, destroy) = plan.counts();
        self.log.line(&format!(
            "{}: plan {add} to add, {change} to change, {replace} to replace, {destroy} to destroy",
            plan.stack
        ));
        Ok(plan)
    }

    /// Logs an apply; the error that stops the run when it failed or was interrupted.
    async fn applied(
        &self,
        stack_name: &str,
        report: &ApplyReport,
    ) -> Result<Option<PlatformError>, PlatformError> {
        let log = self.log;
        log.add_document_secrets(&self.platform.engine.state(stack_name).await?);
        for (addr, action) in &report.succeeded {
            log.line(&format!("{stack_name}: {addr}: {action} done"));
        }
        if report.interrupted {
            let resume = resume_up(self.options);
            log.line(&format!(
                "{stack_name}: interrupted; resume with `{resume}`"
            ));
            return Ok(Some(PlatformError::interrupted(report, resume)));
        }
        if !report.is_success() {
            for f in &report.failed {
                self.observer
                    .event(PlatformEvent::OperationFailed { failure: f });
                log.line(&format!(
                    "{stack_name}: {} ({}) failed: {}",
                    f.address, f.action, f.error
                ));
            }
            return Ok(Some(PlatformError::ApplyFailed {
                failed: report.failed.len(),
                skipped: report.skipped.len(),
            }));
        }
        self.observer.event(PlatformEvent::Applied {
            stack: stack_name,
            report,
        });
        Ok(None)
    }
}

/// The summary of a complete run, from both phases' recorded outputs.
async fn summarize(platform: &Platform, options: &UpOptions) -> Result<UpSummary, PlatformError> {
    let infra = platform
        .engine
        .state(&platform.profile.stack_name(Phase::Infra))
        .await?;
    let app = platform
        .engine
        .state(&platform.profile.stack_name(Phase::App))
        .await?;
    let out = |doc: &StateDocument, name: &str| {
        doc.outputs
            .get(name)
            .filter(|o| !o.sensitive)
            .and_then(|o| o.value.as_str().map(String::from))
    };
    let admin = out(&app, "admin_username")
        .map(|user| (user, out(&app, "admin_email").unwrap_or_default()));
    let profile = effective_profile(&platform.profile, options)?;
    let dns = match out(&infra, "lb_ip") {
        Some(ip) if !profile.domain.is_empty() => Some((
            format!("{}.{}.", profile.subdomain, profile.domain),
            format!("*.{}.{}.", profile.subdomain, profile.domain),
            ip,
        )),
        _ => None,
    };
    // Both phases: the app phase holds the billed Cockpit data sources.
    let resources: Vec<(String, String, Value)> = infra
        .resources
        .iter()
        .chain(app.resources.iter())
        .map(|(a, r)| (r.kind.clone(), a.clone(), r.config.clone()))
        .collect();
    let monthly_cost = match kapstan_providers::pricing::estimate(
        &PriceTable::latest(),
        resources
            .iter()
            .map(|(k, a, c)| (k.as_str(), a.as_str(), c)),
    ) {
        Ok(estimate) if !resources.is_empty() => Some((
            estimate.monthly.to_cents_string(),
            estimate.table.to_string(),
        )),
        _ => None,
    };
    // A domain kapstan does not serve HTTPS for: the records are the user's to create.
    let dns_external = !profile.domain.is_empty() && !profile.serves_tls();
    let certificate = match (out(&infra, "tls_names"), out(&infra, "tls_not_after")) {
        (Some(names), Some(not_after)) if dns.is_some() && !dns_external => {
            let days = chrono::DateTime::parse_from_rfc3339(&not_after)
                .map(|t| (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days())
                .unwrap_or_default();
            Some((names, not_after, days))
        }
        _ => None,
    };
    let access_url = out(&app, "access_url").or_else(|| out(&infra, "access_url"));
    Ok(UpSummary {
        env: platform.env.name().to_string(),
        plain_http: profile.domain.is_empty()
            && access_url
                .as_deref()
                .is_some_and(|u| u.starts_with("http://")),
        access_url,
        admin,
        dns,
        dns_external,
        certificate,
        monthly_cost,
    })
}

/// The environment's profile with `up`'s `--domain`, `--subdomain` and `--tls` applied, as the
/// stacks see it: what decides whether kapstan serves HTTPS ([`Profile::serves_tls`]).
pub(crate) fn effective_profile(
    profile: &Profile,
    options: &UpOptions,
) -> Result<Profile, PlatformError> {
    let mut profile = profile.clone();
    if let Some(d) = &options.domain {
        profile.domain = d.clone();
    }
    if let Some(s) = &options.subdomain {
        profile.subdomain = s.clone();
    }
    if let Some(t) = &options.tls {
        profile.tls.mode = kapstan_stacks::coder::profile::TlsMode::parse(t).ok_or_else(|| {
            PlatformError::usage(
                format!("--tls {t} is not a TLS mode"),
                "use --tls acme (a certificate by ACME in the domain's Scaleway zone) or --tls external (you create the DNS records and terminate TLS)",
            )
        })?;
    }
    Ok(profile)
}

/// Writes the kubeconfig to `<dir>/config-coder-<env>` with mode 0600.
fn write_kubeconfig(
    dir: &Path,
    env: Environment,
    kubeconfig: &str,
) -> Result<Option<PathBuf>, PlatformError> {
    std::fs::create_dir_all(dir).map_err(|source| PlatformError::Io {
        action: "creating",
        path: dir.display().to_string(),
        source,
    })?;
    let path = dir.join(format!("config-coder-{}", env.name()));
    let tmp = dir.join(format!(".config-coder-{}.tmp", env.name()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(|source| PlatformError::Io {
            action: "writing",
            path: tmp.display().to_string(),
            source,
        })?;
        f.write_all(kubeconfig.as_bytes())
            .map_err(|source| PlatformError::Io {
                action: "writing",
                path: tmp.display().to_string(),
                source,
            })?;
    }
    std::fs::rename(&tmp, &path).map_err(|source| PlatformError::Io {
        action: "writing",
        path: path.display().to_string(),
        source,
    })?;
    Ok(Some(path))
}

/// Refuses, before any call, a sandbox whose chart repository cannot install the collector:
/// the sandbox serves only its own Coder chart unless `KAPSTAN_SANDBOX_CHART_DIRS` names more.
async fn sandbox_serves_alloy(url: &str, version: &str) -> Result<(), PlatformError> {
    let text = kapstan_providers::sandbox_api::chart_index(url)
        .await
        .map_err(PlatformError::Sandbox)?;
    if text.contains(&format!("alloy-{version}.tgz")) {
        return Ok(());
    }
    Err(PlatformError::usage(
        format!(
            "monitoring is on but the sandbox's chart repository has no `alloy` chart {version} to install the collector"
        ),
        format!(
            "start the sandbox with KAPSTAN_SANDBOX_CHART_DIRS naming the official chart's directory (such as ../shared/fixtures/alloy-chart/alloy-{version}), or set `[monitoring] enabled = false` in environments/<env>.toml"
        ),
    ))
}

/// The `kapstan up` command line that resumes `options` (with `--sandbox` kept).
fn resume_up(options: &UpOptions) -> String {
    let mut cmd = format!("kapstan up --env {}", options.env);
    if let Some(p) = options.phase {
        cmd.push_str(&format!(" --phase {}", p.name()));
    }
    for t in &options.templates {
        cmd.push_str(&format!(" --template {t}"));
    }
    if options.no_coder {
        cmd.push_str(" --no-coder");
    }
    if options.enable_monitoring {
        cmd.push_str(" --enable-monitoring");
    }
    if options.sandbox {
        cmd.push_str(" --sandbox");
    }
    cmd
}

/// Refuses `--template` names that are not shipped templates, naming the close and the
/// known ones, before anything is planned.
pub fn check_template_names(names: &[String]) -> Result<(), PlatformError> {
    let known: Vec<String> =
        kapstan_stacks::templates::discover(kapstan_stacks::templates::shipped_root())
            .into_iter()
            .map(|t| t.name)
            .collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    for name in names {
        let short = name.rsplit('/').next().unwrap_or(name);
        if !known.contains(&short) {
            return Err(PlatformError::usage(
                format!(
                    "--template {name}: no such template{}",
                    kapstan_stacks::suggest::did_you_mean(short, &known)
                ),
                format!("known templates: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_decide_https_through_the_profile() {
        let dev = Profile::builtin(Environment::Dev);
        let plain = effective_profile(&dev, &UpOptions::default()).unwrap();
        assert!(plain.domain.is_empty() && !plain.serves_tls());
        let domain = UpOptions {
            domain: Some("example.test".into()),
            subdomain: Some("coder".into()),
            ..Default::default()
        };
        assert!(effective_profile(&dev, &domain).unwrap().serves_tls());
        let external = UpOptions {
            tls: Some("external".into()),
            ..domain.clone()
        };
        assert!(!effective_profile(&dev, &external).unwrap().serves_tls());
        let bad = UpOptions {
            tls: Some("letsencrypt".into()),
            ..domain
        };
        assert!(effective_profile(&dev, &bad).is_err());
    }
}
