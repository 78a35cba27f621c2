//! Typed calls of Managed Database manual backups: make one, read it, restore it.

use super::RdbApi;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::query::path_segment as seg;
use crate::scaleway::client::wire::rdb_backup::*;

impl RdbApi<'_> {
    /// `POST /backups` (never retried blindly).
    pub async fn create_database_backup(
        &self,
        req: &CreateDatabaseBackupRequest,
    ) -> Result<DatabaseBackup> {
        self.client
            .post(Api::Rdb, &self.region, "/backups", req)
            .await
    }

    /// `GET /backups/{id}`.
    pub async fn get_database_backup(&self, id: &str) -> Result<DatabaseBackup> {
        self.client
            .get(Api::Rdb, &self.region, &format!("/backups/{}", seg(id)))
            .await
    }

    /// `POST /backups/{id}/restore`: the backup shows `restoring` until the restore is done.
    pub async fn restore_database_backup(
        &self,
        id: &str,
        req: &RestoreDatabaseBackupRequest,
    ) -> Result<DatabaseBackup> {
        self.client
            .post(
                Api::Rdb,
                &self.region,
                &format!("/backups/{}/restore", seg(id)),
                req,
            )
            .await
    }
}
