//! A plan: what apply will do, resource by resource, with drift reported apart.
//!
//! Every value in the public fields of a plan is already redacted: a plan can be printed,
//! saved or serialized without leaking a secret. What apply needs in clear (the stack's
//! templates and the prior state) lives in the runtime part, which is never serialized.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kapstan_state::StateDocument;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::dsl::StackSpec;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing.
    NoOp,
    /// Create a new object.
    Create,
    /// Update in place.
    Update,
    /// Delete and create again (or create first, with `create_before_destroy`).
    Replace,
    /// Delete.
    Delete,
}

impl Action {
    /// The symbol shown in plans (`+`, `~`, `-/+`, `-`).
    pub fn symbol(self, create_before_destroy: bool) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace if create_before_destroy => "+/-",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
    /// The verb (`create`, `update`, ...).
    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// JSON pointer into the config (`/node_type`).
    pub path: String,
    /// Value before (redacted when sensitive).
    pub before: Option<Value>,
    /// Value after (redacted when sensitive; `{"$unknown": true}` when known after apply).
    pub after: Option<Value>,
    /// Whether this change alone forces replacement.
    #[serde(default)]
    pub forces_replacement: bool,
    /// Whether the value is sensitive.
    #[serde(default)]
    pub sensitive: bool,
}

/// The planned change of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// Address.
    pub address: String,
    /// Kind.
    pub kind: String,
    /// What happens.
    pub action: Action,
    /// For a replacement: the new object is created before the old one is deleted.
    #[serde(default)]
    pub create_before_destroy: bool,
    /// Why (the field forcing a replacement, a resumed create, an object deleted outside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Field-level changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Config before (redacted).
    pub before: Option<Value>,
    /// Config after (redacted, unknown markers kept).
    pub after: Option<Value>,
    /// Pointers of sensitive values before.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub before_sensitive: BTreeSet<String>,
    /// Pointers of sensitive values after.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub after_sensitive: BTreeSet<String>,
    /// Direct dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// An interrupted create is resumed rather than repeated.
    #[serde(default)]
    pub resume: bool,
    /// What the change does to the objects the resource manages (e.g. the Kubernetes objects
    /// of a Helm release), from the planner's describe step: names and paths only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ObjectChange>,
}

/// The planned change of one object a resource manages (a Kubernetes object a Helm release
/// renders, ...), as [`crate::Driver::describe`] reports it. It holds names and paths, never
/// values, so it is redacted by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectChange {
    /// `create`, `update` or `delete`; `no-op` marks a note (see [`ObjectChange::note`]).
    pub action: Action,
    /// The object, e.g. `apps/v1 Deployment coder/coder`; for a note, its text.
    pub name: String,
    /// Changed paths (`spec.replicas`), when the driver knows them; never values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl ObjectChange {
    /// An object that will be created.
    pub fn create(name: impl Into<String>) -> Self {
        Self::new(Action::Create, name, vec![])
    }
    /// An object that will be updated, with the paths that change (empty when unknown).
    pub fn update(name: impl Into<String>, fields: Vec<String>) -> Self {
        Self::new(Action::Update, name, fields)
    }
    /// An object that will be deleted.
    pub fn delete(name: impl Into<String>) -> Self {
        Self::new(Action::Delete, name, vec![])
    }
    /// A note instead of object changes: why the objects are not listed (known only after
    /// apply, or the reason they could not be described).
    pub fn note(text: impl Into<String>) -> Self {
        Self::new(Action::NoOp, text, vec![])
    }
    /// Whether this is a note rather than an object.
    pub fn is_note(&self) -> bool {
        self.action == Action::NoOp
    }
    fn new(action: Action, name: impl Into<String>, fields: Vec<String>) -> Self {
        Self {
            action,
            name: name.into(),
            fields,
        }
    }
}

/// A difference between what was recorded and what is live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Address.
    pub address: String,
    /// Kind.
    pub kind: String,
    /// The object is gone.
    pub deleted: bool,
    /// Fields that differ (redacted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// The planned change of one stack output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    /// Output name.
    pub name: String,
    /// What happens.
    pub action: Action,
    /// Value before (redacted).
    pub before: Option<Value>,
    /// Value after (redacted, or unknown).
    pub after: Option<Value>,
    /// Whether it is sensitive.
    pub sensitive: bool,
}

/// What kind of plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    /// Converge on the declared stack.
    #[default]
    Normal,
    /// Delete everything recorded.
    Destroy,
    /// Only record live attributes; change nothing.
    RefreshOnly,
}

/// A plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The stack.
    pub stack: String,
    /// Lineage of the state planned against.
    pub lineage: Uuid,
    /// Serial of the state planned against.
    pub base_serial: u64,
    /// Mode.
    pub mode: PlanMode,
    /// sha256 of the declared stack.
    pub config_hash: String,
    /// Every declared or recorded resource, by address.
    pub changes: Vec<ResourceChange>,
    /// Live differences from what was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// Output changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputChange>,
    #[serde(skip)]
    pub(crate) runtime: Option<Arc<PlanRuntime>>,
}

/// What apply needs in clear; never serialized.
#[derive(Debug)]
pub(crate) struct PlanRuntime {
    pub prior: StateDocument,
    /// Shared with the caller when it handed the stack over (see [`crate::IntoStackSpec`]).
    pub spec: Arc<StackSpec>,
    pub stack_outputs: BTreeMap<(String, String), (Value, bool)>,
    pub live: BTreeMap<String, Option<Value>>,
}

impl Plan {
    /// Changes other than no-ops.
    pub fn actionable(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| c.action != Action::NoOp)
    }

    /// Whether applying would change anything (resources, outputs, or recorded attributes in
    /// refresh-only mode).
    pub fn has_changes(&self) -> bool {
        match self.mode {
            PlanMode::RefreshOnly => !self.drift.is_empty(),
            _ => {
                self.actionable().next().is_some()
                    || self.outputs.iter().any(|o| o.action != Action::NoOp)
            }
        }
    }

    /// Counts of (create, update, replace, delete).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for ch in self.actionable() {
            match ch.action {
                Action::Create => c.0 += 1,
                Action::Update => c.1 += 1,
                Action::Replace => c.2 += 1,
                Action::Delete => c.3 += 1,
                Action::NoOp => {}
            }
        }
        c
    }
}
