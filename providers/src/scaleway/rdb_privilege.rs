//! `scaleway_rdb_privilege`: a user's permission on a database (an idempotent PUT; deleting
//! sets `none`).

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::Region;
use super::client::wire::rdb::Privilege;
use super::provider::{
    Pace, ScalewayProvider, api, attributes, check, config_from, is_not_found, string,
};
use super::rdb_instance::{REGIONS, rdb_client, wait_instance};

/// A permission of a user on a database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RdbPrivilege {
    /// The instance. Changing it replaces the privilege.
    pub instance_id: Input<String>,
    /// The user. Changing it replaces the privilege.
    pub user_name: Input<String>,
    /// The database. Changing it replaces the privilege.
    pub database_name: Input<String>,
    /// `readonly`, `readwrite`, `all`, `custom` or `none` (updated in place).
    pub permission: String,
    /// Region of the instance. Changing it replaces the privilege.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_rdb_privilege`.
    RdbPrivilegeAttributes {
        /// The permission.
        permission: String = "permission",
    }
}

impl Resource for RdbPrivilege {
    const KIND: &'static str = "scaleway_rdb_privilege";
    type Attributes = RdbPrivilegeAttributes;
}

/// The `scaleway_rdb_privilege` driver.
#[derive(Debug)]
pub struct RdbPrivilegeDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

struct Key {
    region: Region,
    instance: String,
    database: String,
    user: String,
}

impl RdbPrivilegeDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_rdb_privilege",
                vec![
                    Field::required("instance_id")
                        .force_new()
                        .describe("the instance"),
                    Field::required("user_name")
                        .force_new()
                        .describe("the user"),
                    Field::required("database_name")
                        .force_new()
                        .describe("the database"),
                    Field::required("permission")
                        .describe("readonly, readwrite, all, custom or none (updated in place)"),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region of the instance"),
                ],
            ),
        }
    }

    fn key(&self, config: &Value) -> Result<Key, DriverError> {
        Ok(Key {
            region: self.p.region_of(config)?,
            instance: string(config, "instance_id").unwrap_or_default(),
            database: string(config, "database_name").unwrap_or_default(),
            user: string(config, "user_name").unwrap_or_default(),
        })
    }

    async fn get(&self, k: &Key) -> Result<Option<Value>, DriverError> {
        let client = rdb_client(&self.p, &k.region, &k.instance)?;
        let list = match client
            .rdb(&k.region)
            .list_privileges(&k.instance, Some(&k.database), Some(&k.user))
            .await
        {
            Ok(l) => l,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(api(e)),
        };
        Ok(list
            .into_iter()
            .find(|p| p.database_name == k.database && p.user_name == k.user)
            .map(|p| {
                json!({
                    "instance_id": k.instance, "user_name": p.user_name, "database_name": p.database_name,
                    "permission": p.permission.as_str(), "region": k.region.as_str(),
                })
            }))
    }

    async fn set(&self, ctx: &DriverContext, k: &Key, permission: &str) -> Result<(), DriverError> {
        let client = rdb_client(&self.p, &k.region, &k.instance)?;
        let pacing = self.p.pacing(Pace::Long);
        wait_instance(ctx, pacing, &client, &k.region, &k.instance).await?;
        let p = Privilege {
            permission: permission.into(),
            database_name: k.database.clone(),
            user_name: k.user.clone(),
        };
        client
            .rdb(&k.region)
            .set_privilege(&k.instance, &p)
            .await
            .map_err(api)?;
        wait_instance(ctx, pacing, &client, &k.region, &k.instance).await?;
        Ok(())
    }
}

fn id_of(k: &Key) -> String {
    format!("{}/{}/{}/{}", k.region, k.instance, k.database, k.user)
}

#[async_trait]
impl Driver for RdbPrivilegeDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "region", REGIONS, "Managed Database region", &mut e);
        check::one_of(
            config,
            "permission",
            &["readonly", "readwrite", "all", "custom", "none"],
            "permission",
            &mut e,
        );
        super::rdb_database::check_database_name(config, "database_name", &mut e);
        super::rdb_instance::check_user_name(config, "user_name", &mut e);
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        self.get(&self.key(&rec.config)?).await
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let k = self.key(config)?;
        // A PUT: safe to repeat after a lost answer.
        self.set(ctx, &k, &string(config, "permission").unwrap_or_default())
            .await?;
        let attributes = self
            .get(&k)
            .await?
            .ok_or_else(|| DriverError::failed("the privilege is not listed after being set"))?;
        Ok(Created {
            id: id_of(&k),
            attributes,
        })
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // Setting a privilege is idempotent: just set it again.
        self.create(ctx, config).await.map(Some)
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let k = self.key(&rec.config)?;
        self.set(ctx, &k, &string(config, "permission").unwrap_or_default())
            .await?;
        self.get(&k)
            .await?
            .ok_or_else(|| DriverError::failed("the privilege is not listed after being set"))
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let k = self.key(&rec.config)?;
        match self.set(ctx, &k, "none").await {
            Ok(()) => Ok(()),
            // The user, database or instance is already gone.
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let parts: Vec<&str> = id.split('/').collect();
        let [r, i, d, u] = parts.as_slice() else {
            return Err(DriverError::failed(
                "import a privilege as `region/instance_id/database_name/user_name`",
            ));
        };
        let k = Key {
            region: Region::parse(r).map_err(|e| DriverError::failed(e.to_string()))?,
            instance: i.to_string(),
            database: d.to_string(),
            user: u.to_string(),
        };
        Ok(self.get(&k).await?.map(|attributes| Imported {
            config: config_from(&self.schema, &attributes),
            attributes,
        }))
    }
}
