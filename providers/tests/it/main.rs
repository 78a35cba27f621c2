//! The provider tests, one binary (uv's `tests/it` layout): each module is one driver family
//! or client against the sandbox or a fake API; `support` and `steps` are the shared test
//! context, `common` the example stack builder. Modules that need helm or kubectl are behind
//! the `tools` feature, so plain `cargo test` on a fresh clone passes.

#[path = "../../examples/common/stack.rs"]
#[allow(dead_code)]
mod common;
#[cfg(feature = "tools")]
#[path = "../../../tests/support/pebble.rs"]
mod pebble;
mod steps;
mod support;

mod ccm_teardown;
mod cluster_volumes;
mod cockpit_drivers;
mod lb_ips;
mod scaleway_client;
mod scaleway_dns;
mod scaleway_drivers;
mod secret_manager;

#[cfg(feature = "tools")]
mod acme_certificate;
#[cfg(feature = "tools")]
mod coder_chart_fidelity;
#[cfg(feature = "tools")]
mod coder_phase;
#[cfg(feature = "tools")]
mod helm_describe;
#[cfg(feature = "tools")]
mod kube_auth;
#[cfg(feature = "tools")]
mod oidc_discovery;
