//! kapstan-platform: the operations on a Coder platform's environments as a library — `up`,
//! `down`, backup and restore, health, adoption of a Terraform state, scaling, the security
//! audit, cost and budgets, hooks, run logs and `doctor`.
//!
//! Every operation takes a [`Project`] (directory, state store, API settings) and explicit
//! options, returns a typed report or a [`PlatformError`], and tells an [`Observer`] what it
//! does as it goes ([`PlatformEvent`]) and asks it before it changes something
//! ([`Confirmation`]). Nothing here prints: the CLI renders the events and reports.

// Only the CLI prints (DESIGN.md invariant 3): libraries return data and emit events.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod adopt;
pub mod audit;
pub mod backup;
pub mod cost;
pub mod doctor;
pub mod down;
pub mod environment;
pub mod error;
pub mod events;
pub mod health;
pub mod hooks;
pub mod logs;
pub mod project;
pub mod reach;
pub mod sandbox;
pub mod scale;
pub mod session;
pub mod templates;
mod unwritten_store;
pub mod up;
pub mod upgrade;

pub use error::PlatformError;
pub use events::{Confirmation, Observer, PlatformEvent, Unattended};
pub use project::{Project, StackSource};
pub use session::Platform;
