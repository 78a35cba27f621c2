//! `doctor`: the prerequisites of the platform operations (helm, Scaleway credentials, the
//! state store), each with how to get what is missing.

use std::path::PathBuf;

use kapstan_providers::scaleway::ScalewayProvider;

use crate::project::Project;

/// How helm was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelmCheck {
    /// On PATH (or `KAPSTAN_HELM`), with its version.
    Found {
        /// `helm version` as helm reports it.
        version: String,
    },
    /// Not on PATH, but the project's `.tools/bin/helm` exists (used by `up`).
    ProjectLocal {
        /// Its path.
        path: PathBuf,
    },
    /// Nowhere.
    Missing {
        /// Why it was not found.
        problem: String,
    },
}

/// What `doctor` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorReport {
    /// helm.
    pub helm: HelmCheck,
    /// The first problem of the Scaleway credentials with its fix (`None`: configured).
    pub credentials: Option<(String, String)>,
    /// The state store, as configured.
    pub state: String,
    /// Per environment: its settings file's error, or its OIDC issuer's check (environments
    /// without `[oidc]` are left out).
    pub environments: Vec<(String, Result<Option<String>, String>)>,
}

impl DoctorReport {
    /// Whether every prerequisite is there (missing credentials are not: the sandbox needs
    /// none).
    pub fn ok(&self) -> bool {
        !matches!(self.helm, HelmCheck::Missing { .. })
            && self.environments.iter().all(|(_, r)| r.is_ok())
    }
}

/// Checks the prerequisites of `project`.
pub async fn doctor(project: &Project) -> DoctorReport {
    let helm = match kapstan_providers::helm::Helm::locate().await {
        Ok(h) => HelmCheck::Found { version: h.version },
        Err(e) => {
            let local = project.dir.join(".tools/bin/helm");
            if local.is_file() {
                HelmCheck::ProjectLocal { path: local }
            } else {
                HelmCheck::Missing {
                    problem: e.to_string(),
                }
            }
        }
    };
    let provider = ScalewayProvider::default();
    let credentials = provider
        .credential_errors()
        .first()
        .map(|e| (e.problem.clone(), e.fix.clone()));
    let mut environments = vec![];
    for env in kapstan_stacks::coder::Environment::ALL {
        let check = match kapstan_stacks::coder::Profile::load(env, &project.dir) {
            Err(e) => Err(format!("environments/{}.toml: {e}", env.name())),
            Ok(profile) => match &profile.oidc {
                None => continue,
                Some(oidc) => crate::health::oidc_check(oidc).await.map(Some),
            },
        };
        environments.push((env.name().to_string(), check));
    }
    DoctorReport {
        helm,
        credentials,
        state: project.store_config.to_string(),
        environments,
    }
}
