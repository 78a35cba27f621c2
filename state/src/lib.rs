//! kapstan state: the state document, the [`StateStore`] trait and its stores, locks, history
//! and sealed secrets.
//!
//! The state crate knows nothing of resource kinds or of the planner: it stores documents and
//! deltas, guards them with compare-and-swap on the serial, and seals every value marked
//! sensitive with AES-256-GCM before it touches a disk or a bucket.

mod codec;
mod document;
mod error;
mod local;
mod lock;
mod seal;
mod store;

pub use codec::{decode_document, encode_document};
pub use document::{
    FORMAT_VERSION, OutputState, PendingOperation, ResourceState, ResourceStatus, StateDelta,
    StateDocument,
};
pub use error::StateError;
pub use local::LocalStore;
pub use lock::LockInfo;
pub use seal::{KeySource, Sealer};
pub use store::{HistoryEntry, StateStore};
