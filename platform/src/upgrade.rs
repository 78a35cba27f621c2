//! Safe Coder upgrades, as `kapstan up` and `kapstan upgrade` run them: a change of the Coder
//! version is planned as an upgrade (from → to, release notes); before the release changes, an
//! environment backup with a PostgreSQL backup through the RDB API is made, waited for, and
//! recorded in `.kapstan/upgrades/<env>.json`; after the release, the environment's health is
//! checked, and a failure stops with the backup and the rollback. A downgrade is refused before
//! any API call, naming the backup to restore instead (Coder's migrations only go forward).

use std::path::PathBuf;

use kapstan_stacks::coder::upgrade::CoderUpgrade;
use kapstan_stacks::coder::{Environment, Phase};
use serde::{Deserialize, Serialize};

use crate::backup::{BackupOptions, backup};
use crate::environment::{load_phase, stack_name};
use crate::error::PlatformError;
use crate::health::HealthReport;
use crate::logs::RunLog;
use crate::project::Project;

/// One upgrade kapstan made: what ran before, and the backup holding its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeRecord {
    /// The version before the upgrade.
    pub from: String,
    /// The version after it.
    pub to: String,
    /// The environment backup made first (`kapstan restore --from`).
    pub backup_dir: String,
    /// The RDB backup id inside it.
    pub database_backup_id: String,
    /// When the backup was made (RFC 3339).
    pub at: String,
}

fn records_path(project: &Project, env: Environment) -> PathBuf {
    project
        .dir
        .join(".kapstan")
        .join("upgrades")
        .join(format!("{}.json", env.name()))
}

/// The upgrades recorded for `env`, oldest first.
pub fn records(project: &Project, env: Environment) -> Vec<UpgradeRecord> {
    std::fs::read(records_path(project, env))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn append(project: &Project, env: Environment, record: UpgradeRecord) -> Result<(), PlatformError> {
    let path = records_path(project, env);
    let mut all = records(project, env);
    all.push(record);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|source| PlatformError::io("creating", dir.display(), source))?;
    }
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&all).expect("records serialize"),
    )
    .map_err(|source| PlatformError::io("writing", path.display(), source))
}

/// The Coder chart version recorded by the app phase (`None` before the first install).
pub async fn recorded_version(
    project: &Project,
    env: Environment,
) -> Result<Option<String>, PlatformError> {
    Ok(load_phase(project, env, Phase::App).await?.and_then(|doc| {
        doc.resources
            .get("coder")
            .and_then(|r| r.config.get("version"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }))
}

/// The rollback of `record`, in commands.
pub fn rollback(env: Environment, record: &UpgradeRecord) -> String {
    format!(
        "roll back to Coder {from}: `kapstan restore --env {env} --from {dir} --database` (restores the state recorded with {from} and the database backup {id} into the instance), then `kapstan up --env {env} --phase app` with [coder] version = \"{from}\" in environments/{env}.toml; see \"Rolling back an upgrade\" in docs/platform.md",
        from = record.from,
        env = env.name(),
        dir = record.backup_dir,
        id = record.database_backup_id,
    )
}

/// An upgrade that did not come up healthy: what failed, the backup made before it and the
/// rollback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Coder {to} is not healthy after the upgrade from {from}: {cause}. The backup made before the upgrade is {backup_dir} (database backup {database_backup_id})"
)]
pub struct UpgradeFailure {
    /// The version before the upgrade.
    pub from: String,
    /// The version that failed.
    pub to: String,
    /// What failed: the release's apply or the health checks.
    pub cause: String,
    /// The environment backup made before the upgrade.
    pub backup_dir: String,
    /// The RDB backup id inside it.
    pub database_backup_id: String,
    /// The documented rollback, in commands.
    pub rollback: String,
}

/// The error of an upgrade that did not come up healthy: `cause`, the backup and the rollback.
pub fn failed(env: Environment, record: &UpgradeRecord, cause: String) -> PlatformError {
    PlatformError::UpgradeFailed(Box::new(UpgradeFailure {
        from: record.from.clone(),
        to: record.to.clone(),
        cause,
        backup_dir: record.backup_dir.clone(),
        database_backup_id: record.database_backup_id.clone(),
        rollback: rollback(env, record),
    }))
}

/// Why the Coder that answers is not the version upgraded to, when `/api/v2/buildinfo`
/// answered with another one (the old release still serving, for instance).
pub fn served_version_problem(health: &HealthReport, to: &str) -> Option<String> {
    let served = health
        .checks
        .iter()
        .find(|c| c.ok && c.check == "/api/v2/buildinfo")?;
    let version = served
        .detail
        .trim_start_matches("Coder ")
        .trim_start_matches('v');
    // A build suffix (`2.21.1+abc123`) is the same release.
    let bare = version.split(['+', '-']).next().unwrap_or(version);
    (bare != to.trim_start_matches('v')).then(|| {
        format!(
            "coder /api/v2/buildinfo: the access URL serves {}, not Coder {to}",
            served.detail
        )
    })
}

/// Compares the recorded and the declared version; a downgrade is an error naming the backup
/// to restore. Reads only the state store.
pub async fn check(
    project: &Project,
    env: Environment,
    declared: &str,
) -> Result<Option<CoderUpgrade>, PlatformError> {
    let recorded = recorded_version(project, env).await?;
    CoderUpgrade::between(recorded.as_deref(), declared).map_err(|down| {
        let backup = records(project, env)
            .into_iter()
            .rev()
            .find(|r| r.from == down.to || r.to == down.from);
        let help = match backup {
            Some(r) => format!(
                "to run {to} again, restore the backup made before the upgrade from {from_rec}: {}",
                rollback(env, &r),
                to = down.to,
                from_rec = r.from,
            ),
            None => format!(
                "no kapstan backup of {} before an upgrade to {} is recorded: restore a database backup made while {} ran (`kapstan restore --env {} --from DIR --database`), or keep [coder] version = \"{}\"",
                stack_name(env, Phase::App),
                down.from,
                down.to,
                env.name(),
                down.from
            ),
        };
        PlatformError::usage(down.to_string(), help)
    })
}

/// Makes the pre-upgrade backup (state, Kubernetes objects and the PostgreSQL database, the
/// latter waited for) and records it.
pub async fn backup_before(
    project: &Project,
    env: Environment,
    upgrade: &CoderUpgrade,
    log: &RunLog,
) -> Result<UpgradeRecord, PlatformError> {
    let made = backup(
        project,
        env,
        &BackupOptions {
            include_db: true,
            ..Default::default()
        },
        Some(log),
    )
    .await?;
    let database_backup_id = made
        .manifest
        .database_backup
        .as_ref()
        .map(|b| b.id.clone())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            PlatformError::usage(
                format!(
                    "the database backup before the Coder upgrade {} → {} was not made: {}",
                    upgrade.from,
                    upgrade.to,
                    made.manifest.warnings.join("; ")
                ),
                "nothing was upgraded; fix the cause and run the upgrade again",
            )
        })?;
    let record = UpgradeRecord {
        from: upgrade.from.clone(),
        to: upgrade.to.clone(),
        backup_dir: made
            .dir
            .strip_prefix(&project.dir)
            .unwrap_or(&made.dir)
            .display()
            .to_string(),
        database_backup_id,
        at: made.manifest.created.to_rfc3339(),
    };
    append(project, env, record.clone())?;
    log.line(&format!(
        "upgrade {} → {}: backup {} (database backup {})",
        record.from, record.to, record.backup_dir, record.database_backup_id
    ));
    Ok(record)
}
