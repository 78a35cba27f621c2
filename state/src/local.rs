//! The local store: one redb database per stack under `.kapstan/state/`, with full history,
//! a lock record file and a generated key file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Map, Value, json};

use crate::codec::{check_format, open_output, open_resource, seal_output, seal_resource};
use crate::document::{FORMAT_VERSION, StateDelta, StateDocument};
use crate::store::{HistoryEntry, StateStore, validate_stack_name};
use crate::{KeySource, LockInfo, Sealer, StateError};

static OPEN_DATABASES: std::sync::OnceLock<Mutex<HashMap<PathBuf, std::sync::Weak<Database>>>> =
    std::sync::OnceLock::new();

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const RESOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("resources");
const HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("history");

/// State in redb databases under a project directory (default `.kapstan/`).
pub struct LocalStore {
    root: PathBuf,
    sealer: Sealer,
    open: Mutex<HashMap<String, Arc<Database>>>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.root)
            .finish()
    }
}

impl LocalStore {
    /// Opens the store rooted at `root` (e.g. `.kapstan`). The key comes from `key` when given,
    /// else from `root/state.key`, generated with mode 0600 on first use.
    pub fn open(root: impl Into<PathBuf>, key: Option<KeySource>) -> Result<Self, StateError> {
        let root = root.into();
        let key = match key {
            Some(k) => k,
            None => KeySource::load_or_create_file(&root.join("state.key"))?,
        };
        Ok(Self {
            sealer: Sealer::new(&key)?,
            root,
            open: Mutex::new(HashMap::new()),
        })
    }

    fn dir(&self) -> PathBuf {
        self.root.join("state")
    }

    fn db_path(&self, stack: &str) -> PathBuf {
        self.dir().join(format!("{stack}.redb"))
    }

    fn lock_path(&self, stack: &str) -> PathBuf {
        self.dir().join(format!("{stack}.lock"))
    }

    fn db_err(&self, stack: &str, e: impl std::fmt::Display) -> StateError {
        StateError::Database {
            path: self.db_path(stack),
            reason: e.to_string(),
        }
    }

    /// Opens (once per process) the database of `stack`; `None` when it does not exist and
    /// `create` is false.
    fn database(&self, stack: &str, create: bool) -> Result<Option<Arc<Database>>, StateError> {
        validate_stack_name(stack)?;
        let mut open = self.open.lock().expect("store mutex");
        if let Some(db) = open.get(stack) {
            return Ok(Some(db.clone()));
        }
        let path = self.db_path(stack);
        if !path.exists() {
            if !create {
                return Ok(None);
            }
            std::fs::create_dir_all(self.dir()).map_err(|source| StateError::Io {
                action: "creating",
                path: self.dir(),
                source,
            })?;
        }
        // redb allows one open handle per file and process: every store of this process
        // shares it.
        let mut shared = OPEN_DATABASES
            .get_or_init(Default::default)
            .lock()
            .expect("database registry");
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        if let Some(db) = shared.get(&key).and_then(std::sync::Weak::upgrade) {
            open.insert(stack.to_string(), db.clone());
            return Ok(Some(db));
        }
        let db = match Database::create(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(match read_lock(&self.lock_path(stack))? {
                    Some(holder) if holder.pid != std::process::id() => StateError::Locked {
                        stack: stack.to_string(),
                        holder: Box::new(holder),
                    },
                    _ => self.db_err(stack, in_use_by(&path)),
                });
            }
            Err(e) => return Err(self.db_err(stack, e)),
        };
        let db = Arc::new(db);
        let key = path.canonicalize().unwrap_or(key);
        shared.insert(key, Arc::downgrade(&db));
        open.insert(stack.to_string(), db.clone());
        Ok(Some(db))
    }

    fn load_sync(&self, stack: &str) -> Result<Option<StateDocument>, StateError> {
        let Some(db) = self.database(stack, false)? else {
            return Ok(None);
        };
        let location = self.db_path(stack).display().to_string();
        let txn = db.begin_read().map_err(|e| self.db_err(stack, e))?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.db_err(stack, e)),
        };
        let Some(header) = meta.get("header").map_err(|e| self.db_err(stack, e))? else {
            return Ok(None);
        };
        let header: Value =
            serde_json::from_slice(header.value()).map_err(|e| StateError::Corrupt {
                stack: stack.to_string(),
                location: location.clone(),
                reason: e.to_string(),
            })?;
        check_format(stack, &location, &header)?;
        let mut doc: StateDocument =
            serde_json::from_value(header).map_err(|e| StateError::Corrupt {
                stack: stack.to_string(),
                location: location.clone(),
                reason: e.to_string(),
            })?;
        if let Some(outputs) = meta.get("outputs").map_err(|e| self.db_err(stack, e))? {
            let outputs: Map<String, Value> =
                serde_json::from_slice(outputs.value()).map_err(|e| StateError::Corrupt {
                    stack: stack.to_string(),
                    location: location.clone(),
                    reason: format!("outputs: {e}"),
                })?;
            for (name, v) in outputs {
                let out = open_output(stack, &name, v, Some(&self.sealer))?;
                doc.outputs.insert(name, out);
            }
        }
        let resources = txn
            .open_table(RESOURCES)
            .map_err(|e| self.db_err(stack, e))?;
        for item in resources.iter().map_err(|e| self.db_err(stack, e))? {
            let (k, v) = item.map_err(|e| self.db_err(stack, e))?;
            let addr = k.value().to_string();
            let value: Value =
                serde_json::from_slice(v.value()).map_err(|e| StateError::Corrupt {
                    stack: stack.to_string(),
                    location: format!("{location} ({addr})"),
                    reason: e.to_string(),
                })?;
            let res = open_resource(stack, &addr, value, Some(&self.sealer))?;
            doc.resources.insert(addr, res);
        }
        Ok(Some(doc))
    }

    fn commit_sync(&self, stack: &str, delta: &StateDelta) -> Result<u64, StateError> {
        let db = self.database(stack, true)?.expect("created");
        let location = self.db_path(stack).display().to_string();
        let txn = db.begin_write().map_err(|e| self.db_err(stack, e))?;
        let new_serial;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.db_err(stack, e))?;
            let mut resources = txn
                .open_table(RESOURCES)
                .map_err(|e| self.db_err(stack, e))?;
            let mut history = txn.open_table(HISTORY).map_err(|e| self.db_err(stack, e))?;
            let current = meta
                .get("header")
                .map_err(|e| self.db_err(stack, e))?
                .map(|h| serde_json::from_slice::<Value>(h.value()));
            let mut header = match current {
                None => {
                    if delta.base_serial != 0 {
                        return Err(StateError::Conflict {
                            stack: stack.into(),
                            expected: delta.base_serial,
                            found: 0,
                        });
                    }
                    let mut doc = StateDocument::new(stack);
                    doc.lineage = delta.lineage;
                    header_of(&doc)
                }
                Some(Err(e)) => {
                    return Err(StateError::Corrupt {
                        stack: stack.into(),
                        location,
                        reason: e.to_string(),
                    });
                }
                Some(Ok(h)) => {
                    check_format(stack, &location, &h)?;
                    h
                }
            };
            let found_serial = header["serial"].as_u64().unwrap_or(0);
            let found_lineage = header["lineage"].as_str().unwrap_or_default().to_string();
            if found_lineage != delta.lineage.to_string() {
                return Err(StateError::LineageMismatch {
                    stack: stack.into(),
                    expected: delta.lineage.to_string(),
                    found: found_lineage,
                });
            }
            if found_serial != delta.base_serial {
                return Err(StateError::Conflict {
                    stack: stack.into(),
                    expected: delta.base_serial,
                    found: found_serial,
                });
            }
            new_serial = found_serial + 1;
            let sealed = self.seal_delta(stack, delta)?;
            if let Some(doc) = &delta.replace {
                resources
                    .retain(|_, _| false)
                    .map_err(|e| self.db_err(stack, e))?;
                for (addr, res) in &doc.resources {
                    let v = seal_resource(stack, addr, res, Some(&self.sealer))?;
                    resources
                        .insert(addr.as_str(), serde_json::to_vec(&v).unwrap().as_slice())
                        .map_err(|e| self.db_err(stack, e))?;
                }
                let outputs = self.seal_outputs(stack, &doc.outputs)?;
                meta.insert("outputs", serde_json::to_vec(&outputs).unwrap().as_slice())
                    .map_err(|e| self.db_err(stack, e))?;
            }
            for addr in &delta.removals {
                resources
                    .remove(addr.as_str())
                    .map_err(|e| self.db_err(stack, e))?;
            }
            for (addr, v) in sealed["upserts"].as_object().into_iter().flatten() {
                resources
                    .insert(addr.as_str(), serde_json::to_vec(v).unwrap().as_slice())
                    .map_err(|e| self.db_err(stack, e))?;
            }
            if let Some(outputs) = sealed.get("outputs") {
                meta.insert("outputs", serde_json::to_vec(outputs).unwrap().as_slice())
                    .map_err(|e| self.db_err(stack, e))?;
            }
            header["serial"] = json!(new_serial);
            header["format_version"] = json!(FORMAT_VERSION);
            header["engine_version"] = json!(env!("CARGO_PKG_VERSION"));
            meta.insert("header", serde_json::to_vec(&header).unwrap().as_slice())
                .map_err(|e| self.db_err(stack, e))?;
            let entry = json!({
                "time": Utc::now(),
                "reason": delta.reason,
                "delta": sealed,
            });
            history
                .insert(new_serial, serde_json::to_vec(&entry).unwrap().as_slice())
                .map_err(|e| self.db_err(stack, e))?;
        }
        txn.commit().map_err(|e| self.db_err(stack, e))?;
        Ok(new_serial)
    }

    fn seal_outputs(
        &self,
        stack: &str,
        outputs: &std::collections::BTreeMap<String, crate::OutputState>,
    ) -> Result<Value, StateError> {
        let mut m = Map::new();
        for (name, out) in outputs {
            m.insert(
                name.clone(),
                seal_output(stack, name, out, Some(&self.sealer))?,
            );
        }
        Ok(Value::Object(m))
    }

    /// The delta as stored in history: every sensitive value sealed.
    fn seal_delta(&self, stack: &str, delta: &StateDelta) -> Result<Value, StateError> {
        let mut upserts = Map::new();
        for (addr, res) in &delta.upserts {
            upserts.insert(
                addr.clone(),
                seal_resource(stack, addr, res, Some(&self.sealer))?,
            );
        }
        let mut v = json!({
            "lineage": delta.lineage,
            "base_serial": delta.base_serial,
            "upserts": upserts,
            "removals": delta.removals,
        });
        if let Some(outputs) = &delta.outputs {
            v["outputs"] = self.seal_outputs(stack, outputs)?;
        }
        if let Some(doc) = &delta.replace {
            let bytes = crate::encode_document(doc, Some(&self.sealer))?;
            v["replace"] = serde_json::from_slice(&bytes).expect("encoded document is JSON");
        }
        Ok(v)
    }

    fn history_sync(&self, stack: &str) -> Result<Vec<(u64, Value)>, StateError> {
        let Some(db) = self.database(stack, false)? else {
            return Err(StateError::NoState(stack.to_string()));
        };
        let txn = db.begin_read().map_err(|e| self.db_err(stack, e))?;
        let table = match txn.open_table(HISTORY) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![]),
            Err(e) => return Err(self.db_err(stack, e)),
        };
        let mut out = vec![];
        for item in table.iter().map_err(|e| self.db_err(stack, e))? {
            let (k, v) = item.map_err(|e| self.db_err(stack, e))?;
            let value: Value =
                serde_json::from_slice(v.value()).map_err(|e| StateError::Corrupt {
                    stack: stack.into(),
                    location: format!("history {}", k.value()),
                    reason: e.to_string(),
                })?;
            out.push((k.value(), value));
        }
        Ok(out)
    }
}

fn header_of(doc: &StateDocument) -> Value {
    json!({
        "format_version": doc.format_version,
        "lineage": doc.lineage,
        "serial": doc.serial,
        "stack": doc.stack,
        "engine_version": doc.engine_version,
    })
}

/// Who has `path` open, for the error of a database opened by a process without a lock
/// record (a read): its pid and command line, found in `/proc` where there is one.
fn in_use_by(path: &Path) -> String {
    let holders = holders_of(path);
    if holders.is_empty() {
        return "in use by another kapstan process that holds no lock (a read such as `kapstan output`); retry when it has finished".into();
    }
    format!(
        "in use by {} (it holds no lock: a read); retry when it has finished",
        holders.join(", ")
    )
}

/// `pid N (COMMAND LINE)` of every other process with `path` open (Linux `/proc`; empty
/// elsewhere).
fn holders_of(path: &Path) -> Vec<String> {
    let Ok(target) = path.canonicalize() else {
        return Vec::new();
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target))
        {
            let cmdline = std::fs::read(entry.path().join("cmdline"))
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .split('\0')
                        .filter(|a| !a.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            found.push(format!("pid {pid} (`{cmdline}`)"));
        }
    }
    found
}

fn read_lock(path: &Path) -> Result<Option<LockInfo>, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                stack: path.display().to_string(),
                location: path.display().to_string(),
                reason: format!("lock record: {e}; remove it with `kapstan state unlock`"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io {
            action: "reading",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[async_trait]
impl StateStore for LocalStore {
    fn location(&self) -> String {
        format!("local {}", self.dir().display())
    }

    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        let mut out = vec![];
        let dir = self.dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => {
                return Err(StateError::Io {
                    action: "listing",
                    path: dir,
                    source,
                });
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stack) = name.strip_suffix(".redb") {
                out.push(stack.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    async fn load(&self, stack: &str) -> Result<Option<StateDocument>, StateError> {
        tokio::task::block_in_place(|| self.load_sync(stack))
    }

    async fn commit(&self, stack: &str, delta: StateDelta) -> Result<u64, StateError> {
        tokio::task::block_in_place(|| self.commit_sync(stack, &delta))
    }

    async fn lock(&self, stack: &str, operation: &str) -> Result<LockInfo, StateError> {
        validate_stack_name(stack)?;
        let path = self.lock_path(stack);
        std::fs::create_dir_all(self.dir()).map_err(|source| StateError::Io {
            action: "creating",
            path: self.dir(),
            source,
        })?;
        let info = LockInfo::for_this_process(operation);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    use std::io::Write;
                    file.write_all(&serde_json::to_vec_pretty(&info).unwrap())
                        .and_then(|_| file.sync_all())
                        .map_err(|source| StateError::Io {
                            action: "writing",
                            path: path.clone(),
                            source,
                        })?;
                    // Opening the database now also takes redb's own file lock, so a process
                    // that ignores lock records still cannot write underneath us.
                    if let Err(e) = self.database(stack, true) {
                        let _ = std::fs::remove_file(&path);
                        return Err(e);
                    }
                    return Ok(info);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let held = read_lock(&path)?;
                    match held {
                        Some(holder) if holder.holder_is_gone() => {
                            tracing::warn!(
                                stack,
                                pid = holder.pid,
                                "taking over a stale lock left by a process that is gone"
                            );
                            let _ = std::fs::remove_file(&path);
                        }
                        Some(holder) => {
                            return Err(StateError::Locked {
                                stack: stack.into(),
                                holder: Box::new(holder),
                            });
                        }
                        None => {}
                    }
                }
                Err(source) => {
                    return Err(StateError::Io {
                        action: "creating",
                        path,
                        source,
                    });
                }
            }
        }
        Err(StateError::Io {
            action: "creating",
            path,
            source: std::io::Error::other("lock file keeps reappearing"),
        })
    }

    async fn unlock(&self, stack: &str, lock: &LockInfo) -> Result<(), StateError> {
        let path = self.lock_path(stack);
        if let Some(held) = read_lock(&path)?
            && held.id == lock.id
        {
            std::fs::remove_file(&path).map_err(|source| StateError::Io {
                action: "removing",
                path,
                source,
            })?;
        }
        Ok(())
    }

    async fn force_unlock(&self, stack: &str) -> Result<Option<LockInfo>, StateError> {
        let path = self.lock_path(stack);
        let held = read_lock(&path).unwrap_or(None);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(held),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                action: "removing",
                path,
                source,
            }),
        }
    }

    async fn current_lock(&self, stack: &str) -> Result<Option<LockInfo>, StateError> {
        read_lock(&self.lock_path(stack))
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        let raw = tokio::task::block_in_place(|| self.history_sync(stack))?;
        Ok(raw
            .into_iter()
            .map(|(serial, v)| HistoryEntry {
                serial,
                time: serde_json::from_value(v["time"].clone()).unwrap_or_else(|_| Utc::now()),
                reason: v["reason"].as_str().unwrap_or_default().to_string(),
                changed: v["delta"]["upserts"].as_object().map_or(0, Map::len)
                    + usize::from(v["delta"].get("replace").is_some()),
                removed: v["delta"]["removals"].as_array().map_or(0, Vec::len),
            })
            .collect())
    }

    async fn version(&self, stack: &str, serial: u64) -> Result<StateDocument, StateError> {
        let raw = tokio::task::block_in_place(|| self.history_sync(stack))?;
        if !raw.iter().any(|(s, _)| *s == serial) {
            return Err(StateError::NoSuchVersion {
                stack: stack.into(),
                serial,
            });
        }
        let mut doc = StateDocument::new(stack);
        for (s, entry) in raw.into_iter().take_while(|(s, _)| *s <= serial) {
            let delta = &entry["delta"];
            if let Some(lineage) = delta["lineage"].as_str().and_then(|l| l.parse().ok()) {
                doc.lineage = lineage;
            }
            if let Some(replace) = delta.get("replace") {
                let bytes = serde_json::to_vec(replace).unwrap();
                let location = format!("history {s}");
                doc = crate::decode_document(stack, &location, &bytes, Some(&self.sealer))?;
            }
            for addr in delta["removals"].as_array().into_iter().flatten() {
                if let Some(a) = addr.as_str() {
                    doc.resources.remove(a);
                }
            }
            for (addr, v) in delta["upserts"].as_object().into_iter().flatten() {
                let res = open_resource(stack, addr, v.clone(), Some(&self.sealer))?;
                doc.resources.insert(addr.clone(), res);
            }
            if let Some(outputs) = delta.get("outputs").and_then(Value::as_object) {
                doc.outputs.clear();
                for (name, v) in outputs {
                    doc.outputs.insert(
                        name.clone(),
                        open_output(stack, name, v.clone(), Some(&self.sealer))?,
                    );
                }
            }
            doc.serial = s;
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_database_held_without_a_lock_names_the_process_holding_it() {
        let dir = std::env::temp_dir().join(format!("kapstan-holder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("stack.redb");
        std::fs::write(&file, b"x").unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec 3<'{}'; echo ready; sleep 10", file.display()))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut ready,
        )
        .unwrap();
        let message = in_use_by(&file);
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            message.contains(&format!("pid {}", child.id())),
            "{message}"
        );
    }
}
