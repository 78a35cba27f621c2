//! Helm: `helm_release` renders a chart with the real `helm` binary and kapstan applies every
//! rendered object itself (server-side apply, safe order, pruning, readiness waits), then
//! writes a Helm-compatible release record so `helm list` and `helm status` show the release.

mod binary;
mod record;
mod release;

pub use binary::{Helm, HelmError, MIN_HELM_VERSION, Rendered, set_helm_override, split_manifest};
pub use record::{decode_release, encode_release};
pub use release::{HelmRelease, HelmReleaseAttributes, HelmReleaseDriver, apply_order};

use std::sync::Arc;

use kapstan_engine::Registry;

/// Registers `helm_release`.
pub fn register(registry: &mut Registry) {
    registry.register(Arc::new(HelmReleaseDriver::new()));
}
