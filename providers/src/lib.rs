//! kapstan drivers: the resource kinds kapstan manages, grouped by the API they call.

// Only the CLI prints (DESIGN.md invariant 3): libraries return data and emit events.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod acme;
pub mod coder;
mod declare;
pub mod helm;
pub mod kubernetes;
pub mod local;
pub mod pricing;
pub mod sandbox_api;
pub mod scaleway;

use std::sync::Arc;

use kapstan_engine::Registry;

/// A registry holding every kind this build of kapstan knows, with Scaleway configured from
/// the environment.
pub fn registry() -> Registry {
    registry_with(Arc::new(scaleway::ScalewayProvider::default()))
}

/// A registry holding every kind, with the Scaleway kinds sharing `provider` (CLI flags, the
/// sandbox, embedders).
pub fn registry_with(provider: Arc<scaleway::ScalewayProvider>) -> Registry {
    registry_with_options(provider, &RegistryOptions::default())
}

/// What the drivers are given instead of finding it in the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    /// The helm binary `helm_release` runs (before `KAPSTAN_HELM` and `PATH`).
    pub helm: Option<std::path::PathBuf>,
    /// How the Coder kinds reach an `https://` access URL: extra trust roots for its host and,
    /// in the sandbox, where the host leads (the default: system roots and DNS).
    pub coder: coder::CoderReach,
}

/// [`registry_with`], with `options`.
pub fn registry_with_options(
    provider: Arc<scaleway::ScalewayProvider>,
    options: &RegistryOptions,
) -> Registry {
    let mut registry = Registry::new();
    local::register(&mut registry);
    acme::register_with(&mut registry, provider.clone());
    scaleway::register_with(&mut registry, provider);
    kubernetes::register(&mut registry);
    helm::register_with(&mut registry, options.helm.clone());
    coder::register_with(&mut registry, options.coder.clone());
    registry
}
