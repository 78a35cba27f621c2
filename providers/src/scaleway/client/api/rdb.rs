//! Typed Managed Database calls.
//!
//! Sub-resource calls (databases, users, privileges, ACLs, settings, endpoints) answer 409
//! while the instance is busy: attach a transient-state hook that waits for the instance.

mod backup;

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::common::File;
use crate::scaleway::client::wire::rdb::*;

/// Managed Database (`rdb/v1`) calls in one region.
#[derive(Debug, Clone)]
pub struct RdbApi<'c> {
    client: &'c Client,
    region: Region,
}

impl<'c> RdbApi<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Self { client, region }
    }

    /// The region of these calls.
    pub fn region(&self) -> &Region {
        &self.region
    }

    fn instance_path(id: &str, rest: &str) -> String {
        format!("/instances/{}{rest}", seg(id))
    }

    /// `GET /database-engines`, all pages.
    pub async fn list_database_engines(&self) -> Result<Vec<DatabaseEngine>> {
        self.client
            .list_all::<ListDatabaseEnginesResponse>(
                Api::Rdb,
                &self.region,
                "/database-engines",
                Query::new(),
            )
            .await
    }

    /// `GET /node-types`, all pages.
    pub async fn list_node_types(&self, include_disabled: bool) -> Result<Vec<NodeType>> {
        self.client
            .list_all::<ListNodeTypesResponse>(
                Api::Rdb,
                &self.region,
                "/node-types",
                Query::new().push("include_disabled_types", include_disabled),
            )
            .await
    }

    /// `POST /instances` (never retried blindly).
    pub async fn create_instance(&self, req: &CreateInstanceRequest) -> Result<Instance> {
        self.client
            .post(Api::Rdb, &self.region, "/instances", req)
            .await
    }

    /// `GET /instances/{id}`.
    pub async fn get_instance(&self, id: &str) -> Result<Instance> {
        self.client
            .get(Api::Rdb, &self.region, &Self::instance_path(id, ""))
            .await
    }

    /// `GET /instances`, all pages.
    pub async fn list_instances(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        self.client
            .list_all::<ListInstancesResponse>(
                Api::Rdb,
                &self.region,
                "/instances",
                filter.to_query(),
            )
            .await
    }

    /// `PATCH /instances/{id}` (backup schedule, name, tags, logs policy).
    pub async fn update_instance(&self, id: &str, req: &UpdateInstanceRequest) -> Result<Instance> {
        self.client
            .patch(Api::Rdb, &self.region, &Self::instance_path(id, ""), req)
            .await
    }

    /// `DELETE /instances/{id}` (200 with the instance `deleting`).
    pub async fn delete_instance(&self, id: &str) -> Result<Instance> {
        self.client
            .delete(
                Api::Rdb,
                &self.region,
                &Self::instance_path(id, ""),
                Query::new(),
            )
            .await
    }

    /// `POST /instances/{id}/upgrade`: one change per call, wait for `ready` in between.
    pub async fn upgrade_instance(
        &self,
        id: &str,
        req: &UpgradeInstanceRequest,
    ) -> Result<Instance> {
        self.client
            .post(
                Api::Rdb,
                &self.region,
                &Self::instance_path(id, "/upgrade"),
                req,
            )
            .await
    }

    /// `GET /instances/{id}/certificate` (PEM in [`File::content`], base64).
    pub async fn get_instance_certificate(&self, id: &str) -> Result<File> {
        self.client
            .get(
                Api::Rdb,
                &self.region,
                &Self::instance_path(id, "/certificate"),
            )
            .await
    }

    /// `PUT /instances/{id}/settings`: sets the given settings.
    pub async fn set_instance_settings(
        &self,
        id: &str,
        settings: &[Setting],
    ) -> Result<Vec<Setting>> {
        let body = SettingsBody {
            settings: settings.to_vec(),
        };
        let r: SettingsBody = self
            .client
            .put(
                Api::Rdb,
                &self.region,
                &Self::instance_path(id, "/settings"),
                &body,
            )
            .await?;
        Ok(r.settings)
    }

    /// `POST /instances/{id}/endpoints`. The answer is a placeholder: re-read the instance.
    pub async fn create_endpoint(
        &self,
        instance_id: &str,
        spec: &EndpointSpec,
    ) -> Result<Endpoint> {
        let body = serde_json::json!({ "endpoint_spec": spec });
        self.client
            .post(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/endpoints"),
                &body,
            )
            .await
    }

    /// `DELETE /endpoints/{id}` (204).
    pub async fn delete_endpoint(&self, endpoint_id: &str) -> Result<()> {
        self.client
            .delete(
                Api::Rdb,
                &self.region,
                &format!("/endpoints/{}", seg(endpoint_id)),
                Query::new(),
            )
            .await
    }

    /// `GET /instances/{id}/acls`, all pages.
    pub async fn list_acl_rules(&self, instance_id: &str) -> Result<Vec<AclRule>> {
        self.client
            .list_all::<AclRulesResponse>(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/acls"),
                Query::new(),
            )
            .await
    }

    /// `PUT /instances/{id}/acls`: replaces every rule.
    pub async fn set_acl_rules(
        &self,
        instance_id: &str,
        rules: &[AclRuleRequest],
    ) -> Result<Vec<AclRule>> {
        let body = serde_json::json!({ "rules": rules });
        let r: AclRulesResponse = self
            .client
            .put(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/acls"),
                &body,
            )
            .await?;
        Ok(r.rules)
    }

    /// `DELETE /instances/{id}/acls` with a body listing the rules' CIDRs.
    pub async fn delete_acl_rules(
        &self,
        instance_id: &str,
        ips: &[String],
    ) -> Result<Vec<AclRule>> {
        let req = crate::scaleway::client::http::Request::new(
            reqwest::Method::DELETE,
            Api::Rdb,
            &self.region,
            &Self::instance_path(instance_id, "/acls"),
        )
        .json(&serde_json::json!({ "acl_rule_ips": ips }))?;
        let r: AclRulesResponse = self.client.send(req).await?;
        Ok(r.rules)
    }

    /// `GET /instances/{id}/databases`, all pages (name filter is a substring).
    pub async fn list_databases(
        &self,
        instance_id: &str,
        name: Option<&str>,
    ) -> Result<Vec<Database>> {
        self.client
            .list_all::<ListDatabasesResponse>(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/databases"),
                Query::new().opt("name", name),
            )
            .await
    }

    /// The database named exactly `name`, if any.
    pub async fn get_database(&self, instance_id: &str, name: &str) -> Result<Option<Database>> {
        Ok(self
            .list_databases(instance_id, Some(name))
            .await?
            .into_iter()
            .find(|d| d.name == name))
    }

    /// `POST /instances/{id}/databases`.
    pub async fn create_database(&self, instance_id: &str, name: &str) -> Result<Database> {
        let req = CreateDatabaseRequest {
            name: name.to_owned(),
        };
        self.client
            .post(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/databases"),
                &req,
            )
            .await
    }

    /// `DELETE /instances/{id}/databases/{name}` (204).
    pub async fn delete_database(&self, instance_id: &str, name: &str) -> Result<()> {
        self.client
            .delete(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, &format!("/databases/{}", seg(name))),
                Query::new(),
            )
            .await
    }

    /// `GET /instances/{id}/users`, all pages (name filter is a substring).
    pub async fn list_users(&self, instance_id: &str, name: Option<&str>) -> Result<Vec<User>> {
        self.client
            .list_all::<ListUsersResponse>(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/users"),
                Query::new().opt("name", name),
            )
            .await
    }

    /// The user named exactly `name`, if any.
    pub async fn get_user(&self, instance_id: &str, name: &str) -> Result<Option<User>> {
        Ok(self
            .list_users(instance_id, Some(name))
            .await?
            .into_iter()
            .find(|u| u.name == name))
    }

    /// `POST /instances/{id}/users`.
    pub async fn create_user(&self, instance_id: &str, req: &CreateUserRequest) -> Result<User> {
        self.client
            .post(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/users"),
                req,
            )
            .await
    }

    /// `PATCH /instances/{id}/users/{name}`.
    pub async fn update_user(
        &self,
        instance_id: &str,
        name: &str,
        req: &UpdateUserRequest,
    ) -> Result<User> {
        self.client
            .patch(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, &format!("/users/{}", seg(name))),
                req,
            )
            .await
    }

    /// `DELETE /instances/{id}/users/{name}` (204).
    pub async fn delete_user(&self, instance_id: &str, name: &str) -> Result<()> {
        self.client
            .delete(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, &format!("/users/{}", seg(name))),
                Query::new(),
            )
            .await
    }

    /// `GET /instances/{id}/privileges`, all pages, optionally for one database and/or user.
    pub async fn list_privileges(
        &self,
        instance_id: &str,
        database_name: Option<&str>,
        user_name: Option<&str>,
    ) -> Result<Vec<Privilege>> {
        self.client
            .list_all::<ListPrivilegesResponse>(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/privileges"),
                Query::new()
                    .opt("database_name", database_name)
                    .opt("user_name", user_name),
            )
            .await
    }

    /// `PUT /instances/{id}/privileges`; `Permission::None` removes the privilege.
    pub async fn set_privilege(
        &self,
        instance_id: &str,
        privilege: &Privilege,
    ) -> Result<Privilege> {
        self.client
            .put(
                Api::Rdb,
                &self.region,
                &Self::instance_path(instance_id, "/privileges"),
                privilege,
            )
            .await
    }
}
