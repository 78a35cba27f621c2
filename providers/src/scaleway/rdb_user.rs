//! `scaleway_rdb_user`: a user of a managed instance; the password (typically from
//! `random_password`) is sensitive and updated in place.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::Region;
use super::client::secret::SecretString;
use super::client::wire::rdb::{CreateUserRequest, UpdateUserRequest};
use super::provider::{Pace, ScalewayProvider, api, attributes, check, is_not_found, string};
use super::rdb_instance::{REGIONS, check_password, check_user_name, rdb_client, wait_instance};

/// A database user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RdbUser {
    /// The instance. Changing it replaces the user.
    pub instance_id: Input<String>,
    /// Name. Changing it replaces the user.
    pub name: Input<String>,
    /// Password (sensitive; updated in place), e.g. a `random_password` result.
    pub password: Input<String>,
    /// Administrator (updated in place).
    #[serde(default)]
    pub is_admin: bool,
    /// Region of the instance. Changing it replaces the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_rdb_user`.
    RdbUserAttributes {
        /// The name.
        name: String = "name",
    }
}

impl Resource for RdbUser {
    const KIND: &'static str = "scaleway_rdb_user";
    type Attributes = RdbUserAttributes;
}

/// The `scaleway_rdb_user` driver.
#[derive(Debug)]
pub struct RdbUserDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl RdbUserDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_rdb_user",
                vec![
                    Field::required("instance_id").force_new().describe("the instance"),
                    Field::required("name").force_new().describe("user name"),
                    Field::required("password").sensitive().describe("password (updated in place; 8–128 chars with digit, upper, lower, special)"),
                    Field::optional("is_admin").describe("administrator (updated in place)"),
                    Field::optional_computed("region").force_new().describe("region of the instance"),
                ],
            ),
        }
    }

    async fn get(
        &self,
        region: &Region,
        instance: &str,
        name: &str,
    ) -> Result<Option<Value>, DriverError> {
        let client = rdb_client(&self.p, region, instance)?;
        match client.rdb(region).get_user(instance, name).await {
            Ok(Some(u)) => Ok(Some(json!({
                "instance_id": instance, "name": u.name, "is_admin": u.is_admin, "region": region.as_str(),
            }))),
            Ok(None) => Ok(None),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(api(e)),
        }
    }
}

fn id_of(region: &Region, instance: &str, name: &str) -> String {
    format!("{region}/{instance}/{name}")
}

#[async_trait]
impl Driver for RdbUserDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "region", REGIONS, "Managed Database region", &mut e);
        check_user_name(config, "name", &mut e);
        check_password(config, "password", &mut e);
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let region = self.p.region_of(&rec.config)?;
        let instance = string(&rec.config, "instance_id").unwrap_or_default();
        let name = string(&rec.config, "name").unwrap_or_default();
        self.get(&region, &instance, &name).await
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let region = self.p.region_of(config)?;
        let instance = string(config, "instance_id").unwrap_or_default();
        let name = string(config, "name").unwrap_or_default();
        let client = rdb_client(&self.p, &region, &instance)?;
        let pacing = self.p.pacing(Pace::Long);
        wait_instance(ctx, pacing, &client, &region, &instance).await?;
        let req = CreateUserRequest {
            name: name.clone(),
            password: SecretString::new(string(config, "password").unwrap_or_default()),
            is_admin: config
                .get("is_admin")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        let rdb = client.rdb(&region);
        for attempt in 1..=3 {
            match rdb.create_user(&instance, &req).await {
                Ok(_) => break,
                Err(e)
                    if e.is_ambiguous() || e.status() == Some(409) || e.status() == Some(400) =>
                {
                    // The name is the key: adopt the user and set the declared password.
                    if self.get(&region, &instance, &name).await?.is_some() {
                        wait_instance(ctx, pacing, &client, &region, &instance).await?;
                        let update = UpdateUserRequest {
                            password: Some(req.password.clone()),
                            is_admin: Some(req.is_admin),
                        };
                        rdb.update_user(&instance, &name, &update)
                            .await
                            .map_err(api)?;
                        break;
                    }
                    if attempt == 3 || !e.is_ambiguous() {
                        return Err(api(e));
                    }
                }
                Err(e) => return Err(api(e)),
            }
        }
        let id = id_of(&region, &instance, &name);
        ctx.checkpoint(json!({"id": id})).await?;
        wait_instance(ctx, pacing, &client, &region, &instance).await?;
        let attributes = self
            .get(&region, &instance, &name)
            .await?
            .ok_or_else(|| DriverError::failed(format!("user {name} vanished after creation")))?;
        Ok(Created { id, attributes })
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let region = self.p.region_of(config)?;
        let instance = string(config, "instance_id").unwrap_or_default();
        let name = string(config, "name").unwrap_or_default();
        if self.get(&region, &instance, &name).await?.is_none() {
            return Ok(None);
        }
        // The earlier run may have died before the password was set: set it again.
        let client = rdb_client(&self.p, &region, &instance)?;
        wait_instance(ctx, self.p.pacing(Pace::Long), &client, &region, &instance).await?;
        client
            .rdb(&region)
            .update_user(
                &instance,
                &name,
                &UpdateUserRequest {
                    password: Some(SecretString::new(
                        string(config, "password").unwrap_or_default(),
                    )),
                    is_admin: config.get("is_admin").and_then(Value::as_bool),
                },
            )
            .await
            .map_err(api)?;
        wait_instance(ctx, self.p.pacing(Pace::Long), &client, &region, &instance).await?;
        Ok(self
            .get(&region, &instance, &name)
            .await?
            .map(|attributes| Created {
                id: id_of(&region, &instance, &name),
                attributes,
            }))
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let region = self.p.region_of(&rec.config)?;
        let instance = string(&rec.config, "instance_id").unwrap_or_default();
        let name = string(&rec.config, "name").unwrap_or_default();
        let client = rdb_client(&self.p, &region, &instance)?;
        let pacing = self.p.pacing(Pace::Long);
        wait_instance(ctx, pacing, &client, &region, &instance).await?;
        client
            .rdb(&region)
            .update_user(
                &instance,
                &name,
                &UpdateUserRequest {
                    password: Some(SecretString::new(
                        string(config, "password").unwrap_or_default(),
                    )),
                    is_admin: config.get("is_admin").and_then(Value::as_bool),
                },
            )
            .await
            .map_err(api)?;
        wait_instance(ctx, pacing, &client, &region, &instance).await?;
        self.get(&region, &instance, &name)
            .await?
            .ok_or_else(|| DriverError::failed(format!("user {name} is gone")))
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let region = self.p.region_of(&rec.config)?;
        let instance = string(&rec.config, "instance_id").unwrap_or_default();
        let name = string(&rec.config, "name").unwrap_or_default();
        let client = rdb_client(&self.p, &region, &instance)?;
        match client.rdb(&region).delete_user(&instance, &name).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        match wait_instance(ctx, self.p.pacing(Pace::Long), &client, &region, &instance).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let parts: Vec<&str> = id.split('/').collect();
        let (region, instance, name) = match parts.as_slice() {
            [r, i, n] => (
                Region::parse(r).map_err(|e| DriverError::failed(e.to_string()))?,
                *i,
                *n,
            ),
            [i, n] => (self.p.client()?.region().clone(), *i, *n),
            _ => {
                return Err(DriverError::failed(
                    "import a user as `region/instance_id/name`",
                ));
            }
        };
        Ok(self
            .get(&region, instance, name)
            .await?
            .map(|attributes| Imported {
                config: json!({"instance_id": instance, "name": name}),
                attributes,
            }))
    }
}
