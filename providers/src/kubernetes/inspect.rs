//! Typed readings of live cluster objects for the platform's checks — `health` (kube-system
//! pods, storage classes, the Coder Deployment), `audit` (namespaces, network policies,
//! cluster roles, pods and their containers, secrets) and `scale` (node capacity, pod
//! requests) — so no caller parses Kubernetes JSON or quantities itself.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{KubeClient, KubeError, ObjectRef};

/// Parses a Kubernetes quantity (`250m`, `2`, `0.5`, `512Mi`, `1G`, `1e3`) into base units.
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, factor) in suffixes {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|v| v * factor);
        }
    }
    q.parse::<f64>().ok()
}

/// A quantity field (a string like `512Mi` or a bare number); 0 when absent or unreadable.
fn quantity(v: &Value) -> f64 {
    match v {
        Value::String(s) => parse_quantity(s).unwrap_or(0.0),
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn name_of(v: &Value) -> String {
    v["metadata"]["name"].as_str().unwrap_or("?").to_string()
}

fn namespace_of(v: &Value) -> String {
    v["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn labels_of(v: &Value) -> BTreeMap<String, String> {
    v["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// CPU and memory read from a `{cpu, memory}` map of quantities: a Node's allocatable
/// resources or a container's requests (0 where a quantity is absent or unreadable).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CpuMemory {
    /// CPU, in cores.
    pub cpu: f64,
    /// Memory, in bytes.
    pub memory: f64,
}

impl CpuMemory {
    fn from_object(v: &Value) -> Self {
        Self {
            cpu: quantity(&v["cpu"]),
            memory: quantity(&v["memory"]),
        }
    }
}

/// `runAsNonRoot` and `runAsUser` of one `securityContext`, a pod's or a container's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunAs {
    /// `runAsNonRoot`.
    pub non_root: Option<bool>,
    /// `runAsUser`.
    pub user: Option<i64>,
}

impl RunAs {
    fn from_context(ctx: &Value) -> Self {
        Self {
            non_root: ctx["runAsNonRoot"].as_bool(),
            user: ctx["runAsUser"].as_i64(),
        }
    }

    /// These settings with each one left unset taken from `pod`: a container's over its
    /// pod's, the way Kubernetes applies them.
    pub fn or(self, pod: RunAs) -> RunAs {
        RunAs {
            non_root: self.non_root.or(pod.non_root),
            user: self.user.or(pod.user),
        }
    }
}

/// A Node: whether it is ready and what it can hold.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSummary {
    /// Its name.
    pub name: String,
    /// Its `Ready` condition is `True`.
    pub ready: bool,
    /// Allocatable CPU (cores) and memory (bytes).
    pub allocatable: CpuMemory,
}

impl NodeSummary {
    /// Reads a Node object.
    pub fn from_object(n: &Value) -> Self {
        let ready = n["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|cond| cond["type"] == "Ready" && cond["status"] == "True");
        Self {
            name: name_of(n),
            ready,
            allocatable: CpuMemory::from_object(&n["status"]["allocatable"]),
        }
    }
}

/// The owner of a pod (its first owner reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `ReplicaSet`, `StatefulSet`, `Job`, …
    pub kind: String,
    /// Its name.
    pub name: String,
}

/// One container of a pod, as the audit and the capacity report read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSummary {
    /// Its name (`?` when unnamed).
    pub name: String,
    /// An init container.
    pub init: bool,
    /// `securityContext.privileged` is true.
    pub privileged: bool,
    /// Its own `securityContext` user settings (see [`RunAs::or`] for the pod's).
    pub run_as: RunAs,
    /// A CPU limit is set.
    pub cpu_limit: bool,
    /// A memory limit is set.
    pub memory_limit: bool,
    /// Requested CPU (cores) and memory (bytes).
    pub requested: CpuMemory,
}

impl ContainerSummary {
    fn from_object(c: &Value, init: bool) -> Self {
        let ctx = &c["securityContext"];
        Self {
            name: c["name"].as_str().unwrap_or("?").to_string(),
            init,
            privileged: ctx["privileged"] == true,
            run_as: RunAs::from_context(ctx),
            cpu_limit: !c["resources"]["limits"]["cpu"].is_null(),
            memory_limit: !c["resources"]["limits"]["memory"].is_null(),
            requested: CpuMemory::from_object(&c["resources"]["requests"]),
        }
    }
}

/// A Pod: where it runs, its phase, its owner and its containers.
#[derive(Debug, Clone, PartialEq)]
pub struct PodSummary {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// `status.phase` (`Running`, `Pending`, …), when reported.
    pub phase: Option<String>,
    /// Its first owner reference.
    pub owner: Option<Owner>,
    /// The pod-level `securityContext` user settings.
    pub run_as: RunAs,
    /// Containers, then init containers.
    pub containers: Vec<ContainerSummary>,
}

impl PodSummary {
    /// Reads a Pod object.
    pub fn from_object(p: &Value) -> Self {
        let owner = &p["metadata"]["ownerReferences"][0];
        let owner = match (owner["kind"].as_str(), owner["name"].as_str()) {
            (Some(kind), Some(name)) => Some(Owner {
                kind: kind.to_string(),
                name: name.to_string(),
            }),
            _ => None,
        };
        let list = |key: &str, init: bool| -> Vec<ContainerSummary> {
            p["spec"][key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| ContainerSummary::from_object(c, init))
                .collect()
        };
        let mut containers = list("containers", false);
        containers.extend(list("initContainers", true));
        Self {
            name: name_of(p),
            namespace: namespace_of(p),
            phase: p["status"]["phase"].as_str().map(String::from),
            owner,
            run_as: RunAs::from_context(&p["spec"]["securityContext"]),
            containers,
        }
    }

    /// Whether the pod has finished (`Succeeded` or `Failed`).
    pub fn finished(&self) -> bool {
        matches!(self.phase.as_deref(), Some("Succeeded" | "Failed"))
    }
}

/// A Namespace and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceSummary {
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

impl NamespaceSummary {
    /// Reads a Namespace object.
    pub fn from_object(v: &Value) -> Self {
        Self {
            name: name_of(v),
            labels: labels_of(v),
        }
    }
}

/// A NetworkPolicy, as far as a default-deny check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicySummary {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its `podSelector` selects every pod (empty or absent).
    pub selects_all_pods: bool,
    /// `policyTypes` (`Ingress`, `Egress`).
    pub policy_types: Vec<String>,
    /// How many `ingress` rules it allows.
    pub ingress_rules: usize,
    /// How many `egress` rules it allows.
    pub egress_rules: usize,
}

impl NetworkPolicySummary {
    /// Reads a NetworkPolicy object.
    pub fn from_object(v: &Value) -> Self {
        let selects_all_pods = v["spec"]["podSelector"].as_object().is_none_or(|s| {
            s.values().all(|v| {
                v.as_object().is_none_or(|m| m.is_empty())
                    && v.as_array().is_none_or(|a| a.is_empty())
            })
        });
        let rules = |key: &str| v["spec"][key].as_array().map_or(0, Vec::len);
        Self {
            name: name_of(v),
            namespace: namespace_of(v),
            selects_all_pods,
            policy_types: v["spec"]["policyTypes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            ingress_rules: rules("ingress"),
            egress_rules: rules("egress"),
        }
    }

    /// Whether it selects every pod and denies `direction` (`Ingress` or `Egress`): the type
    /// is listed and no rule of that direction allows anything.
    pub fn denies_all(&self, direction: &str) -> bool {
        let rules = match direction {
            "Ingress" => self.ingress_rules,
            "Egress" => self.egress_rules,
            _ => return false,
        };
        self.selects_all_pods && self.policy_types.iter().any(|t| t == direction) && rules == 0
    }
}

/// Which parts of one ClusterRole rule are the wildcard `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleWildcards {
    /// `apiGroups` holds `*`.
    pub api_groups: bool,
    /// `resources` holds `*`.
    pub resources: bool,
    /// `verbs` holds `*`.
    pub verbs: bool,
}

/// A ClusterRole: its labels and the wildcards of its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRoleSummary {
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// One entry per rule.
    pub rules: Vec<RuleWildcards>,
}

impl ClusterRoleSummary {
    /// Reads a ClusterRole object.
    pub fn from_object(v: &Value) -> Self {
        let wild = |rule: &Value, key: &str| {
            rule[key]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "*"))
        };
        Self {
            name: name_of(v),
            labels: labels_of(v),
            rules: v["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| RuleWildcards {
                    api_groups: wild(r, "apiGroups"),
                    resources: wild(r, "resources"),
                    verbs: wild(r, "verbs"),
                })
                .collect(),
        }
    }
}

/// A Secret's name and type (never its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSummary {
    /// Its name.
    pub name: String,
    /// Its `type` (`Opaque`, `kubernetes.io/service-account-token`, …).
    pub secret_type: String,
}

impl SecretSummary {
    /// Reads a Secret object (only its metadata and type).
    pub fn from_object(v: &Value) -> Self {
        Self {
            name: name_of(v),
            secret_type: v["type"].as_str().unwrap_or_default().to_string(),
        }
    }
}

/// A Deployment's replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeploymentReplicas {
    /// `spec.replicas` (1 when unset).
    pub desired: u64,
    /// `status.availableReplicas`.
    pub available: u64,
}

/// Every Node.
pub async fn nodes(client: &KubeClient) -> Result<Vec<NodeSummary>, KubeError> {
    let list = client.list("v1", "Node", None, None).await?;
    Ok(list.iter().map(NodeSummary::from_object).collect())
}

/// Every Pod, or those of `namespace`.
pub async fn pods(
    client: &KubeClient,
    namespace: Option<&str>,
) -> Result<Vec<PodSummary>, KubeError> {
    let list = client.list("v1", "Pod", namespace, None).await?;
    Ok(list.iter().map(PodSummary::from_object).collect())
}

/// Every Namespace.
pub async fn namespaces(client: &KubeClient) -> Result<Vec<NamespaceSummary>, KubeError> {
    let list = client.list("v1", "Namespace", None, None).await?;
    Ok(list.iter().map(NamespaceSummary::from_object).collect())
}

/// Every NetworkPolicy.
pub async fn network_policies(client: &KubeClient) -> Result<Vec<NetworkPolicySummary>, KubeError> {
    let list = client
        .list("networking.k8s.io/v1", "NetworkPolicy", None, None)
        .await?;
    Ok(list.iter().map(NetworkPolicySummary::from_object).collect())
}

/// Every ClusterRole.
pub async fn cluster_roles(client: &KubeClient) -> Result<Vec<ClusterRoleSummary>, KubeError> {
    let list = client
        .list("rbac.authorization.k8s.io/v1", "ClusterRole", None, None)
        .await?;
    Ok(list.iter().map(ClusterRoleSummary::from_object).collect())
}

/// The Secrets of `namespace` (names and types only).
pub async fn secrets(
    client: &KubeClient,
    namespace: &str,
) -> Result<Vec<SecretSummary>, KubeError> {
    let list = client.list("v1", "Secret", Some(namespace), None).await?;
    Ok(list.iter().map(SecretSummary::from_object).collect())
}

/// The names of every StorageClass.
pub async fn storage_class_names(client: &KubeClient) -> Result<Vec<String>, KubeError> {
    let list = client
        .list("storage.k8s.io/v1", "StorageClass", None, None)
        .await?;
    Ok(list
        .iter()
        .filter_map(|c| c["metadata"]["name"].as_str().map(String::from))
        .collect())
}

/// The replicas of Deployment `namespace/name`; `None` when it does not exist.
pub async fn deployment_replicas(
    client: &KubeClient,
    namespace: &str,
    name: &str,
) -> Result<Option<DeploymentReplicas>, KubeError> {
    let r = ObjectRef::new("apps/v1", "Deployment", Some(namespace), name);
    Ok(client.get(&r).await?.map(|d| DeploymentReplicas {
        desired: d["spec"]["replicas"].as_u64().unwrap_or(1),
        available: d["status"]["availableReplicas"].as_u64().unwrap_or(0),
    }))
}

/// The Secrets holding Helm's records of release `release` in `namespace` (labels
/// `owner=helm,name=<release>`, as `helm` itself stores them).
pub async fn helm_release_records(
    kube: &KubeClient,
    namespace: &str,
    release: &str,
) -> Result<Vec<ObjectRef>, KubeError> {
    let selector = format!("owner=helm,name={release}");
    let records = kube
        .list("v1", "Secret", Some(namespace), Some(&selector))
        .await?;
    Ok(records
        .iter()
        .filter_map(|rec| rec["metadata"]["name"].as_str())
        .map(|name| ObjectRef::new("v1", "Secret", Some(namespace), name))
        .collect())
}

/// The live object `r` as a backup keeps it: without the server's bookkeeping
/// (`managedFields`), and a Secret with each value replaced by `redacted` (its keys kept);
/// `None` when the cluster does not have it.
pub async fn backup_copy(
    kube: &KubeClient,
    r: &ObjectRef,
    redacted: &str,
) -> Result<Option<Value>, KubeError> {
    let Some(mut obj) = kube.get(r).await? else {
        return Ok(None);
    };
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    if obj["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(m) = obj[field].as_object_mut() {
                for v in m.values_mut() {
                    *v = Value::String(redacted.to_string());
                }
            }
        }
    }
    Ok(Some(obj))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("4"), Some(4.0));
        assert_eq!(parse_quantity("1G"), Some(1e9));
        assert_eq!(parse_quantity("x"), None);
    }

    #[test]
    fn a_default_deny_policy_denies_both_directions() {
        let p = NetworkPolicySummary::from_object(&json!({
            "metadata": {"name": "deny-all", "namespace": "coder"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }));
        assert!(p.denies_all("Ingress") && p.denies_all("Egress"));
        let allow = NetworkPolicySummary::from_object(&json!({
            "metadata": {"name": "web", "namespace": "coder"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                     "ingress": [{}]},
        }));
        assert!(!allow.denies_all("Ingress") && !allow.denies_all("Egress"));
    }

    #[test]
    fn pods_read_containers_then_init_containers() {
        let p = PodSummary::from_object(&json!({
            "metadata": {"name": "a-1", "namespace": "coder",
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "a-5d"}]},
            "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "250m"},
                                                                   "limits": {"memory": "1Gi"}}}],
                     "initContainers": [{"name": "init", "securityContext": {"runAsUser": 0}}]},
            "status": {"phase": "Running"},
        }));
        assert_eq!(p.containers.len(), 2);
        assert_eq!(p.containers[0].requested.cpu, 0.25);
        assert!(p.containers[0].memory_limit && !p.containers[0].cpu_limit);
        assert!(p.containers[1].init && p.containers[1].run_as.user == Some(0));
        assert_eq!(
            p.owner.as_ref().map(|o| o.kind.as_str()),
            Some("ReplicaSet")
        );
    }
}
