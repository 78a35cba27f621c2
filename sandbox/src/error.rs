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
    /// A set-up call of [`crate::testing`] was refused by the sandbox's own API.
    #[error("sandbox set-up `{method} {path}` answered {status}: {body}")]
    Setup {
        /// The HTTP method of the call.
        method: &'static str,
        /// The API path of the call.
        path: String,
        /// The status the sandbox answered (0 when the answer could not be read).
        status: u16,
        /// The answer's body, verbatim.
        body: String,
    },
    /// Waiting for Ctrl-C failed.
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(std::io::Error),
}
