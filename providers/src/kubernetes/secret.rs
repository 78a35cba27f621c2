//! `kubernetes_secret`: a Secret whose data values are sensitive (given in clear, stored
//! sealed in state, sent base64-encoded).

use std::collections::BTreeMap;

use base64::Engine as _;
use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, Input, Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{
    ObjectRef, apply_as_kapstan, client_from, kube_err, project, string_tree, to_manifest,
};

/// A Kubernetes Secret.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KubernetesSecret {
    /// Kubeconfig of the cluster (sensitive).
    pub kubeconfig: Input<String>,
    /// Namespace; changing it replaces the Secret.
    pub namespace: Input<String>,
    /// Name; changing it replaces the Secret.
    pub name: Input<String>,
    /// Secret type (`Opaque` when absent); changing it replaces the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
    /// Data in clear text (sensitive): key → value.
    pub data: BTreeMap<String, Input<String>>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

crate::declare::kind_attributes! {
    /// Attributes of a `kubernetes_secret`.
    KubernetesSecretAttributes for KubernetesSecret = "kubernetes_secret" {
        /// The id (`namespace/name`).
        id;
        /// The Secret's name.
        name: String = output("name"),
    }
}

crate::declare::schema_driver! {
    /// The `kubernetes_secret` driver.
    KubernetesSecretDriver
}

impl KubernetesSecretDriver {
    /// The driver.
    pub fn new() -> Self {
        Self {
            schema: Schema::new(
                "kubernetes_secret",
                vec![
                    Field::required("kubeconfig")
                        .sensitive()
                        .describe("kubeconfig of the cluster"),
                    Field::required("namespace")
                        .force_new()
                        .describe("namespace"),
                    Field::required("name").force_new().describe("Secret name"),
                    Field::optional("type")
                        .force_new()
                        .describe("Secret type (Opaque)"),
                    Field::required("data")
                        .sensitive()
                        .describe("data in clear text"),
                    Field::optional("labels").describe("labels"),
                    Field::optional("annotations").describe("annotations"),
                    Field::computed("uid").describe("the Secret's uid"),
                ],
            ),
        }
    }
}

fn manifest(config: &Value) -> Value {
    let data: BTreeMap<String, ByteString> = string_tree(&config["data"])
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, ByteString(v.into_bytes())))
        .collect();
    to_manifest(&Secret {
        metadata: ObjectMeta {
            name: config["name"].as_str().map(str::to_string),
            namespace: config["namespace"].as_str().map(str::to_string),
            labels: string_tree(&config["labels"]),
            annotations: string_tree(&config["annotations"]),
            ..Default::default()
        },
        type_: Some(config["type"].as_str().unwrap_or("Opaque").to_string()),
        data: Some(data),
        ..Default::default()
    })
}

fn attributes(config: &Value, live: &Value) -> Value {
    let data: Map<String, Value> = live["data"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| config["data"].get(k.as_str()).is_some())
                .map(|(k, v)| {
                    let clear = base64::engine::general_purpose::STANDARD
                        .decode(v.as_str().unwrap_or_default())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_default();
                    (k.clone(), json!(clear))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut attrs = json!({
        "namespace": live["metadata"]["namespace"], "name": live["metadata"]["name"],
        "data": data, "uid": live["metadata"]["uid"],
    });
    if config.get("type").is_some_and(|t| !t.is_null()) {
        attrs["type"] = live["type"].clone();
    }
    for key in ["labels", "annotations"] {
        if config.get(key).is_some_and(|l| !l.is_null()) {
            attrs[key] = project(&config[key], &live["metadata"][key]);
        }
    }
    attrs
}

fn reference(config: &Value) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: config["namespace"].as_str().map(str::to_string),
        name: config["name"].as_str().unwrap_or_default().to_string(),
    }
}

#[async_trait]
impl Driver for KubernetesSecretDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = client_from(&recorded.config)?;
        let live = client
            .get(&reference(&recorded.config))
            .await
            .map_err(kube_err)?;
        Ok(live.map(|l| attributes(&recorded.config, &l)))
    }

    async fn create(&self, _ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let live = apply_as_kapstan(config, &manifest(config)).await?;
        let r = reference(config);
        Ok(Created {
            id: format!("{}/{}", r.namespace.unwrap_or_default(), r.name),
            attributes: attributes(config, &live),
        })
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        _recorded: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let live = apply_as_kapstan(config, &manifest(config)).await?;
        Ok(attributes(config, &live))
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        let client = client_from(&recorded.config)?;
        client
            .delete(&reference(&recorded.config))
            .await
            .map_err(kube_err)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_base64_encoded_and_decoded_back() {
        let config = json!({"namespace": "coder", "name": "db", "data": {"url": "postgres://u:p%40ss@h/db"}});
        let m = manifest(&config);
        assert_eq!(m["type"], "Opaque");
        assert_eq!(
            m["data"]["url"],
            base64::engine::general_purpose::STANDARD.encode("postgres://u:p%40ss@h/db")
        );
        let live = json!({"metadata": {"name": "db", "namespace": "coder", "uid": "u"}, "data": m["data"], "type": "Opaque"});
        assert_eq!(attributes(&config, &live)["data"], config["data"]);
    }
}
