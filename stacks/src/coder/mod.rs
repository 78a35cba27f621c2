//! The Coder-on-Scaleway platform: two phases per environment, each its own stack and state.

pub mod app;
pub mod infra;
pub mod monitoring;
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
/// protection of the cluster, the database and the private network, for teardown), `tls`
/// (`acme` or `external`), `acme_directory`, `acme_ca_bundle_file` and `acme_dns_servers`
/// (comma-separated `HOST:PORT`), `monitoring` (`true` / `false`: overrides `[monitoring]
/// enabled`, for `up --enable-monitoring`), `monitoring_recorded` (`true`: the app phase has a
/// collector, which keeps monitoring on unless the settings file sets `enabled`).
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
    if let Some(v) = vars.get("tls") {
        profile.tls.mode = profile::TlsMode::parse(v).ok_or_else(|| StackError::Var {
            stack: profile.stack_name(phase),
            var: "tls".into(),
            value: v.clone(),
            problem: "is not a TLS mode; use acme (a certificate by ACME in the domain's Scaleway zone) or external (you create the DNS records and terminate TLS)".into(),
        })?;
    }
    if let Some(v) = vars.get("acme_directory") {
        profile.tls.directory = Some(v.clone());
    }
    if let Some(v) = vars.get("acme_ca_bundle_file") {
        profile.tls.ca_bundle_file = Some(PathBuf::from(v));
        profile
            .tls
            .load_ca_bundle(&project_dir)
            .map_err(|problem| StackError::Var {
                stack: profile.stack_name(phase),
                var: "acme_ca_bundle_file".into(),
                value: v.clone(),
                problem,
            })?;
    }
    if let Some(v) = vars.get("acme_dns_servers") {
        profile.tls.dns_servers = v
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect();
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
    // The collector recorded by an earlier `up --enable-monitoring` keeps monitoring on unless
    // the settings file decides.
    if vars.get("monitoring_recorded").map(String::as_str) == Some("true")
        && !profile.monitoring.enabled_in_file
    {
        profile.monitoring.enabled = true;
    }
    if let Some(v) = vars.get("monitoring") {
        profile.monitoring.enabled = match v.as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(StackError::Var {
                    stack: profile.stack_name(phase),
                    var: "monitoring".into(),
                    value: v.clone(),
                    problem: "must be true or false".into(),
                });
            }
        };
        profile
            .monitoring
            .validate()
            .map_err(|(key, problem)| StackError::Var {
                stack: profile.stack_name(phase),
                var: "monitoring".into(),
                value: v.clone(),
                problem: format!("cannot be turned on: {key}: {problem}"),
            })?;
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
