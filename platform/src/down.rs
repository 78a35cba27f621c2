//! `down`: backs an environment up, deletes its Coder workspaces and (on request) its
//! clusters' volumes, then destroys phase app and phase infra.

use std::path::PathBuf;

use kapstan_engine::{ApplyOptions, PlanMode, PlanOptions, StackSpec};
use kapstan_stacks::coder::{Environment, Phase, Profile};

use crate::backup::{BackupOptions, backup};
use crate::error::PlatformError;
use crate::events::{Confirmation, Observer, PlatformEvent};
use crate::logs::RunLog;
use crate::project::Project;
use crate::session::{Platform, hook};
use crate::up::UpOptions;

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
    log: &RunLog,
    observer: &dyn Observer,
) -> Result<(), PlatformError> {
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
                observer.event(PlatformEvent::VolumesDeleted {
                    address: addr,
                    claims: &gone,
                });
                log.line(&format!(
                    "{stack}: deleted the PersistentVolumeClaims of {addr} and their block volumes: {}",
                    gone.join(", ")
                ));
            }
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                observer.event(PlatformEvent::StepFailed {
                    address: addr,
                    step: "checking its volumes",
                    error: e.to_string(),
                });
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
        return Err(PlatformError::usage(
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
    platform: &Platform,
    stack: &str,
    doc: &kapstan_state::StateDocument,
    log: &RunLog,
    observer: &dyn Observer,
) -> Result<(), PlatformError> {
    let mut failed = 0;
    // One driver: one Coder session for every template.
    let driver =
        kapstan_providers::coder::CoderTemplateDriver::with_reach(platform.coder_reach.clone());
    for (addr, r) in doc
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "coder_template")
    {
        let ctx = kapstan_engine::DriverContext::detached(stack, addr);
        match driver.delete_workspaces_of(&ctx, &r.config).await {
            Ok(ws) if !ws.is_empty() => {
                observer.event(PlatformEvent::WorkspacesDeleted {
                    address: addr,
                    workspaces: &ws,
                });
                log.line(&format!(
                    "{stack}: deleted the workspaces of {addr}: {}",
                    ws.join(", ")
                ));
            }
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                observer.event(PlatformEvent::StepFailed {
                    address: addr,
                    step: "deleting its workspaces",
                    error: e.to_string(),
                });
                log.line(&format!(
                    "{stack}: {addr} (deleting its workspaces) failed: {e}"
                ));
            }
        }
    }
    if failed > 0 {
        return Err(PlatformError::ApplyFailed { failed, skipped: 0 });
    }
    Ok(())
}

/// `kapstan down`: backs up, deletes Coder workspaces, destroys phase 2 then phase 1, lists
/// what it removed.
pub async fn down(
    project: &Project,
    options: &DownOptions,
    observer: &dyn Observer,
) -> Result<DownReport, PlatformError> {
    let env = Environment::parse(&options.env)?;
    if !options.confirm {
        return Err(PlatformError::usage(
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
    if env == Environment::Prod
        && !observer.confirm(Confirmation::DestroyEnvironment { env: env.name() })?
    {
        return Ok(DownReport::cancelled());
    }
    let profile = Profile::load(env, &project.dir)?;
    let log = RunLog::create(&project.dir, "down", env.name())?;
    log.line(&format!(
        "kapstan down --env {} (sandbox: {})",
        env.name(),
        options.sandbox
    ));
    hook(project, &profile, "pre-down", None, &log, observer).await?;
    let platform = Platform::open(project, &options.env, options.sandbox, observer).await?;
    for phase in [Phase::Infra, Phase::App] {
        log.add_document_secrets(&platform.engine.state(&profile.stack_name(phase)).await?);
    }
    let backup = backup(project, env, &BackupOptions::default(), Some(&log)).await?;
    observer.event(PlatformEvent::BackedUp {
        env: env.name(),
        dir: &backup.dir,
    });
    let mut removed: Vec<String> = vec![];
    let order = match options.phase {
        Some(p) => vec![p],
        None => vec![Phase::App, Phase::Infra],
    };
    let teardown = Teardown {
        project,
        options,
        observer,
        platform: &platform,
        profile: &profile,
        log: &log,
    };
    for phase in order {
        teardown.phase(phase, &mut removed).await?;
    }
    for r in &removed {
        log.line(&format!("removed {r}"));
    }
    hook(project, &profile, "post-down", None, &log, observer).await?;
    observer.event(PlatformEvent::RunLogWritten { path: log.path() });
    observer.event(PlatformEvent::Removed {
        resources: &removed,
    });
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    Ok(DownReport {
        cancelled: false,
        removed,
        backup: Some(backup.dir),
        log: Some(log.path().to_path_buf()),
    })
}

/// One run of `down`: what every phase's teardown needs.
struct Teardown<'a> {
    project: &'a Project,
    options: &'a DownOptions,
    observer: &'a dyn Observer,
    platform: &'a Platform,
    profile: &'a Profile,
    log: &'a RunLog,
}

impl Teardown<'_> {
    /// Deletes the phase's workspaces (and volumes), runs its hooks and destroys it;
    /// appends what it removed to `removed`.
    async fn phase(&self, phase: Phase, removed: &mut Vec<String>) -> Result<(), PlatformError> {
        let (project, options, observer, platform, profile, log) = (
            self.project,
            self.options,
            self.observer,
            self.platform,
            self.profile,
            self.log,
        );
        let name = platform.profile.stack_name(phase);
        let doc = platform.engine.state(&name).await?;
        if doc.resources.is_empty() {
            observer.event(PlatformEvent::NothingRecorded { stack: &name });
            return Ok(());
        }
        observer.event(PlatformEvent::StackHeading { stack: &name });
        delete_workspaces(platform, &name, &doc, log, observer).await?;
        if phase == Phase::Infra {
            clear_cluster_volumes(platform, &name, &doc, options, log, observer).await?;
        }
        hook(
            project,
            profile,
            &format!("pre-down-{}", phase.name()),
            Some(phase),
            log,
            observer,
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
                kapstan_stacks::coder::build(platform.env, phase, &vars)
                    .map_err(PlatformError::from)
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
                observer.event(PlatformEvent::OperationFailed { failure: f });
                log.line(&format!(
                    "{name}: {} ({}) failed: {}",
                    f.address, f.action, f.error
                ));
            }
            return Err(PlatformError::ApplyFailed {
                failed: report.failed.len(),
                skipped: report.skipped.len(),
            });
        }
        hook(
            project,
            profile,
            &format!("post-down-{}", phase.name()),
            Some(phase),
            log,
            observer,
        )
        .await?;
        Ok(())
    }
}

/// What `down` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    /// The prod name check was not answered: nothing was destroyed.
    pub cancelled: bool,
    /// Every resource removed, as `stack: kind.address (id)`.
    pub removed: Vec<String>,
    /// The backup taken before anything was destroyed.
    pub backup: Option<PathBuf>,
    /// The run log.
    pub log: Option<PathBuf>,
}

impl DownReport {
    fn cancelled() -> Self {
        Self {
            cancelled: true,
            ..Self::default()
        }
    }
}
