//! Serde types of the Scaleway APIs kapstan drives, one module per API.
//!
//! Response types tolerate unknown fields (ignored) and missing ones (`#[serde(default)]`);
//! every enum is open ([`Unknown(String)`](k8s::ClusterStatus::Unknown) keeps new values).
//! Request types omit `None` fields, which PATCH endpoints read as "leave unchanged".

pub mod cockpit;
pub mod common;
pub mod domain;
pub mod ipam;
pub mod k8s;
pub mod lb;
pub mod rdb;
pub mod rdb_backup;
pub mod vpc;
pub mod vpcgw;

/// Timestamp of the API (RFC 3339, micro- or nanoseconds, `Z`).
pub type Timestamp = chrono::DateTime<chrono::Utc>;
