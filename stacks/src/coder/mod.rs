//! The Coder-on-Scaleway platform: two phases per environment, each its own stack and state.

pub mod app;
pub mod infra;
pub mod profile;
pub mod sign_in;
pub mod upgrade;

pub use app::{AppOptions, app_stack};
pub use infra::infra_stack;
pub use profile::{Environment, Phase, PodSecurityLevel, Profile};

use std::path::PathBuf;

use kapstan_engine::StackSpec;

use crate::catalog::{StackError, StackVars};

/// Builds `coder-<env>-<phase>` from variables: `project_dir` (where `environments/<env>.toml`
/// is), `domain`, `subdomain`, `coder` (`false` skips Coder), `chart_repository`,
/// `access_url`, `templates` (comma-separated names), `coder_version` (overrides the profile's,
/// for `kapstan upgrade`), `prevent_destroy` (`false` lifts the
/// protection of the cluster, the database and the private network, for teardown).
pub fn build(env: Environment, phase: Phase, vars: &StackVars) -> Result<StackSpec, StackError> {
    let project_dir = vars
        .get("project_dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut profile = Profile::load(env, &project_dir)?;
    if let Some(d) = vars.get("domain") {
        profile.domain = d.clone();
    }
    if let Some(sd) = vars.get("subdomain") {
        profile.subdomain = sd.clone();
    }
    if let Some(v) = vars.get("coder_version") {
        let pinned = v.split('.').count() == 3
            && v.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !pinned {
            return Err(StackError::Var {
                stack: profile.stack_name(phase),
                var: "coder_version".into(),
                value: v.clone(),
                problem: "is not a Coder release; give one such as 2.21.1 (no `v`, no `latest`)"
                    .into(),
            });
        }
        profile.coder_version = v.clone();
    }
    if let Some(v) = vars.get("prevent_destroy") {
        profile.prevent_destroy = match v.as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(StackError::Var {
                    stack: profile.stack_name(phase),
                    var: "prevent_destroy".into(),
                    value: v.clone(),
                    problem: "must be true or false".into(),
                });
            }
        };
    }
    profile.check().map_err(|problem| StackError::Var {
        stack: profile.stack_name(phase),
        var: "domain".into(),
        value: profile.domain.clone(),
        problem,
    })?;
    let coder = match vars.get("coder").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(StackError::Var {
                stack: profile.stack_name(phase),
                var: "coder".into(),
                value: other.into(),
                problem: "is not a boolean; use true or false".into(),
            });
        }
    };
    Ok(match phase {
        Phase::Infra => infra_stack(&profile).build(),
        Phase::App => {
            if let Some(t) = vars.get("templates") {
                let root = vars
                    .get("templates_root")
                    .map(PathBuf::from)
                    .unwrap_or_else(crate::templates::shipped_root);
                let known: Vec<String> = crate::templates::discover(&root)
                    .into_iter()
                    .map(|t| t.name)
                    .collect();
                for name in t.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                    if !known.iter().any(|k| k == name) {
                        return Err(StackError::Var {
                            stack: profile.stack_name(phase),
                            var: "templates".into(),
                            value: name.into(),
                            problem: format!(
                                "is not a template{}; available: {}",
                                crate::suggest::did_you_mean(
                                    name,
                                    &known.iter().map(String::as_str).collect::<Vec<_>>()
                                ),
                                known.join(", ")
                            ),
                        });
                    }
                }
            }
            let options = AppOptions {
                coder,
                chart_repository: vars.get("chart_repository").cloned(),
                access_url: vars.get("access_url").cloned(),
                templates: vars
                    .get("templates")
                    .map(|t| {
                        t.split(',')
                            .map(str::trim)
                            .filter(|x| !x.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
                templates_root: vars.get("templates_root").map(PathBuf::from),
            };
            app_stack(&profile, &options).build()
        }
    })
}
