//! kapstan-sandbox: a local emulator of the Scaleway APIs kapstan drives, for tests and
//! `--sandbox` mode.
//!
//! It serves, on 127.0.0.1 only, Kapsule `k8s/v1`, RDB `rdb/v1`, Load Balancer `lb/v1`
//! (zoned), VPC `vpc/v2`, Public Gateway `vpc-gw/v2`, IPAM `ipam/v1` and Domains and DNS
//! `domain/v2beta1` (with an authoritative DNS responder on loopback), written from
//! `reference/scaleway-api.md` (not from any client): real paths, status codes, error bodies,
//! pagination, PATCH/PUT semantics, server-side defaults and asynchronous state machines whose
//! durations are the measured medians divided by a speed factor. Faults (429, 5xx, 409,
//! latency, lost responses) can be injected, and state can persist in a data directory.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kapstan_sandbox::SandboxError> {
//! use kapstan_sandbox::{Sandbox, SandboxOptions};
//! let sandbox = Sandbox::start(SandboxOptions { speed: 1000.0, ..Default::default() }).await?;
//! // Point any Scaleway client at it:
//! // SCW_API_URL=sandbox.url(), SCW_SECRET_KEY=sandbox.secret_key(),
//! // SCW_DEFAULT_PROJECT_ID=sandbox.project_id()
//! println!("{}", sandbox.url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

// Only the CLI prints (DESIGN.md invariant 3): libraries return data and emit events.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod api;
mod coder;
mod dns;
mod error;
mod kube;
mod options;
mod server;
mod store;
pub mod testing;
mod wire;

pub use coder::CoderOptions;
pub use error::SandboxError;
pub use options::{
    DEFAULT_DNS_ZONE, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY, Durations, FaultSpec, SandboxOptions,
};
pub use server::{Sandbox, serve_until_ctrl_c};
pub use store::STATE_FILE;
