//! Lock records: who holds a stack, and whether that holder is still alive.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A lock on one stack's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Unique id of this lock.
    pub id: Uuid,
    /// `user@host` of the holder.
    pub holder: String,
    /// Process id of the holder.
    pub pid: u32,
    /// Host name of the holder.
    pub host: String,
    /// What the holder is doing (`apply`, `plan`, `destroy`, `state mv`, ...).
    pub operation: String,
    /// When the lock was taken.
    pub created: DateTime<Utc>,
    /// For leased locks (remote stores): when the lease runs out unless renewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

impl LockInfo {
    /// A lock record for this process.
    pub fn for_this_process(operation: &str) -> Self {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Self {
            id: Uuid::new_v4(),
            holder: format!("{user}@{host}"),
            pid: std::process::id(),
            host,
            operation: operation.to_string(),
            created: Utc::now(),
            expires: None,
        }
    }

    /// Whether the holder is a process of this host that no longer runs.
    ///
    /// Only a same-host holder can be judged: a lock from another machine is never stale by
    /// this test (remote stores use lease expiry instead).
    pub fn holder_is_gone(&self) -> bool {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        host == self.host && !process_alive(self.pid)
    }

    /// Whether a lease was set and has run out.
    pub fn lease_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|e| e < now)
    }
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        // A zombie still has a /proc entry; only a running or sleeping process holds a lock.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    } else {
        // Without a portable liveness check, assume alive: staleness is then resolved by
        // `kapstan state unlock`.
        true
    }
}
