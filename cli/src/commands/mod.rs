//! The commands, one file per family.

pub mod audit;
pub mod cost;
pub mod inspect;
pub mod platform;
pub mod run;
pub mod sandbox;
pub mod scale;
pub mod state;
pub mod templates;

use std::io::{BufRead, IsTerminal, Write};

use crate::error::CliError;

/// Asks for `yes` on a terminal; refuses without one.
pub fn confirm(question: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "refusing to proceed without confirmation: standard input is not a terminal",
            "pass --auto-approve to approve without a prompt",
        ));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| CliError::Io {
            action: "reading",
            path: "stdin".into(),
            source,
        })?;
    Ok(line.trim() == "yes")
}
