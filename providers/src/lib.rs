//! kapstan drivers: the resource kinds kapstan manages, grouped by the API they call.

pub mod coder;
pub mod helm;
pub mod kubernetes;
pub mod local;
pub mod pricing;
pub mod scaleway;

use kapstan_engine::Registry;

/// A registry holding every kind this build of kapstan knows.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    local::register(&mut registry);
    scaleway::register(&mut registry);
    kubernetes::register(&mut registry);
    helm::register(&mut registry);
    coder::register(&mut registry);
    registry
}
