//! `kubernetes_manifest`: any Kubernetes object, applied with server-side apply. Drift is the
//! live object, projected onto the fields the manifest declares, differing from the manifest.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Input, Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{FIELD_MANAGER, KubeClient, ObjectRef, client_from, kube_err, project};

/// Any Kubernetes object.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KubernetesManifest {
    /// Kubeconfig of the cluster (sensitive).
    pub kubeconfig: Input<String>,
    /// The object (apiVersion, kind, metadata.name, optional metadata.namespace, …).
    pub manifest: Value,
    /// Field manager (`kapstan` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_manager: Option<String>,
    /// Take over fields another manager owns instead of failing on conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_conflicts: Option<bool>,
}

crate::declare::kind_attributes! {
    /// Attributes of a `kubernetes_manifest`.
    KubernetesManifestAttributes for KubernetesManifest = "kubernetes_manifest" {
        /// The id (`apiVersion/Kind namespace/name`).
        id;
        /// The object's uid.
        uid: String = output("uid"),
    }
}

crate::declare::schema_driver! {
    /// The `kubernetes_manifest` driver.
    KubernetesManifestDriver
}

impl KubernetesManifestDriver {
    /// The driver.
    pub fn new() -> Self {
        Self {
            schema: Schema::new(
                "kubernetes_manifest",
                vec![
                    Field::required("kubeconfig")
                        .sensitive()
                        .describe("kubeconfig of the cluster"),
                    Field::required("manifest").describe("the object"),
                    Field::optional("field_manager")
                        .describe("server-side apply field manager (kapstan)"),
                    Field::optional("force_conflicts")
                        .describe("take over fields owned by other managers"),
                    Field::computed("uid").describe("the object's uid"),
                ],
            ),
        }
    }
}

fn manager(config: &Value) -> &str {
    config["field_manager"].as_str().unwrap_or(FIELD_MANAGER)
}

async fn apply(client: &KubeClient, config: &Value) -> Result<Value, DriverError> {
    let force = config["force_conflicts"].as_bool().unwrap_or(false);
    let live = client
        .apply(&config["manifest"], manager(config), force)
        .await
        .map_err(|e| match &e {
            super::KubeError::Api { code: 409, .. } => DriverError::failed(format!(
                "{e}; another field manager owns these fields: set `force_conflicts = true` to take them over"
            )),
            _ => kube_err(e),
        })?;
    Ok(live)
}

fn attributes(config: &Value, live: &Value) -> Value {
    json!({"manifest": project(&config["manifest"], live), "uid": live["metadata"]["uid"]})
}

async fn reference(client: &KubeClient, manifest: &Value) -> Result<ObjectRef, DriverError> {
    let mut r = ObjectRef::of(manifest).ok_or_else(|| {
        DriverError::failed("the manifest needs apiVersion, kind and metadata.name")
    })?;
    let namespaced = client
        .is_namespaced(&r.api_version, &r.kind)
        .await
        .map_err(kube_err)?;
    if namespaced && r.namespace.is_none() {
        r.namespace = Some("default".into());
    }
    if !namespaced {
        r.namespace = None;
    }
    Ok(r)
}

#[async_trait]
impl Driver for KubernetesManifestDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let m = &config["manifest"];
        if m.get("$unknown").is_some() || m.get("$ref").is_some() {
            return vec![];
        }
        let mut errors = vec![];
        for (field, v) in [
            ("apiVersion", &m["apiVersion"]),
            ("kind", &m["kind"]),
            ("metadata.name", &m["metadata"]["name"]),
        ] {
            if !v.is_string() && !v.is_object() {
                errors.push(FieldError::new(
                    &format!("manifest.{field}"),
                    "(absent)",
                    "is required",
                    &format!("set `{field}` in the manifest"),
                ));
            }
        }
        if m.get("status").is_some() {
            errors.push(FieldError::new(
                "manifest.status",
                "…",
                "is set by the cluster",
                "remove `status` from the manifest",
            ));
        }
        errors
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = client_from(&recorded.config)?;
        let r = reference(&client, &recorded.config["manifest"]).await?;
        let live = client.get(&r).await.map_err(kube_err)?;
        Ok(live.map(|l| attributes(&recorded.config, &l)))
    }

    async fn create(&self, _ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = client_from(config)?;
        let r = reference(&client, &config["manifest"]).await?;
        let live = apply(&client, config).await?;
        Ok(Created {
            id: r.to_string(),
            attributes: attributes(config, &live),
        })
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let client = client_from(config)?;
        let old = reference(&client, &recorded.config["manifest"]).await?;
        let new = reference(&client, &config["manifest"]).await?;
        let live = apply(&client, config).await?;
        if old != new {
            client.delete(&old).await.map_err(kube_err)?;
        }
        Ok(attributes(config, &live))
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        let client = client_from(&recorded.config)?;
        let r = reference(&client, &recorded.config["manifest"]).await?;
        client.delete(&r).await.map_err(kube_err)?;
        Ok(())
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        self.create(ctx, config).await.map(Some)
    }
}
