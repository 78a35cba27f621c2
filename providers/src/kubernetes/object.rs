//! The one driver of the Kubernetes kinds: read the object a config names, apply it with
//! server-side apply, delete it; each kind says only how its config becomes that object.

use std::marker::PhantomData;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Schema, Update, async_trait,
};
use serde_json::Value;

use super::{KubeClient, ObjectRef, apply_as_kapstan, client_from, kube_err};
use crate::declare::DeclaredSchema;

/// What a Kubernetes kind adds to [`ObjectDriver`]: its object, its reference and its
/// attributes. (Public in a private module: implemented only here, named by the drivers' bounds.)
#[async_trait]
pub trait KubeKind: DeclaredSchema + Send + Sync + 'static {
    /// Checks beyond the schema.
    fn validate(_config: &Value) -> Vec<FieldError> {
        vec![]
    }

    /// The object `config` names (`client` says whether its kind is namespaced).
    async fn reference(client: &KubeClient, config: &Value) -> Result<ObjectRef, DriverError>;

    /// The provider id of the object `r`.
    fn id(r: &ObjectRef) -> String;

    /// The manifest applied for `config`.
    fn manifest(config: &Value) -> Value;

    /// Applies the manifest of `config`: the live object. By default as kapstan, taking over
    /// fields other managers own.
    async fn apply(client: &KubeClient, config: &Value) -> Result<Value, DriverError> {
        apply_as_kapstan(client, &Self::manifest(config)).await
    }

    /// The attributes of the live object `live` of `config`.
    fn attributes(config: &Value, live: &Value) -> Value;
}

/// The client of the cluster `config` names and the object it names there.
async fn located<K: KubeKind>(config: &Value) -> Result<(KubeClient, ObjectRef), DriverError> {
    let client = client_from(config)?;
    let r = K::reference(&client, config).await?;
    Ok((client, r))
}

/// The driver of the Kubernetes kind `K`.
#[derive(Debug)]
pub struct ObjectDriver<K> {
    schema: Schema,
    kind: PhantomData<fn() -> K>,
}

impl<K: KubeKind> ObjectDriver<K> {
    /// The driver.
    pub fn new() -> Self {
        Self {
            schema: K::schema(),
            kind: PhantomData,
        }
    }
}

impl<K: KubeKind> Default for ObjectDriver<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl<K: KubeKind> Driver for ObjectDriver<K> {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        errors.extend(K::validate(config));
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let (client, r) = located::<K>(&recorded.config).await?;
        let live = client.get(&r).await.map_err(kube_err)?;
        Ok(live.map(|l| K::attributes(&recorded.config, &l)))
    }

    async fn create(&self, _ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let (client, r) = located::<K>(config).await?;
        let live = K::apply(&client, config).await?;
        Ok(Created {
            id: K::id(&r),
            attributes: K::attributes(config, &live),
        })
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        update: &Update<'_>,
    ) -> Result<Value, DriverError> {
        let client = client_from(update.config)?;
        let old = K::reference(&client, &update.recorded.config).await?;
        let new = K::reference(&client, update.config).await?;
        let live = K::apply(&client, update.config).await?;
        // A manifest may name another object in place; the one it named before goes.
        if old != new {
            client.delete(&old).await.map_err(kube_err)?;
        }
        Ok(K::attributes(update.config, &live))
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        let (client, r) = located::<K>(&recorded.config).await?;
        client.delete(&r).await.map_err(kube_err)?;
        Ok(())
    }

    // Server-side apply is idempotent: applying again adopts what an earlier run created.
    fn create_adopts(&self) -> bool {
        true
    }
}
