//! Backup of every stack to a directory (documents sealed as stored, plus a manifest) and
//! restore from it.
//!
//! A backup directory holds `<stack>.json` (the document as [`encode_document`] writes it:
//! sensitive values sealed) and `manifest.json` (stack, serial, lineage, sha256 and time of
//! each). Restore checks every file against the manifest and refuses to replace a stack of
//! another lineage unless forced; the replaced version stays in the store's history.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::seal::write_private;
use crate::{
    PendingOperation, ResourceStatus, Sealer, StateDelta, StateDocument, StateError, StateStore,
    decode_document, encode_document,
};

/// File name of the manifest in a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
const MANIFEST_FORMAT: u32 = 1;

/// One stack in a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupEntry {
    /// The stack.
    pub stack: String,
    /// Its serial when backed up.
    pub serial: u64,
    /// Its lineage.
    pub lineage: String,
    /// SHA-256 (hex) of the file.
    pub sha256: String,
    /// When it was read.
    pub time: DateTime<Utc>,
    /// File name inside the backup directory.
    pub file: String,
}

/// The manifest of a backup directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format.
    pub format: u32,
    /// When the backup was made.
    pub created: DateTime<Utc>,
    /// The store it was taken from.
    pub source: String,
    /// Fingerprint of the key the secrets are sealed with (not the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// The stacks.
    pub stacks: Vec<BackupEntry>,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StateError {
    let path = path.to_path_buf();
    move |source| StateError::Io {
        action,
        path,
        source,
    }
}

/// Writes every stack of `store` to `dir` (created if missing; it must not hold a backup
/// already), sealing sensitive values with `sealer`, and returns the manifest written.
///
/// A stack holding secrets needs the key (`KeyRequired` otherwise).
pub async fn backup(
    store: &dyn StateStore,
    dir: &Path,
    sealer: Option<&Sealer>,
) -> Result<Manifest, StateError> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let manifest_path = dir.join(MANIFEST_FILE);
    if manifest_path.exists() {
        return Err(StateError::Config(format!(
            "{} already holds a backup; choose another directory",
            dir.display()
        )));
    }
    let mut entries = vec![];
    for stack in store.list_stacks().await? {
        let Some(doc) = store.load(&stack).await? else {
            continue;
        };
        let bytes = encode_document(&doc, sealer)?;
        let file = format!("{stack}.json");
        write_private(&dir.join(&file), &bytes)?;
        entries.push(BackupEntry {
            stack,
            serial: doc.serial,
            lineage: doc.lineage.to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            time: Utc::now(),
            file,
        });
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        created: Utc::now(),
        source: store.location(),
        key_fingerprint: sealer.map(|s| s.fingerprint().to_string()),
        stacks: entries,
    };
    write_private(
        &manifest_path,
        &serde_json::to_vec_pretty(&manifest).expect("manifest serializes"),
    )?;
    Ok(manifest)
}

/// Reads and checks the manifest of a backup directory.
pub fn read_manifest(dir: &Path) -> Result<Manifest, StateError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
        stack: "(backup)".into(),
        location: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if manifest.format > MANIFEST_FORMAT {
        return Err(StateError::Config(format!(
            "{} has manifest format {}, newer than this kapstan understands ({MANIFEST_FORMAT}); upgrade kapstan",
            path.display(),
            manifest.format
        )));
    }
    Ok(manifest)
}

/// What restore did for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// The stack.
    pub stack: String,
    /// Serial recorded in the backup.
    pub backup_serial: u64,
    /// Serial the store had before (`None`: the stack was new); that version stays in history.
    pub replaced_serial: Option<u64>,
    /// Serial of the restored version in the store (equal to `replaced_serial` when the store
    /// already held exactly this content).
    pub new_serial: u64,
    /// Whether the store held another lineage (replaced because `force` was given; the store
    /// keeps its own lineage).
    pub lineage_overridden: bool,
    /// Whether nothing had to be written.
    pub unchanged: bool,
}

/// The outcome of [`restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The backup directory.
    pub dir: PathBuf,
    /// The store restored into.
    pub store: String,
    /// One entry per stack of the backup.
    pub stacks: Vec<RestoreOutcome>,
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "restore from {} into {}:",
            self.dir.display(),
            self.store
        )?;
        for s in &self.stacks {
            if s.unchanged {
                writeln!(
                    f,
                    "  {}: already identical at serial {}",
                    s.stack, s.new_serial
                )?;
                continue;
            }
            match s.replaced_serial {
                None => writeln!(
                    f,
                    "  {}: restored (backup serial {}) as serial {}",
                    s.stack, s.backup_serial, s.new_serial
                )?,
                Some(old) => writeln!(
                    f,
                    "  {}: restored (backup serial {}) as serial {}; serial {old} stays in history{}",
                    s.stack,
                    s.backup_serial,
                    s.new_serial,
                    if s.lineage_overridden {
                        " (another lineage, replaced with --force)"
                    } else {
                        ""
                    }
                )?,
            }
        }
        Ok(())
    }
}

/// Restores every stack of the backup in `dir` into `store`, opening sealed values with
/// `sealer` (the store seals them again with its own key).
///
/// Every file is checked against the manifest (sha256, lineage, serial) and every stack's
/// lineage against the store before anything is written; a stack of another lineage is
/// refused unless `force`. Each restore is a whole-document commit, so the replaced version
/// stays in the store's history.
pub async fn restore(
    store: &dyn StateStore,
    dir: &Path,
    sealer: Option<&Sealer>,
    force: bool,
) -> Result<RestoreReport, StateError> {
    let manifest = read_manifest(dir)?;
    let plans = restore_plans(store, dir, &manifest, sealer, force).await?;
    write_restore(store, dir, plans, force).await
}

/// Runs every check of [`restore`] (files, lineage and serial, the store's lineage unless
/// `force`) and writes nothing: a caller with other work to do first (a database restore)
/// learns before it that the state restore would be refused.
pub async fn check_restore(
    store: &dyn StateStore,
    dir: &Path,
    sealer: Option<&Sealer>,
    force: bool,
) -> Result<(), StateError> {
    let manifest = read_manifest(dir)?;
    restore_plans(store, dir, &manifest, sealer, force)
        .await
        .map(drop)
}

/// The checked documents of a backup, each with its manifest entry.
async fn restore_plans<'m>(
    store: &dyn StateStore,
    dir: &Path,
    manifest: &'m Manifest,
    sealer: Option<&Sealer>,
    force: bool,
) -> Result<Vec<(&'m BackupEntry, StateDocument)>, StateError> {
    let mut plans = vec![];
    for entry in &manifest.stacks {
        if entry.file.contains('/') || entry.file.contains('\\') || entry.file.starts_with('.') {
            return Err(StateError::Corrupt {
                stack: entry.stack.clone(),
                location: dir.join(MANIFEST_FILE).display().to_string(),
                reason: format!("file name `{}` is not a plain file name", entry.file),
            });
        }
        let path = dir.join(&entry.file);
        let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
        let location = path.display().to_string();
        let sha = hex::encode(Sha256::digest(&bytes));
        if sha != entry.sha256 {
            return Err(StateError::Corrupt {
                stack: entry.stack.clone(),
                location,
                reason: format!(
                    "sha256 is {sha}, the manifest says {}; the backup was altered or damaged",
                    entry.sha256
                ),
            });
        }
        let doc = decode_document(&entry.stack, &location, &bytes, sealer)?;
        if doc.lineage.to_string() != entry.lineage || doc.serial != entry.serial {
            return Err(StateError::Corrupt {
                stack: entry.stack.clone(),
                location,
                reason: format!(
                    "holds lineage {} serial {}, the manifest says lineage {} serial {}",
                    doc.lineage, doc.serial, entry.lineage, entry.serial
                ),
            });
        }
        let current = store.load(&entry.stack).await?;
        if let Some(cur) = &current
            && cur.lineage != doc.lineage
            && !force
        {
            return Err(StateError::LineageMismatch {
                stack: entry.stack.clone(),
                expected: doc.lineage.to_string(),
                found: cur.lineage.to_string(),
            });
        }
        plans.push((entry, doc));
    }
    Ok(plans)
}

/// Commits each checked document (see [`restore`]).
async fn write_restore(
    store: &dyn StateStore,
    dir: &Path,
    plans: Vec<(&BackupEntry, StateDocument)>,
    force: bool,
) -> Result<RestoreReport, StateError> {
    let mut report = RestoreReport {
        dir: dir.to_path_buf(),
        store: store.location(),
        stacks: vec![],
    };
    for (entry, doc) in plans {
        let stack = entry.stack.as_str();
        let lock = store.lock(stack, "state restore").await?;
        let result = async {
            let current = store.load(stack).await?;
            if let Some(cur) = &current
                && cur.lineage == doc.lineage
                && cur.resources == doc.resources
                && cur.outputs == doc.outputs
            {
                return Ok(RestoreOutcome {
                    stack: stack.into(),
                    backup_serial: entry.serial,
                    replaced_serial: Some(cur.serial),
                    new_serial: cur.serial,
                    lineage_overridden: false,
                    unchanged: true,
                });
            }
            // An operation that failed or was interrupted since the backup left the live
            // resource as it is now, not as the backup records it: the restored record keeps
            // an update intent, so the next apply makes that resource right again.
            let mut doc = doc;
            if let Some(cur) = &current {
                for (addr, res) in doc.resources.iter_mut() {
                    if let Some(now) = cur.resources.get(addr)
                        && let ResourceStatus::Pending(op) = &now.status
                        && matches!(res.status, ResourceStatus::Ready)
                    {
                        res.status = ResourceStatus::Pending(PendingOperation {
                            operation: "update".into(),
                            started: op.started,
                            marker: serde_json::Value::Null,
                        });
                    }
                }
            }
            let (lineage, base) = match &current {
                Some(cur) => (cur.lineage, cur.serial),
                None => (doc.lineage, 0),
            };
            if current.as_ref().is_some_and(|c| c.lineage != doc.lineage) && !force {
                return Err(StateError::LineageMismatch {
                    stack: stack.into(),
                    expected: doc.lineage.to_string(),
                    found: lineage.to_string(),
                });
            }
            let delta = StateDelta {
                lineage,
                base_serial: base,
                replace: Some(Box::new(doc.clone())),
                reason: format!(
                    "restore of backup {} (serial {})",
                    dir.display(),
                    entry.serial
                ),
                ..StateDelta::default()
            };
            let new_serial = store.commit(stack, delta).await?;
            Ok(RestoreOutcome {
                stack: stack.into(),
                backup_serial: entry.serial,
                replaced_serial: current.as_ref().map(|c| c.serial),
                new_serial,
                lineage_overridden: current.as_ref().is_some_and(|c| c.lineage != doc.lineage),
                unchanged: false,
            })
        }
        .await;
        let _ = store.unlock(stack, &lock).await;
        report.stacks.push(result?);
    }
    Ok(report)
}
