//! The terminal's [`Observer`] of platform operations: each [`PlatformEvent`] as the lines
//! the user reads, and each [`Confirmation`] as a prompt on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use kapstan_engine::{ApplyReport, EventSink};
use kapstan_platform::events::{Confirmation, Observer, PlatformEvent};
use kapstan_platform::up::UpSummary;
use kapstan_platform::{PlatformError, adopt};

use super::plan::render_plan;
use super::{audit, progress, scale};

/// Renders platform events on stdout (warnings on stderr).
pub(crate) struct Terminal {
    /// Messages go to stderr: stdout carries one JSON document (`audit --format json`).
    json: bool,
}

impl Terminal {
    /// Events as text on stdout.
    pub(crate) fn text() -> Self {
        Self { json: false }
    }

    /// Events on stderr; stdout is left to the JSON report.
    pub(crate) fn beside_json(json: bool) -> Self {
        Self { json }
    }

    /// A message line: stdout, or stderr beside a JSON report.
    fn say(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }

    /// Text without a final newline of its own: stdout, or stderr beside a JSON report.
    fn show(&self, text: &str) {
        if self.json {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }

    /// Asks `question`; on no, says `cancelled`.
    fn ask(&self, question: &str, cancelled: &str) -> Result<bool, PlatformError> {
        let yes = confirm(question)?;
        if !yes {
            self.say(cancelled);
        }
        Ok(yes)
    }
}

/// Asks for `yes` on a terminal; refuses without one.
pub(crate) fn confirm(question: &str) -> Result<bool, PlatformError> {
    if !std::io::stdin().is_terminal() {
        return Err(PlatformError::usage(
            "refusing to proceed without confirmation: standard input is not a terminal",
            "pass --auto-approve to approve without a prompt",
        ));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| PlatformError::io("reading", "stdin", source))?;
    Ok(line.trim() == "yes")
}

/// The line naming the stack above its plan, in `plan`, `apply` and `up` alike.
pub(crate) fn stack_header(stack: &str) -> String {
    format!("=== Stack {stack} ===\n")
}

/// `Apply complete! Resources: N added, N changed, N destroyed.`
pub(crate) fn apply_complete(report: &ApplyReport) -> String {
    let count = |verbs: &[&str]| {
        report
            .succeeded
            .iter()
            .filter(|(_, a)| verbs.contains(&a.as_str()))
            .count()
    };
    format!(
        "Apply complete! Resources: {} added, {} changed, {} destroyed.",
        count(&["create", "create (replace)"]),
        count(&["update"]),
        count(&["delete", "delete (replace)"])
    )
}

fn up_summary(s: &UpSummary) {
    println!("\n== Coder {}", s.env);
    if let Some(url) = &s.access_url {
        println!("Access URL:   {url}");
    }
    if let Some((user, email)) = &s.admin {
        println!("Admin:        {user} ({email})");
        println!(
            "Password:     kapstan output --env {} admin_password",
            s.env
        );
    }
    if let Some((host, wildcard, ip)) = &s.dns {
        if s.dns_external {
            println!("DNS records to create:");
            println!("  {host}    A    {ip}");
            println!("  {wildcard}  A    {ip}");
        } else {
            println!("DNS records:  {host} and {wildcard} A {ip} (in the domain's Scaleway zone)");
        }
    }
    if let Some((names, not_after, days)) = &s.certificate {
        println!("HTTPS:        certificate for {names}, expires {not_after} ({days} days)");
    }
    if s.plain_http {
        println!(
            "Plain HTTP:   no domain set: the address is plain HTTP, for trying things out; pass --domain and --subdomain for HTTPS with a certificate"
        );
    }
    if let Some((monthly, table)) = &s.monthly_cost {
        println!("Monthly cost: €{monthly} (prices {table})");
    }
}

impl Observer for Terminal {
    fn event(&self, event: PlatformEvent<'_>) {
        if !self.lifecycle(&event) && !self.scale(&event) {
            self.audit_and_adopt(&event);
        }
    }

    fn confirm(&self, question: Confirmation<'_>) -> Result<bool, PlatformError> {
        match question {
            Confirmation::ApplyPhase { stack } => self.ask(
                &format!("\nApply these changes to {stack}?"),
                &format!("Cancelled; nothing was changed in {stack}."),
            ),
            Confirmation::DestroyEnvironment { env } => {
                if !std::io::stdin().is_terminal() {
                    return Ok(true);
                }
                eprint!("Type the environment name ({env}) to destroy it: ");
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
                if line.trim() != env {
                    self.say("Cancelled; nothing was destroyed.");
                    return Ok(false);
                }
                Ok(true)
            }
            Confirmation::Scale { path, stack } => self.ask(
                &format!("\nWrite {} and apply this plan to {stack}?", path.display()),
                "Cancelled; nothing was changed.",
            ),
            Confirmation::AuditFix { stack } => self.ask(
                &format!("\nApply these corrections to {stack}?"),
                "Cancelled; nothing was changed.",
            ),
            Confirmation::Adopt { resources, stack } => {
                if !std::io::stdin().is_terminal() {
                    return Err(PlatformError::usage(
                        "refusing to adopt without confirmation: standard input is not a terminal",
                        "review the mapping above and pass --yes",
                    ));
                }
                self.ask(
                    &format!(
                        "\nImport these {resources} resource(s) into `{stack}`? Nothing in the cloud is changed."
                    ),
                    "Adoption cancelled; nothing was imported.",
                )
            }
            Confirmation::PushTemplates => self.ask("\nPush these templates?", "Cancelled."),
            _ => confirm("\nProceed?"),
        }
    }

    fn engine_events(&self) -> EventSink {
        progress::human_sink(std::io::stdout().is_terminal() && std::io::stderr().is_terminal())
    }
}

impl Terminal {
    /// The events of `up` and `down` (and those every operation shares); whether `event` was
    /// one of them.
    fn lifecycle(&self, event: &PlatformEvent<'_>) -> bool {
        match event {
            PlatformEvent::PhaseStarted { stack } => println!("\n{}", stack_header(stack)),
            PlatformEvent::PhaseNotPlanned { stack } => println!(
                "\n{}Not planned: phase infra has not been applied yet (its outputs feed this phase).",
                stack_header(stack)
            ),
            PlatformEvent::CoderRelease {
                version,
                provisioner_daemons,
                upgrade,
            } => {
                println!(
                    "Coder {version}: {provisioner_daemons} built-in provisioner daemon(s) per replica (CODER_PROVISIONER_DAEMONS)"
                );
                if let Some(u) = upgrade {
                    println!(
                        "Coder upgrade: {} → {} (release notes: {}). Before the release changes, a database backup is made through the RDB API and waited for.",
                        u.from,
                        u.to,
                        u.release_notes()
                    );
                }
            }
            PlatformEvent::UpgradeBackedUp { record } => println!(
                "Backup before the upgrade: {} (database backup {}, ready).",
                record.backup_dir, record.database_backup_id
            ),
            PlatformEvent::UpgradeHealthy { record } => println!(
                "Coder {} is healthy (upgraded from {}).",
                record.to, record.from
            ),
            PlatformEvent::StackHeading { stack } => println!("\n== {stack}"),
            PlatformEvent::NothingRecorded { stack } => println!("\n== {stack}: nothing recorded"),
            PlatformEvent::PlanReady { plan, cost } => {
                self.show(&super::cost::with_cost(render_plan(plan), *cost))
            }
            PlatformEvent::PlainHttpPlanned { env } => println!(
                "Note: {env} has no domain: Coder will answer plain HTTP on the load balancer's address, for trying things out; pass --domain and --subdomain for HTTPS with a certificate."
            ),
            PlatformEvent::CostNotEstimated { stack, error } => {
                eprintln!("warning: cost of stack `{stack}` not estimated: {error}")
            }
            PlatformEvent::Applied { report, .. } => println!("\n{}", apply_complete(report)),
            PlatformEvent::OperationFailed { failure: f } => {
                self.say(&format!("  ✗ {} ({}): {}", f.address, f.action, f.error))
            }
            PlatformEvent::StepFailed {
                address,
                step,
                error,
            } => println!("  ✗ {address} ({step}): {error}"),
            PlatformEvent::HookRan { report } if report.success => {
                println!("hook {}: ok", report.name)
            }
            PlatformEvent::HookRan { report } => println!("warning: {}", report.summary()),
            PlatformEvent::KubeconfigWritten { path } => {
                println!("Kubeconfig written to {} (mode 0600).", path.display())
            }
            PlatformEvent::UpFinished { summary } => up_summary(summary),
            PlatformEvent::RunLogWritten { path } => println!("Log: {}", path.display()),
            PlatformEvent::BackedUp { env, dir } => println!(
                "Backed up both phases to {} before destroying (restore with `kapstan restore --env {env} --from {}`).",
                dir.display(),
                dir.display()
            ),
            PlatformEvent::WorkspacesDeleted {
                address,
                workspaces,
            } => println!(
                "  deleted the workspaces of {address}: {}",
                workspaces.join(", ")
            ),
            PlatformEvent::VolumesDeleted { address, claims } => println!(
                "  deleted the PersistentVolumeClaims of {address} and their block volumes: {}",
                claims.join(", ")
            ),
            PlatformEvent::Removed { resources } => {
                println!("\nRemoved {} resource(s):", resources.len());
                for r in *resources {
                    println!("  - {r}");
                }
            }
            PlatformEvent::TemplatesPushed { operations } => {
                println!("\nPushed {operations} template operation(s).")
            }
            _ => return false,
        }
        true
    }

    /// The events of `scale`; whether `event` was one of them.
    fn scale(&self, event: &PlatformEvent<'_>) -> bool {
        match event {
            PlatformEvent::ScaleProposed {
                env,
                current,
                proposed,
                notes,
            } => {
                println!("Pool `default` of {env}:");
                println!("  current:   {}", current.describe());
                println!("  proposed:  {}", proposed.describe());
                for n in *notes {
                    println!("  note: {n}");
                }
            }
            PlatformEvent::ScaleCost { current, proposed } => {
                println!();
                print!("{}", scale::cost_summary(current, proposed));
            }
            PlatformEvent::ScaleNotDeployed { stack } => {
                println!("\n{stack} is not deployed: there is no cluster to measure or resize yet.")
            }
            PlatformEvent::Capacity { capacity, proposed } => {
                println!();
                match capacity {
                    Ok(c) => print!("{}", scale::render_capacity(c, proposed)),
                    Err(e) => println!("Capacity: unavailable ({e})"),
                }
            }
            PlatformEvent::AnalysisOnly { path } => println!(
                "\nAnalysis only: nothing was changed ({} untouched).",
                path.display()
            ),
            PlatformEvent::ScaleNothingToChange => {
                println!("\nNothing to change: the pool already has these settings.")
            }
            PlatformEvent::OverridesWritten {
                path,
                env,
                deployed: false,
            } => println!(
                "Wrote {}; `kapstan up --env {env}` creates the pool with these settings.",
                path.display()
            ),
            PlatformEvent::OverridesWritten { path, .. } => println!("Wrote {}.", path.display()),
            PlatformEvent::ScaleAlreadyMatches => {
                println!("The cluster already matches; nothing to apply.")
            }
            PlatformEvent::Scaled { env, settings } => {
                println!("\nPool `default` of {env} is now {}.", settings.describe())
            }
            _ => return false,
        }
        true
    }

    /// The events of `audit` and `adopt`.
    fn audit_and_adopt(&self, event: &PlatformEvent<'_>) {
        match event {
            PlatformEvent::AuditFindings {
                policy,
                findings,
                checks,
                after_fix,
            } => {
                if self.json {
                    return;
                }
                if *after_fix {
                    println!("\nAfter the fix:");
                }
                print!("{}", audit::render_table(policy, findings, *checks));
            }
            PlatformEvent::AuditNothingToFix => self.say("\nNothing for kapstan to fix."),
            PlatformEvent::AuditAppNotDeployed { stack, env } => self.say(&format!(
                "\n{stack} is not deployed: run `kapstan up --env {env}` to create what the policy requires."
            )),
            PlatformEvent::AuditFixing { stack, targets } => {
                self.say(&format!("\n== {stack} (re-applying {})", targets.join(", ")))
            }
            PlatformEvent::AuditFixUnneeded => self.say(
                "The app phase already matches its declaration; the findings need manual action.",
            ),
            PlatformEvent::AuditManual { findings } => {
                self.say(&format!(
                    "\n{} finding(s) kapstan does not manage need manual action:",
                    findings.len()
                ));
                for f in *findings {
                    self.say(&format!(
                        "  - {} {}: {} ({})",
                        f.severity.as_str(),
                        f.object,
                        f.message,
                        f.remedy
                    ));
                }
            }
            PlatformEvent::AdoptPlanned { plan, stack } => {
                print!("{}", adopt::render_plan(plan, stack))
            }
            PlatformEvent::Importing => println!(),
            PlatformEvent::Imported { address, terraform } => {
                println!("  imported {address} ({terraform})")
            }
            _ => {}
        }
    }
}
