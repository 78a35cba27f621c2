//! The project an operation runs in: its directory, its state store and the settings of the
//! APIs it calls (Scaleway overrides, the request rate, the sandbox once one is reached), and
//! how the stack a command names is built.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use kapstan_engine::{Engine, EventSink, StackSpec};
use kapstan_providers::scaleway::client::{Client, RateLimit, ScalewayConfig};
use kapstan_providers::scaleway::{ClientOptions, ConfigOverrides, ScalewayProvider};
use kapstan_state::{StateStore, StoreConfig};

use crate::error::PlatformError;
use crate::sandbox::SANDBOX_SPEED;

/// Which stack an operation works on: a built-in stack with variables, or a stack file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackSource {
    /// A built-in stack (see `kapstan stacks`).
    pub stack: String,
    /// A stack declared in a JSON file (a serialized StackSpec) instead of a built-in one.
    pub stack_file: Option<PathBuf>,
    /// Variables of the built-in stack, `KEY=VALUE`.
    pub vars: Vec<String>,
}

/// The sandbox a project's commands reach once `--sandbox` started or found it.
#[derive(Debug, Clone)]
struct SandboxEndpoint {
    url: String,
    overrides: ConfigOverrides,
}

/// The project an operation runs in. Cloning is cheap; clones share the opened store and
/// the sandbox once reached.
#[derive(Clone)]
pub struct Project {
    /// Project root.
    pub dir: PathBuf,
    /// Resolved store configuration.
    pub store_config: StoreConfig,
    /// The store, opened lazily.
    store: Arc<OnceLock<Arc<dyn StateStore>>>,
    /// Scaleway client options (the request rate of `--api-rate`).
    client_options: ClientOptions,
    /// The sandbox, once reached.
    sandbox: Arc<OnceLock<SandboxEndpoint>>,
}

impl Project {
    /// Resolves the project at `dir` and its state configuration (`state`: a state URL
    /// overriding `kapstan.toml`; `lock`: the S3 store's locking), reading `KAPSTAN_*` and
    /// `SCW_*` variables from the process environment.
    pub fn resolve(
        dir: PathBuf,
        state: Option<&str>,
        lock: Option<bool>,
    ) -> Result<Self, PlatformError> {
        let mut store_config = StoreConfig::resolve(&dir, state, &|n| std::env::var(n).ok())?;
        if let (Some(lock), StoreConfig::S3(cfg)) = (lock, &mut store_config) {
            cfg.lock = lock;
        }
        Ok(Self::with_config(dir, store_config))
    }

    /// A project from an already resolved directory and store configuration.
    pub fn with_config(dir: PathBuf, store_config: StoreConfig) -> Self {
        Self {
            dir,
            store_config,
            store: Arc::new(OnceLock::new()),
            client_options: ClientOptions::default(),
            sandbox: Arc::new(OnceLock::new()),
        }
    }

    /// Limits every Scaleway API to `rate` requests per second (`--api-rate`).
    pub fn with_api_rate(mut self, rate: f64) -> Result<Self, PlatformError> {
        check_api_rate(rate)?;
        self.client_options.rate_limit = RateLimit::per_second(rate);
        Ok(self)
    }

    /// Makes the sandbox at `url` (with its Scaleway settings) the endpoint of this project's
    /// operations; the first sandbox reached stays.
    pub(crate) fn use_sandbox(&self, url: &str, overrides: ConfigOverrides) {
        let _ = self.sandbox.set(SandboxEndpoint {
            url: url.to_string(),
            overrides,
        });
    }

    /// The base URL of the sandbox once an operation reached it.
    pub fn sandbox_url(&self) -> Option<&str> {
        self.sandbox.get().map(|s| s.url.as_str())
    }

    /// The Scaleway client options of this project (the `--api-rate` token bucket).
    pub fn client_options(&self) -> ClientOptions {
        self.client_options.clone()
    }

    /// The Scaleway settings of this project: the sandbox's once reached, else none (the
    /// environment and the `scw` config file decide).
    pub fn scaleway_overrides(&self) -> ConfigOverrides {
        self.sandbox
            .get()
            .map(|s| s.overrides.clone())
            .unwrap_or_default()
    }

    /// A Scaleway client for operations that call the API themselves (health, database
    /// backups).
    pub fn scaleway_client(&self) -> Result<Client, PlatformError> {
        let config = ScalewayConfig::from_env(&self.scaleway_overrides()).map_err(|e| {
            PlatformError::usage(
                format!("Scaleway credentials: {e}"),
                "set SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID (or an `scw` profile)",
            )
        })?;
        Client::with_options(config, self.client_options()).map_err(|e| {
            PlatformError::usage(
                format!("Scaleway client: {e}"),
                "check SCW_API_URL and the credentials",
            )
        })
    }

    /// The Scaleway provider of this project's engine.
    pub fn scaleway_provider(&self) -> ScalewayProvider {
        let provider = ScalewayProvider::from_env(self.scaleway_overrides(), self.client_options());
        if self.sandbox_url().is_some() {
            provider.with_poll_scale(1.0 / SANDBOX_SPEED)
        } else {
            provider
        }
    }

    /// The state store.
    pub fn store(&self) -> Result<Arc<dyn StateStore>, PlatformError> {
        if let Some(s) = self.store.get() {
            return Ok(s.clone());
        }
        let store = kapstan_state::open_store(&self.store_config)?;
        Ok(self.store.get_or_init(|| store).clone())
    }

    /// For operations that only read (plan): a local store that was never created stays
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

    /// What the project's drivers are given: the project's own `.tools/bin/helm` when helm
    /// is neither on `PATH` nor named by `KAPSTAN_HELM`.
    pub fn registry_options(&self) -> kapstan_providers::RegistryOptions {
        kapstan_providers::RegistryOptions {
            helm: crate::sandbox::local_helm(&self.dir),
            ..Default::default()
        }
    }

    /// An engine over every known kind, emitting `events`.
    pub fn engine(&self, events: EventSink) -> Result<Engine, PlatformError> {
        self.engine_reaching(
            Arc::new(self.scaleway_provider()),
            kapstan_providers::coder::CoderReach::default(),
            events,
        )
    }

    /// The engine over the project's store with `provider`'s Scaleway kinds, its Coder kinds
    /// reaching Coder as `coder` says.
    pub(crate) fn engine_reaching(
        &self,
        provider: Arc<kapstan_providers::scaleway::ScalewayProvider>,
        coder: kapstan_providers::coder::CoderReach,
        events: EventSink,
    ) -> Result<Engine, PlatformError> {
        let options = kapstan_providers::RegistryOptions {
            coder,
            ..self.registry_options()
        };
        let registry = kapstan_providers::registry_with_options(provider, &options);
        Ok(Engine::new(registry, self.store()?).with_events(events))
    }

    /// [`Project::engine`] for a command on `stacks` (by name): the Coder kinds of an
    /// environment's app phase reach its `https://` access URL as its recorded infra phase
    /// says ([`crate::reach`]: the issuers of its certificate chain, in the sandbox where the
    /// host leads). A reach that cannot be worked out is left to the calls to report.
    pub async fn engine_for(
        &self,
        events: EventSink,
        stacks: &[String],
    ) -> Result<Engine, PlatformError> {
        let mut coder = kapstan_providers::coder::CoderReach::default();
        let store = self.store()?;
        for stack in stacks {
            let Some((env, kapstan_stacks::coder::Phase::App)) = crate::cost::env_of(stack) else {
                continue;
            };
            if let Some(infra) = store.load(&format!("coder-{env}-infra")).await?
                && let Ok(reach) = crate::reach::coder_reach(&infra, self.sandbox_url()).await
            {
                coder.hosts.extend(reach.hosts);
            }
        }
        self.engine_reaching(Arc::new(self.scaleway_provider()), coder, events)
    }

    /// The sealer of the project's state key (the same key `kapstan state pull` uses).
    pub fn sealer(&self) -> Result<Option<kapstan_state::Sealer>, PlatformError> {
        let key = kapstan_state::state_key(&self.store_config, &|n| std::env::var(n).ok())?;
        Ok(match key {
            Some(k) => Some(kapstan_state::Sealer::new(&k)?),
            None => None,
        })
    }
}

/// Refuses a request rate (`--api-rate`) that is not a positive number of requests per
/// second.
pub fn check_api_rate(rate: f64) -> Result<(), PlatformError> {
    if rate.is_finite() && rate > 0.0 {
        return Ok(());
    }
    Err(PlatformError::usage(
        format!("--api-rate {rate} is not a positive number of requests per second"),
        "use e.g. --api-rate 20 (the default) or --api-rate 50",
    ))
}

/// Refuses, with one error, to plan a stack of Scaleway resources without credentials
/// (otherwise every resource would report the same problem).
pub fn check_credentials_for(project: &Project, spec: &StackSpec) -> Result<(), PlatformError> {
    if !spec
        .resources
        .iter()
        .any(|r| r.kind.starts_with("scaleway_"))
    {
        return Ok(());
    }
    check_credentials(&project.scaleway_provider())
}

/// The one missing-credentials error: what is missing (the variables, the config file) and
/// that a sandboxed environment needs `--sandbox` instead.
pub fn check_credentials(provider: &ScalewayProvider) -> Result<(), PlatformError> {
    match provider.credential_errors().first() {
        None => Ok(()),
        Some(first) => Err(PlatformError::usage(
            format!(
                "Scaleway credentials are missing: {}",
                first.problem.trim_start_matches("cannot be used: ")
            ),
            "export SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID (or run `scw init` for a profile in ~/.config/scw/config.yaml, chosen with SCW_PROFILE); for an environment deployed in the offline sandbox, add --sandbox",
        )),
    }
}

/// Builds the stack named by the arguments.
pub fn load_stack(args: &StackSource) -> Result<StackSpec, PlatformError> {
    if let Some(file) = &args.stack_file {
        let bytes = std::fs::read(file).map_err(|source| PlatformError::Io {
            action: "reading",
            path: file.display().to_string(),
            source,
        })?;
        return serde_json::from_slice(&bytes).map_err(|e| {
            PlatformError::usage(
                format!("{} is not a stack declaration: {e}", file.display()),
                "a stack file is JSON with `name`, `resources` (address, kind, config, depends_on, lifecycle) and `outputs`",
            )
        });
    }
    let mut vars = BTreeMap::new();
    for v in &args.vars {
        let Some((k, val)) = v.split_once('=') else {
            return Err(PlatformError::usage(
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
    args: &StackSource,
) -> Result<StackSpec, PlatformError> {
    load_stack(&platform_args(project, args).await?)
}

/// `args` with the variables `kapstan up` gives an environment's phase (see
/// [`load_platform_stack`]); other stacks are returned unchanged.
pub async fn platform_args(
    project: &Project,
    args: &StackSource,
) -> Result<StackSource, PlatformError> {
    let phase = args
        .stack
        .strip_prefix("coder-")
        .and_then(|rest| rest.rsplit_once('-'));
    let Some((env, phase)) = phase.filter(|_| args.stack_file.is_none()) else {
        return Ok(args.clone());
    };
    let given = |k: &str| args.vars.iter().any(|v| v.starts_with(&format!("{k}=")));
    let infra = project.store()?.load(&format!("coder-{env}-infra")).await?;
    let sandbox = project.sandbox_url();
    if sandbox.is_none()
        && let Some(api) = infra.as_ref().and_then(sandbox_cluster_api)
        && !answers(&api).await
    {
        // Nobody serves the sandbox this environment lives in: refuse before waiting on a
        // cluster that cannot answer (or looking the recorded objects up on Scaleway).
        return Err(PlatformError::usage(
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
        // As `up` does: a domain served over TLS keeps its https:// access URL.
        if let Some(infra) = infra
            && !given("access_url")
            && !crate::reach::serves_tls(&infra)
            && let (Some(zone), Some(lb)) = (
                infra.outputs.get("zone").and_then(|o| o.value.as_str()),
                infra.outputs.get("lb_id").and_then(|o| o.value.as_str()),
            )
        {
            let endpoint = crate::sandbox::lb_endpoint(url, zone, lb).await?;
            out.vars.push(format!("access_url={endpoint}"));
        }
    }
    Ok(out)
}

/// The infra stack an app phase reads, when that phase has never been applied (`None` for
/// other stacks, or when the infra phase has state).
pub async fn unapplied_infra(
    project: &Project,
    args: &StackSource,
) -> Result<Option<String>, PlatformError> {
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
pub fn stack_name(args: &StackSource) -> Result<String, PlatformError> {
    if args.stack_file.is_some() {
        return Ok(load_stack(args)?.name);
    }
    match args.vars.iter().find_map(|v| v.strip_prefix("name=")) {
        Some(n) if args.stack == "synthetic" => Ok(n.to_string()),
        _ => Ok(args.stack.clone()),
    }
}
