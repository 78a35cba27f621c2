//! The `kapstan` command-line interface: argument parsing, rendering and error reports over
//! the `kapstan-platform` operations and the engine. The only crate that prints, and one
//! without an HTTP client or wire formats of its own.

pub mod args;
mod commands;
mod error;
mod render;

use std::path::PathBuf;

use kapstan_platform::Project;

use crate::args::{Cli, Command};
pub use crate::error::CliError;
pub use crate::render::UserMessages;

/// Exit code of every error, usage errors included.
pub const EXIT_ERROR: i32 = 1;
/// Exit code of `--detailed-exitcode` when a plan has changes or a stack drifted (and of
/// `audit` on a high finding): never used for an error.
pub const EXIT_CHANGES: i32 = 2;
/// Exit code of the budget gate: the planned monthly cost exceeds a budget.
pub const EXIT_OVER_BUDGET: i32 = 3;

/// The project directory: `-C DIR`, else the current directory.
fn project_dir(cli: &Cli) -> Result<PathBuf, CliError> {
    match &cli.chdir {
        Some(d) => Ok(d.clone()),
        None => std::env::current_dir().map_err(|source| CliError::Io {
            action: "reading",
            path: ".".into(),
            source,
        }),
    }
}

/// Resolves the project of `cli` (directory, state store, `--api-rate`).
fn resolve(cli: &Cli) -> Result<Project, CliError> {
    let project = Project::resolve(project_dir(cli)?, cli.state.as_deref(), cli.lock)?;
    Ok(match cli.api_rate {
        Some(rate) => project.with_api_rate(rate)?,
        None => project,
    })
}

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, CliError> {
    if let Some(rate) = cli.api_rate {
        kapstan_platform::project::check_api_rate(rate)?;
    }
    let project = || resolve(&cli);
    let sandboxed = match &cli.command {
        Command::Plan { env, .. }
        | Command::Apply { env, .. }
        | Command::Destroy { env, .. }
        | Command::Drift { env, .. } => env.sandbox,
        _ => false,
    };
    if sandboxed {
        let project = project()?;
        let same_project = || Ok(project.clone());
        let run = dispatch(&cli, &same_project);
        return kapstan_platform::sandbox::in_sandbox(&project, true, run).await?;
    }
    dispatch(&cli, &project).await
}

async fn dispatch(
    cli: &Cli,
    project: &dyn Fn() -> Result<Project, CliError>,
) -> Result<i32, CliError> {
    if let Some(result) = commands::platform::run(&cli.command, project).await {
        return result;
    }
    if let Some(result) = commands::run::dispatch(&cli.command, project).await {
        return result;
    }
    if let Some(result) = commands::inspect::dispatch(&cli.command, project).await {
        return result;
    }
    match &cli.command {
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
            &commands::cost::CostCommand {
                stack,
                env,
                prices: prices.as_deref(),
                period: *period,
                format: if *json {
                    args::CostFormat::Json
                } else {
                    *format
                },
                set_budget: set_budget.as_deref(),
                alert_threshold: *alert_threshold,
            },
        ),
        Command::Templates { command } => commands::templates::run(project, command).await,
        Command::State { command } => commands::state::run(&project()?, command).await,
        Command::Sandbox { command } => commands::sandbox::run(command, &project_dir(cli)?).await,
        _ => unreachable!("every command is dispatched above"),
    }
}

/// `--json` wins over `--format`.
fn json_or(format: args::ListFormat, json: bool) -> args::ListFormat {
    if json { args::ListFormat::Json } else { format }
}
