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
}

impl DoctorReport {
    /// Whether every prerequisite is there (missing credentials are not: the sandbox needs
    /// none).
    pub fn ok(&self) -> bool {
        !matches!(self.helm, HelmCheck::Missing { .. })
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
    DoctorReport {
        helm,
        credentials,
        state: project.store_config.to_string(),
    }
}
