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

use std::path::{Path, PathBuf};

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
    let vars = Vars {
        stack: profile.stack_name(phase),
        vars,
    };
    vars.apply_domain(&mut profile, &project_dir)?;
    vars.apply_release(&mut profile)?;
    vars.apply_monitoring(&mut profile)?;
    profile
        .check()
        .map_err(|problem| vars.error("domain", &profile.domain, problem))?;
    let coder = vars
        .boolean("coder", "is not a boolean; use true or false")?
        .unwrap_or(true);
    Ok(match phase {
        Phase::Infra => infra_stack(&profile).build(),
        Phase::App => {
            let options = AppOptions {
                coder,
                chart_repository: vars.get("chart_repository").cloned(),
                access_url: vars.get("access_url").cloned(),
                templates: vars.templates()?,
                templates_root: vars.get("templates_root").map(PathBuf::from),
            };
            app_stack(&profile, &options).build()
        }
    })
}

/// The variables of one stack, and errors that name it.
struct Vars<'a> {
    stack: String,
    vars: &'a StackVars,
}

impl Vars<'_> {
    fn get(&self, var: &str) -> Option<&String> {
        self.vars.get(var)
    }

    fn error(&self, var: &str, value: &str, problem: impl Into<String>) -> StackError {
        StackError::Var {
            stack: self.stack.clone(),
            var: var.into(),
            value: value.into(),
            problem: problem.into(),
        }
    }

    /// `var` as `true` / `false`, if given; anything else is refused with `problem`.
    fn boolean(&self, var: &str, problem: &str) -> Result<Option<bool>, StackError> {
        match self.get(var).map(String::as_str) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(self.error(var, other, problem)),
        }
    }

    /// `domain`, `subdomain` and how the domain's certificate is issued (`tls`,
    /// `acme_directory`, `acme_ca_bundle_file`, `acme_dns_servers`).
    fn apply_domain(&self, profile: &mut Profile, project_dir: &Path) -> Result<(), StackError> {
        if let Some(d) = self.get("domain") {
            profile.domain = d.clone();
        }
        if let Some(sd) = self.get("subdomain") {
            profile.subdomain = sd.clone();
        }
        if let Some(v) = self.get("tls") {
            profile.tls.mode = profile::TlsMode::parse(v).ok_or_else(|| self.error("tls", v, "is not a TLS mode; use acme (a certificate by ACME in the domain's Scaleway zone) or external (you create the DNS records and terminate TLS)"))?;
        }
        if let Some(v) = self.get("acme_directory") {
            profile.tls.directory = Some(v.clone());
        }
        if let Some(v) = self.get("acme_ca_bundle_file") {
            profile.tls.ca_bundle_file = Some(PathBuf::from(v));
            profile
                .tls
                .load_ca_bundle(project_dir)
                .map_err(|problem| self.error("acme_ca_bundle_file", v, problem))?;
        }
        if let Some(v) = self.get("acme_dns_servers") {
            profile.tls.dns_servers = v
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(())
    }

    /// `coder_version` (a pinned release) and `prevent_destroy`.
    fn apply_release(&self, profile: &mut Profile) -> Result<(), StackError> {
        if let Some(v) = self.get("coder_version") {
            let pinned = v.split('.').count() == 3
                && v.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !pinned {
                return Err(self.error(
                    "coder_version",
                    v,
                    "is not a Coder release; give one such as 2.21.1 (no `v`, no `latest`)",
                ));
            }
            profile.coder_version = v.clone();
        }
        if let Some(keep) = self.boolean("prevent_destroy", "must be true or false")? {
            profile.prevent_destroy = keep;
        }
        Ok(())
    }

    /// `monitoring_recorded` and `monitoring`, with the settings checked when it is turned on.
    fn apply_monitoring(&self, profile: &mut Profile) -> Result<(), StackError> {
        // The collector recorded by an earlier `up --enable-monitoring` keeps monitoring on
        // unless the settings file decides.
        if self.get("monitoring_recorded").map(String::as_str) == Some("true")
            && !profile.monitoring.enabled_in_file
        {
            profile.monitoring.enabled = true;
        }
        if let Some(enabled) = self.boolean("monitoring", "must be true or false")? {
            profile.monitoring.enabled = enabled;
            profile.monitoring.validate().map_err(|(key, problem)| {
                self.error(
                    "monitoring",
                    &enabled.to_string(),
                    format!("cannot be turned on: {key}: {problem}"),
                )
            })?;
        }
        Ok(())
    }

    /// `templates`: comma-separated names, each one of the templates under `templates_root`.
    fn templates(&self) -> Result<Vec<String>, StackError> {
        let Some(t) = self.get("templates") else {
            return Ok(vec![]);
        };
        let root = self
            .get("templates_root")
            .map(PathBuf::from)
            .unwrap_or_else(crate::templates::shipped_root);
        let known: Vec<String> = crate::templates::discover(&root)
            .into_iter()
            .map(|t| t.name)
            .collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let names: Vec<String> = t
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect();
        if let Some(name) = names.iter().find(|n| !known.contains(&n.as_str())) {
            return Err(self.error(
                "templates",
                name,
                format!(
                    "is not a template{}; available: {}",
                    crate::suggest::did_you_mean(name, &known),
                    known.join(", ")
                ),
            ));
        }
        Ok(names)
    }
}
