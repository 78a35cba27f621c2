//! kapstan state: the state document, the [`StateStore`] trait and its stores, locks, history
//! and sealed secrets.
//!
//! The state crate knows nothing of resource kinds or of the planner: it stores documents and
//! deltas, guards them with compare-and-swap on the serial, and seals every value marked
//! sensitive with AES-256-GCM before it touches a disk or a bucket.

// Only the CLI prints (DESIGN.md invariant 3): libraries return data and emit events.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod backup;
mod bootstrap;
mod codec;
mod config;
mod document;
mod error;
mod local;
mod lock;
mod migrate;
mod s3;
mod s3_request;
mod seal;
mod store;

pub use backup::{
    BackupEntry, MANIFEST_FILE, Manifest, RestoreOutcome, RestoreReport, backup, check_restore,
    read_manifest, restore,
};
pub use bootstrap::{
    ABORT_MULTIPART_DAYS, BootstrapReport, BucketStatus, LIFECYCLE_RULE_ID, bootstrap_bucket,
    inspect_bucket,
};
pub use codec::{decode_document, encode_document};
pub use config::{
    CONFIG_FILE, DEFAULT_LOCAL_DIR, DEFAULT_REGION, S3Config, SCALEWAY_REGIONS, STATE_VARIABLE,
    StoreConfig, open_store, open_store_with_env, state_key, write_state_config,
};
pub use document::{
    FORMAT_VERSION, OutputState, PendingOperation, ResourceState, ResourceStatus, StateDelta,
    StateDocument,
};
pub use error::StateError;
pub use local::LocalStore;
pub use lock::LockInfo;
pub use migrate::{MigrationReport, StackMigration, migrate};
pub use s3::{S3Credentials, S3Store, SelfTest};
pub use s3_request::{S3Answer, S3RequestError, S3Requests, XmlDocument, XmlNode, xml_escape};
pub use seal::{KeySource, Sealer};
pub use store::{HistoryEntry, StateStore};
