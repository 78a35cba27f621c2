//! The stacks tests, one binary (uv's `tests/it` layout): each module is one area of the
//! Coder stacks as they are built from `environments/<env>.toml` and stack variables;
//! `support` is the shared test context (the scratch project, lookups in built stacks, and
//! helm rendering of the official chart fixtures). Modules that render charts with helm are
//! behind the `tools` feature, so plain `cargo test` on a fresh clone passes.

mod support;

mod coder_tls;
mod day_two;
mod monitoring;

#[cfg(feature = "tools")]
mod alloy_chart;
#[cfg(feature = "tools")]
mod day_two_chart;
