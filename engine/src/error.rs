//! The one error type of the engine.

use kapstan_state::StateError;

/// One problem found in a stack before any driver call.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    /// The resource address (or `output.NAME`), empty for stack-wide problems.
    pub address: String,
    /// What is wrong, including field, value and fix.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.address.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.address, self.message)
        }
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("\n  - {p}"))
        .collect::<String>()
}

/// Everything the engine can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The stack is invalid; nothing was called, nothing written.
    #[error("stack `{stack}` is invalid ({} problem{}):{}", .problems.len(), if .problems.len() == 1 { "" } else { "s" }, list(.problems))]
    Invalid {
        /// The stack.
        stack: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// The dependency graph has a cycle.
    #[error("dependency cycle: {}; break it by removing one reference or depends_on", .cycle.join(" -> "))]
    Cycle {
        /// The addresses on the cycle, first repeated at the end.
        cycle: Vec<String>,
    },
    /// A plan would delete or replace a protected resource.
    #[error(
        "{address} has prevent_destroy set, but this plan would {action} it; remove prevent_destroy from its lifecycle first if that is really intended"
    )]
    PreventDestroy {
        /// The resource.
        address: String,
        /// `delete` or `replace`.
        action: String,
    },
    /// A saved plan cannot be applied.
    #[error("saved plan {path} cannot be applied: {reason}; run `kapstan plan --out {path}` again")]
    StalePlan {
        /// The plan file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A plan file could not be read or written.
    #[error("plan file {path}: {reason}")]
    PlanFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// State failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A driver failed where the engine cannot carry on (refresh, import).
    #[error("{address}: {message}")]
    Driver {
        /// The resource.
        address: String,
        /// The driver's message.
        message: String,
    },
    /// Input given to an engine call is wrong (an unknown address in --target, ...).
    #[error("{0}")]
    Usage(String),
}

impl EngineError {
    /// A single-problem `Invalid`.
    pub fn invalid(stack: &str, address: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            stack: stack.to_string(),
            problems: vec![Problem {
                address: address.to_string(),
                message: message.into(),
            }],
        }
    }
}
