//! `scaleway_rdb_database`: a database of a managed instance (natural key: its name).

use kapstan_engine::{DriverError, FieldError, Input, Update};
use serde_json::Value;

use super::client::wire::rdb::Database;
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{Op, bare_id, fetch, kind};
use super::provider::check;
use super::rdb_instance::{REGION_RULE, postgres_identifier};
use super::rdb_item::{InstanceItem, declared_key, instance_and_name, item_impl, wait_instance_of};

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
pub fn check_database_name(config: &Value, field: &'static str, e: &mut Vec<FieldError>) {
    let rule: check::TextRule = (
        field,
        |n| postgres_identifier(n, &['_', '-']) && !RESERVED.contains(&n) && !n.starts_with("pg_"),
        "is not a valid database name",
        "use 1 to 63 letters, digits, `_` or `-`, starting with a letter; not postgres, template0/1 or pg_*",
    );
    check::texts(config, &[rule], e);
}

type LiveDatabase = InstanceItem<Database>;

item_impl! {
    impl Kind for RdbDatabaseKind, item "database" {
        get: get_database; remove: delete_database;
    }
    type Request = String;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::choices(config, &[REGION_RULE], e);
        check_database_name(config, "name", e);
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

    /// Every argument forces replacement: nothing to update.
    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveDatabase, DriverError> {
        let id = bare_id(update.recorded);
        let Op { c, at, .. } = *op;
        fetch::<Self>(c, at, id)
            .await?
            .ok_or_else(|| DriverError::failed(format!("database {id} is gone")))
    }
}
