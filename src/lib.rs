//! kapstan: infrastructure as code for Coder platforms on Scaleway.
//!
//! Stacks are declared in Rust with a typed DSL, planned by a pure diff of declared, recorded
//! and live state, and applied by a parallel executor that saves state after every operation.
//! This facade re-exports the focused crates:
//!
//! - [`engine`]: the DSL, planner, executor, saved plans and plan JSON;
//! - [`state`]: state documents and stores (local redb, S3), locks, history, sealed secrets;
//! - [`providers`]: the resource kinds (Scaleway, Kubernetes, Helm, Coder, local) and prices;
//! - [`stacks`]: the stacks kapstan ships;
//! - [`platform`]: environment operations (up, down, backup/restore, health, adopt, scale,
//!   audit, cost and budgets, hooks, run logs, doctor) with explicit options, typed reports
//!   and typed events.
//!
//! ```
//! use kapstan::prelude::*;
//!
//! let mut s = Stack::new("example");
//! let pw = s.add("db_password", RandomPassword { length: 24.into(), ..Default::default() });
//! s.output("password", pw.result()).sensitive();
//! assert_eq!(s.build().resources.len(), 1);
//! ```

pub use kapstan_engine as engine;
pub use kapstan_platform as platform;
pub use kapstan_providers as providers;
pub use kapstan_stacks as stacks;
pub use kapstan_state as state;

/// What a stack author or an embedding tool needs most.
pub mod prelude {
    pub use kapstan_engine::{
        Action, ApplyOptions, ApplyReport, Cancel, Engine, EngineError, Event, EventSink, Input,
        Lifecycle, Output, Plan, PlanFile, PlanMode, PlanOptions, Stack, StackRef, StackSpec,
    };
    pub use kapstan_providers::local::{RandomPassword, TestObject};
    pub use kapstan_providers::registry;
    pub use kapstan_state::{LocalStore, StateStore, StoreConfig, open_store};
}
