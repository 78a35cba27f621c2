//! Coder: chart values for the official chart (`CoderValues`), the percent-encoded
//! PostgreSQL URL, `coder_first_user` (`POST /api/v2/users/first`) and `coder_template`
//! (directory → ustar archive → sha256; upload, build, create or promote).

mod archive;
mod client;
mod first_user;
pub mod oidc_discovery;
pub mod probe;
mod reach;
mod rules;
mod session;
mod template;
mod values;

pub use archive::{TemplateArchive, archive_dir};
pub use client::{CoderClient, CoderError};
pub use first_user::{CoderFirstUser, CoderFirstUserAttributes, CoderFirstUserDriver};
pub use reach::{CoderReach, HostReach};
pub use session::Sessions;
pub use template::{CoderTemplate, CoderTemplateAttributes, CoderTemplateDriver};
pub use values::{
    CODER_CHART, CODER_CHART_REPOSITORY, CODER_SERVICE_LB_ANNOTATIONS, CoderValues, GithubOAuth,
    GithubUsers, LbServiceSettings, SecretKeyRef, postgres_url, service_annotations,
};

use std::sync::Arc;

use kapstan_engine::Registry;

/// Registers the Coder kinds.
pub fn register(registry: &mut Registry) {
    registry.register(Arc::new(CoderFirstUserDriver::new()));
    registry.register(Arc::new(CoderTemplateDriver::new()));
}

/// Registers the Coder kinds, their calls reaching Coder as `reach` says.
pub fn register_with(registry: &mut Registry, reach: CoderReach) {
    registry.register(Arc::new(CoderFirstUserDriver::with_reach(reach.clone())));
    registry.register(Arc::new(CoderTemplateDriver::with_reach(reach)));
}
