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

/// Writes the [`Kind`] impl of an object an instance keys by name (a database, a user): its
/// id is `instance_id/name`, so the hooks that read, find, settle and delete it differ only
/// by the noun errors call it and the two `c.rdb(at)` calls that get (`None` when absent) and
/// delete one by instance and name. The place is the instance's region and a name already
/// taken is an existing object; the other items follow as in any impl.
///
/// ```text
/// item_impl! {
///     impl Kind for RdbDatabaseKind, item "database" { get: get_database; remove: delete_database; }
///     type Request = String;
///     ..
/// }
/// ```
macro_rules! item_impl {
    (
        impl Kind for $kind:ident, item $noun:literal { get: $get:ident; remove: $remove:ident; }
        $($item:tt)*
    ) => {
        #[kapstan_engine::async_trait]
        impl $crate::scaleway::kind::Kind for $kind {
            type Place = $crate::scaleway::client::Region;

            #[doc = concat!("A ", $noun, " of that name already there: the name is the key.")]
            fn exists_already(e: &$crate::scaleway::client::Error) -> bool {
                matches!(e.status(), Some(409 | 400))
            }

            fn client(
                d: &$crate::scaleway::kind::KindDriver<Self>,
                config: &serde_json::Value,
            ) -> Result<$crate::scaleway::client::Client, kapstan_engine::DriverError> {
                $crate::scaleway::rdb_item::item_client(d, config)
            }

            async fn get(
                c: &$crate::scaleway::client::Client,
                at: &$crate::scaleway::client::Region,
                id: &str,
            ) -> Result<Option<<Self as $crate::scaleway::kind::Declared>::Wire>, $crate::scaleway::client::Error> {
                let (instance, name) = $crate::scaleway::rdb_item::instance_and_name(id, $noun)?;
                let found = c.rdb(at).$get(instance, name).await?;
                Ok(found.map(|item| $crate::scaleway::rdb_item::InstanceItem::new(at, instance, item)))
            }

            async fn lookup(
                op: &$crate::scaleway::kind::Op<'_, Self>,
            ) -> Result<Option<<Self as $crate::scaleway::kind::Declared>::Wire>, kapstan_engine::DriverError> {
                $crate::scaleway::rdb_item::declared_item(op).await
            }

            async fn settle(
                op: &$crate::scaleway::kind::Op<'_, Self>,
                _created: <Self as $crate::scaleway::kind::Declared>::Wire,
            ) -> Result<<Self as $crate::scaleway::kind::Declared>::Wire, kapstan_engine::DriverError> {
                $crate::scaleway::rdb_item::settled_item(op, $noun).await
            }

            async fn remove(
                c: &$crate::scaleway::client::Client,
                at: &$crate::scaleway::client::Region,
                id: &str,
                _rec: &kapstan_engine::state::ResourceState,
            ) -> Result<(), $crate::scaleway::client::Error> {
                let (instance, name) = $crate::scaleway::rdb_item::instance_and_name(id, $noun)?;
                c.rdb(at).$remove(instance, name).await
            }

            async fn after_delete(
                op: &$crate::scaleway::kind::Op<'_, Self>,
                _rec: &kapstan_engine::state::ResourceState,
            ) -> Result<(), kapstan_engine::DriverError> {
                $crate::scaleway::rdb_item::wait_instance_after_delete(op).await
            }

            $($item)*
        }
    };
}
pub(crate) use item_impl;
