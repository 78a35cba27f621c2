//! Managed Database `rdb/v1` manual backups: a database's backup, its creation and its restore
//! into an instance (the SDK's `DatabaseBackup`, `CreateDatabaseBackupRequest` and
//! `RestoreDatabaseBackupRequest`).

use serde::Serialize;

use super::Timestamp;
use crate::scaleway::client::open_enum::open_enum;

open_enum! {
    /// Status of a database backup.
    DatabaseBackupStatus {
        Creating,
        Ready,
        Restoring,
        Deleting,
        Error,
        Exporting,
        Locked,
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

wire_struct! {
    #[response]
    /// A manual backup of one database.
    pub struct DatabaseBackup {
        @id,
        /// The instance it was made from.
        pub instance_id: String,
        /// The database it holds.
        pub database_name: String,
        @name,
        /// Status.
        pub status: DatabaseBackupStatus,
        /// Size in bytes, once ready.
        pub size: Option<u64>,
        /// When it expires (`None`: never).
        pub expires_at: Option<Timestamp>,
        @created_at, @region,
    }
}

wire_struct! {
    /// `POST /backups`.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct CreateDatabaseBackupRequest {
        /// The instance.
        pub instance_id: String,
        /// The database to back up.
        pub database_name: String,
        @name,
        /// When it expires.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub expires_at: Option<Timestamp>,
    }
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
