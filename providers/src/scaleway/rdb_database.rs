//! `scaleway_rdb_database`: a database of a managed instance (natural key: its name).

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::Region;
use super::provider::{Pace, ScalewayProvider, api, attributes, check, is_not_found, string};
use super::rdb_instance::{REGIONS, rdb_client, wait_instance};

/// A database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RdbDatabase {
    /// The instance. Changing it replaces the database.
    pub instance_id: Input<String>,
    /// Name. Changing it replaces the database.
    pub name: Input<String>,
    /// Region of the instance. Changing it replaces the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_rdb_database`.
    RdbDatabaseAttributes {
        /// The name.
        name: String = "name",
        /// Whether the database is managed by Scaleway.
        managed: bool = "managed",
    }
}

impl Resource for RdbDatabase {
    const KIND: &'static str = "scaleway_rdb_database";
    type Attributes = RdbDatabaseAttributes;
}

/// Names PostgreSQL reserves.
const RESERVED: &[&str] = &["postgres", "template0", "template1", "rdb", "_rdb"];

/// Checks a database name: 1 to 63 characters, a letter first, then letters, digits, `_`,
/// `-`; not reserved.
pub fn check_database_name(config: &Value, field: &str, e: &mut Vec<FieldError>) {
    if let Some(n) = config.get(field).and_then(Value::as_str) {
        let ok = (1..=63).contains(&n.len())
            && n.starts_with(|c: char| c.is_ascii_alphabetic())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            && !RESERVED.contains(&n)
            && !n.starts_with("pg_");
        if !ok {
            e.push(FieldError::new(
                field,
                &format!("{n:?}"),
                "is not a valid database name",
                "use 1 to 63 letters, digits, `_` or `-`, starting with a letter; not postgres, template0/1 or pg_*",
            ));
        }
    }
}

/// The `scaleway_rdb_database` driver.
#[derive(Debug)]
pub struct RdbDatabaseDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl RdbDatabaseDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_rdb_database",
                vec![
                    Field::required("instance_id")
                        .force_new()
                        .describe("the instance"),
                    Field::required("name")
                        .force_new()
                        .describe("database name"),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region of the instance"),
                    Field::computed("managed").describe("whether Scaleway manages the database"),
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
        match client.rdb(region).get_database(instance, name).await {
            Ok(Some(d)) => Ok(Some(json!({
                "instance_id": instance, "name": d.name, "region": region.as_str(), "managed": d.managed,
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
impl Driver for RdbDatabaseDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "region", REGIONS, "Managed Database region", &mut e);
        check_database_name(config, "name", &mut e);
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
        wait_instance(ctx, self.p.pacing(Pace::Long), &client, &region, &instance).await?;
        for attempt in 1..=3 {
            match client.rdb(&region).create_database(&instance, &name).await {
                Ok(_) => break,
                // Lost answer, or a database of that name already there: the name is the key.
                Err(e)
                    if e.is_ambiguous() || e.status() == Some(409) || e.status() == Some(400) =>
                {
                    if self.get(&region, &instance, &name).await?.is_some() {
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
        wait_instance(ctx, self.p.pacing(Pace::Long), &client, &region, &instance).await?;
        let attributes = self.get(&region, &instance, &name).await?.ok_or_else(|| {
            DriverError::failed(format!("database {name} vanished after creation"))
        })?;
        Ok(Created { id, attributes })
    }

    async fn recover(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let region = self.p.region_of(config)?;
        let instance = string(config, "instance_id").unwrap_or_default();
        let name = string(config, "name").unwrap_or_default();
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
        _ctx: &DriverContext,
        rec: &ResourceState,
        _config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        // Every argument forces replacement: nothing to update.
        Ok(rec.attributes.clone())
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let region = self.p.region_of(&rec.config)?;
        let instance = string(&rec.config, "instance_id").unwrap_or_default();
        let name = string(&rec.config, "name").unwrap_or_default();
        let client = rdb_client(&self.p, &region, &instance)?;
        match client.rdb(&region).delete_database(&instance, &name).await {
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
                    "import a database as `region/instance_id/name`",
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
