//! The Scaleway API client drivers build on.
//!
//! - [`ScalewayConfig::load`] resolves credentials and localities (flags > `SCW_*` env >
//!   `config.yaml` profile > defaults) and validates them before any call.
//! - [`Client`] sends calls with `X-Auth-Token`, a token bucket per [`Api`], jittered retries
//!   of idempotent verbs, no blind POST retry ([`Error::Ambiguous`]), a transient-state hook
//!   for 409s, typed errors ([`ApiError`], [`ErrorKind`]) and pagination
//!   ([`Client::list_all`]).
//! - [`wire`] holds the serde types of each API (unknown fields and enum values tolerated),
//!   and [`api`] the typed calls: `client.k8s(&region).get_cluster(id)` and so on.

pub mod api;
pub mod config;
pub mod error;
pub mod http;
pub mod locality;
pub(crate) mod open_enum;
pub mod pagination;
pub mod query;
pub mod rate_limit;
pub mod retry;
pub mod secret;
pub mod transient;
pub mod wire;

pub use config::{
    ConfigError, ConfigOverrides, ConfigSource, EnvSource, ProcessEnv, ScalewayConfig,
};
pub use error::{ApiError, Error, ErrorKind, Precondition, Result};
pub use http::{Api, Client, ClientOptions, Request};
pub use locality::{Locality, LocalityError, Region, Zone};
pub use pagination::Paginated;
pub use query::{Query, path_segment};
pub use rate_limit::{RateLimit, TokenBucket};
pub use retry::{RATE_LIMIT_TARGET, RetryPolicy};
pub use secret::{SecretKey, SecretString};
pub use transient::{HookFuture, TransientConflict, TransientStateHook, hook_fn};
