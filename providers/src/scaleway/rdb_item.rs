//! What the objects of a managed database instance that are named by their name (databases,
//! users) share: their `region/instance_id/name` ids, the client that waits for the instance,
//! and the waits on the instance around every change.

use kapstan_engine::DriverError;
use serde_json::Value;

use super::client::{Client, Error as ApiErr, Region};
use super::kind::{Kind, KindDriver, Op, fetch};
use super::provider::{Pace, is_not_found, string};
use super::rdb_instance::{rdb_client, wait_instance};

/// One named object of an instance, with where it lives.
#[derive(Debug)]
pub struct InstanceItem<T> {
    pub(crate) region: Region,
    pub(crate) instance: String,
    pub(crate) item: T,
}

impl<T> InstanceItem<T> {
    /// Wraps `item` of `instance` in `region`.
    pub(crate) fn new(region: &Region, instance: &str, item: T) -> Self {
        Self {
            region: region.clone(),
            instance: instance.to_string(),
            item,
        }
    }

    /// The provider id: `region/instance_id/name`.
    pub(crate) fn id_for(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.region, self.instance)
    }
}

/// The `(instance_id, name)` of an id without its region, or how to write one.
pub(crate) fn instance_and_name<'a>(id: &'a str, what: &str) -> Result<(&'a str, &'a str), ApiErr> {
    id.split_once('/')
        .filter(|(i, n)| !i.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| {
            ApiErr::InvalidRequest(format!("import a {what} as `region/instance_id/name`"))
        })
}

/// The `instance_id/name` a config declares.
pub(crate) fn declared_key(config: &Value) -> String {
    format!(
        "{}/{}",
        string(config, "instance_id").unwrap_or_default(),
        string(config, "name").unwrap_or_default()
    )
}

/// The client for a config's instance: its 409s wait for the instance to be ready.
pub(crate) fn item_client<K: Kind>(
    d: &KindDriver<K>,
    config: &Value,
) -> Result<Client, DriverError> {
    let region = d.p.region_of(config)?;
    rdb_client(
        &d.p,
        &region,
        &string(config, "instance_id").unwrap_or_default(),
    )
}

/// Waits until the instance of the call's config accepts changes (the instance forces
/// replacement: a recorded and a declared config name the same one).
pub(crate) async fn wait_instance_of<K: Kind<Place = Region>>(
    op: &Op<'_, K>,
) -> Result<(), DriverError> {
    let instance = string(op.config, "instance_id").unwrap_or_default();
    wait_instance(op.ctx, op.d.p.pacing(Pace::Long), op.c, op.at, &instance)
        .await
        .map(|_| ())
}

/// After a delete: waits until the instance applied it; an instance deleted meanwhile is fine.
pub(crate) async fn wait_instance_after_delete<K: Kind<Place = Region>>(
    op: &Op<'_, K>,
) -> Result<(), DriverError> {
    match wait_instance_of(op).await {
        Err(e) if is_not_found(&e) => Ok(()),
        other => other,
    }
}

/// The object the call's config declares, by its `instance_id/name` key.
pub(crate) async fn declared_item<K: Kind<Place = Region>>(
    op: &Op<'_, K>,
) -> Result<Option<K::Wire>, DriverError> {
    fetch::<K>(op.c, op.at, &declared_key(op.config)).await
}

/// Once the instance applied a creation: the created object (`what`, as errors call it),
/// read again.
pub(crate) async fn settled_item<K: Kind<Place = Region>>(
    op: &Op<'_, K>,
    what: &str,
) -> Result<K::Wire, DriverError> {
    wait_instance_of(op).await?;
    declared_item(op).await?.ok_or_else(|| {
        DriverError::failed(format!(
            "{what} {} vanished after creation",
            declared_key(op.config)
        ))
    })
}
