//! `scaleway_rdb_user`: a user of a managed instance; the password (typically from
//! `random_password`) is sensitive and updated in place.

use kapstan_engine::{DriverError, FieldError, Input, Update};
use serde_json::Value;

use super::client::secret::SecretString;
use super::client::wire::rdb::{CreateUserRequest, UpdateUserRequest, User};
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{Op, bare_id, fetch, kind};
use super::provider::{api, check, string};
use super::rdb_instance::{REGION_RULE, check_password, check_user_name};
use super::rdb_item::{InstanceItem, declared_key, instance_and_name, item_impl, wait_instance_of};

kind! {
    /// A database user.
    pub struct RdbUser = "scaleway_rdb_user" (RdbUserKind, RdbUserAttributes, RdbUserDriver);
    wire LiveUser as u, id u.id_for(&u.item.name);
    /// the instance
    instance_id: Input<String>, required force_new => u.instance;
    /// user name
    name: Input<String>, required force_new => u.item.name;
    /// password (updated in place; 8–128 chars with digit, upper, lower, special), e.g. a
    /// `random_password` result
    password: Input<String>, required sensitive;
    /// administrator (updated in place)
    #[serde(default)]
    is_admin: bool, optional => u.item.is_admin;
    /// region of the instance
    region: Option<String>, optional_computed force_new => u.region.as_str();
}

type LiveUser = InstanceItem<User>;

fn declared_update(config: &Value) -> UpdateUserRequest {
    UpdateUserRequest {
        password: Some(SecretString::new(
            string(config, "password").unwrap_or_default(),
        )),
        is_admin: config.get("is_admin").and_then(Value::as_bool),
    }
}

item_impl! {
    impl Kind for RdbUserKind, item "user" { get: get_user; remove: delete_user; }
    type Request = (String, CreateUserRequest);

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::choices(config, &[REGION_RULE], e);
        check_user_name(config, "name", e);
        check_password(config, "password", e);
    }

    async fn request(op: &Op<'_, Self>) -> Result<(String, CreateUserRequest), DriverError> {
        let config = op.config;
        wait_instance_of(op).await?;
        let req = CreateUserRequest {
            name: string(config, "name").unwrap_or_default(),
            password: SecretString::new(string(config, "password").unwrap_or_default()),
            is_admin: config
                .get("is_admin")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        Ok((string(config, "instance_id").unwrap_or_default(), req))
    }

    async fn post(
        c: &Client,
        at: &Region,
        (instance, req): &(String, CreateUserRequest),
    ) -> Result<LiveUser, ApiErr> {
        let u = c.rdb(at).create_user(instance, req).await?;
        Ok(InstanceItem::new(at, instance, u))
    }

    /// The earlier run may have died before the password was set: set the declared one.
    async fn adopted(op: &Op<'_, Self>, _u: LiveUser) -> Result<LiveUser, DriverError> {
        let config = op.config;
        set_declared(op, &declared_key(config)).await
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveUser, DriverError> {
        let id = bare_id(update.recorded);
        set_declared(op, id).await
    }
}

/// Sets the declared password and role, waiting for the instance before and after.
async fn set_declared(op: &Op<'_, RdbUserKind>, id: &str) -> Result<LiveUser, DriverError> {
    let Op { c, at, config, .. } = *op;
    wait_instance_of(op).await?;
    let (instance, name) = instance_and_name(id, "user").map_err(api)?;
    c.rdb(at)
        .update_user(instance, name, &declared_update(config))
        .await
        .map_err(api)?;
    wait_instance_of(op).await?;
    fetch::<RdbUserKind>(c, at, id)
        .await?
        .ok_or_else(|| DriverError::failed(format!("user {name} is gone")))
}
