//! The stacks kapstan ships: the built-in catalog the CLI finds by name (the Coder-on-Scaleway
//! stacks, the local demo, a synthetic stack for tests and benchmarks), and the workspace
//! templates.

// Only the CLI prints (DESIGN.md invariant 3): libraries return data and emit events.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod catalog;
pub mod coder;
mod demo;
pub mod suggest;
mod synthetic;
pub mod templates;

pub use catalog::{StackEntry, StackError, StackVars, catalog, find};
pub use demo::demo_stack;
pub use synthetic::{Shape, synthetic_stack};
