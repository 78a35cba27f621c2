//! The one error type of the state crate.

use std::path::PathBuf;

use crate::lock::LockInfo;

/// Everything that can go wrong while reading, writing or locking state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the lock of this stack.
    #[error(
        "state of stack `{stack}` is locked by {} (pid {}, host {}, operation `{}`, since {}); wait for it to finish, or run `kapstan state unlock --stack {stack}` if that process is gone",
        .holder.holder, .holder.pid, .holder.host, .holder.operation, .holder.created.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    Locked {
        /// The stack whose lock is held.
        stack: String,
        /// Who holds it.
        holder: Box<LockInfo>,
    },
    /// Somebody else saved this stack since it was loaded: the write was refused.
    #[error(
        "state of stack `{stack}` changed underneath us: expected serial {expected}, found {found}; nothing was overwritten, run the command again"
    )]
    Conflict {
        /// The stack.
        stack: String,
        /// The serial this writer started from.
        expected: u64,
        /// The serial found in the store.
        found: u64,
    },
    /// The lineage of a write does not match the stored document.
    #[error(
        "state of stack `{stack}` has lineage {found}, not {expected}: it is another state; refusing to overwrite it (use --force to replace it on purpose)"
    )]
    LineageMismatch {
        /// The stack.
        stack: String,
        /// Lineage the writer holds.
        expected: String,
        /// Lineage found in the store.
        found: String,
    },
    /// The stored document was written by a newer kapstan.
    #[error(
        "state of stack `{stack}` has format version {found}, newer than this kapstan understands ({supported}); upgrade kapstan, nothing was changed"
    )]
    NewerFormat {
        /// The stack.
        stack: String,
        /// Version found.
        found: u32,
        /// Highest version this build reads.
        supported: u32,
    },
    /// The stored document cannot be parsed.
    #[error(
        "state of stack `{stack}` at {location} cannot be read: {reason}; it was left untouched, restore it with `kapstan state rollback` or `kapstan state push`"
    )]
    Corrupt {
        /// The stack.
        stack: String,
        /// Where it is stored.
        location: String,
        /// What the parser said.
        reason: String,
    },
    /// The stack has no state yet.
    #[error("stack `{0}` has no state yet; run `kapstan apply --stack {0}` first")]
    NoState(String),
    /// A serial asked for is not in the history.
    #[error("stack `{stack}` has no version with serial {serial} in its history")]
    NoSuchVersion {
        /// The stack.
        stack: String,
        /// The serial asked for.
        serial: u64,
    },
    /// A sealed value could not be opened with the key at hand.
    #[error(
        "the state key does not open the secrets of stack `{stack}` (key fingerprint {found}, state sealed with {expected}); set KAPSTAN_STATE_KEY or KAPSTAN_STATE_PASSPHRASE to the key it was written with"
    )]
    WrongKey {
        /// The stack.
        stack: String,
        /// Fingerprint the document was sealed with.
        expected: String,
        /// Fingerprint of the key at hand.
        found: String,
    },
    /// The state holds secrets but no key is configured.
    #[error(
        "state of stack `{stack}` holds sensitive values but no state key is configured; set KAPSTAN_STATE_KEY (base64 of 32 bytes) or KAPSTAN_STATE_PASSPHRASE"
    )]
    KeyRequired {
        /// The stack.
        stack: String,
    },
    /// The state key given is malformed.
    #[error("{variable} is not valid: {reason}")]
    BadKey {
        /// Which variable or file held it.
        variable: String,
        /// What is wrong.
        reason: String,
    },
    /// Sealing or opening failed for another reason.
    #[error("cannot {action} a sensitive value of `{address}`: {reason}")]
    Seal {
        /// seal or open.
        action: &'static str,
        /// The resource address.
        address: String,
        /// Why.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The embedded database failed.
    #[error("state database {path}: {reason}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The database error.
        reason: String,
    },
    /// A remote store failed.
    #[error("state store {location}: {reason}")]
    Remote {
        /// The store location.
        location: String,
        /// What happened.
        reason: String,
    },
    /// The store does not enforce conditional writes, so it cannot be locked safely.
    #[error(
        "state store {location} does not enforce conditional writes ({detail}): two runs could both take the lock or overwrite each other's state, so kapstan refuses to lock it; use an S3 service that enforces If-None-Match/If-Match (Scaleway Object Storage, AWS S3), or set `lock = false` under [state] (`?lock=false` in KAPSTAN_STATE / --state) to run without locking at your own risk"
    )]
    UnsafeStore {
        /// The store location.
        location: String,
        /// Which check failed.
        detail: String,
    },
    /// The lock this process held was lost (lease ran out, taken over or force-unlocked).
    #[error(
        "lost the lock of stack `{stack}`: {reason}; nothing more was saved, run the command again"
    )]
    LockLost {
        /// The stack.
        stack: String,
        /// What happened.
        reason: String,
    },
    /// The store configuration is invalid.
    #[error("state configuration: {0}")]
    Config(String),
}
