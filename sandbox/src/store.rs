//! The sandbox's object store: every emulated resource as a JSON body plus a status timeline.
//!
//! Statuses are never advanced by background tasks: a record carries a timeline of
//! `(status, at)` steps scheduled when it is mutated, and its current status is the last step
//! whose time has passed. That keeps the store a plain document, trivially persisted and
//! restored across restarts, with transitions that keep running while the sandbox is down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::SandboxError;

/// Timeline status meaning the object no longer exists (reads return 404).
pub const GONE: &str = "__gone";

/// One scheduled status of a record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Status reported from `at` on.
    pub status: String,
    /// When this status starts.
    pub at: DateTime<Utc>,
}

/// A parent link: the record is removed when its parent disappears.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Parent {
    /// Kind of the parent record.
    pub kind: String,
    /// Id of the parent record.
    pub id: String,
}

/// One emulated object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Kind, e.g. `k8s.cluster`.
    pub kind: String,
    /// Store key (the API id, or a composite key for name-keyed objects).
    pub id: String,
    /// Creation order, for `created_at_asc` listing.
    pub seq: u64,
    /// Owner whose removal removes this record.
    #[serde(default)]
    pub parent: Option<Parent>,
    /// The wire object without its computed `status`.
    pub body: Value,
    /// Status schedule; empty for objects without a status.
    #[serde(default)]
    pub timeline: Vec<Step>,
    /// Sandbox-private data that is never rendered.
    #[serde(default)]
    pub extra: Value,
}

impl Record {
    /// Current status, or `""` for objects without a status.
    pub fn status(&self, now: DateTime<Utc>) -> &str {
        self.current_step(now)
            .map(|s| s.status.as_str())
            .unwrap_or("")
    }

    fn current_step(&self, now: DateTime<Utc>) -> Option<&Step> {
        self.timeline
            .iter()
            .filter(|s| s.at <= now)
            .max_by_key(|s| s.at)
    }

    /// Time of the last status change that already happened.
    pub fn status_changed_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.current_step(now).map(|s| s.at)
    }

    /// True once the record's deletion has completed.
    pub fn is_gone(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == GONE
    }

    /// Replaces the timeline with `steps`, each given as `(status, at)`.
    pub fn schedule(&mut self, steps: &[(&str, DateTime<Utc>)]) {
        self.timeline = steps
            .iter()
            .map(|(status, at)| Step {
                status: (*status).to_string(),
                at: *at,
            })
            .collect();
    }

    /// Field of the body as a string (empty when absent).
    pub fn str(&self, key: &str) -> &str {
        self.body.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Mutable body object.
    pub fn obj(&mut self) -> &mut serde_json::Map<String, Value> {
        if !self.body.is_object() {
            self.body = Value::Object(Default::default());
        }
        self.body.as_object_mut().expect("body is an object")
    }
}

/// All records, by kind then key.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    /// Format version of the persisted document.
    #[serde(default = "format_version")]
    pub version: u32,
    seq: u64,
    records: BTreeMap<String, BTreeMap<String, Record>>,
}

fn format_version() -> u32 {
    1
}

const FORMAT_VERSION: u32 = 1;

/// Name of the state file inside the data directory.
pub const STATE_FILE: &str = "sandbox-state.json";

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            version: FORMAT_VERSION,
            ..Default::default()
        }
    }

    /// Inserts a new record and returns it.
    pub fn insert(
        &mut self,
        kind: &str,
        id: &str,
        parent: Option<Parent>,
        body: Value,
        timeline: &[(&str, DateTime<Utc>)],
    ) -> &mut Record {
        self.seq += 1;
        let mut rec = Record {
            kind: kind.to_string(),
            id: id.to_string(),
            seq: self.seq,
            parent,
            body,
            timeline: vec![],
            extra: Value::Null,
        };
        rec.schedule(timeline);
        let map = self.records.entry(kind.to_string()).or_default();
        map.insert(id.to_string(), rec);
        map.get_mut(id).expect("just inserted")
    }

    /// A live record.
    pub fn get(&self, kind: &str, id: &str, now: DateTime<Utc>) -> Option<&Record> {
        self.records
            .get(kind)
            .and_then(|m| m.get(id))
            .filter(|r| !r.is_gone(now))
    }

    /// A live record, mutable.
    pub fn get_mut(&mut self, kind: &str, id: &str, now: DateTime<Utc>) -> Option<&mut Record> {
        self.records
            .get_mut(kind)
            .and_then(|m| m.get_mut(id))
            .filter(|r| !r.is_gone(now))
    }

    /// Live records of a kind, in creation order.
    pub fn list(&self, kind: &str, now: DateTime<Utc>) -> Vec<&Record> {
        let mut out: Vec<&Record> = self
            .records
            .get(kind)
            .map(|m| m.values().filter(|r| !r.is_gone(now)).collect())
            .unwrap_or_default();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Live children of a record.
    pub fn children(
        &self,
        kind: &str,
        parent_kind: &str,
        parent_id: &str,
        now: DateTime<Utc>,
    ) -> Vec<&Record> {
        self.list(kind, now)
            .into_iter()
            .filter(|r| {
                r.parent
                    .as_ref()
                    .is_some_and(|p| p.kind == parent_kind && p.id == parent_id)
            })
            .collect()
    }

    /// Removes a record immediately.
    pub fn remove(&mut self, kind: &str, id: &str) -> Option<Record> {
        self.records.get_mut(kind).and_then(|m| m.remove(id))
    }

    /// Drops records whose deletion completed and, transitively, records whose parent is gone.
    pub fn purge(&mut self, now: DateTime<Utc>) {
        loop {
            let mut dead: Vec<(String, String)> = vec![];
            for (kind, map) in &self.records {
                for (id, rec) in map {
                    let orphan = rec.parent.as_ref().is_some_and(|p| {
                        self.records
                            .get(&p.kind)
                            .and_then(|m| m.get(&p.id))
                            .is_none_or(|parent| parent.is_gone(now))
                    });
                    if rec.is_gone(now) || orphan {
                        dead.push((kind.clone(), id.clone()));
                    }
                }
            }
            if dead.is_empty() {
                break;
            }
            for (kind, id) in dead {
                self.remove(&kind, &id);
            }
        }
        self.records.retain(|_, m| !m.is_empty());
    }

    /// Every live record, by kind.
    pub fn all(&self, now: DateTime<Utc>) -> BTreeMap<&str, Vec<&Record>> {
        let mut out = BTreeMap::new();
        for kind in self.records.keys() {
            let live = self.list(kind, now);
            if !live.is_empty() {
                out.insert(kind.as_str(), live);
            }
        }
        out
    }

    /// Path of the state file in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Loads the store from `dir`, or an empty one when no state file exists yet.
    pub fn load(dir: &Path) -> Result<Store, SandboxError> {
        let path = Self::path_in(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::new()),
            Err(source) => return Err(SandboxError::StateRead { path, source }),
        };
        let store: Store =
            serde_json::from_str(&text).map_err(|source| SandboxError::StateParse {
                path: path.clone(),
                source,
            })?;
        if store.version > FORMAT_VERSION {
            return Err(SandboxError::StateRead {
                source: std::io::Error::other(format!(
                    "state format {} is newer than this sandbox understands ({FORMAT_VERSION})",
                    store.version
                )),
                path,
            });
        }
        Ok(store)
    }

    /// Writes the store to `dir` atomically (temporary file, fsync, rename).
    pub fn save(&self, dir: &Path) -> Result<(), SandboxError> {
        use std::io::Write;
        let path = Self::path_in(dir);
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|source| SandboxError::StateWrite { path, source })
    }
}
