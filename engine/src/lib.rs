//! The kapstan engine: the typed stack DSL, the dependency graph, the pure planner, the
//! parallel executor, saved plans and Terraform-compatible plan JSON.
//!
//! The engine knows nothing of Scaleway, Kubernetes or Coder: it sees resources as a kind, a
//! config with references, recorded attributes and a schema, through the [`Driver`] trait.

// Only the CLI prints (DESIGN.md invariant 3): libraries return data and emit events.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod diff;
mod driver;
mod dsl;
mod engine;
mod error;
mod events;
mod executor;
mod graph;
mod plan;
pub mod plan_json;
mod planfile;
mod planner;
mod recorder;
mod schema;
pub mod value;

pub use driver::{Cancel, Created, Driver, DriverContext, DriverError, Imported, Registry, Update};
pub use dsl::{
    Addressed, DeclaredOutput, DeclaredResource, Handle, Input, Lifecycle, Output, OutputBuilder,
    Resource, ResourceRef, Stack, StackRef, StackSpec,
};
pub use engine::{Engine, IntoStackSpec};
pub use error::{EngineError, Problem};
pub use events::{Event, EventSink};
pub use executor::{ApplyOptions, ApplyReport, Failure};
pub use graph::Graph;
pub use plan::{
    Action, Drift, FieldChange, ObjectChange, OutputChange, Plan, PlanMode, ResourceChange,
};
pub use planfile::PlanFile;
pub use planner::{PlanOptions, config_hash};
pub use schema::{Field, FieldError, Role, Schema};

/// Re-exported so drivers and stacks depend on one version.
pub use async_trait::async_trait;
pub use kapstan_state as state;
pub use serde_json;
