//! The `StateStore` trait every backend implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{LockInfo, StateDelta, StateDocument, StateError};

/// One saved version of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The serial this save produced.
    pub serial: u64,
    /// When.
    pub time: DateTime<Utc>,
    /// Why (`apply`, `state mv`, ...).
    pub reason: String,
    /// Resources written by this save.
    pub changed: usize,
    /// Resources removed by this save.
    pub removed: usize,
}

/// A place where stacks' state lives.
///
/// Every implementation guarantees: a commit is atomic; a commit whose `base_serial` or lineage
/// does not match the stored document is refused (`Conflict`, `LineageMismatch`) and changes
/// nothing; an unreadable or newer document is reported and never overwritten; sensitive values
/// are sealed before they leave the process.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// A human description of where state lives (`local .kapstan/state`, `s3://bucket/prefix`).
    fn location(&self) -> String;

    /// Stacks that have state in this store.
    async fn list_stacks(&self) -> Result<Vec<String>, StateError>;

    /// Loads the current document, `None` when the stack has never been saved.
    async fn load(&self, stack: &str) -> Result<Option<StateDocument>, StateError>;

    /// Commits a delta atomically with compare-and-swap on serial and lineage; returns the new
    /// serial.
    async fn commit(&self, stack: &str, delta: StateDelta) -> Result<u64, StateError>;

    /// Takes the stack's lock for `operation`, or fails naming the holder.
    async fn lock(&self, stack: &str, operation: &str) -> Result<LockInfo, StateError>;

    /// Releases a lock this process holds.
    async fn unlock(&self, stack: &str, lock: &LockInfo) -> Result<(), StateError>;

    /// Removes whatever lock is held, returning it.
    async fn force_unlock(&self, stack: &str) -> Result<Option<LockInfo>, StateError>;

    /// The lock currently held, if any.
    async fn current_lock(&self, stack: &str) -> Result<Option<LockInfo>, StateError>;

    /// Saved versions, oldest first.
    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError>;

    /// The document as it was after the save that produced `serial`.
    async fn version(&self, stack: &str, serial: u64) -> Result<StateDocument, StateError>;
}

/// Stack names become file names and key segments: keep them to a safe alphabet.
pub(crate) fn validate_stack_name(stack: &str) -> Result<(), StateError> {
    let ok = !stack.is_empty()
        && stack.len() <= 100
        && stack
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !stack.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(StateError::Config(format!(
            "stack name `{stack}` is not valid: use letters, digits, `-`, `_` and `.` (not first), at most 100 characters"
        )))
    }
}
