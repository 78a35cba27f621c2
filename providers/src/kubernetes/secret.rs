//! `kubernetes_secret`: a Secret whose data values are sensitive (given in clear, stored
//! sealed in state, sent base64-encoded).

use std::collections::BTreeMap;

use base64::Engine as _;
use kapstan_engine::{DriverError, Input, async_trait};
use serde_json::{Map, Value, json};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::object::{KubeKind, ObjectDriver};
use super::{KubeClient, ObjectRef, project, string_tree, to_manifest};

crate::declare::kind! {
    /// A Kubernetes Secret.
    #[derive(Default)]
    pub struct KubernetesSecret = "kubernetes_secret";
    /// Kubeconfig of the cluster (sensitive).
    kubeconfig: Input<String>, required sensitive => "kubeconfig of the cluster";
    /// Namespace; changing it replaces the Secret.
    namespace: Input<String>, required force_new => "namespace";
    /// Name; changing it replaces the Secret.
    name: Input<String>, required force_new => "Secret name", attribute;
    /// Secret type (`Opaque` when absent); changing it replaces the Secret.
    kind as "type": Option<String>, optional force_new => "Secret type (Opaque)";
    /// Data in clear text (sensitive): key → value.
    data: BTreeMap<String, Input<String>>, required sensitive => "data in clear text";
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>, optional => "labels";
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>, optional => "annotations";
    computed "uid" => "the Secret's uid";
    /// Attributes of a `kubernetes_secret`; the id is `namespace/name`.
    attributes KubernetesSecretAttributes;
}

/// The `kubernetes_secret` driver.
pub type KubernetesSecretDriver = ObjectDriver<KubernetesSecret>;

#[async_trait]
impl KubeKind for KubernetesSecret {
    async fn reference(_client: &KubeClient, config: &Value) -> Result<ObjectRef, DriverError> {
        let name = config["name"].as_str().unwrap_or_default();
        Ok(ObjectRef::new(
            "v1",
            "Secret",
            config["namespace"].as_str(),
            name,
        ))
    }

    fn id(r: &ObjectRef) -> String {
        format!("{}/{}", r.namespace.as_deref().unwrap_or_default(), r.name)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_base64_encoded_and_decoded_back() {
        let config = json!({"namespace": "coder", "name": "db", "data": {"url": "postgres://u:p%40ss@h/db"}});
        let m = KubernetesSecret::manifest(&config);
        assert_eq!(m["type"], "Opaque");
        assert_eq!(
            m["data"]["url"],
            base64::engine::general_purpose::STANDARD.encode("postgres://u:p%40ss@h/db")
        );
        let live = json!({"metadata": {"name": "db", "namespace": "coder", "uid": "u"}, "data": m["data"], "type": "Opaque"});
        assert_eq!(
            KubernetesSecret::attributes(&config, &live)["data"],
            config["data"]
        );
    }
}
