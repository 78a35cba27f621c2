//! `kubernetes_manifest`: any Kubernetes object, applied with server-side apply. Drift is the
//! live object, projected onto the fields the manifest declares, differing from the manifest.

use kapstan_engine::{DriverError, FieldError, Input, async_trait};
use serde_json::{Value, json};

use super::object::{KubeKind, ObjectDriver};
use super::{FIELD_MANAGER, KubeClient, ObjectRef, kube_err, project};

crate::declare::kind! {
    /// Any Kubernetes object.
    #[derive(Default)]
    pub struct KubernetesManifest = "kubernetes_manifest";
    /// Kubeconfig of the cluster (sensitive).
    kubeconfig: Input<String>, required sensitive => "kubeconfig of the cluster";
    /// The object (apiVersion, kind, metadata.name, optional metadata.namespace, …).
    manifest: Value, required => "the object";
    /// Field manager (`kapstan` when absent).
    field_manager: Option<String>, optional => "server-side apply field manager (kapstan)";
    /// Take over fields another manager owns instead of failing on conflicts.
    force_conflicts: Option<bool>, optional => "take over fields owned by other managers";
    /// The object's uid.
    computed uid: String => "the object's uid";
    /// Attributes of a `kubernetes_manifest`; the id is `apiVersion/Kind namespace/name`.
    attributes KubernetesManifestAttributes;
}

/// The `kubernetes_manifest` driver.
pub type KubernetesManifestDriver = ObjectDriver<KubernetesManifest>;

fn manager(config: &Value) -> &str {
    config["field_manager"].as_str().unwrap_or(FIELD_MANAGER)
}

#[async_trait]
impl KubeKind for KubernetesManifest {
    fn validate(config: &Value) -> Vec<FieldError> {
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

    async fn reference(client: &KubeClient, config: &Value) -> Result<ObjectRef, DriverError> {
        let mut r = ObjectRef::of(&config["manifest"]).ok_or_else(|| {
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

    fn id(r: &ObjectRef) -> String {
        r.to_string()
    }

    fn manifest(config: &Value) -> Value {
        config["manifest"].clone()
    }

    /// Applies as the configured field manager, taking over conflicting fields only when
    /// `force_conflicts` says so.
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
}
