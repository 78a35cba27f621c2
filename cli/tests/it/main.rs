//! The `kapstan` binary as a user runs it, one test binary (uv's `tests/it` layout): each
//! module is one area of the CLI; `support` is the shared test context (scratch project,
//! isolated command, one snapshot transcript). Modules that need the tools `scripts/test`
//! installs (helm, kubectl, S3 servers) are behind the `tools` feature, so plain `cargo test`
//! on a fresh clone passes.

/// Snapshots `$output`'s [`support::transcript`] (paths of `$project` made stable) as `$name`.
macro_rules! snap {
    ($name:expr, $project:expr, $output:expr) => {
        insta::assert_snapshot!($name, $crate::support::transcript($project, $output));
    };
}

mod support;

#[cfg(feature = "tools")]
#[path = "../../../tests/support/https_get.rs"]
mod https_get;
#[cfg(feature = "tools")]
#[path = "../../../tests/support/pebble.rs"]
mod pebble;

mod cli;
mod cost;
mod exit_codes;
mod feedback;
mod flags;
mod typos;
mod workflows;

#[cfg(feature = "tools")]
mod ccm;
#[cfg(feature = "tools")]
mod https;
#[cfg(feature = "tools")]
mod platform;
#[cfg(feature = "tools")]
mod remote_state;
#[cfg(feature = "tools")]
mod sandbox_env;
#[cfg(feature = "tools")]
mod scale_audit;
#[cfg(feature = "tools")]
mod up;
#[cfg(feature = "tools")]
mod upgrade;
