//! The state store of a plan whose local store does not exist yet: empty, and it writes
//! nothing (no directory, no key file, no lock file), because a plan never writes.

use std::path::PathBuf;

use async_trait::async_trait;
use kapstan_state::{HistoryEntry, LockInfo, StateDelta, StateDocument, StateError, StateStore};

/// A local store directory that has not been created: every stack is without state.
pub struct UnwrittenStore {
    /// The directory the first apply will create.
    pub dir: PathBuf,
}

#[async_trait]
impl StateStore for UnwrittenStore {
    fn location(&self) -> String {
        format!("local {} (not created yet)", self.dir.display())
    }

    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        Ok(Vec::new())
    }

    async fn load(&self, _stack: &str) -> Result<Option<StateDocument>, StateError> {
        Ok(None)
    }

    async fn commit(&self, _stack: &str, _delta: StateDelta) -> Result<u64, StateError> {
        Err(StateError::Config(format!(
            "{} is opened for planning only; nothing is written by a plan",
            self.dir.display()
        )))
    }

    async fn lock(&self, _stack: &str, operation: &str) -> Result<LockInfo, StateError> {
        // Nobody can hold a lock in a store that does not exist.
        Ok(LockInfo::for_this_process(operation))
    }

    async fn unlock(&self, _stack: &str, _lock: &LockInfo) -> Result<(), StateError> {
        Ok(())
    }

    async fn force_unlock(&self, _stack: &str) -> Result<Option<LockInfo>, StateError> {
        Ok(None)
    }

    async fn current_lock(&self, _stack: &str) -> Result<Option<LockInfo>, StateError> {
        Ok(None)
    }

    async fn history(&self, _stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        Ok(Vec::new())
    }

    async fn version(&self, stack: &str, _serial: u64) -> Result<StateDocument, StateError> {
        Err(StateError::NoState(stack.to_string()))
    }
}
