//! Typed calls of Managed Database manual backups: make one, read it, restore it.

use super::RdbApi;
use crate::scaleway::client::wire::rdb_backup::*;

impl RdbApi<'_> {
    endpoints! {
        /// `POST /backups` (never retried blindly).
        post create_database_backup("/backups", CreateDatabaseBackupRequest) -> DatabaseBackup;
        /// `GET /backups/{id}`.
        get get_database_backup("/backups" / id) -> DatabaseBackup;
        /// `POST /backups/{id}/restore`: the backup shows `restoring` until the restore is done.
        post restore_database_backup("/backups" / id / "restore", RestoreDatabaseBackupRequest)
            -> DatabaseBackup;
    }
}
