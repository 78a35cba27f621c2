//! `kubernetes_namespace`: a namespace with labels, annotations and Pod Security Admission
//! levels (`pod-security.kubernetes.io/{enforce,audit,warn}` labels).

use std::collections::BTreeMap;

use kapstan_engine::{DriverError, FieldError, Input, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::object::{KubeKind, ObjectDriver};
use super::{KubeClient, ObjectRef, project, string_tree, to_manifest};

const LEVELS: &[&str] = &["privileged", "baseline", "restricted"];

/// Pod Security Admission levels of a namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodSecurity {
    /// Level enforced: `privileged`, `baseline` or `restricted`.
    pub enforce: String,
    /// Level audited (defaults to none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    /// Level warned about (defaults to none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<String>,
    /// Policy version (`latest` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl PodSecurity {
    /// The same level enforced, audited and warned about.
    pub fn all(level: &str) -> Self {
        Self {
            enforce: level.into(),
            audit: Some(level.into()),
            warn: Some(level.into()),
            version: None,
        }
    }
}

crate::declare::kind! {
    /// A Kubernetes namespace.
    #[derive(Default)]
    pub struct KubernetesNamespace = "kubernetes_namespace";
    /// Kubeconfig of the cluster (sensitive; e.g. the cluster's `kubeconfig` attribute).
    kubeconfig: Input<String>, required sensitive => "kubeconfig of the cluster";
    /// Name; changing it replaces the namespace. Read it from the resource to order objects
    /// after the namespace.
    name: Input<String>, required force_new => "namespace name", attribute;
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>, optional => "labels";
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>, optional => "annotations";
    /// Pod Security Admission levels.
    pod_security: Option<PodSecurity>, optional
        => "Pod Security Admission levels: enforce, audit, warn, version";
    /// The namespace's uid.
    computed uid: String => "the namespace's uid";
    /// Attributes of a `kubernetes_namespace`; the id is the name.
    attributes KubernetesNamespaceAttributes;
}

/// The `kubernetes_namespace` driver.
pub type KubernetesNamespaceDriver = ObjectDriver<KubernetesNamespace>;

fn pss_labels(ps: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let version = ps["version"].as_str().unwrap_or("latest");
    for mode in ["enforce", "audit", "warn"] {
        if let Some(level) = ps[mode].as_str() {
            out.insert(
                format!("pod-security.kubernetes.io/{mode}"),
                level.to_string(),
            );
            out.insert(
                format!("pod-security.kubernetes.io/{mode}-version"),
                version.to_string(),
            );
        }
    }
    out
}

#[async_trait]
impl KubeKind for KubernetesNamespace {
    fn validate(config: &Value) -> Vec<FieldError> {
        let mut errors = vec![];
        if let Some(name) = config["name"].as_str() {
            let ok = !name.is_empty()
                && name.len() <= 63
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-');
            if !ok {
                errors.push(FieldError::new(
                    "name",
                    &format!("{name:?}"),
                    "is not a valid namespace name",
                    "use lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit",
                ));
            }
        }
        for mode in ["enforce", "audit", "warn"] {
            if let Some(level) = config["pod_security"][mode].as_str()
                && !LEVELS.contains(&level)
            {
                errors.push(FieldError::new(
                    &format!("pod_security.{mode}"),
                    &format!("{level:?}"),
                    "is not a Pod Security level",
                    "use privileged, baseline or restricted",
                ));
            }
        }
        errors
    }

    async fn reference(_client: &KubeClient, config: &Value) -> Result<ObjectRef, DriverError> {
        let name = config["name"].as_str().unwrap_or_default();
        Ok(ObjectRef::new("v1", "Namespace", None, name))
    }

    fn id(r: &ObjectRef) -> String {
        r.name.clone()
    }

    fn manifest(config: &Value) -> Value {
        let mut labels = string_tree(&config["labels"]).unwrap_or_default();
        labels.extend(pss_labels(&config["pod_security"]));
        to_manifest(&Namespace {
            metadata: ObjectMeta {
                name: config["name"].as_str().map(str::to_string),
                labels: (!labels.is_empty()).then_some(labels),
                annotations: string_tree(&config["annotations"]),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn attributes(config: &Value, live: &Value) -> Value {
        let live_labels = &live["metadata"]["labels"];
        let mut attrs = json!({"name": live["metadata"]["name"], "uid": live["metadata"]["uid"]});
        if config.get("labels").is_some_and(|l| !l.is_null()) {
            attrs["labels"] = project(&config["labels"], live_labels);
        }
        if config.get("annotations").is_some_and(|l| !l.is_null()) {
            attrs["annotations"] =
                project(&config["annotations"], &live["metadata"]["annotations"]);
        }
        if let Some(ps) = config.get("pod_security").filter(|p| p.is_object()) {
            let mut live_ps = Map::new();
            let mut version = None;
            for mode in ["enforce", "audit", "warn"] {
                if ps.get(mode).is_some()
                    && let Some(l) =
                        live_labels[format!("pod-security.kubernetes.io/{mode}")].as_str()
                {
                    live_ps.insert(mode.into(), json!(l));
                    version = live_labels[format!("pod-security.kubernetes.io/{mode}-version")]
                        .as_str()
                        .map(str::to_string);
                }
            }
            if ps.get("version").is_some()
                && let Some(v) = version
            {
                live_ps.insert("version".into(), json!(v));
            }
            attrs["pod_security"] = Value::Object(live_ps);
        }
        attrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kapstan_engine::Driver;

    #[test]
    fn pod_security_becomes_labels() {
        let config = json!({"name": "coder", "labels": {"team": "x"}, "pod_security": {"enforce": "restricted", "warn": "restricted"}});
        let m = KubernetesNamespace::manifest(&config);
        assert_eq!(
            m["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        assert_eq!(
            m["metadata"]["labels"]["pod-security.kubernetes.io/warn-version"],
            "latest"
        );
        assert!(
            m["metadata"]["labels"]
                .get("pod-security.kubernetes.io/audit")
                .is_none()
        );
        let d = KubernetesNamespaceDriver::new();
        let e = d.problems(&json!({"name": "Bad_Name", "pod_security": {"enforce": "strict"}}));
        assert_eq!(e.len(), 2);
    }
}
