//! The commands, one file per family.

pub(crate) mod cost;
pub(crate) mod inspect;
pub(crate) mod platform;
pub(crate) mod run;
pub(crate) mod sandbox;
pub(crate) mod state;
pub(crate) mod templates;

use crate::error::CliError;

/// Asks for `yes` on a terminal; refuses without one.
pub(crate) fn confirm(question: &str) -> Result<bool, CliError> {
    Ok(crate::render::events::confirm(question)?)
}
