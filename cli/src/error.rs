//! The CLI's errors, rendered with miette: every library error becomes a diagnostic with a
//! code and, where one helps, a hint.

use kapstan_engine::EngineError;
use kapstan_state::StateError;
use miette::Diagnostic;

/// What a command can fail with.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CliError {
    /// The engine refused or failed.
    #[error(transparent)]
    #[diagnostic(code(kapstan::engine))]
    Engine(#[from] EngineError),
    /// State failed.
    #[error(transparent)]
    #[diagnostic(code(kapstan::state))]
    State(#[from] StateError),
    /// A stack could not be found or built.
    #[error(transparent)]
    #[diagnostic(code(kapstan::stack))]
    Stack(#[from] kapstan_stacks::StackError),
    /// The user's input is wrong.
    #[error("{message}")]
    #[diagnostic(code(kapstan::usage))]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },
    /// Some operations of an apply failed.
    #[error(
        "apply finished with {failed} failed and {skipped} skipped operation(s); state records everything that was done, run `kapstan apply` again after fixing the cause"
    )]
    #[diagnostic(code(kapstan::apply_failed))]
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
    #[diagnostic(code(kapstan::interrupted))]
    Interrupted {
        /// `finished` or `abandoned`.
        state: &'static str,
        /// The command that resumes the run.
        resume: String,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    #[diagnostic(code(kapstan::io))]
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
    #[diagnostic(code(kapstan::sandbox))]
    Sandbox(String),
}

impl From<kapstan_platform::PlatformError> for CliError {
    fn from(e: kapstan_platform::PlatformError) -> Self {
        use kapstan_platform::PlatformError as P;
        if let P::UpgradeFailed(failure) = &e {
            return Self::Usage {
                help: Some(failure.rollback.clone()),
                message: e.to_string(),
            };
        }
        match e {
            P::Engine(e) => Self::Engine(e),
            P::State(e) => Self::State(e),
            P::Stack(e) => Self::Stack(e),
            P::Usage { message, help } => Self::Usage { message, help },
            P::ApplyFailed { failed, skipped } => Self::ApplyFailed { failed, skipped },
            P::Interrupted { state, resume } => Self::Interrupted { state, resume },
            P::Io {
                action,
                path,
                source,
            } => Self::Io {
                action,
                path,
                source,
            },
            P::Sandbox(m) => Self::Sandbox(m),
            // A variant added later: its message, without a code of its own.
            other => Self::Usage {
                message: other.to_string(),
                help: None,
            },
        }
    }
}

impl CliError {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            help: Some(help.into()),
        }
    }
}
