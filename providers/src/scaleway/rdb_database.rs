//! `scaleway_rdb_database`: a database of a managed instance (natural key: its name).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Update, async_trait};
use serde_json::Value;

use super::client::wire::rdb::Database;
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{Kind, Op, bare_id, fetch, kind};
use super::provider::check;
use super::rdb_instance::REGIONS;
use super::rdb_item::{
    InstanceItem, declared_item, declared_key, instance_and_name, item_client, settled_item,
    wait_instance_after_delete, wait_instance_of,
};

kind! {
    /// A database.
    pub struct RdbDatabase = "scaleway_rdb_database"
        (RdbDatabaseKind, RdbDatabaseAttributes, RdbDatabaseDriver);
    wire LiveDatabase as d, id d.id_for(&d.item.name);
    /// the instance
    instance_id: Input<String>, required force_new => d.instance;
    /// database name
    name: Input<String>, required force_new => d.item.name;
    /// region of the instance
    region: Option<String>, optional_computed force_new => d.region.as_str();
    /// whether Scaleway manages the database
    managed: bool, computed => d.item.managed;
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

type LiveDatabase = InstanceItem<Database>;

#[async_trait]
impl Kind for RdbDatabaseKind {
    type Place = Region;
    type Request = String;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "region", REGIONS, "Managed Database region", e);
        check_database_name(config, "name", e);
    }

    /// A database of that name already there: the name is the key.
    fn exists_already(e: &ApiErr) -> bool {
        matches!(e.status(), Some(409 | 400))
    }

    fn client(d: &RdbDatabaseDriver, config: &Value) -> Result<Client, DriverError> {
        item_client(d, config)
    }

    async fn get(c: &Client, at: &Region, id: &str) -> Result<Option<LiveDatabase>, ApiErr> {
        let (instance, name) = instance_and_name(id, "database")?;
        let found = c.rdb(at).get_database(instance, name).await?;
        Ok(found.map(|db| InstanceItem::new(at, instance, db)))
    }

    async fn lookup(op: &Op<'_, Self>) -> Result<Option<LiveDatabase>, DriverError> {
        declared_item(op).await
    }

    async fn request(op: &Op<'_, Self>) -> Result<String, DriverError> {
        let config = op.config;
        wait_instance_of(op).await?;
        Ok(declared_key(config))
    }

    async fn post(c: &Client, at: &Region, key: &String) -> Result<LiveDatabase, ApiErr> {
        let (instance, name) = instance_and_name(key, "database")?;
        let db = c.rdb(at).create_database(instance, name).await?;
        Ok(InstanceItem::new(at, instance, db))
    }

    async fn settle(op: &Op<'_, Self>, _db: LiveDatabase) -> Result<LiveDatabase, DriverError> {
        settled_item(op, "database").await
    }

    /// Every argument forces replacement: nothing to update.
    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveDatabase, DriverError> {
        let id = bare_id(update.recorded);
        let Op { c, at, .. } = *op;
        fetch::<Self>(c, at, id)
            .await?
            .ok_or_else(|| DriverError::failed(format!("database {id} is gone")))
    }

    async fn remove(c: &Client, at: &Region, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        let (instance, name) = instance_and_name(id, "database")?;
        c.rdb(at).delete_database(instance, name).await
    }

    async fn after_delete(op: &Op<'_, Self>, _rec: &ResourceState) -> Result<(), DriverError> {
        wait_instance_after_delete(op).await
    }
}
