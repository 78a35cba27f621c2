//! The one error type of the platform operations: what failed, with its source kept, and for
//! the user's mistakes the fix.

use kapstan_engine::EngineError;
use kapstan_state::StateError;

/// What a platform operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// State failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A stack could not be found or built.
    #[error(transparent)]
    Stack(#[from] kapstan_stacks::StackError),
    /// The input is wrong (or the environment is not in the state the operation needs).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: Option<String>,
    },
    /// Some operations of an apply failed.
    #[error(
        "apply finished with {failed} failed and {skipped} skipped operation(s); state records everything that was done, run `kapstan apply` again after fixing the cause"
    )]
    ApplyFailed {
        /// Failed operations.
        failed: usize,
        /// Skipped operations.
        skipped: usize,
    },
    /// Interrupted (Ctrl-C).
    #[error(
        "interrupted: in-flight operations were {state}; state is saved, run `{resume}` to finish"
    )]
    Interrupted {
        /// `finished` or `abandoned`.
        state: &'static str,
        /// The command that resumes the run.
        resume: String,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox failed.
    #[error("sandbox: {0}")]
    Sandbox(String),
    /// A Coder upgrade did not come up healthy; the backup made before it and the rollback.
    #[error("{0}")]
    UpgradeFailed(Box<crate::upgrade::UpgradeFailure>),
}

impl PlatformError {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    /// The error of an interrupted apply, naming the command that resumes it.
    pub fn interrupted(report: &kapstan_engine::ApplyReport, resume: String) -> Self {
        Self::Interrupted {
            state: if report.failed.is_empty() {
                "finished"
            } else {
                "abandoned"
            },
            resume,
        }
    }

    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_string(),
            source,
        }
    }
}
