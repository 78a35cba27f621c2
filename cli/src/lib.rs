//! The `kapstan` command-line interface: argument parsing, command dispatch, rendering and
//! error reports. The only crate that prints.

pub mod args;
pub mod commands;
pub mod context;
pub mod error;
pub mod platform;
pub mod render;
pub mod unwritten_store;

use kapstan_engine::PlanMode;

use crate::args::{Cli, Command};
use crate::context::Project;
use crate::error::CliError;

/// Exit code of every error, usage errors included.
pub const EXIT_ERROR: i32 = 1;
/// Exit code of `--detailed-exitcode` when a plan has changes or a stack drifted (and of
/// `audit` on a high finding): never used for an error.
pub const EXIT_CHANGES: i32 = 2;
/// Exit code of the budget gate: the planned monthly cost exceeds a budget.
pub const EXIT_OVER_BUDGET: i32 = 3;

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, CliError> {
    if let Some(rate) = cli.api_rate {
        commands::platform::set_api_rate(rate)?;
    }
    let project = || Project::resolve(cli.chdir.as_deref(), cli.state.as_deref(), cli.lock);
    let sandboxed = match &cli.command {
        Command::Plan { env, .. }
        | Command::Apply { env, .. }
        | Command::Destroy { env, .. }
        | Command::Drift { env, .. } => env.sandbox,
        _ => false,
    };
    if sandboxed {
        let project = project()?;
        let session = commands::platform::sandbox_for(&project, true).await?;
        let result = dispatch(&cli, &project_of(project)).await;
        if let Some(s) = session {
            s.stop().await;
        }
        return result;
    }
    dispatch(&cli, &project).await
}

/// A resolver handing out one project already resolved.
fn project_of(project: Project) -> impl Fn() -> Result<Project, CliError> {
    let dir = project.dir.clone();
    let config = project.store_config.clone();
    move || Ok(Project::with_config(dir.clone(), config.clone()))
}

async fn dispatch(
    cli: &Cli,
    project: &dyn Fn() -> Result<Project, CliError>,
) -> Result<i32, CliError> {
    match &cli.command {
        Command::Plan {
            stack,
            env,
            cost,
            plan,
            destroy,
            refresh_only,
            out,
            detailed_exitcode,
            json,
        } => {
            commands::run::plan(
                &project()?,
                stack,
                env,
                cost,
                plan,
                *destroy,
                *refresh_only,
                out.as_deref(),
                *detailed_exitcode,
                *json,
            )
            .await
        }
        Command::Apply {
            plan_file,
            stack,
            env,
            cost,
            plan,
            auto_approve,
            refresh_only,
            json,
        } => {
            let mode = if *refresh_only {
                PlanMode::RefreshOnly
            } else {
                PlanMode::Normal
            };
            commands::run::apply(
                &project()?,
                plan_file.as_deref(),
                stack,
                env,
                cost,
                plan,
                mode,
                *auto_approve,
                *json,
            )
            .await
        }
        Command::Destroy {
            stack,
            env,
            plan,
            auto_approve,
            json,
        } => {
            commands::run::apply(
                &project()?,
                None,
                stack,
                env,
                &args::CostArgs::default(),
                plan,
                PlanMode::Destroy,
                *auto_approve,
                *json,
            )
            .await
        }
        Command::Drift {
            stack,
            env,
            detailed_exitcode,
            json,
            parallelism,
        } => {
            commands::run::drift(
                &project()?,
                stack,
                env,
                *detailed_exitcode,
                *json,
                *parallelism,
            )
            .await
        }
        Command::Show {
            plan_file,
            stack,
            env,
            json,
        } => {
            let project = project()?;
            let stacks = env.stacks(stack);
            if plan_file.is_some() || stacks.len() == 1 {
                return commands::inspect::show(&project, plan_file.as_deref(), &stacks[0], *json)
                    .await;
            }
            for (n, s) in stacks.iter().enumerate() {
                let gap = if n > 0 { "\n" } else { "" };
                println!("{gap}=== Stack {} ===\n", s.stack);
                commands::inspect::show(&project, None, s, *json).await?;
            }
            Ok(0)
        }
        Command::Output {
            name,
            stack,
            envsel,
            json,
            raw,
        } => {
            let project = project()?;
            let mut candidates = envsel.stacks(stack);
            if name.is_none() && candidates.len() > 1 {
                // Every phase's outputs, each under its stack, phases never applied skipped.
                let store = project.store()?;
                let mut shown = 0;
                // With --json: one document, the outputs of each stack under its name.
                let mut by_stack = serde_json::Map::new();
                for candidate in &candidates {
                    let Some(doc) = store.load(&candidate.stack).await? else {
                        continue;
                    };
                    shown += 1;
                    if *json {
                        by_stack.insert(
                            candidate.stack.clone(),
                            serde_json::Value::Object(commands::inspect::redacted_outputs(&doc)),
                        );
                        continue;
                    }
                    let gap = if shown > 1 { "\n" } else { "" };
                    println!("{gap}=== Stack {} ===\n", candidate.stack);
                    commands::inspect::output(&project, None, candidate, false, *raw).await?;
                }
                if *json && shown > 0 {
                    println!("{}", serde_json::to_string_pretty(&by_stack).expect("json"));
                }
                if shown == 0 {
                    return Err(CliError::State(kapstan_state::StateError::NoState(
                        candidates[0].stack.clone(),
                    )));
                }
                return Ok(0);
            }
            // A named output: the app phase holds the user-facing ones (admin password,
            // access URL), so it is searched first.
            candidates.reverse();
            let mut last = None;
            for candidate in &candidates {
                match commands::inspect::output(&project, name.as_deref(), candidate, *json, *raw)
                    .await
                {
                    Ok(code) => return Ok(code),
                    Err(e) if candidates.len() > 1 => last = Some(e),
                    Err(e) => return Err(e),
                }
            }
            Err(last.expect("at least one candidate stack"))
        }
        Command::Validate { stack, json } => {
            commands::inspect::validate(&project()?, stack, *json).await
        }
        Command::Graph { stack } => commands::inspect::graph(stack),
        Command::Import { address, id, stack } => {
            commands::inspect::import(&project()?, address, id, stack).await
        }
        Command::Up {
            env,
            phase,
            no_coder,
            dry_run,
            templates,
            domain,
            subdomain,
            auto_approve,
            sandbox,
            parallelism,
        } => {
            let options = commands::platform::UpOptions {
                env: env.clone(),
                phase: phase.map(to_phase),
                no_coder: *no_coder,
                dry_run: *dry_run,
                templates: templates.clone(),
                domain: domain.clone(),
                subdomain: subdomain.clone(),
                auto_approve: *auto_approve,
                sandbox: *sandbox,
                parallelism: *parallelism,
                coder_version: None,
            };
            commands::platform::up(&project()?, &options).await
        }
        Command::Upgrade {
            env,
            coder,
            dry_run,
            auto_approve,
            sandbox,
            parallelism,
        } => {
            let options = commands::platform::UpOptions {
                env: env.clone(),
                phase: Some(kapstan_stacks::coder::Phase::App),
                dry_run: *dry_run,
                auto_approve: *auto_approve,
                sandbox: *sandbox,
                parallelism: *parallelism,
                coder_version: Some(coder.clone()),
                ..Default::default()
            };
            let code = commands::platform::up(&project()?, &options).await?;
            if code == 0 && !*dry_run {
                println!(
                    "Set [coder] version = \"{coder}\" in environments/{env}.toml: a later `kapstan up` with the older version would be a downgrade, which is refused."
                );
            }
            Ok(code)
        }
        Command::Down {
            env,
            phase,
            auto_approve,
            sandbox,
            delete_volumes,
            parallelism,
        } => {
            let options = commands::platform::DownOptions {
                env: env.clone(),
                phase: phase.map(to_phase),
                confirm: *auto_approve,
                sandbox: *sandbox,
                delete_volumes: *delete_volumes,
                parallelism: *parallelism,
            };
            commands::platform::down(&project()?, &options).await
        }
        Command::Doctor => commands::platform::doctor(&project()?).await,
        Command::Backup {
            env,
            include_db,
            retention_days,
            out,
            sandbox,
        } => {
            let options = platform::backup::BackupOptions {
                include_db: *include_db,
                retention_days: *retention_days,
                out: out.clone(),
            };
            let project = project()?;
            let session = commands::platform::sandbox_for(&project, *sandbox).await?;
            let result = platform::backup::backup_command(&project, *env, &options).await;
            if let Some(s) = session {
                s.stop().await;
            }
            result
        }
        Command::Restore {
            env,
            from,
            force,
            database,
            sandbox,
        } => {
            let project = project()?;
            let session = commands::platform::sandbox_for(&project, *sandbox && *database).await?;
            let result =
                platform::backup::restore_command(&project, *env, from, *force, *database).await;
            if let Some(s) = session {
                s.stop().await;
            }
            result
        }
        Command::Health {
            env,
            quick,
            format,
            json,
            sandbox,
        } => {
            let format = &json_or(*format, *json);
            let project = project()?;
            let session = commands::platform::sandbox_for(&project, *sandbox).await?;
            let result = platform::health::health(&project, *env, *quick, *format).await;
            if let Some(s) = session {
                s.stop().await;
            }
            result
        }
        Command::Adopt {
            env,
            phase,
            terraform_state,
            auto_approve,
        } => {
            platform::adopt::adopt(
                &project()?,
                *env,
                to_phase(*phase),
                terraform_state,
                *auto_approve,
            )
            .await
        }
        Command::Scale {
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
        } => {
            let options = commands::scale::ScaleOptions {
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
            commands::scale::scale(&project()?, &options).await
        }
        Command::Audit {
            env,
            format,
            json,
            fix,
            auto_approve,
            sandbox,
        } => {
            let options = commands::audit::AuditOptions {
                env: env.clone(),
                format: json_or(*format, *json),
                fix: *fix,
                auto_approve: *auto_approve,
                sandbox: *sandbox,
            };
            commands::audit::audit(&project()?, &options).await
        }
        Command::Stacks => commands::inspect::stacks(),
        Command::Cost {
            stack,
            env,
            prices,
            period,
            format,
            json,
            set_budget,
            alert_threshold,
        } => commands::cost::run(
            &project()?.dir,
            stack,
            env,
            prices.as_deref(),
            *period,
            if *json {
                args::CostFormat::Json
            } else {
                *format
            },
            set_budget.as_deref(),
            *alert_threshold,
        ),
        Command::Templates { command } => commands::templates::run(&project, command).await,
        Command::State { command } => commands::state::run(&project()?, command).await,
        Command::Sandbox { command } => {
            let dir = match &cli.chdir {
                Some(d) => d.clone(),
                None => std::env::current_dir().map_err(|source| CliError::Io {
                    action: "reading",
                    path: ".".into(),
                    source,
                })?,
            };
            commands::sandbox::run(command, &dir).await
        }
    }
}

/// `--json` wins over `--format`.
fn json_or(format: args::ListFormat, json: bool) -> args::ListFormat {
    if json { args::ListFormat::Json } else { format }
}

fn to_phase(p: args::Phase) -> kapstan_stacks::coder::Phase {
    match p {
        args::Phase::Infra => kapstan_stacks::coder::Phase::Infra,
        args::Phase::App => kapstan_stacks::coder::Phase::App,
    }
}
