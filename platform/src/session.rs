//! An environment opened for an operation: its profile, an engine over every kind (with the
//! sandbox started when asked), and the hooks run around its phases.

use std::collections::BTreeMap;
use std::sync::Arc;

use kapstan_engine::{Cancel, Engine, EventSink, StackSpec};
use kapstan_providers::coder::CoderReach;
use kapstan_providers::scaleway::ScalewayProvider;
use kapstan_stacks::coder::{Environment, Phase, Profile};

use crate::error::PlatformError;
use crate::events::{Observer, PlatformEvent};
use crate::logs::RunLog;
use crate::project::{Project, check_credentials};
use crate::sandbox::SandboxSession;
use crate::up::UpOptions;

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
    /// How the engine's Coder drivers and the probes reach Coder's access URL (see
    /// [`crate::reach`]), as of the recorded infra phase.
    pub coder_reach: CoderReach,
    /// Where the engine's events go (kept to build the engine again with a new reach).
    events: EventSink,
}

impl Platform {
    /// Resolves the environment, starts the sandbox when asked, and checks credentials
    /// before anything else.
    pub async fn open(
        project: &Project,
        env: &str,
        sandbox: bool,
        observer: &dyn Observer,
    ) -> Result<Self, PlatformError> {
        Self::open_cancellable(project, env, sandbox, observer, Cancel::new()).await
    }

    /// [`Platform::open`] with the interrupts of `cancel`.
    pub async fn open_cancellable(
        project: &Project,
        env: &str,
        sandbox: bool,
        observer: &dyn Observer,
        cancel: Cancel,
    ) -> Result<Self, PlatformError> {
        let env = Environment::parse(env)?;
        let profile = Profile::load(env, &project.dir)?;
        let sandbox = if sandbox {
            Some(SandboxSession::start(&project.dir).await?)
        } else {
            None
        };
        if let Some(s) = &sandbox {
            project.use_sandbox(s.url(), s.overrides());
        }
        let provider = Arc::new(project.scaleway_provider());
        check_credentials(&provider)?;
        let events = observer.engine_events();
        let mut platform = Self {
            env,
            engine: engine(project, &provider, &CoderReach::default(), &events, &cancel)?,
            profile,
            sandbox,
            scaleway: provider,
            cancel,
            coder_reach: CoderReach::default(),
            events,
        };
        // Commands that find the infra phase applied reach Coder as it says. A name the
        // sandbox cannot resolve now is left to the calls to report (`down` still proceeds).
        if let Ok(reach) = platform.recorded_reach().await {
            platform.use_reach(project, reach)?;
        }
        Ok(platform)
    }

    /// How Coder is reached according to the recorded infra phase (see [`crate::reach`]).
    async fn recorded_reach(&self) -> Result<CoderReach, PlatformError> {
        let infra = self
            .engine
            .state(&self.profile.stack_name(Phase::Infra))
            .await?;
        crate::reach::coder_reach(&infra, self.sandbox.as_ref().map(|s| s.url())).await
    }

    /// Makes `reach` the engine's (building the engine again when it changes).
    fn use_reach(&mut self, project: &Project, reach: CoderReach) -> Result<(), PlatformError> {
        if reach != self.coder_reach {
            self.engine = engine(project, &self.scaleway, &reach, &self.events, &self.cancel)?;
            self.coder_reach = reach;
        }
        Ok(())
    }

    /// Before the app phase: reaches Coder as the infra phase just recorded says (a first
    /// certificate, a renewed chain, the sandbox's address of the access host). A name the
    /// sandbox does not resolve is an error naming it.
    pub async fn reach_coder(&mut self, project: &Project) -> Result<(), PlatformError> {
        let reach = self.recorded_reach().await?;
        self.use_reach(project, reach)
    }

    /// Variables of the platform stacks.
    pub async fn vars(
        &self,
        project: &Project,
        phase: Phase,
        options: &UpOptions,
    ) -> Result<BTreeMap<String, String>, PlatformError> {
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
        if let Some(t) = &options.tls {
            vars.insert("tls".into(), t.clone());
        }
        if self.sandbox.is_some() && phase == Phase::Infra {
            sandbox_acme_directory(
                &crate::up::effective_profile(&self.profile, options)?,
                &mut vars,
            )?;
        }
        // In the sandbox, the zone's name servers are its DNS responder.
        let dns = match &self.sandbox {
            Some(s) => s.dns_addr().await,
            None => None,
        };
        if let Some(dns) = dns
            && self.profile.tls.dns_servers.is_empty()
        {
            vars.insert("acme_dns_servers".into(), dns.to_string());
        }
        if phase == Phase::App {
            if options.no_coder {
                vars.insert("coder".into(), "false".into());
            }
            // `--enable-monitoring` is a one-off switch: once the collector is recorded, it
            // stays until the settings file says `enabled = false`.
            let monitoring = &self.profile.monitoring;
            if options.enable_monitoring {
                if monitoring.enabled_in_file && !monitoring.enabled {
                    return Err(PlatformError::usage(
                        format!(
                            "--enable-monitoring: environments/{}.toml sets [monitoring] enabled = false",
                            self.profile.env.name()
                        ),
                        "remove `enabled = false` from [monitoring] (or set it to true) instead of passing the flag",
                    ));
                }
                vars.insert("monitoring".into(), "true".into());
            }
            if self
                .engine
                .state(&self.profile.stack_name(Phase::App))
                .await?
                .resources
                .contains_key(kapstan_stacks::coder::monitoring::ALLOY_RELEASE)
            {
                vars.insert("monitoring_recorded".into(), "true".into());
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
                // A domain served over TLS keeps its https:// access URL (Coder redirects
                // plain HTTP to it): the calls reach it as `coder_reach` says.
                if !crate::reach::serves_tls(&infra)
                    && let (Some(zone), Some(lb)) =
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
    ) -> Result<StackSpec, PlatformError> {
        let vars = self.vars(project, phase, options).await?;
        Ok(kapstan_stacks::coder::build(self.env, phase, &vars)?)
    }
}

/// An engine over every kind with the project's options and `reach` for the Coder kinds.
fn engine(
    project: &Project,
    provider: &Arc<ScalewayProvider>,
    reach: &CoderReach,
    events: &EventSink,
    cancel: &Cancel,
) -> Result<Engine, PlatformError> {
    Ok(project
        .engine_reaching(provider.clone(), reach.clone(), events.clone())?
        .with_cancel(cancel.clone()))
}

/// Environment variable naming the ACME directory a sandbox deployment gets its certificate
/// from (a Pebble resolving through the sandbox's DNS responder), when `[tls] directory` is not
/// set.
pub const SANDBOX_ACME_DIRECTORY: &str = "KAPSTAN_SANDBOX_ACME_DIRECTORY";
/// Environment variable naming the PEM file of the CA certificates of that directory's TLS.
pub const SANDBOX_ACME_CA_BUNDLE: &str = "KAPSTAN_SANDBOX_ACME_CA_BUNDLE";

/// In the sandbox, a domain deployment with TLS by ACME takes its directory from `[tls]
/// directory` or else from [`SANDBOX_ACME_DIRECTORY`] (and [`SANDBOX_ACME_CA_BUNDLE`]): never
/// Let's Encrypt, which cannot see the sandbox's zones. Neither set is an error saying how to
/// set one, before any call.
fn sandbox_acme_directory(
    profile: &Profile,
    vars: &mut BTreeMap<String, String>,
) -> Result<(), PlatformError> {
    if !profile.serves_tls() || profile.tls.directory.is_some() {
        return Ok(());
    }
    let Some(directory) = std::env::var(SANDBOX_ACME_DIRECTORY)
        .ok()
        .filter(|d| !d.is_empty())
    else {
        return Err(PlatformError::usage(
            format!(
                "--sandbox with domain {}: no ACME directory for the sandbox (Let's Encrypt cannot see the sandbox's DNS zones)",
                profile.domain
            ),
            format!(
                "run an ACME test server such as Pebble with `-dnsserver` at the sandbox's DNS responder and set {SANDBOX_ACME_DIRECTORY}=https://127.0.0.1:14000/dir and {SANDBOX_ACME_CA_BUNDLE}=<its TLS certificate, PEM> (docs/certificates.md), or set `[tls] directory` in environments/{}.toml, or use --tls external",
                profile.env.name()
            ),
        ));
    };
    vars.insert("acme_directory".into(), directory);
    if let Some(bundle) = std::env::var(SANDBOX_ACME_CA_BUNDLE)
        .ok()
        .filter(|b| !b.is_empty())
        && profile.tls.ca_bundle_file.is_none()
    {
        vars.insert("acme_ca_bundle_file".into(), bundle);
    }
    Ok(())
}

/// The public outputs of both phases, for hooks (secrets are dropped by construction).
async fn public_outputs(
    project: &Project,
    profile: &Profile,
) -> Result<crate::hooks::PublicOutputs, PlatformError> {
    let store = project.store()?;
    let mut docs = vec![];
    for phase in [Phase::Infra, Phase::App] {
        if let Some(doc) = store.load(&profile.stack_name(phase)).await? {
            docs.push(doc);
        }
    }
    Ok(crate::hooks::PublicOutputs::from_documents(docs.iter()))
}

/// Runs hook `name` if the project has it; a failing `post-*` hook is reported, not fatal.
pub(crate) async fn hook(
    project: &Project,
    profile: &Profile,
    name: &str,
    phase: Option<Phase>,
    log: &RunLog,
    observer: &dyn Observer,
) -> Result<(), PlatformError> {
    let outputs = public_outputs(project, profile).await?;
    let report = crate::hooks::run_hook(
        &project.dir,
        name,
        profile.env.name(),
        phase.map(Phase::name),
        &outputs,
        crate::hooks::DEFAULT_TIMEOUT,
    );
    match report {
        Ok(Some(r)) => {
            log.hook(&r);
            observer.event(PlatformEvent::HookRan { report: &r });
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            log.line(&format!("hook {name} failed: {e}"));
            Err(e)
        }
    }
}

pub(crate) fn phases(only: Option<Phase>) -> Vec<Phase> {
    match only {
        Some(p) => vec![p],
        None => vec![Phase::Infra, Phase::App],
    }
}
