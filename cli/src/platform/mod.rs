//! The platform lifecycle helpers around `kapstan up` / `kapstan down`: hooks, run logs,
//! backups and restore, live health checks and adoption of the original Terraform state.
//!
//! `up` and `down` (in `commands/platform.rs`) call [`hooks::run_hook`] around each phase and
//! write their transcript through a [`logs::RunLog`]; `kapstan backup`, `restore`, `health`
//! and `adopt` are implemented here.

pub mod adopt;
pub mod backup;
pub mod health;
pub mod hooks;
pub mod logs;
pub mod upgrade;

use std::collections::BTreeMap;

use kapstan_stacks::coder::{Environment, Phase};
use kapstan_state::StateDocument;

use crate::context::Project;
use crate::error::CliError;

/// clap value parser of `--env`: only `dev`, `staging` or `prod`.
pub fn parse_env(s: &str) -> Result<Environment, String> {
    Environment::parse(s).map_err(|_| unknown_env(s, false))
}

/// clap value parser of `--env` where the command takes a name: `dev`, `staging` or `prod`.
pub fn env_name(s: &str) -> Result<String, String> {
    parse_env(s).map(|e| e.name().to_string())
}

/// clap value parser of `--env` where `all` (every environment) is accepted too.
pub fn env_selection(s: &str) -> Result<String, String> {
    if s == "all" {
        return Ok(s.to_string());
    }
    Environment::parse(s)
        .map(|e| e.name().to_string())
        .map_err(|_| unknown_env(s, true))
}

/// The one error of a mistyped `--env`, with a close name only when one is close.
fn unknown_env(s: &str, all: bool) -> String {
    let mut names: Vec<&str> = Environment::ALL.iter().map(|e| e.name()).collect();
    if all {
        names.push("all");
    }
    let choices = if all {
        "dev, staging, prod or all"
    } else {
        "dev, staging or prod"
    };
    format!(
        "`{s}` is not an environment{}; use {choices}",
        kapstan_stacks::suggest::did_you_mean(s, &names)
    )
}

/// The stack name of one phase of an environment (`coder-<env>-<phase>`).
pub fn stack_name(env: Environment, phase: Phase) -> String {
    format!("coder-{}-{}", env.name(), phase.name())
}

/// Builds one phase's stack the way `kapstan plan --stack coder-<env>-<phase>` does, reading
/// `environments/<env>.toml` from the project directory, with extra variables.
pub fn build_stack(
    project: &Project,
    env: Environment,
    phase: Phase,
    vars: &BTreeMap<String, String>,
) -> Result<kapstan_engine::StackSpec, CliError> {
    let mut vars = vars.clone();
    vars.entry("project_dir".into())
        .or_insert_with(|| project.dir.display().to_string());
    Ok(kapstan_stacks::coder::build(env, phase, &vars)?)
}

/// Loads the recorded state of one phase (`None` when the phase was never applied).
pub async fn load_phase(
    project: &Project,
    env: Environment,
    phase: Phase,
) -> Result<Option<StateDocument>, CliError> {
    Ok(project.store()?.load(&stack_name(env, phase)).await?)
}

/// The sealer of the project's state key (the same key `kapstan state pull` uses).
pub fn sealer(project: &Project) -> Result<Option<kapstan_state::Sealer>, CliError> {
    let key = kapstan_state::state_key(&project.store_config, &|n| std::env::var(n).ok())?;
    Ok(match key {
        Some(k) => Some(kapstan_state::Sealer::new(&k)?),
        None => None,
    })
}

/// An output of a document as a plain string (strings bare, other values as JSON).
pub(crate) fn output_string(doc: &StateDocument, name: &str) -> Option<String> {
    doc.outputs.get(name).map(|o| value_string(&o.value))
}

/// A JSON value as the string a user would write (strings without quotes).
pub(crate) fn value_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
