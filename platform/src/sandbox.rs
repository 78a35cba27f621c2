//! The project's offline sandbox as commands reach it: the one already served on the port
//! recorded under `.kapstan/sandbox/`, else one started in this process on that port.

use std::path::{Path, PathBuf};

use kapstan_providers::scaleway::ConfigOverrides;

use crate::error::PlatformError;
use crate::project::Project;

/// Speed factor of the offline sandbox: the measured medians divided by it make a full
/// two-phase deployment take well under a minute.
pub const SANDBOX_SPEED: f64 = 20.0;

/// Starts the project's sandbox for a command that only needs its Scaleway settings (health,
/// backup); `None` without `--sandbox`.
pub async fn sandbox_for(
    project: &Project,
    sandbox: bool,
) -> Result<Option<SandboxSession>, PlatformError> {
    if !sandbox {
        return Ok(None);
    }
    let session = SandboxSession::start(&project.dir).await?;
    project.use_sandbox(session.url(), session.overrides());
    Ok(Some(session))
}

/// Runs `operation` with the project's sandbox reached first when `sandbox` is set, and stops
/// the sandbox afterwards whatever the operation returned. `operation` is a future that has not
/// run yet, so it sees the sandbox's settings.
pub async fn in_sandbox<T>(
    project: &Project,
    sandbox: bool,
    operation: impl std::future::Future<Output = T>,
) -> Result<T, PlatformError> {
    let session = sandbox_for(project, sandbox).await?;
    let result = operation.await;
    if let Some(s) = session {
        s.stop().await;
    }
    Ok(result)
}

/// The project's persisted sandbox, as this process reaches it.
pub struct SandboxSession {
    served: Served,
}

enum Served {
    /// Started by this process; it ends with it.
    InProcess(kapstan_sandbox::Sandbox),
    /// Already served on the recorded port (by `kapstan sandbox serve` or another command).
    Running {
        /// Its base URL.
        url: String,
    },
}

/// Where the project's sandbox lives and the port it keeps for its lifetime.
pub fn sandbox_dir(project_dir: &Path) -> PathBuf {
    project_dir.join(".kapstan").join("sandbox")
}

/// The port recorded in `.kapstan/sandbox/port`, if any.
pub fn recorded_port(project_dir: &Path) -> Option<u16> {
    std::fs::read_to_string(sandbox_dir(project_dir).join("port"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
}

/// Records the sandbox's port, once: later processes reuse it.
pub fn record_port(project_dir: &Path, port: u16) -> Result<(), PlatformError> {
    let port_file = sandbox_dir(project_dir).join("port");
    std::fs::write(&port_file, port.to_string()).map_err(|source| PlatformError::Io {
        action: "writing",
        path: port_file.display().to_string(),
        source,
    })
}

/// Whether a kapstan sandbox answers at `url` (its inspection endpoint, within 3 s).
pub async fn sandbox_answers(url: &str) -> bool {
    kapstan_providers::sandbox_api::sandbox_answers(url).await
}

impl SandboxSession {
    /// Reaches the project's sandbox on the port recorded for it: uses the one already
    /// served there, else starts it in this process on that port (a first start picks a free
    /// port and records it). The port is never changed afterwards, so kubeconfigs and access
    /// URLs recorded earlier keep answering.
    pub async fn start(project_dir: &Path) -> Result<Self, PlatformError> {
        let dir = sandbox_dir(project_dir);
        std::fs::create_dir_all(&dir).map_err(|source| PlatformError::Io {
            action: "creating",
            path: dir.display().to_string(),
            source,
        })?;
        let recorded = recorded_port(project_dir);
        if let Some(port) = recorded {
            let url = format!("http://127.0.0.1:{port}");
            if sandbox_answers(&url).await {
                return Ok(Self {
                    served: Served::Running { url },
                });
            }
        }
        let options = kapstan_sandbox::SandboxOptions {
            addr: Some(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                recorded.unwrap_or(0),
            ))),
            speed: SANDBOX_SPEED,
            data_dir: Some(dir.clone()),
            chart_dirs: chart_dirs_from_env(),
            coder: coder_options_from_env(),
            ..Default::default()
        };
        let sandbox = kapstan_sandbox::Sandbox::start(options).await.map_err(|e| {
            match recorded {
                Some(port) => PlatformError::usage(
                    format!("sandbox: cannot serve the project's sandbox on its port {port}: {e}"),
                    format!(
                        "another program holds 127.0.0.1:{port} and it is not a kapstan sandbox; stop it (the port is recorded in {} so kubeconfigs and access URLs stay valid)",
                        dir.join("port").display()
                    ),
                ),
                None => PlatformError::Sandbox(e.to_string()),
            }
        })?;
        if recorded.is_none() {
            record_port(project_dir, sandbox.addr().port())?;
        }
        Ok(Self {
            served: Served::InProcess(sandbox),
        })
    }

    /// The address of the sandbox's authoritative DNS responder (for one served by another
    /// process, the port it records).
    pub async fn dns_addr(&self) -> Option<std::net::SocketAddr> {
        match &self.served {
            Served::InProcess(s) => Some(s.dns_addr()),
            Served::Running { url } => kapstan_providers::sandbox_api::dns_responder(url).await,
        }
    }

    /// The sandbox's base URL.
    pub fn url(&self) -> &str {
        match &self.served {
            Served::InProcess(s) => s.url(),
            Served::Running { url } => url,
        }
    }

    /// Scaleway settings pointing at the sandbox (the persisted sandbox uses the published
    /// test credentials, never a user's).
    pub fn overrides(&self) -> ConfigOverrides {
        let (secret, project) = match &self.served {
            Served::InProcess(s) => (s.secret_key().to_string(), s.project_id().to_string()),
            Served::Running { .. } => (
                kapstan_sandbox::DEFAULT_SECRET_KEY.to_string(),
                kapstan_sandbox::DEFAULT_PROJECT_ID.to_string(),
            ),
        };
        ConfigOverrides {
            secret_key: Some(kapstan_providers::scaleway::client::SecretKey::new(&secret)),
            access_key: Some("SCWSANDBOXXXXXXXXXXX".into()),
            project_id: Some(project),
            region: Some("fr-par".into()),
            zone: Some("fr-par-1".into()),
            api_url: Some(self.url().to_string()),
            ..Default::default()
        }
    }

    /// The loopback address the sandbox gives load balancer `lb_id`.
    pub async fn lb_endpoint(&self, zone: &str, lb_id: &str) -> Result<String, PlatformError> {
        lb_endpoint(self.url(), zone, lb_id).await
    }

    /// Stops the sandbox if this process started it (its state stays on disk).
    pub async fn stop(self) {
        if let Served::InProcess(s) = self.served {
            s.shutdown().await;
        }
    }
}

/// The loopback address the sandbox at `url` gives load balancer `lb_id`.
pub async fn lb_endpoint(url: &str, zone: &str, lb_id: &str) -> Result<String, PlatformError> {
    kapstan_providers::sandbox_api::lb_endpoint(url, zone, lb_id)
        .await
        .map_err(PlatformError::Sandbox)
}

/// Where `name` (a host of the project sandbox's DNS zones, such as `coder.example.test`)
/// leads on this machine: the project's sandbox is reached (served, or started for the call)
/// and asked.
pub async fn resolve(
    project_dir: &Path,
    name: &str,
) -> Result<kapstan_providers::sandbox_api::ResolvedName, PlatformError> {
    let session = SandboxSession::start(project_dir).await?;
    let answer = kapstan_providers::sandbox_api::resolve_name(session.url(), name).await;
    session.stop().await;
    answer.map_err(|why| {
        PlatformError::usage(
            format!("sandbox resolve {name}: {why}"),
            "give a host of a domain deployed with `kapstan up --sandbox --domain D --subdomain S` (S.D or a name under it); the records are listed by `curl <sandbox>/sandbox/v1/resources`",
        )
    })
}

/// Chart directories the sandbox's chart repository serves besides its own Coder chart, from
/// `KAPSTAN_SANDBOX_CHART_DIRS` (paths separated by `:`), e.g. the official Alloy chart the
/// monitoring of staging and prod installs.
pub fn chart_dirs_from_env() -> Vec<PathBuf> {
    std::env::var_os("KAPSTAN_SANDBOX_CHART_DIRS")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The Coder emulator's options, with the Coder versions `KAPSTAN_SANDBOX_CODER_CRASH`
/// names (comma-separated, e.g. `2.21.1`) crashing at start, as a Coder whose database
/// migration fails does: a rehearsal of a failed upgrade.
pub fn coder_options_from_env() -> kapstan_sandbox::CoderOptions {
    kapstan_sandbox::CoderOptions {
        crashing_versions: std::env::var("KAPSTAN_SANDBOX_CODER_CRASH")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        ..Default::default()
    }
}

/// helm from PATH or `KAPSTAN_HELM` wins; else the project's `.tools/bin/helm`.
pub(crate) fn local_helm(project_dir: &Path) -> Option<PathBuf> {
    if std::env::var_os("KAPSTAN_HELM").is_some() {
        return None;
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("helm").is_file()))
        .unwrap_or(false);
    if on_path {
        return None;
    }
    let candidate = project_dir.join(".tools").join("bin").join("helm");
    candidate.is_file().then_some(candidate)
}
