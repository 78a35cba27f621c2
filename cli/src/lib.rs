//! The `kapstan` command-line interface: argument parsing, command dispatch, rendering and
//! error reports. The only crate that prints.

pub mod args;
pub mod commands;
pub mod context;
pub mod error;
pub mod render;

use kapstan_engine::PlanMode;

use crate::args::{Cli, Command};
use crate::context::Project;
use crate::error::CliError;

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, CliError> {
    let project = || Project::resolve(cli.chdir.as_deref(), cli.state.as_deref(), cli.lock);
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
            commands::run::drift(&project()?, stack, env, *detailed_exitcode, *json, *parallelism)
                .await
        }
        Command::Show {
            plan_file,
            stack,
            json,
        } => commands::inspect::show(&project()?, plan_file.as_deref(), stack, *json).await,
        Command::Output {
            name,
            stack,
            json,
            raw,
        } => commands::inspect::output(&project()?, name.as_deref(), stack, *json, *raw).await,
        Command::Validate { stack, json } => {
            commands::inspect::validate(&project()?, stack, *json).await
        }
        Command::Graph { stack } => commands::inspect::graph(stack),
        Command::Import { address, id, stack } => {
            commands::inspect::import(&project()?, address, id, stack).await
        }
        Command::Stacks => commands::inspect::stacks(),
        Command::Cost {
            stack,
            env,
            prices,
            period,
            format,
            set_budget,
            alert_threshold,
        } => commands::cost::run(
            &project()?.dir,
            stack,
            env,
            prices.as_deref(),
            *period,
            *format,
            set_budget.as_deref(),
            *alert_threshold,
        ),
        Command::Templates { command } => commands::templates::run(command),
        Command::State { command } => commands::state::run(&project()?, command).await,
        Command::Sandbox { command } => commands::sandbox::run(command).await,
    }
}
