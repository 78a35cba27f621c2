//! Environments and phases: the `--env` names, the stack of each phase, and reading what a
//! phase recorded.

use std::collections::BTreeMap;

use kapstan_stacks::coder::{Environment, Phase};
use kapstan_state::StateDocument;

use crate::error::PlatformError;
use crate::project::Project;

/// Parses an `--env` value: only `dev`, `staging` or `prod`.
pub fn parse_env(s: &str) -> Result<Environment, String> {
    Environment::parse(s).map_err(|_| unknown_env(s, false))
}

/// Parses an `--env` value naming one environment: `dev`, `staging` or `prod`.
pub fn env_name(s: &str) -> Result<String, String> {
    parse_env(s).map(|e| e.name().to_string())
}

/// Parses an `--env` value where `all` (every environment) is accepted too.
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
) -> Result<kapstan_engine::StackSpec, PlatformError> {
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
) -> Result<Option<StateDocument>, PlatformError> {
    Ok(project.store()?.load(&stack_name(env, phase)).await?)
}

/// An output of a document as a plain string (strings bare, other values as JSON).
pub fn output_string(doc: &StateDocument, name: &str) -> Option<String> {
    doc.outputs.get(name).map(|o| value_string(&o.value))
}

/// A JSON value as the string a user would write (strings without quotes).
pub fn value_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
