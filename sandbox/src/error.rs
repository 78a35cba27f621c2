//! The crate's error type: everything that can go wrong starting, running or persisting a sandbox.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors returned by the sandbox's public API.
///
/// API-level failures (404s, 409s, …) are not errors of the sandbox: they are HTTP responses
/// served to clients, see the per-API modules.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// An item of a `--faults` specification could not be understood.
    #[error("invalid fault spec item `{item}`: {reason}")]
    InvalidFaultSpec {
        /// The offending `key=value` item, verbatim.
        item: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An option of [`crate::SandboxOptions`] is out of range.
    #[error("invalid sandbox option `{name}`: {reason}")]
    InvalidOption {
        /// The option's name, as spelled on the command line.
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The sandbox only serves loopback clients.
    #[error("refusing to listen on {addr}: the sandbox only listens on 127.0.0.1")]
    NotLoopback {
        /// The address that was asked for.
        addr: SocketAddr,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Reading the persisted state failed.
    #[error("cannot read sandbox state {path}: {source}")]
    StateRead {
        /// The state file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The persisted state is not a sandbox state document this version understands.
    #[error("sandbox state {path} is not readable: {source}")]
    StateParse {
        /// The state file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// Writing the persisted state failed.
    #[error("cannot write sandbox state {path}: {source}")]
    StateWrite {
        /// The state file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Waiting for Ctrl-C failed.
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(std::io::Error),
}
