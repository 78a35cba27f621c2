//! What every command needs: the project directory, the configured state store, the stack and
//! an engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kapstan_engine::{Engine, EventSink, StackSpec};
use kapstan_state::{StateStore, StoreConfig};

use crate::args::StackArgs;
use crate::error::CliError;

/// The project a command runs in.
pub struct Project {
    /// Project root (current directory or `-C DIR`).
    pub dir: PathBuf,
    /// Resolved store configuration.
    pub store_config: StoreConfig,
    /// The store, opened lazily.
    store: std::sync::OnceLock<Arc<dyn StateStore>>,
}

impl Project {
    /// Resolves the project and its state configuration.
    pub fn resolve(
        chdir: Option<&Path>,
        state: Option<&str>,
        lock: Option<bool>,
    ) -> Result<Self, CliError> {
        let dir = match chdir {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|source| CliError::Io {
                action: "reading",
                path: ".".into(),
                source,
            })?,
        };
        let mut store_config = StoreConfig::resolve(&dir, state, &|n| std::env::var(n).ok())?;
        if let (Some(lock), StoreConfig::S3(cfg)) = (lock, &mut store_config) {
            cfg.lock = lock;
        }
        Ok(Self {
            dir,
            store_config,
            store: std::sync::OnceLock::new(),
        })
    }

    /// A project from an already resolved directory and store configuration.
    pub fn with_config(dir: PathBuf, store_config: StoreConfig) -> Self {
        Self {
            dir,
            store_config,
            store: std::sync::OnceLock::new(),
        }
    }

    /// The state store.
    pub fn store(&self) -> Result<Arc<dyn StateStore>, CliError> {
        if let Some(s) = self.store.get() {
            return Ok(s.clone());
        }
        let store = kapstan_state::open_store(&self.store_config)?;
        Ok(self.store.get_or_init(|| store).clone())
    }

    /// For commands that only read (plan): a local store that was never created stays
    /// uncreated, and reads as empty.
    pub fn read_only(&self) {
        if let StoreConfig::Local { dir } = &self.store_config
            && !dir.join("state").is_dir()
        {
            let _ = self
                .store
                .set(Arc::new(crate::unwritten_store::UnwrittenStore {
                    dir: dir.clone(),
                }));
        }
    }

    /// An engine over every known kind.
    pub fn engine(&self, events: EventSink) -> Result<Engine, CliError> {
        let mut provider = kapstan_providers::scaleway::ScalewayProvider::from_env(
            crate::commands::platform::scaleway_overrides(),
            crate::commands::platform::client_options(),
        );
        if crate::commands::platform::sandbox_url().is_some() {
            provider = provider.with_poll_scale(1.0 / crate::commands::platform::SANDBOX_SPEED);
        }
        let registry = kapstan_providers::registry_with(std::sync::Arc::new(provider));
        Ok(Engine::new(registry, self.store()?).with_events(events))
    }
}

/// Builds the stack named by the arguments.
pub fn load_stack(args: &StackArgs) -> Result<StackSpec, CliError> {
    if let Some(file) = &args.stack_file {
        let bytes = std::fs::read(file).map_err(|source| CliError::Io {
            action: "reading",
            path: file.display().to_string(),
            source,
        })?;
        return serde_json::from_slice(&bytes).map_err(|e| {
            CliError::usage(
                format!("{} is not a stack declaration: {e}", file.display()),
                "a stack file is JSON with `name`, `resources` (address, kind, config, depends_on, lifecycle) and `outputs`",
            )
        });
    }
    let mut vars = BTreeMap::new();
    for v in &args.vars {
        let Some((k, val)) = v.split_once('=') else {
            return Err(CliError::usage(
                format!("--var {v:?} has no `=`"),
                "write variables as --var KEY=VALUE",
            ));
        };
        vars.insert(k.trim().to_string(), val.to_string());
    }
    Ok(kapstan_stacks::find(&args.stack, &vars)?)
}

/// Builds the stack named by the arguments the way `kapstan up` builds it: a phase of an
/// environment gets the project directory and, in sandbox mode, the sandbox's chart
/// repository and the loopback access URL of its load balancer, so a plan right after `up`
/// has nothing to change.
pub async fn load_platform_stack(
    project: &Project,
    args: &StackArgs,
) -> Result<StackSpec, CliError> {
    load_stack(&platform_args(project, args).await?)
}

/// `args` with the variables `kapstan up` gives an environment's phase (see
/// [`load_platform_stack`]); other stacks are returned unchanged.
pub async fn platform_args(project: &Project, args: &StackArgs) -> Result<StackArgs, CliError> {
    let phase = args
        .stack
        .strip_prefix("coder-")
        .and_then(|rest| rest.rsplit_once('-'));
    let Some((env, phase)) = phase.filter(|_| args.stack_file.is_none()) else {
        return Ok(args.clone());
    };
    let given = |k: &str| args.vars.iter().any(|v| v.starts_with(&format!("{k}=")));
    let infra = project.store()?.load(&format!("coder-{env}-infra")).await?;
    let sandbox = crate::commands::platform::sandbox_url();
    if sandbox.is_none()
        && let Some(api) = infra.as_ref().and_then(sandbox_cluster_api)
        && !answers(&api).await
    {
        // Nobody serves the sandbox this environment lives in: refuse before waiting on a
        // cluster that cannot answer (or looking the recorded objects up on Scaleway).
        return Err(CliError::usage(
            format!(
                "environment {env} was deployed in the offline sandbox and its Kubernetes API {api} does not answer"
            ),
            "add --sandbox (it uses `kapstan sandbox serve` when that runs, else starts the project's sandbox for the command)",
        ));
    }
    let mut out = args.clone();
    if !given("project_dir") {
        out.vars
            .push(format!("project_dir={}", project.dir.display()));
    }
    if phase == "app"
        && !given("monitoring_recorded")
        && project
            .store()?
            .load(&format!("coder-{env}-app"))
            .await?
            .is_some_and(|app| {
                app.resources
                    .contains_key(kapstan_stacks::coder::monitoring::ALLOY_RELEASE)
            })
    {
        // As `up` does: a collector switched on with `--enable-monitoring` stays declared.
        out.vars.push("monitoring_recorded=true".into());
    }
    if phase == "app"
        && let Some(url) = sandbox
    {
        if !given("chart_repository") {
            out.vars.push(format!("chart_repository={url}/charts"));
        }
        if let Some(infra) = infra
            && !given("access_url")
            && let (Some(zone), Some(lb)) = (
                infra.outputs.get("zone").and_then(|o| o.value.as_str()),
                infra.outputs.get("lb_id").and_then(|o| o.value.as_str()),
            )
        {
            let endpoint = crate::commands::platform::lb_endpoint(url, zone, lb).await?;
            out.vars.push(format!("access_url={endpoint}"));
        }
    }
    Ok(out)
}

/// The infra stack an app phase reads, when that phase has never been applied (`None` for
/// other stacks, or when the infra phase has state).
pub async fn unapplied_infra(
    project: &Project,
    args: &StackArgs,
) -> Result<Option<String>, CliError> {
    let Some(env) = args
        .stack
        .strip_prefix("coder-")
        .and_then(|r| r.strip_suffix("-app"))
        .filter(|_| args.stack_file.is_none())
    else {
        return Ok(None);
    };
    let infra = format!("coder-{env}-infra");
    Ok(project
        .store()?
        .load(&infra)
        .await?
        .is_none()
        .then_some(infra))
}

/// Whether something listens at the host and port of `url` (within 2 s).
async fn answers(url: &str) -> bool {
    let authority = url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    matches!(
        tokio::time::timeout(
            std::time::Duration::from_secs(2),
            tokio::net::TcpStream::connect(authority)
        )
        .await,
        Ok(Ok(_))
    )
}

/// The loopback Kubernetes API of an infra phase deployed in the sandbox, from its
/// kubeconfig output (`None` for a real cluster).
pub fn sandbox_cluster_api(infra: &kapstan_state::StateDocument) -> Option<String> {
    let kubeconfig = infra.outputs.get("kubeconfig")?.value.as_str()?;
    kubeconfig
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server:"))
        .map(str::trim)
        .find(|server| {
            let host = server
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            host.starts_with("127.0.0.1:") || host.starts_with("localhost:")
        })
        .map(String::from)
}

/// The stack name the arguments designate (without building it when a file is given).
pub fn stack_name(args: &StackArgs) -> Result<String, CliError> {
    if args.stack_file.is_some() {
        return Ok(load_stack(args)?.name);
    }
    match args.vars.iter().find_map(|v| v.strip_prefix("name=")) {
        Some(n) if args.stack == "synthetic" => Ok(n.to_string()),
        _ => Ok(args.stack.clone()),
    }
}
