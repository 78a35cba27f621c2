//! `scaleway_rdb_privilege`: a user's permission on a database (an idempotent PUT; deleting
//! sets `none`).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Update, async_trait};
use serde_json::Value;

use super::client::wire::rdb::Privilege;
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{Kind, Op, fetch, kind};
use super::provider::{api, check, string};
use super::rdb_instance::REGION_RULE;
use super::rdb_item::{InstanceItem, item_client, wait_instance_after_delete, wait_instance_of};

kind! {
    /// A permission of a user on a database.
    pub struct RdbPrivilege = "scaleway_rdb_privilege"
        (RdbPrivilegeKind, RdbPrivilegeAttributes, RdbPrivilegeDriver);
    wire LivePrivilege as p, id p.id_for(&key_of(&p.item));
    /// the instance
    instance_id: Input<String>, required force_new => p.instance;
    /// the user
    user_name: Input<String>, required force_new => p.item.user_name;
    /// the database
    database_name: Input<String>, required force_new => p.item.database_name;
    /// readonly, readwrite, all, custom or none (updated in place)
    permission: String, required => p.item.permission.as_str();
    /// region of the instance
    region: Option<String>, optional_computed force_new => p.region.as_str();
}

type LivePrivilege = InstanceItem<Privilege>;

/// The `database_name/user_name` part of a privilege's id.
fn key_of(p: &Privilege) -> String {
    format!("{}/{}", p.database_name, p.user_name)
}

/// The `(instance_id, database_name, user_name)` of an id without its region, or how to
/// write one.
fn parts(id: &str) -> Result<(&str, &str, &str), ApiErr> {
    match id.split('/').collect::<Vec<_>>().as_slice() {
        [i, d, u] => Ok((i, d, u)),
        _ => Err(ApiErr::InvalidRequest(
            "import a privilege as `region/instance_id/database_name/user_name`".into(),
        )),
    }
}

/// The privilege a config declares, with `permission`.
fn declared(config: &Value, permission: &str) -> (String, Privilege) {
    let privilege = Privilege {
        permission: permission.into(),
        database_name: string(config, "database_name").unwrap_or_default(),
        user_name: string(config, "user_name").unwrap_or_default(),
    };
    (string(config, "instance_id").unwrap_or_default(), privilege)
}

/// Sets `permission` on the call's user and database, waiting for the instance before and
/// after.
async fn put(op: &Op<'_, RdbPrivilegeKind>, permission: &str) -> Result<(), DriverError> {
    wait_instance_of(op).await?;
    let (instance, p) = declared(op.config, permission);
    op.c.rdb(op.at)
        .set_privilege(&instance, &p)
        .await
        .map_err(api)?;
    wait_instance_of(op).await
}

/// Sets `permission` as [`put`] does and reads the privilege back.
async fn set(
    op: &Op<'_, RdbPrivilegeKind>,
    permission: &str,
) -> Result<LivePrivilege, DriverError> {
    put(op, permission).await?;
    listed(op).await
}

/// The declared privilege, which must be listed.
async fn listed(op: &Op<'_, RdbPrivilegeKind>) -> Result<LivePrivilege, DriverError> {
    RdbPrivilegeKind::lookup(op)
        .await?
        .ok_or_else(|| DriverError::failed("the privilege is not listed after being set"))
}

/// The permission a config declares.
fn permission_of(config: &Value) -> String {
    string(config, "permission").unwrap_or_default()
}

#[async_trait]
impl Kind for RdbPrivilegeKind {
    type Place = Region;
    type Request = (String, Privilege);

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        let choices: [check::ChoiceRule; 2] = [
            REGION_RULE,
            (
                "permission",
                &["readonly", "readwrite", "all", "custom", "none"],
                "permission",
            ),
        ];
        check::choices(config, &choices, e);
        super::rdb_database::check_database_name(config, "database_name", e);
        super::rdb_instance::check_user_name(config, "user_name", e);
    }

    /// The permission as the API lists it (no config shaping).
    fn shape(_attributes: &mut Value, _config: &Value) {}

    fn client(d: &RdbPrivilegeDriver, config: &Value) -> Result<Client, DriverError> {
        item_client(d, config)
    }

    async fn get(c: &Client, at: &Region, id: &str) -> Result<Option<LivePrivilege>, ApiErr> {
        let (instance, database, user) = parts(id)?;
        let listed = c
            .rdb(at)
            .list_privileges(instance, Some(database), Some(user))
            .await?;
        Ok(listed
            .into_iter()
            .find(|p| p.database_name == database && p.user_name == user)
            .map(|p| InstanceItem::new(at, instance, p)))
    }

    /// The privilege of the declared user on the declared database (every pair has one).
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<LivePrivilege>, DriverError> {
        let Op { c, at, config, .. } = *op;
        let (instance, p) = declared(config, "");
        fetch::<Self>(c, at, &format!("{instance}/{}", key_of(&p))).await
    }

    async fn request(op: &Op<'_, Self>) -> Result<(String, Privilege), DriverError> {
        let config = op.config;
        wait_instance_of(op).await?;
        Ok(declared(config, &permission_of(config)))
    }

    async fn post(
        c: &Client,
        at: &Region,
        (instance, p): &(String, Privilege),
    ) -> Result<LivePrivilege, ApiErr> {
        let set = c.rdb(at).set_privilege(instance, p).await?;
        Ok(InstanceItem::new(at, instance, set))
    }

    /// Setting a privilege is idempotent: a recovered one is just set again.
    async fn adopted(op: &Op<'_, Self>, _p: LivePrivilege) -> Result<LivePrivilege, DriverError> {
        let config = op.config;
        set(op, &permission_of(config)).await
    }

    async fn settle(op: &Op<'_, Self>, _p: LivePrivilege) -> Result<LivePrivilege, DriverError> {
        wait_instance_of(op).await?;
        listed(op).await
    }

    /// The declared permission (the user and the database force replacement).
    async fn update(op: &Op<'_, Self>, _update: &Update<'_>) -> Result<LivePrivilege, DriverError> {
        set(op, &permission_of(op.config)).await
    }

    /// Waits for the instance; an instance already gone is fine.
    async fn before_delete(op: &Op<'_, Self>, _rec: &ResourceState) -> Result<(), DriverError> {
        wait_instance_after_delete(op).await
    }

    /// Sets `none` (a user, database or instance already gone is fine: a 404).
    async fn remove(c: &Client, at: &Region, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        let (instance, database, user) = parts(id)?;
        let none = Privilege {
            permission: "none".into(),
            database_name: database.into(),
            user_name: user.into(),
        };
        c.rdb(at).set_privilege(instance, &none).await.map(|_| ())
    }

    async fn after_delete(op: &Op<'_, Self>, _rec: &ResourceState) -> Result<(), DriverError> {
        wait_instance_after_delete(op).await
    }
}
