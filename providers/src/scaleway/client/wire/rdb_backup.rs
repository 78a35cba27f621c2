//! Managed Database `rdb/v1` manual backups: a database's backup, its creation and its restore
//! into an instance (the SDK's `DatabaseBackup`, `CreateDatabaseBackupRequest` and
//! `RestoreDatabaseBackupRequest`).

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::scaleway::client::open_enum::open_enum;

open_enum! {
    /// Status of a database backup.
    DatabaseBackupStatus {
        Creating = "creating",
        Ready = "ready",
        Restoring = "restoring",
        Deleting = "deleting",
        Error = "error",
        Exporting = "exporting",
        Locked = "locked",
    }
}

impl DatabaseBackupStatus {
    /// Whether a waiter keeps polling (the SDK's transient set).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Creating | Self::Restoring | Self::Deleting | Self::Exporting
        )
    }
}

/// A manual backup of one database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseBackup {
    /// ID.
    pub id: String,
    /// The instance it was made from.
    pub instance_id: String,
    /// The database it holds.
    pub database_name: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: DatabaseBackupStatus,
    /// Size in bytes, once ready.
    pub size: Option<u64>,
    /// When it expires (`None`: never).
    pub expires_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Option<Timestamp>,
    /// Region.
    pub region: String,
}

/// `POST /backups`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateDatabaseBackupRequest {
    /// The instance.
    pub instance_id: String,
    /// The database to back up.
    pub database_name: String,
    /// The backup's name.
    pub name: String,
    /// When it expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// `POST /backups/{id}/restore`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreDatabaseBackupRequest {
    /// The instance to restore into.
    pub instance_id: String,
    /// The database to restore into (default: the backup's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
}
