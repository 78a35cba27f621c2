//! Kubernetes kinds: `kubernetes_namespace` (with Pod Security Admission labels),
//! `kubernetes_secret` and `kubernetes_manifest` (any object). All three apply with
//! server-side apply under the field manager `kapstan`, read the live object to detect drift on
//! the fields they declare, and take the cluster's kubeconfig from a sensitive config field: it
//! stays in memory and is never written to disk.

pub mod client;
pub mod inspect;
mod kubeconfig;
mod manifest;
mod namespace;
mod object;
mod secret;

pub use client::{ApiResource, KubeClient, KubeError, Kubeconfig, ObjectRef, project};
/// The typed Kubernetes objects [`KubeClient::list_typed`] and [`KubeClient::get_typed`] read.
pub use k8s_openapi;
pub use manifest::{KubernetesManifest, KubernetesManifestAttributes, KubernetesManifestDriver};
pub use namespace::{
    KubernetesNamespace, KubernetesNamespaceAttributes, KubernetesNamespaceDriver, PodSecurity,
};
pub use object::ObjectDriver;
pub use secret::{KubernetesSecret, KubernetesSecretAttributes, KubernetesSecretDriver};

use std::sync::Arc;

use kapstan_engine::{DriverError, Registry};
use serde_json::Value;

/// The field manager kapstan applies with.
pub const FIELD_MANAGER: &str = "kapstan";

/// Registers the Kubernetes kinds.
pub fn register(registry: &mut Registry) {
    registry.register(Arc::new(KubernetesNamespaceDriver::new()));
    registry.register(Arc::new(KubernetesSecretDriver::new()));
    registry.register(Arc::new(KubernetesManifestDriver::new()));
}

/// A client for the kubeconfig in `config["kubeconfig"]`.
pub(crate) fn client_from(config: &Value) -> Result<KubeClient, DriverError> {
    let text = config["kubeconfig"]
        .as_str()
        .ok_or_else(|| DriverError::failed("`kubeconfig` is not set"))?;
    KubeClient::from_kubeconfig(text).map_err(kube_err)
}

/// A driver error from a client error.
pub(crate) fn kube_err(e: KubeError) -> DriverError {
    DriverError::failed(e.to_string())
}

/// Server-side applies `manifest` with `client` as kapstan, taking over fields other managers
/// own: the live object.
pub(crate) async fn apply_as_kapstan(
    client: &KubeClient,
    manifest: &Value,
) -> Result<Value, DriverError> {
    client
        .apply(manifest, FIELD_MANAGER, true)
        .await
        .map_err(kube_err)
}

/// A typed object as the JSON manifest server-side apply sends (with apiVersion and kind).
pub(crate) fn to_manifest<K: serde::Serialize>(object: &K) -> Value {
    // k8s-openapi objects are maps of strings, numbers and maps: they always serialize.
    serde_json::to_value(object).expect("a k8s-openapi object serializes to JSON")
}

/// The string map of a config field (labels, annotations, data); `None` when empty, so the
/// manifest leaves the field out.
pub(crate) fn string_tree(v: &Value) -> Option<std::collections::BTreeMap<String, String>> {
    let map: std::collections::BTreeMap<String, String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            (k.clone(), text)
        })
        .collect();
    (!map.is_empty()).then_some(map)
}
