//! kapstan drivers: the resource kinds kapstan manages, grouped by the API they call.

pub mod local;
pub mod pricing;
pub mod scaleway;

use kapstan_engine::Registry;

/// A registry holding every kind this build of kapstan knows.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    local::register(&mut registry);
    registry
}
