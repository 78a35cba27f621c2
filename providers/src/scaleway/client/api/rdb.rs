//! Typed Managed Database calls.
//!
//! Sub-resource calls (databases, users, privileges, ACLs, settings, endpoints) answer 409
//! while the instance is busy: attach a transient-state hook that waits for the instance.

mod backup;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::pagination::Paginated;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::wire::common::File;
use crate::scaleway::client::wire::rdb::*;

scoped_api! {
    /// Managed Database (`rdb/v1`) calls in one region.
    RdbApi(Api::Rdb, region: Region) {
        /// `GET /database-engines`, all pages.
        list list_database_engines("/database-engines") -> Vec<DatabaseEngine> from ListDatabaseEnginesResponse;

        /// The update sets backup schedule, name, tags; delete answers 200 with the instance
        /// `deleting`.
        resource "/instances" => Instance { create_instance(CreateInstanceRequest), get_instance,
            list_instances(ListInstancesResponse), patch update_instance(UpdateInstanceRequest),
            delete_instance -> Instance };
        /// `POST /instances/{id}/upgrade`: one change per call, wait for `ready` in between.
        post upgrade_instance("/instances" / id / "upgrade", UpgradeInstanceRequest) -> Instance;
        /// `GET /instances/{id}/certificate` (PEM in [`File::content`], base64).
        get get_instance_certificate("/instances" / id / "certificate") -> File;

        /// `DELETE /endpoints/{id}` (204).
        delete delete_endpoint("/endpoints" / endpoint_id) -> ();
        /// `GET /instances/{id}/acls`, all pages.
        list list_acl_rules("/instances" / instance_id / "acls") -> Vec<AclRule> from AclRulesResponse;

        /// `POST /instances/{id}/users`.
        post create_user("/instances" / instance_id / "users", CreateUserRequest) -> User;
        /// `PUT /instances/{id}/privileges`; `Permission::None` removes the privilege.
        put set_privilege("/instances" / instance_id / "privileges", Privilege) -> Privilege;
    }
}

impl RdbApi<'_> {
    fn instance_path(id: &str, rest: &str) -> String {
        format!("/instances/{}{rest}", seg(id))
    }

    /// `GET /node-types`, all pages.
    pub async fn list_node_types(&self, include_disabled: bool) -> Result<Vec<NodeType>> {
        let query = Query::new().push("include_disabled_types", include_disabled);
        self.at()
            .list::<ListNodeTypesResponse>("/node-types", query)
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
            .send(Method::PUT, &Self::instance_path(id, "/settings"), &body)
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
        self.send(
            Method::POST,
            &Self::instance_path(instance_id, "/endpoints"),
            &body,
        )
        .await
    }

    /// `PUT /instances/{id}/acls`: replaces every rule.
    pub async fn set_acl_rules(
        &self,
        instance_id: &str,
        rules: &[AclRuleRequest],
    ) -> Result<Vec<AclRule>> {
        self.acls(
            Method::PUT,
            instance_id,
            serde_json::json!({ "rules": rules }),
        )
        .await
    }

    /// `DELETE /instances/{id}/acls` with a body listing the rules' CIDRs.
    pub async fn delete_acl_rules(
        &self,
        instance_id: &str,
        ips: &[String],
    ) -> Result<Vec<AclRule>> {
        self.acls(
            Method::DELETE,
            instance_id,
            serde_json::json!({ "acl_rule_ips": ips }),
        )
        .await
    }

    /// `method /instances/{id}/acls` with `body`: both ACL writes answer with the rules.
    async fn acls(
        &self,
        method: Method,
        instance_id: &str,
        body: serde_json::Value,
    ) -> Result<Vec<AclRule>> {
        let path = Self::instance_path(instance_id, "/acls");
        let r: AclRulesResponse = self.send(method, &path, &body).await?;
        Ok(r.rules)
    }

    /// `GET /instances/{id}/databases`, all pages (name filter is a substring).
    pub async fn list_databases(
        &self,
        instance_id: &str,
        name: Option<&str>,
    ) -> Result<Vec<Database>> {
        self.list_named::<ListDatabasesResponse>(instance_id, "/databases", name)
            .await
    }

    /// The database named exactly `name`, if any.
    pub async fn get_database(&self, instance_id: &str, name: &str) -> Result<Option<Database>> {
        let found = self.list_databases(instance_id, Some(name)).await?;
        Ok(found.into_iter().find(|d| d.name == name))
    }

    /// `POST /instances/{id}/databases`.
    pub async fn create_database(&self, instance_id: &str, name: &str) -> Result<Database> {
        let req = CreateDatabaseRequest {
            name: name.to_owned(),
        };
        self.send(
            Method::POST,
            &Self::instance_path(instance_id, "/databases"),
            &req,
        )
        .await
    }

    /// `DELETE /instances/{id}/databases/{name}` (204).
    pub async fn delete_database(&self, instance_id: &str, name: &str) -> Result<()> {
        self.delete_named(instance_id, "databases", name).await
    }

    /// `GET /instances/{id}/users`, all pages (name filter is a substring).
    pub async fn list_users(&self, instance_id: &str, name: Option<&str>) -> Result<Vec<User>> {
        self.list_named::<ListUsersResponse>(instance_id, "/users", name)
            .await
    }

    /// The user named exactly `name`, if any.
    pub async fn get_user(&self, instance_id: &str, name: &str) -> Result<Option<User>> {
        let found = self.list_users(instance_id, Some(name)).await?;
        Ok(found.into_iter().find(|u| u.name == name))
    }

    /// `PATCH /instances/{id}/users/{name}`.
    pub async fn update_user(
        &self,
        instance_id: &str,
        name: &str,
        req: &UpdateUserRequest,
    ) -> Result<User> {
        let path = Self::instance_path(instance_id, &format!("/users/{}", seg(name)));
        self.send(Method::PATCH, &path, req).await
    }

    /// `DELETE /instances/{id}/users/{name}` (204).
    pub async fn delete_user(&self, instance_id: &str, name: &str) -> Result<()> {
        self.delete_named(instance_id, "users", name).await
    }

    /// Every page of the instance's `rest` list (databases, users), optionally filtered by a
    /// name substring.
    async fn list_named<R: Paginated>(
        &self,
        instance_id: &str,
        rest: &str,
        name: Option<&str>,
    ) -> Result<Vec<R::Item>> {
        let path = Self::instance_path(instance_id, rest);
        self.at()
            .list::<R>(&path, Query::new().opt("name", name))
            .await
    }

    /// `DELETE /instances/{id}/{kind}/{name}`: databases and users are addressed by name.
    async fn delete_named(&self, instance_id: &str, kind: &str, name: &str) -> Result<()> {
        let at = self.at();
        let path = Self::instance_path(instance_id, &format!("/{kind}/{}", seg(name)));
        at.send(at.request(Method::DELETE, &path)).await
    }

    /// `GET /instances/{id}/privileges`, all pages, optionally for one database and/or user.
    pub async fn list_privileges(
        &self,
        instance_id: &str,
        database_name: Option<&str>,
        user_name: Option<&str>,
    ) -> Result<Vec<Privilege>> {
        let query = Query::new()
            .opt("database_name", database_name)
            .opt("user_name", user_name);
        self.at()
            .list::<ListPrivilegesResponse>(&Self::instance_path(instance_id, "/privileges"), query)
            .await
    }

    /// `method` with the JSON `body` to `path` of this API in this region, decoded.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T> {
        self.at().send_json(method, path, body).await
    }
}
