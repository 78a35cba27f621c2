//! `kapstan backup` and `kapstan restore` of an environment.
//!
//! A backup is a directory `backups/<env>/<timestamp>/` (or under `--out DIR`) holding:
//!
//! - `state/`: both phases' state documents as stored (sensitive values sealed with the
//!   project's state key) with the state crate's own `manifest.json`, so
//!   [`kapstan_state::restore`] reads it (lineage check, replaced version kept in history);
//! - `outputs.json`: every output of both phases, sensitive ones as `(sensitive value)`;
//! - `kubernetes/<namespace>/<kind>-<name>.yaml`: the live objects kapstan manages (namespaces,
//!   secrets with their values redacted, manifests, the Helm release's inventory and release
//!   records), read from the cluster with the kubeconfig recorded by the infra phase;
//! - `database.json` with `--include-db`: the PostgreSQL backup made through the RDB backups
//!   API (`POST /rdb/v1/regions/{region}/backups`), waited for until `ready`;
//! - `manifest.json`: environment, time, stacks and the sha256 of every other file.
//!
//! Backups older than the retention are pruned from the same parent directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kapstan_providers::kubernetes::{KubeClient, ObjectRef, inspect};
use kapstan_providers::scaleway::client::Region;
use kapstan_providers::scaleway::client::api::RdbApi;
use kapstan_providers::scaleway::client::wire::rdb_backup::{
    CreateDatabaseBackupRequest, DatabaseBackup, DatabaseBackupStatus, RestoreDatabaseBackupRequest,
};
use kapstan_stacks::coder::{Environment, Phase};
use kapstan_state::{BackupEntry, StateDocument, encode_document};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::environment::{load_phase, output_string, stack_name};
use crate::error::PlatformError;
use crate::hooks::{self, HookReport, PublicOutputs};
use crate::logs::{REDACTED, RunLog};
use crate::project::Project;

/// The manifest's `kind`, so only kapstan environment backups are pruned or restored.
pub const BACKUP_KIND: &str = "kapstan-environment-backup";
/// Manifest format written by this build.
pub const BACKUP_FORMAT: u32 = 1;
/// Default retention of `kapstan backup`, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// How long a database backup may take to become ready.
const DB_BACKUP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOptions {
    /// Also make a PostgreSQL backup through the RDB API.
    pub include_db: bool,
    /// Remove this environment's backups older than this many days.
    pub retention_days: u32,
    /// Parent directory of the backup (default `<project>/backups/<env>`).
    pub out: Option<PathBuf>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        Self {
            include_db: false,
            retention_days: DEFAULT_RETENTION_DAYS,
            out: None,
        }
    }
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the backup directory (`/`-separated).
    pub path: String,
    /// SHA-256 of its bytes (hex).
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// One stack in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackEntry {
    /// The stack.
    pub stack: String,
    /// Its serial when backed up.
    pub serial: u64,
    /// Its lineage.
    pub lineage: String,
}

/// `manifest.json` of an environment backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Always [`BACKUP_KIND`].
    pub kind: String,
    /// Manifest format.
    pub format: u32,
    /// The environment.
    pub environment: String,
    /// When the backup was made.
    pub created: DateTime<Utc>,
    /// The kapstan version that made it.
    pub kapstan_version: String,
    /// The state store it was read from.
    pub store: String,
    /// The stacks saved.
    pub stacks: Vec<StackEntry>,
    /// Kubernetes objects saved (`apiVersion/kind namespace/name`).
    #[serde(default)]
    pub kubernetes_objects: Vec<String>,
    /// Objects in state that the cluster no longer has.
    #[serde(default)]
    pub kubernetes_missing: Vec<String>,
    /// The RDB backup made, with `--include-db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_backup: Option<DatabaseBackupRecord>,
    /// What could not be saved and why (the backup is still usable for state).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Every file of the backup except this manifest.
    pub files: Vec<FileEntry>,
}

/// The result of [`backup`].
#[derive(Debug, Clone)]
pub struct BackupResult {
    /// The backup directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: BackupManifest,
    /// Older backups removed by retention.
    pub pruned: Vec<PathBuf>,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PlatformError {
    let path = path.display().to_string();
    move |source| PlatformError::Io {
        action,
        path,
        source,
    }
}

/// Writes a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), PlatformError> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io("creating", path))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io("writing", path))
}

struct Writer {
    dir: PathBuf,
    files: Vec<FileEntry>,
}

impl Writer {
    fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<(), PlatformError> {
        write_private(&self.dir.join(rel), bytes)?;
        self.files.push(FileEntry {
            path: rel.to_string(),
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
        });
        Ok(())
    }
}

/// The directory backups of `env` go to.
pub fn backup_root(project: &Project, env: Environment, out: Option<&Path>) -> PathBuf {
    match out {
        Some(o) if o.is_absolute() => o.to_path_buf(),
        Some(o) => project.dir.join(o),
        None => project.dir.join("backups").join(env.name()),
    }
}

/// Backs up `env` (see the module documentation) and prunes old backups. `log` receives one
/// line per step. Used by `kapstan backup` and by `kapstan down` before it destroys anything.
pub async fn backup(
    project: &Project,
    env: Environment,
    options: &BackupOptions,
    log: Option<&RunLog>,
) -> Result<BackupResult, PlatformError> {
    let say = |s: &str| {
        if let Some(l) = log {
            l.line(s);
        }
    };
    let infra = load_phase(project, env, Phase::Infra).await?;
    let app = load_phase(project, env, Phase::App).await?;
    let docs: Vec<&StateDocument> = [infra.as_ref(), app.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    if docs.is_empty() {
        return Err(PlatformError::usage(
            format!(
                "environment {} has no state to back up (neither {} nor {})",
                env.name(),
                stack_name(env, Phase::Infra),
                stack_name(env, Phase::App)
            ),
            format!("deploy it first with `kapstan up --env {}`", env.name()),
        ));
    }
    for d in &docs {
        if let Some(l) = log {
            l.add_document_secrets(d);
        }
    }
    let root = backup_root(project, env, options.out.as_deref());
    std::fs::create_dir_all(&root).map_err(io("creating", &root))?;
    let created = Utc::now();
    let dir = new_backup_dir(&root, created)?;
    say(&format!("backing up {} to {}", env.name(), dir.display()));
    let mut w = Writer {
        dir: dir.clone(),
        files: vec![],
    };
    let store = project.store()?;
    let sealer = project.sealer()?;

    let stacks = save_state(
        &mut w,
        &docs,
        sealer.as_ref(),
        created,
        store.location(),
        &say,
    )?;

    save_outputs(&mut w, &docs)?;

    // Kubernetes objects.
    let mut warnings = vec![];
    let (saved, missing) = match &app {
        Some(app) => save_kubernetes(&mut w, infra.as_ref(), app, &mut warnings, &say).await?,
        None => (vec![], vec![]),
    };

    // Database.
    let database_backup = if options.include_db {
        let infra = infra.as_ref().ok_or_else(|| {
            PlatformError::usage(
                "--include-db needs the infra phase: it has no state",
                "deploy the infra phase first",
            )
        })?;
        let b = database_backup(project, infra, env, created, options.retention_days, &say).await?;
        w.put(
            "database.json",
            &serde_json::to_vec_pretty(&b).expect("json"),
        )?;
        Some(b)
    } else {
        None
    };
    for warning in &warnings {
        say(&format!("warning: {warning}"));
    }

    let manifest = BackupManifest {
        kind: BACKUP_KIND.into(),
        format: BACKUP_FORMAT,
        environment: env.name().into(),
        created,
        kapstan_version: env!("CARGO_PKG_VERSION").into(),
        store: store.location(),
        stacks,
        kubernetes_objects: saved,
        kubernetes_missing: missing,
        database_backup,
        warnings,
        files: w.files,
    };
    write_private(
        &dir.join("manifest.json"),
        &serde_json::to_vec_pretty(&manifest).expect("manifest serializes"),
    )?;
    let pruned = prune(&root, env, options.retention_days, &dir)?;
    for p in &pruned {
        say(&format!(
            "pruned {} (older than {} days)",
            p.display(),
            options.retention_days
        ));
    }
    say("backup complete");
    Ok(BackupResult {
        dir,
        manifest,
        pruned,
    })
}

/// Creates `<root>/<timestamp>` (with `-2`, `-3`, … when that exists already).
fn new_backup_dir(root: &Path, created: DateTime<Utc>) -> Result<PathBuf, PlatformError> {
    let stamp = created.format("%Y%m%dT%H%M%SZ").to_string();
    let mut dir = root.join(&stamp);
    let mut n = 2;
    while dir.exists() {
        dir = root.join(format!("{stamp}-{n}"));
        n += 1;
    }
    std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
    Ok(dir)
}

/// Writes `outputs.json`: every phase's outputs, sensitive ones redacted.
fn save_outputs(w: &mut Writer, docs: &[&StateDocument]) -> Result<(), PlatformError> {
    let mut outputs = serde_json::Map::new();
    for doc in docs {
        let m: serde_json::Map<String, Value> = doc
            .outputs
            .iter()
            .map(|(k, o)| {
                let v = if o.sensitive {
                    json!(REDACTED)
                } else {
                    o.value.clone()
                };
                (k.clone(), json!({"value": v, "sensitive": o.sensitive}))
            })
            .collect();
        outputs.insert(doc.stack.clone(), Value::Object(m));
    }
    w.put(
        "outputs.json",
        &serde_json::to_vec_pretty(&Value::Object(outputs)).expect("json"),
    )?;
    Ok(())
}

/// Writes each phase's state in the state crate's backup format, with its manifest.
fn save_state(
    w: &mut Writer,
    docs: &[&StateDocument],
    sealer: Option<&kapstan_state::Sealer>,
    created: DateTime<Utc>,
    source: String,
    say: &dyn Fn(&str),
) -> Result<Vec<StackEntry>, PlatformError> {
    let mut state_entries = vec![];
    let mut stacks = vec![];
    for doc in docs {
        let bytes = encode_document(doc, sealer)?;
        let file = format!("{}.json", doc.stack);
        w.put(&format!("state/{file}"), &bytes)?;
        state_entries.push(BackupEntry {
            stack: doc.stack.clone(),
            serial: doc.serial,
            lineage: doc.lineage.to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            time: Utc::now(),
            file,
        });
        stacks.push(StackEntry {
            stack: doc.stack.clone(),
            serial: doc.serial,
            lineage: doc.lineage.to_string(),
        });
        say(&format!(
            "state of {} (serial {}) saved",
            doc.stack, doc.serial
        ));
    }
    let state_manifest = kapstan_state::Manifest {
        format: 1,
        created,
        source,
        key_fingerprint: sealer.map(|s| s.fingerprint().to_string()),
        stacks: state_entries,
    };
    w.put(
        &format!("state/{}", kapstan_state::MANIFEST_FILE),
        &serde_json::to_vec_pretty(&state_manifest).expect("manifest serializes"),
    )?;

    Ok(stacks)
}

/// Saves the objects the app phase manages as YAML; returns what was saved and what the
/// cluster no longer has (what could not be read becomes a warning).
async fn save_kubernetes(
    w: &mut Writer,
    infra: Option<&StateDocument>,
    app: &StateDocument,
    warnings: &mut Vec<String>,
    say: &dyn Fn(&str),
) -> Result<(Vec<String>, Vec<String>), PlatformError> {
    let (mut saved, mut missing) = (vec![], vec![]);
    let kubeconfig = infra
        .and_then(|i| i.outputs.get("kubeconfig"))
        .and_then(|o| o.value.as_str())
        .map(str::to_string);
    match kubeconfig {
        None => warnings.push(
            "Kubernetes objects not saved: the infra phase records no kubeconfig".to_string(),
        ),
        Some(kc) => match KubeClient::from_kubeconfig(&kc) {
            Err(e) => warnings.push(format!("Kubernetes objects not saved: {e}")),
            Ok(kube) => {
                for r in managed_objects(&kube, app, warnings).await {
                    match inspect::backup_copy(&kube, &r, REDACTED).await {
                        Ok(Some(obj)) => {
                            let yaml = serde_norway::to_string(&obj).map_err(|e| {
                                PlatformError::usage(
                                    format!("writing {r} as YAML: {e}"),
                                    "this is a bug",
                                )
                            })?;
                            w.put(&object_file(&r), yaml.as_bytes())?;
                            saved.push(r.to_string());
                        }
                        Ok(None) => missing.push(r.to_string()),
                        Err(e) => warnings.push(format!("{r} not saved: {e}")),
                    }
                }
                say(&format!(
                    "{} Kubernetes object(s) saved, {} missing from the cluster",
                    saved.len(),
                    missing.len()
                ));
            }
        },
    }
    Ok((saved, missing))
}

/// The objects the app phase manages: namespaces, secrets, manifests, every object of each
/// Helm release's inventory and the release records.
async fn managed_objects(
    kube: &KubeClient,
    app: &StateDocument,
    warnings: &mut Vec<String>,
) -> BTreeSet<ObjectRef> {
    let mut out = BTreeSet::new();
    for (addr, r) in &app.resources {
        let c = &r.config;
        match r.kind.as_str() {
            "kubernetes_namespace" => {
                if let Some(name) = c["name"].as_str() {
                    out.insert(ObjectRef {
                        api_version: "v1".into(),
                        kind: "Namespace".into(),
                        namespace: None,
                        name: name.into(),
                    });
                }
            }
            "kubernetes_secret" => {
                if let Some(name) = c["name"].as_str() {
                    out.insert(ObjectRef {
                        api_version: "v1".into(),
                        kind: "Secret".into(),
                        namespace: Some(c["namespace"].as_str().unwrap_or("default").into()),
                        name: name.into(),
                    });
                }
            }
            "kubernetes_manifest" => {
                if let Some(mut o) = ObjectRef::of(&c["manifest"]) {
                    if o.namespace.is_none()
                        && kube
                            .is_namespaced(&o.api_version, &o.kind)
                            .await
                            .unwrap_or(false)
                    {
                        o.namespace = Some("default".into());
                    }
                    out.insert(o);
                }
            }
            "helm_release" => {
                out.extend(kapstan_providers::helm::inventory_of(&r.attributes));
                let (Some(name), Some(ns)) = (c["name"].as_str(), c["namespace"].as_str()) else {
                    continue;
                };
                match inspect::helm_release_records(kube, ns, name).await {
                    Ok(records) => out.extend(records),
                    Err(e) => warnings.push(format!("release records of {addr}: {e}")),
                }
            }
            _ => {}
        }
    }
    out
}

fn object_file(r: &ObjectRef) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "kubernetes/{}/{}-{}.yaml",
        r.namespace
            .as_deref()
            .map(safe)
            .unwrap_or_else(|| "_cluster".into()),
        r.kind.to_ascii_lowercase(),
        safe(&r.name)
    )
}

/// The RDB backup of an environment backup (`database.json`, the manifest's
/// `database_backup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseBackupRecord {
    /// The RDB backup id.
    #[serde(default)]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// The instance it was made from (and is restored into).
    #[serde(default)]
    pub instance_id: String,
    /// The database it holds.
    #[serde(default)]
    pub database_name: String,
    /// The instance's region.
    #[serde(default)]
    pub region: String,
    /// Its status when recorded (`ready`).
    #[serde(default)]
    pub status: String,
    /// Its size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// When it was made.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When Scaleway deletes it.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Polls backup `id` until it is `ready` (making or restoring it), failing on `error` or
/// `locked` and after [`DB_BACKUP_TIMEOUT`]; `fail` turns a cause into the caller's error.
async fn wait_backup_ready(
    rdb: &RdbApi<'_>,
    id: &str,
    fail: &dyn Fn(&str, String) -> PlatformError,
) -> Result<DatabaseBackup, PlatformError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let b = rdb
            .get_database_backup(id)
            .await
            .map_err(|e| fail("reading", e.to_string()))?;
        match &b.status {
            DatabaseBackupStatus::Ready => return Ok(b),
            s @ (DatabaseBackupStatus::Error | DatabaseBackupStatus::Locked) => {
                return Err(fail("waiting", format!("backup {id} is {s}")));
            }
            _ if start.elapsed() > DB_BACKUP_TIMEOUT => {
                return Err(fail(
                    "waiting",
                    format!(
                        "backup {id} not ready after {}s",
                        DB_BACKUP_TIMEOUT.as_secs()
                    ),
                ));
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Makes a PostgreSQL backup of the environment's database and waits until it is ready.
async fn database_backup(
    project: &Project,
    infra: &StateDocument,
    env: Environment,
    created: DateTime<Utc>,
    retention_days: u32,
    say: &dyn Fn(&str),
) -> Result<DatabaseBackupRecord, PlatformError> {
    let need = |what: Option<String>, name: &str| {
        what.filter(|s| !s.is_empty()).ok_or_else(|| {
            PlatformError::usage(
                format!("--include-db: {} records no {name}", infra.stack),
                "apply the infra phase first",
            )
        })
    };
    let region = need(output_string(infra, "region"), "region")?;
    let region = Region::parse(&region)
        .map_err(|e| PlatformError::usage(format!("region `{region}`: {e}"), "check the state"))?;
    let instance = need(
        infra.resources.get("database").and_then(|r| r.id.clone()),
        "database instance",
    )?;
    let database = need(output_string(infra, "database_name"), "database_name")?;
    let client = project.scaleway_client()?;
    let rdb = client.rdb(&region);
    let fail = |what: &str, e: String| {
        PlatformError::usage(
            format!("database backup: {what}: {e}"),
            "check the instance in the Scaleway console; `kapstan backup` without --include-db saves state and Kubernetes objects",
        )
    };
    let name = format!(
        "kapstan-{}-{}",
        env.name(),
        created.format("%Y%m%dT%H%M%SZ")
    );
    let made = rdb
        .create_database_backup(&CreateDatabaseBackupRequest {
            instance_id: instance,
            database_name: database,
            name: name.clone(),
            expires_at: (retention_days > 0)
                .then(|| created + chrono::Duration::days(i64::from(retention_days))),
        })
        .await
        .map_err(|e| fail("creating", e.to_string()))?;
    if made.id.is_empty() {
        return Err(fail("creating", "the answer has no id".into()));
    }
    say(&format!("database backup {name} ({}) requested", made.id));
    let b = wait_backup_ready(&rdb, &made.id, &fail).await?;
    say(&format!("database backup {} ready", b.id));
    Ok(DatabaseBackupRecord {
        region: region.to_string(),
        status: b.status.to_string(),
        id: b.id,
        name: b.name,
        instance_id: b.instance_id,
        database_name: b.database_name,
        size: b.size,
        created_at: b.created_at,
        expires_at: b.expires_at,
    })
}

/// Restores an RDB backup (`POST /backups/{id}/restore`) into the instance and database it was
/// made from and waits until the backup is `ready` again; returns its id.
async fn restore_database(
    project: &Project,
    backup: &DatabaseBackupRecord,
) -> Result<String, PlatformError> {
    let b = backup;
    if [&b.id, &b.instance_id, &b.database_name, &b.region]
        .iter()
        .any(|f| f.is_empty())
    {
        return Err(PlatformError::usage(
            "the backup's database_backup record is incomplete (id, instance_id, database_name, region)",
            "the manifest was altered; use another backup",
        ));
    }
    let region = Region::parse(&b.region).map_err(|e| {
        PlatformError::usage(format!("region `{}`: {e}", b.region), "check the manifest")
    })?;
    let client = project.scaleway_client()?;
    let rdb = client.rdb(&region);
    let (id, instance) = (&b.id, &b.instance_id);
    let fail = |what: &str, e: String| {
        PlatformError::usage(
            format!("database restore of backup {id}: {what}: {e}"),
            format!(
                "the state was not changed; check backup {id} and instance {instance} in the Scaleway console, then run the same `kapstan restore --database` again"
            ),
        )
    };
    rdb.restore_database_backup(
        id,
        &RestoreDatabaseBackupRequest {
            instance_id: instance.clone(),
            database_name: Some(b.database_name.clone()),
        },
    )
    .await
    .map_err(|e| fail("requesting", e.to_string()))?;
    wait_backup_ready(&rdb, id, &fail).await?;
    Ok(id.clone())
}

/// Reads and checks the manifest of an environment backup.
pub fn read_manifest(dir: &Path) -> Result<BackupManifest, PlatformError> {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
    let m: BackupManifest = serde_json::from_slice(&bytes).map_err(|e| {
        PlatformError::usage(
            format!(
                "{} is not a kapstan environment backup manifest: {e}",
                path.display()
            ),
            "pass the directory `kapstan backup` printed (backups/<env>/<timestamp>)",
        )
    })?;
    if m.kind != BACKUP_KIND {
        return Err(PlatformError::usage(
            format!("{} is a `{}`, not a {BACKUP_KIND}", path.display(), m.kind),
            "pass the directory `kapstan backup` printed",
        ));
    }
    if m.format > BACKUP_FORMAT {
        return Err(PlatformError::usage(
            format!(
                "{} has format {}, newer than this kapstan understands ({BACKUP_FORMAT})",
                path.display(),
                m.format
            ),
            "upgrade kapstan",
        ));
    }
    Ok(m)
}

/// Checks every file of a backup against its manifest (sha256 and size).
pub fn verify(dir: &Path, m: &BackupManifest) -> Result<(), PlatformError> {
    for f in &m.files {
        let rel = Path::new(&f.path);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(PlatformError::usage(
                format!(
                    "manifest lists `{}`, which is not a path inside the backup",
                    f.path
                ),
                "the backup was altered; use another one",
            ));
        }
        let path = dir.join(rel);
        let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        if sha != f.sha256 {
            return Err(PlatformError::usage(
                format!(
                    "{} has sha256 {sha}, the manifest says {}: the backup was altered or damaged",
                    path.display(),
                    f.sha256
                ),
                "use another backup",
            ));
        }
    }
    Ok(())
}

/// Removes backups of `env` under `root` older than `days`, except `keep`.
pub fn prune(
    root: &Path,
    env: Environment,
    days: u32,
    keep: &Path,
) -> Result<Vec<PathBuf>, PlatformError> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    let mut pruned = vec![];
    let entries = std::fs::read_dir(root).map_err(io("reading", root))?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    for d in dirs {
        if d == keep || !d.is_dir() {
            continue;
        }
        let Ok(m) = read_manifest(&d) else { continue };
        if m.environment != env.name() || m.created >= cutoff {
            continue;
        }
        std::fs::remove_dir_all(&d).map_err(io("removing", &d))?;
        pruned.push(d);
    }
    Ok(pruned)
}

/// What `backup_environment` did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The backup.
    pub backup: BackupResult,
    /// The `post-backup` hook, when the project has one (a failure is reported, not fatal).
    pub post_hook: Option<HookReport>,
    /// The run log.
    pub log: PathBuf,
}

/// `kapstan backup --env ENV [--include-db] [--retention-days N] [--out DIR]`: the
/// `pre-backup` hook (a failure stops), the backup, the `post-backup` hook, all in a run
/// log.
pub async fn backup_environment(
    project: &Project,
    env: Environment,
    options: &BackupOptions,
) -> Result<BackupReport, PlatformError> {
    let log = RunLog::create(&project.dir, "backup", env.name())?;
    let docs: Vec<StateDocument> = [
        load_phase(project, env, Phase::Infra).await?,
        load_phase(project, env, Phase::App).await?,
    ]
    .into_iter()
    .flatten()
    .collect();
    for d in &docs {
        log.add_document_secrets(d);
    }
    let outputs = PublicOutputs::from_documents(&docs);
    let hook = |name: &str| {
        let r = hooks::run_hook(
            &project.dir,
            name,
            env.name(),
            None,
            &outputs,
            hooks::DEFAULT_TIMEOUT,
        );
        match &r {
            Ok(Some(report)) => log.hook(report),
            Ok(None) => {}
            Err(e) => log.line(&format!("{e}")),
        }
        r
    };
    hook("pre-backup")?;
    let backup = match backup(project, env, options, Some(&log)).await {
        Ok(r) => r,
        Err(e) => {
            log.line(&format!("backup failed: {e}"));
            return Err(e);
        }
    };
    let post_hook = hook("post-backup")?;
    Ok(BackupReport {
        backup,
        post_hook,
        log: log.path().to_path_buf(),
    })
}

/// `kapstan restore --env ENV --from DIR [--force]`: checks the backup, then restores both
/// phases' state (lineage checked unless `--force`; the replaced versions stay in history).
pub async fn restore_environment(
    project: &Project,
    env: Environment,
    from: &Path,
    force: bool,
    database: bool,
) -> Result<(kapstan_state::RestoreReport, Option<String>), PlatformError> {
    let dir = if from.is_absolute() {
        from.to_path_buf()
    } else {
        project.dir.join(from)
    };
    let m = read_manifest(&dir)?;
    if m.environment != env.name() {
        return Err(PlatformError::usage(
            format!(
                "{} is a backup of {}, not of {}",
                dir.display(),
                m.environment,
                env.name()
            ),
            format!("restore it with --env {}", m.environment),
        ));
    }
    verify(&dir, &m)?;
    // Checked before anything is written: a database restore needs the backup's RDB backup.
    let db = if database {
        Some(m.database_backup.clone().ok_or_else(|| {
            PlatformError::usage(
                format!("{} holds no database backup", dir.display()),
                "restore the state alone (without --database), or pick a backup made with --include-db or by `kapstan upgrade`",
            )
        })?)
    } else {
        None
    };
    let state_dir = dir.join("state");
    let inner = kapstan_state::read_manifest(&state_dir)?;
    let allowed = [stack_name(env, Phase::Infra), stack_name(env, Phase::App)];
    if let Some(other) = inner.stacks.iter().find(|s| !allowed.contains(&s.stack)) {
        return Err(PlatformError::usage(
            format!(
                "{} holds stack `{}`, which is not part of environment {}",
                dir.display(),
                other.stack,
                env.name()
            ),
            "the backup was altered; use another one",
        ));
    }
    let store = project.store()?;
    let sealer = project.sealer()?;
    // The database first, and only once the state restore is known to be accepted: a failed
    // database restore leaves the state as it was, and the state never names a version whose
    // database is not there.
    let database = match db {
        Some(b) => {
            kapstan_state::check_restore(&*store, &state_dir, sealer.as_ref(), force).await?;
            Some(restore_database(project, &b).await?)
        }
        None => None,
    };
    let report = kapstan_state::restore(&*store, &state_dir, sealer.as_ref(), force)
        .await
        .map_err(|e| match &database {
            Some(id) => PlatformError::usage(
                format!("the database backup {id} was restored, but the state was not: {e}"),
                format!(
                    "restore the state alone: `kapstan restore --env {} --from {}` (without --database)",
                    env.name(),
                    from.display()
                ),
            ),
            None => e.into(),
        })?;
    Ok((report, database))
}
