//! Helm: `helm_release` renders a chart with the real `helm` binary and kapstan applies every
//! rendered object itself (server-side apply, safe order, pruning, readiness waits), then
//! writes a Helm-compatible release record so `helm list` and `helm status` show the release.

mod binary;
mod record;
mod release;

pub use binary::{Helm, HelmError, MIN_HELM_VERSION, Rendered, split_manifest};
pub use record::{decode_release, encode_release};
pub use release::{
    HelmRelease, HelmReleaseAttributes, HelmReleaseDriver, apply_order, inventory_of,
};

use std::path::PathBuf;
use std::sync::Arc;

use kapstan_engine::Registry;

/// Registers `helm_release`, finding helm through `KAPSTAN_HELM` or `PATH`.
pub fn register(registry: &mut Registry) {
    register_with(registry, None);
}

/// Registers `helm_release` running the helm at `helm` when given (before `KAPSTAN_HELM` and
/// `PATH`).
pub fn register_with(registry: &mut Registry, helm: Option<PathBuf>) {
    registry.register(Arc::new(HelmReleaseDriver::new().with_helm(helm)));
}
