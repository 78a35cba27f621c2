//! The state document: what kapstan recorded about one stack.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The newest document format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The recorded state of one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateDocument {
    /// Document format; a newer one is refused.
    pub format_version: u32,
    /// Identity of this state, fixed when the stack is first saved.
    pub lineage: Uuid,
    /// Incremented on every save.
    pub serial: u64,
    /// The stack's name.
    pub stack: String,
    /// The kapstan version that wrote the document last.
    pub engine_version: String,
    /// Resources by address.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    /// Stack outputs by name.
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
}

impl StateDocument {
    /// A fresh, empty document with a new lineage at serial 0.
    pub fn new(stack: &str) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            lineage: Uuid::new_v4(),
            serial: 0,
            stack: stack.to_string(),
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// Applies a delta in memory (the stores do the same on disk).
    pub fn apply_delta(&mut self, delta: &StateDelta) {
        if let Some(doc) = &delta.replace {
            let serial = self.serial;
            *self = (**doc).clone();
            self.serial = serial;
        }
        for addr in &delta.removals {
            self.resources.remove(addr);
        }
        for (addr, res) in &delta.upserts {
            self.resources.insert(addr.clone(), res.clone());
        }
        if let Some(outputs) = &delta.outputs {
            self.outputs = outputs.clone();
        }
        self.serial += 1;
        self.engine_version = env!("CARGO_PKG_VERSION").to_string();
    }

    /// Whether any resource or output holds a sensitive value.
    pub fn has_secrets(&self) -> bool {
        self.resources.values().any(|r| !r.sensitive.is_empty())
            || self.outputs.values().any(|o| o.sensitive)
    }
}

/// What kapstan recorded about one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The resource kind, e.g. `scaleway_k8s_cluster`.
    pub kind: String,
    /// The provider's identifier, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The configuration last applied (references resolved).
    #[serde(default)]
    pub config: Value,
    /// The attributes last read or returned by the provider.
    #[serde(default)]
    pub attributes: Value,
    /// Addresses of the resources this one depends on directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Ready, pending or tainted.
    #[serde(default)]
    pub status: ResourceStatus,
    /// JSON pointers (rooted at the record: `/config/...`, `/attributes/...`) of sensitive values.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sensitive: BTreeSet<String>,
}

/// Where a resource stands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ResourceStatus {
    /// The last operation completed.
    #[default]
    Ready,
    /// An operation was started and has not been seen to finish (write-ahead intent).
    Pending(PendingOperation),
    /// The resource exists but is unsound (a failed create or update); it is replaced next time.
    Tainted {
        /// Why it was tainted.
        reason: String,
    },
}

/// A durable intent: an operation was (about to be) sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// What the driver recorded so far (for example the id returned by a create whose wait did
    /// not finish), so a later run resumes instead of repeating.
    #[serde(default)]
    pub marker: Value,
}

/// A recorded stack output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    /// The value (sealed on disk when sensitive).
    pub value: Value,
    /// Whether it is sensitive.
    #[serde(default)]
    pub sensitive: bool,
}

/// A change to one stack's state, committed atomically with compare-and-swap.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateDelta {
    /// Lineage the writer holds.
    pub lineage: Uuid,
    /// Serial the writer started from; the store refuses the delta if it differs.
    pub base_serial: u64,
    /// Resources written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub upserts: BTreeMap<String, ResourceState>,
    /// Resources removed.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub removals: BTreeSet<String>,
    /// New outputs, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<BTreeMap<String, OutputState>>,
    /// A whole document replacing the current one (push, rollback, restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<Box<StateDocument>>,
    /// Why: `apply`, `import`, `state mv`, `rollback to 3`, ...
    #[serde(default)]
    pub reason: String,
}

impl StateDelta {
    /// An empty delta on top of `doc`.
    pub fn on(doc: &StateDocument, reason: &str) -> Self {
        Self {
            lineage: doc.lineage,
            base_serial: doc.serial,
            reason: reason.to_string(),
            ..Self::default()
        }
    }

    /// Whether the delta changes nothing.
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty()
            && self.removals.is_empty()
            && self.outputs.is_none()
            && self.replace.is_none()
    }
}
