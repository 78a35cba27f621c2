//! The sandbox's integration tests, one binary (uv's `tests/it` layout): each module is one
//! emulated system or behaviour; `support` is the shared test context. Modules that need the
//! tools `scripts/test` installs (helm, kubectl, the Python SDK) are behind the `tools` feature,
//! so plain `cargo test` on a fresh clone passes.

mod support;

#[cfg(feature = "tools")]
#[path = "../../../tests/support/https_get.rs"]
mod https_get;

mod behaviour;
mod cassettes;
mod cockpit_push;
mod coder;
mod dns;

#[cfg(feature = "tools")]
mod charts;
#[cfg(feature = "tools")]
mod coder_tls;
#[cfg(feature = "tools")]
mod kube;
#[cfg(feature = "tools")]
mod sdk_conformance;
