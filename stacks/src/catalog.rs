//! The catalog of built-in stacks, found by name, built from string variables (`--var`).

use std::collections::BTreeMap;

use kapstan_engine::StackSpec;

/// Variables given to a stack builder (`--var key=value`).
pub type StackVars = BTreeMap<String, String>;

/// Why a stack could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// No built-in stack has this name.
    #[error("no built-in stack is named `{name}`; available: {available}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names available.
        available: String,
    },
    /// An environment override file is invalid.
    #[error("{file}: {message}")]
    Overrides {
        /// The file.
        file: String,
        /// What is wrong (with the line when known).
        message: String,
    },
    /// A variable is invalid.
    #[error("stack `{stack}`: variable `{var}` = {value:?} {problem}")]
    Var {
        /// The stack.
        stack: String,
        /// The variable.
        var: String,
        /// Its value.
        value: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

/// A built-in stack.
pub struct StackEntry {
    /// Its name (a prefix for families such as `synthetic`).
    pub name: &'static str,
    /// One line for `kapstan stacks`.
    pub description: &'static str,
    /// Variables it reads, with their meaning.
    pub vars: &'static [(&'static str, &'static str)],
    /// Builds it.
    pub build: fn(&StackVars) -> Result<StackSpec, StackError>,
}

impl std::fmt::Debug for StackEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackEntry")
            .field("name", &self.name)
            .finish()
    }
}

/// Every built-in stack.
pub fn catalog() -> Vec<StackEntry> {
    vec![
        StackEntry {
            name: "demo",
            description: "a small platform-shaped stack of local kinds (network, cluster, pool, database password, app), no cloud needed",
            vars: &[
                ("prefix", "name prefix of every object (default `demo`)"),
                ("nodes", "payload size of the pool (default 2)"),
            ],
            build: |vars| crate::demo::demo_stack(vars).map(|s| s.build()),
        },
        coder_entry(
            "coder-dev-infra",
            "phase 1 of dev: VPC, NAT gateway, Kapsule, PostgreSQL, load balancer",
            |v| {
                crate::coder::build(
                    crate::coder::Environment::Dev,
                    crate::coder::Phase::Infra,
                    v,
                )
            },
        ),
        coder_entry(
            "coder-dev-app",
            "phase 2 of dev: namespaces, policies, Coder, admin, templates",
            |v| crate::coder::build(crate::coder::Environment::Dev, crate::coder::Phase::App, v),
        ),
        coder_entry("coder-staging-infra", "phase 1 of staging", |v| {
            crate::coder::build(
                crate::coder::Environment::Staging,
                crate::coder::Phase::Infra,
                v,
            )
        }),
        coder_entry("coder-staging-app", "phase 2 of staging", |v| {
            crate::coder::build(
                crate::coder::Environment::Staging,
                crate::coder::Phase::App,
                v,
            )
        }),
        coder_entry("coder-prod-infra", "phase 1 of prod", |v| {
            crate::coder::build(
                crate::coder::Environment::Prod,
                crate::coder::Phase::Infra,
                v,
            )
        }),
        coder_entry("coder-prod-app", "phase 2 of prod", |v| {
            crate::coder::build(crate::coder::Environment::Prod, crate::coder::Phase::App, v)
        }),
        StackEntry {
            name: "synthetic",
            description: "N test objects, independent (`wide`) or chained (`chain`), for tests and benchmarks",
            vars: &[
                ("resources", "number of objects (default 10)"),
                ("shape", "`wide` or `chain` (default wide)"),
                ("delay_ms", "duration of each operation (default 0)"),
                (
                    "store",
                    "directory holding the objects (default: state only)",
                ),
                ("fail", "address of one object whose create fails"),
                ("value", "payload of every object (default 1)"),
                ("name", "stack name (default `synthetic`)"),
            ],
            build: crate::synthetic::from_vars,
        },
    ]
}

const CODER_VARS: &[(&str, &str)] = &[
    (
        "project_dir",
        "directory holding environments/<env>.toml (default .)",
    ),
    (
        "domain",
        "domain of the access URL (default: the load balancer's address)",
    ),
    ("subdomain", "subdomain under the domain"),
    (
        "tls",
        "with a domain: `acme` (default: DNS records and a certificate by ACME in the domain's Scaleway zone) or `external`",
    ),
    (
        "acme_directory",
        "ACME directory: `production` (Let's Encrypt, default), `staging` or a URL",
    ),
    (
        "acme_ca_bundle_file",
        "PEM file of CA certificates trusted for the ACME directory's TLS",
    ),
    (
        "acme_dns_servers",
        "comma-separated HOST:PORT of authoritative name servers to check the challenge on",
    ),
    (
        "coder",
        "`false` to skip the Coder release, admin and templates (app phase)",
    ),
    (
        "templates",
        "comma-separated template names to push (app phase; default all)",
    ),
    (
        "chart_repository",
        "Helm repository of the Coder and Alloy charts (app phase)",
    ),
    ("access_url", "access URL override (app phase)"),
    (
        "templates_root",
        "directory of the workspace templates (app phase; default: the shipped ones)",
    ),
    (
        "prevent_destroy",
        "`false` lifts the protection of the network, cluster and database (infra phase; `down` sets it)",
    ),
    (
        "monitoring",
        "`true` / `false` overrides `[monitoring] enabled` (app phase; `up --enable-monitoring` sets it)",
    ),
    (
        "monitoring_recorded",
        "`true`: a collector is recorded, so monitoring stays on unless the settings file sets `enabled` (app phase)",
    ),
];

fn coder_entry(
    name: &'static str,
    description: &'static str,
    build: fn(&StackVars) -> Result<StackSpec, StackError>,
) -> StackEntry {
    StackEntry {
        name,
        description,
        vars: CODER_VARS,
        build,
    }
}

/// Builds the built-in stack `name` with `vars`.
pub fn find(name: &str, vars: &StackVars) -> Result<StackSpec, StackError> {
    let entries = catalog();
    match entries.iter().find(|e| e.name == name) {
        Some(e) => {
            // A mistyped variable would otherwise be ignored and plan the default.
            let known: Vec<&str> = e.vars.iter().map(|(n, _)| *n).collect();
            if let Some(unknown) = vars.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(StackError::Var {
                    stack: name.into(),
                    var: unknown.clone(),
                    value: vars[unknown].clone(),
                    problem: format!(
                        "is not a variable of this stack{}; it reads {}",
                        crate::suggest::did_you_mean(unknown, &known),
                        known.join(", ")
                    ),
                });
            }
            (e.build)(vars)
        }
        None => Err(StackError::Unknown {
            name: name.to_string(),
            available: entries
                .iter()
                .map(|e| e.name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Reads a numeric variable.
pub(crate) fn number(
    stack: &str,
    vars: &StackVars,
    var: &str,
    default: u64,
) -> Result<u64, StackError> {
    match vars.get(var) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| StackError::Var {
            stack: stack.into(),
            var: var.into(),
            value: v.clone(),
            problem: "is not a whole number; give digits only".into(),
        }),
    }
}
