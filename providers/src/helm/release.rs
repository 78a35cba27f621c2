//! `helm_release`: render with `helm template`, apply every object with server-side apply in a
//! safe order, prune what is no longer rendered, wait for readiness, record the inventory, a
//! fingerprint of every object and the chart's sha256, and write the Helm release record; at
//! plan time, render again and compare fingerprints to list the objects a change touches.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Input, ObjectChange, Schema, Update,
    async_trait,
};
use serde_json::{Map, Value, json};
use sha2::Digest;

use super::binary::{Helm, Rendered};
use super::record::{self, ReleaseInfo};
use crate::kubernetes::{
    FIELD_MANAGER, KubeClient, ObjectRef, apply_as_kapstan, client_from, kube_err,
};

crate::declare::kind! {
    /// A Helm release, deployed by kapstan.
    #[derive(Default)]
    pub struct HelmRelease = "helm_release";
    /// Kubeconfig of the cluster (sensitive).
    kubeconfig: Input<String>, required sensitive => "kubeconfig of the cluster";
    /// Release name; changing it replaces the release.
    name: String, required force_new => "release name";
    /// Namespace; changing it replaces the release (reference a `kubernetes_namespace` name to
    /// order the release after it).
    namespace: Input<String>, required force_new => "release namespace";
    /// Chart repository URL (e.g. `https://helm.coder.com/v2`); absent for a local chart path.
    repository: Option<String>, optional => "chart repository URL";
    /// Chart name in the repository, or a local chart path.
    chart: String, required => "chart name or local path";
    /// Chart version (pin it).
    version: Option<String>, optional => "chart version";
    /// Values (any JSON; typed structs such as `CoderValues` serialize to it).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    values: Value, optional => "chart values";
    /// Create the namespace when missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    create_namespace: bool, optional => "create the namespace when missing";
    /// How long to wait for readiness (300 s when absent).
    timeout_seconds: Option<u64>, optional => "readiness deadline (300)";
    /// Wait for Deployments and LoadBalancer Services (true when absent).
    wait: Option<bool>, optional => "wait for readiness (true)";
    /// The release revision.
    computed revision: u64 => "release revision";
    /// sha256 of the chart archive.
    computed chart_sha256: String => "sha256 of the chart";
    computed "chart_version" => "chart version rendered";
    computed "app_version" => "chart appVersion";
    computed "inventory" => "objects applied";
    computed "status" => "deployed";
    /// Address of the first LoadBalancer Service (once ready).
    computed load_balancer_ip: String => "address of the first LoadBalancer Service";
    computed "missing_objects" => "inventoried objects not found in the cluster";
    computed "object_hashes" sensitive
        => "sha256 of every applied object and of its parts (sealed)";
    /// Attributes of a `helm_release`; the id is `namespace/name`.
    attributes HelmReleaseAttributes;
}

crate::declare::schema_driver! {
    /// The `helm_release` driver.
    HelmReleaseDriver for HelmRelease {
        /// The helm binary to run; `None` finds it through `KAPSTAN_HELM` or `PATH`.
        helm: Option<PathBuf>,
    }
}

impl HelmReleaseDriver {
    /// The driver running the helm at `helm` (`None`: through `KAPSTAN_HELM` or `PATH`).
    pub fn with_helm(mut self, helm: Option<PathBuf>) -> Self {
        self.helm = helm;
        self
    }
}

/// Apply order of a kind: namespaces, CRDs, service accounts and RBAC, policy and config,
/// workloads, services and ingresses, everything else.
pub fn apply_order(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => 2,
        "ResourceQuota"
        | "LimitRange"
        | "NetworkPolicy"
        | "PodSecurityPolicy"
        | "PodDisruptionBudget"
        | "StorageClass"
        | "PriorityClass" => 3,
        "Secret" | "ConfigMap" | "PersistentVolumeClaim" | "PersistentVolume" => 4,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod" => 5,
        "Service" | "Ingress" | "IngressClass" | "HTTPRoute" | "Gateway" => 6,
        _ => 7,
    }
}

fn release_id(config: &Value) -> String {
    format!(
        "{}/{}",
        config["namespace"].as_str().unwrap_or_default(),
        config["name"].as_str().unwrap_or_default()
    )
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The objects a release applied, from its recorded attributes (empty when none are).
pub fn inventory_of(attrs: &Value) -> Vec<ObjectRef> {
    serde_json::from_value(attrs["inventory"].clone()).unwrap_or_default()
}

async fn release_records(
    client: &KubeClient,
    ns: &str,
    name: &str,
) -> Result<Vec<Value>, DriverError> {
    match client
        .list(
            "v1",
            "Secret",
            Some(ns),
            Some(&format!("owner=helm,name={name}")),
        )
        .await
    {
        Ok(v) => Ok(v),
        Err(e) if e.is_not_found() => Ok(vec![]),
        Err(e) => Err(kube_err(e)),
    }
}

/// The values of a config (`{}` when absent).
fn values_of(config: &Value) -> Value {
    if config["values"].is_null() {
        json!({})
    } else {
        config["values"].clone()
    }
}

/// Renders the chart of `config` with its values: the one rendering path of apply and plan.
/// Reads nothing but the config (and the chart repository); never the cluster.
async fn render(
    ctx: &DriverContext,
    config: &Value,
    helm: Option<&Path>,
) -> Result<Rendered, DriverError> {
    let helm = Helm::find(helm)
        .await
        .map_err(|e| DriverError::failed(e.to_string()))?;
    ctx.progress(format!(
        "rendering chart {} with helm {}",
        config["chart"].as_str().unwrap_or(""),
        helm.version
    ));
    helm.render(
        config["name"].as_str().unwrap_or_default(),
        config["namespace"].as_str().unwrap_or_default(),
        config["repository"].as_str(),
        config["chart"].as_str().unwrap_or_default(),
        config["version"].as_str(),
        &values_of(config),
    )
    .await
    .map_err(|e| DriverError::failed(e.to_string()))
}

/// Kinds that are never namespaced: at plan time, without the cluster's discovery, an object
/// of another kind without a namespace is taken to land in the release namespace.
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CertificateSigningRequest",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "GatewayClass",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// How plans name an object: `apps/v1 Deployment coder/coder`, `v1 Namespace coder`.
fn object_name(r: &ObjectRef) -> String {
    match &r.namespace {
        Some(ns) => format!("{} {} {ns}/{}", r.api_version, r.kind, r.name),
        None => format!("{} {} {}", r.api_version, r.kind, r.name),
    }
}

/// `v` with object keys sorted at every level, so equal objects hash equally whatever the
/// order helm printed them in.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, x)| (k.clone(), canonical(x)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn sha256_of(v: &Value) -> String {
    hex::encode(sha2::Sha256::digest(
        serde_json::to_vec(&canonical(v)).expect("JSON serializes"),
    ))
}

/// The fingerprint of a rendered object (as helm printed it): the sha256 of the whole object
/// and of each part, a part being a top-level field or, under a top-level object, one of its
/// fields (`metadata.labels`, `spec.replicas`, `spec.template`, `data.<key>`). Parts are
/// compared to name the paths that change; hashes are sealed in state (an unsalted hash of a
/// Secret's data must not be readable).
fn fingerprint(obj: &Value) -> Value {
    let mut parts = Map::new();
    if let Value::Object(m) = obj {
        for (k, v) in m {
            match v {
                Value::Object(inner) if !inner.is_empty() => {
                    for (k2, v2) in inner {
                        parts.insert(format!("{k}.{k2}"), json!(sha256_of(v2)));
                    }
                }
                _ => {
                    parts.insert(k.clone(), json!(sha256_of(v)));
                }
            }
        }
    }
    json!({"sha256": sha256_of(obj), "parts": parts})
}

/// The reference under which a rendered object is applied, decided without the cluster: no
/// namespace for a cluster-scoped kind (a known one, or one the recorded inventory holds
/// without a namespace), else its own namespace or the release namespace.
fn planned_ref(obj: &Value, ns: &str, inventory: &[ObjectRef]) -> Option<ObjectRef> {
    let mut r = ObjectRef::of(obj)?;
    let cluster_scoped = CLUSTER_SCOPED.contains(&r.kind.as_str())
        || inventory.iter().any(|i| {
            i.namespace.is_none()
                && i.api_version == r.api_version
                && i.kind == r.kind
                && i.name == r.name
        });
    if cluster_scoped {
        r.namespace = None;
    } else if r.namespace.is_none() {
        r.namespace = Some(ns.to_string());
    }
    Some(r)
}

/// The object changes of rendering `objects` (as helm printed them) for a release in `ns`
/// whose state recorded `prior` attributes (`None` for a new release): created objects,
/// updated ones with the parts that changed, deleted ones. A prior state without fingerprints
/// (written before they were recorded) reports every kept object as updated.
fn object_changes(objects: &[Value], ns: &str, prior: Option<&Value>) -> Vec<ObjectChange> {
    let inventory = prior.map(inventory_of).unwrap_or_default();
    let recorded: BTreeSet<&ObjectRef> = inventory.iter().collect();
    let hashes = prior.and_then(|p| p["object_hashes"].as_object());
    let mut rendered = BTreeSet::new();
    let mut out = vec![];
    for obj in objects {
        let Some(r) = planned_ref(obj, ns, &inventory) else {
            continue;
        };
        let name = object_name(&r);
        if !recorded.contains(&r) {
            out.push(ObjectChange::create(name));
        } else {
            let now = fingerprint(obj);
            match hashes.and_then(|h| h.get(&name)) {
                None => out.push(ObjectChange::update(name, vec![])),
                Some(old) if old["sha256"] == now["sha256"] => {}
                Some(old) => out.push(ObjectChange::update(
                    name,
                    changed_parts(&old["parts"], &now["parts"]),
                )),
            }
        }
        rendered.insert(r);
    }
    for r in inventory.iter().filter(|r| !rendered.contains(*r)) {
        out.push(ObjectChange::delete(object_name(r)));
    }
    out
}

/// Paths whose part hashes differ, were added or were removed.
fn changed_parts(old: &Value, now: &Value) -> Vec<String> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let now = now.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = old.keys().chain(now.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != now.get(*k))
        .cloned()
        .collect()
}

/// Renders, applies, prunes, waits and records. `prior` holds the previous attributes.
async fn deploy(
    ctx: &DriverContext,
    config: &Value,
    prior: Option<&Value>,
    helm: Option<&Path>,
) -> Result<Value, DriverError> {
    let name = config["name"].as_str().unwrap_or_default().to_string();
    let ns = config["namespace"].as_str().unwrap_or_default().to_string();
    let rendered = render(ctx, config, helm).await?;
    let client = client_from(config)?;
    if config["create_namespace"].as_bool() == Some(true) {
        ensure_namespace(&client, &ns).await?;
    }
    let (objects, hashes) = release_objects(&client, &name, &ns, &rendered).await?;
    let inventory: Vec<ObjectRef> = objects.iter().map(|(r, _)| r.clone()).collect();
    // Revision: one more than any recorded.
    let records = release_records(&client, &ns, &name).await?;
    let revision = last_revision(&records) + 1;
    ctx.checkpoint(json!({"revision": revision, "inventory": inventory}))
        .await?;
    for (i, (r, obj)) in objects.iter().enumerate() {
        ctx.progress(format!("applying {r} ({}/{})", i + 1, objects.len()));
        client
            .apply(obj, FIELD_MANAGER, true)
            .await
            .map_err(|e| DriverError::failed(format!("release {name}: applying {r}: {e}")))?;
    }
    prune(ctx, &client, &name, prior, &inventory).await?;
    // Readiness.
    let timeout = Duration::from_secs(config["timeout_seconds"].as_u64().unwrap_or(300));
    let mut lb_ip = Value::Null;
    if config["wait"].as_bool() != Some(false) {
        lb_ip = wait_ready(ctx, &client, &name, &inventory, timeout).await?;
    }
    let release = Deployed {
        name: &name,
        namespace: &ns,
        revision,
        values: values_of(config),
        rendered: &rendered,
    };
    record_deployed(&client, &records, &release).await?;
    let mut attrs = config.clone();
    if let Some(m) = attrs.as_object_mut() {
        m.remove("kubeconfig");
    }
    attrs["revision"] = json!(revision);
    attrs["chart_sha256"] = json!(rendered.chart_sha256);
    attrs["chart_version"] = rendered.chart["version"].clone();
    attrs["app_version"] = rendered.chart["appVersion"].clone();
    attrs["inventory"] = json!(inventory);
    attrs["status"] = json!("deployed");
    attrs["load_balancer_ip"] = lb_ip;
    attrs["missing_objects"] = json!([]);
    attrs["object_hashes"] = Value::Object(hashes);
    Ok(attrs)
}

/// Server-side applies the release's namespace (`create_namespace`).
async fn ensure_namespace(client: &KubeClient, ns: &str) -> Result<(), DriverError> {
    let ns_obj = crate::kubernetes::to_manifest(&k8s_openapi::api::core::v1::Namespace {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(ns.to_string()),
            ..Default::default()
        },
        ..Default::default()
    });
    apply_as_kapstan(client, &ns_obj).await?;
    Ok(())
}

/// The rendered objects normalized as helm would apply them (namespace set or dropped by the
/// kind's scope, helm's ownership annotations and label) in apply order, and the fingerprint
/// of each as helm printed it, by object name.
async fn release_objects(
    client: &KubeClient,
    name: &str,
    ns: &str,
    rendered: &Rendered,
) -> Result<(Vec<(ObjectRef, Value)>, Map<String, Value>), DriverError> {
    let mut objects = vec![];
    let mut hashes = Map::new();
    for mut obj in rendered.objects.clone() {
        let print = fingerprint(&obj);
        let Some(mut r) = ObjectRef::of(&obj) else {
            return Err(DriverError::failed(format!(
                "release {name}: the chart rendered an object without apiVersion, kind or metadata.name"
            )));
        };
        let namespaced = client
            .is_namespaced(&r.api_version, &r.kind)
            .await
            .map_err(|e| DriverError::failed(format!("release {name}: {e}")))?;
        if namespaced && r.namespace.is_none() {
            obj["metadata"]["namespace"] = json!(ns);
            r.namespace = Some(ns.to_string());
        }
        if !namespaced {
            r.namespace = None;
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("namespace");
            }
        }
        obj["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!(name);
        obj["metadata"]["annotations"]["meta.helm.sh/release-namespace"] = json!(ns);
        if obj["metadata"]["labels"]["app.kubernetes.io/managed-by"].is_null() {
            obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
        }
        hashes.insert(object_name(&r), print);
        objects.push((apply_order(&r.kind), r, obj));
    }
    objects.sort_by_key(|(o, _, _)| *o);
    Ok((
        objects.into_iter().map(|(_, r, obj)| (r, obj)).collect(),
        hashes,
    ))
}

/// The highest revision of the release's records (0 when there is none).
fn last_revision(records: &[Value]) -> u64 {
    records
        .iter()
        .filter_map(|s| {
            s["metadata"]["labels"]["version"]
                .as_str()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

/// A revision just deployed, as its release record describes it.
struct Deployed<'a> {
    name: &'a str,
    namespace: &'a str,
    revision: u64,
    values: Value,
    rendered: &'a Rendered,
}

/// Supersedes the earlier `records` and writes the `deployed` record helm reads.
async fn record_deployed(
    client: &KubeClient,
    records: &[Value],
    release: &Deployed<'_>,
) -> Result<(), DriverError> {
    let first_deployed = supersede(client, records).await?;
    let now = now_rfc3339();
    let json = record::release_json(&ReleaseInfo {
        name: release.name,
        namespace: release.namespace,
        revision: release.revision,
        status: "deployed",
        first_deployed: &first_deployed,
        last_deployed: &now,
        description: if release.revision == 1 {
            "Install complete"
        } else {
            "Upgrade complete"
        },
        chart: &release.rendered.chart,
        values: &release.values,
        manifest: &release.rendered.manifest,
    });
    let secret = record::record_secret(&json, chrono::Utc::now().timestamp());
    apply_as_kapstan(client, &secret).await?;
    Ok(())
}

/// Deletes, in reverse apply order, what the previous revision applied and this one no longer
/// renders.
async fn prune(
    ctx: &DriverContext,
    client: &KubeClient,
    name: &str,
    prior: Option<&Value>,
    inventory: &[ObjectRef],
) -> Result<(), DriverError> {
    let keep: BTreeSet<&ObjectRef> = inventory.iter().collect();
    let mut stale: Vec<ObjectRef> = prior
        .map(inventory_of)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !keep.contains(r))
        .collect();
    stale.sort_by_key(|r| std::cmp::Reverse(apply_order(&r.kind)));
    for r in &stale {
        ctx.progress(format!("pruning {r}"));
        client
            .delete(r)
            .await
            .map_err(|e| DriverError::failed(format!("release {name}: pruning {r}: {e}")))?;
    }
    Ok(())
}

/// Marks the deployed release records superseded; returns when the release was first deployed.
async fn supersede(client: &KubeClient, records: &[Value]) -> Result<String, DriverError> {
    let first_deployed = records
        .iter()
        .filter_map(|s| s["data"]["release"].as_str())
        .filter_map(decode_record)
        .filter_map(|r| r["info"]["first_deployed"].as_str().map(str::to_string))
        .min()
        .unwrap_or_else(now_rfc3339);
    for prev in records {
        let Some(mut rel) = prev["data"]["release"].as_str().and_then(decode_record) else {
            continue;
        };
        if rel["info"]["status"] == "deployed" {
            rel["info"]["status"] = json!("superseded");
            let secret = record::record_secret(&rel, chrono::Utc::now().timestamp());
            apply_as_kapstan(client, &secret).await?;
        }
    }
    Ok(first_deployed)
}

fn decode_record(b64: &str) -> Option<Value> {
    use base64::Engine as _;
    let inner = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    record::decode_release(std::str::from_utf8(&inner).ok()?)
}

/// Waits for Deployments to be available and LoadBalancer Services to have an address.
/// Returns the first LoadBalancer address.
async fn wait_ready(
    ctx: &DriverContext,
    client: &KubeClient,
    release: &str,
    inventory: &[ObjectRef],
    timeout: Duration,
) -> Result<Value, DriverError> {
    let start = Instant::now();
    let mut lb_ip = Value::Null;
    for r in inventory
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "Deployment" | "Service"))
    {
        let mut last_reason = String::new();
        loop {
            if ctx.abandoned() {
                return Err(DriverError::Interrupted);
            }
            let live = client.get(r).await.map_err(kube_err)?;
            let (ready, reason) = match &live {
                None => (false, "not found".to_string()),
                Some(o) if r.kind == "Deployment" => {
                    let want = o["spec"]["replicas"].as_i64().unwrap_or(1);
                    let available = o["status"]["availableReplicas"].as_i64().unwrap_or(0);
                    let observed = o["status"]["observedGeneration"].as_i64().unwrap_or(0);
                    let generation = o["metadata"]["generation"].as_i64().unwrap_or(0);
                    let why = o["status"]["conditions"]
                        .as_array()
                        .and_then(|c| c.iter().find(|c| c["type"] == "Available"))
                        .and_then(|c| c["message"].as_str())
                        .unwrap_or("")
                        .to_string();
                    // As `kubectl rollout status` does, a rollout past its progress deadline
                    // has failed: waiting longer would not make its pods start.
                    let stalled = o["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter().any(|c| {
                            c["type"] == "Progressing"
                                && c["status"] == "False"
                                && c["reason"] == "ProgressDeadlineExceeded"
                        })
                    });
                    if stalled && available < want {
                        return Err(DriverError::failed(format!(
                            "release {release}: {r} exceeded its progress deadline with {available}/{want} available: {why}"
                        )));
                    }
                    (
                        available >= want && observed >= generation,
                        format!("{available}/{want} available {why}"),
                    )
                }
                Some(o) if o["spec"]["type"] == "LoadBalancer" => {
                    let ing = &o["status"]["loadBalancer"]["ingress"][0];
                    let addr = ing["ip"].as_str().or(ing["hostname"].as_str());
                    if let Some(a) = addr
                        && lb_ip.is_null()
                    {
                        lb_ip = json!(a);
                    }
                    (
                        addr.is_some(),
                        "waiting for a load balancer address".to_string(),
                    )
                }
                Some(_) => (true, String::new()),
            };
            if ready {
                break;
            }
            if reason != last_reason {
                ctx.progress(format!("waiting for {r}: {reason}"));
                last_reason = reason.clone();
            }
            if start.elapsed() >= timeout {
                return Err(DriverError::Timeout {
                    what: format!("release {release}: {r} to become ready ({})", reason.trim()),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(lb_ip)
}

#[async_trait]
impl Driver for HelmReleaseDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        if config["repository"].is_null()
            && let Some(chart) = config["chart"].as_str()
            && !std::path::Path::new(chart).exists()
        {
            errors.push(FieldError::new(
                "chart",
                &format!("{chart:?}"),
                "is neither a local chart path nor used with a repository",
                "set `repository` (e.g. https://helm.coder.com/v2) or give a chart directory or archive",
            ));
        }
        if config["repository"].is_string() && config["version"].is_null() {
            errors.push(FieldError::new(
                "version",
                "(absent)",
                "is required with a repository",
                "pin the chart version, e.g. version = \"2.21.1\"",
            ));
        }
    }

    fn describes_objects(&self) -> bool {
        true
    }

    async fn describe(
        &self,
        ctx: &DriverContext,
        recorded: Option<&ResourceState>,
        config: &Value,
    ) -> Result<Vec<ObjectChange>, DriverError> {
        let rendered = render(ctx, config, self.helm.as_deref()).await?;
        Ok(object_changes(
            &rendered.objects,
            config["namespace"].as_str().unwrap_or_default(),
            recorded.map(|r| &r.attributes),
        ))
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = client_from(&recorded.config)?;
        let ns = recorded.config["namespace"].as_str().unwrap_or_default();
        let name = recorded.config["name"].as_str().unwrap_or_default();
        if release_records(&client, ns, name).await?.is_empty() {
            return Ok(None);
        }
        let mut attrs = recorded.attributes.clone();
        let mut missing = vec![];
        for r in inventory_of(&recorded.attributes) {
            if client.get(&r).await.map_err(kube_err)?.is_none() {
                missing.push(json!(r.to_string()));
            }
        }
        attrs["missing_objects"] = json!(missing);
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let attributes = deploy(ctx, config, None, self.helm.as_deref()).await?;
        Ok(Created {
            id: release_id(config),
            attributes,
        })
    }

    async fn update(&self, ctx: &DriverContext, update: &Update<'_>) -> Result<Value, DriverError> {
        deploy(
            ctx,
            update.config,
            Some(&update.recorded.attributes),
            self.helm.as_deref(),
        )
        .await
    }

    async fn delete(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        let client = client_from(&recorded.config)?;
        let ns = recorded.config["namespace"].as_str().unwrap_or_default();
        let name = recorded.config["name"].as_str().unwrap_or_default();
        let mut inventory = inventory_of(&recorded.attributes);
        inventory.sort_by_key(|r| std::cmp::Reverse(apply_order(&r.kind)));
        for r in &inventory {
            ctx.progress(format!("deleting {r}"));
            match client.delete(r).await {
                Ok(_) => {}
                Err(crate::kubernetes::KubeError::UnknownKind { .. }) => {}
                Err(e) => {
                    return Err(DriverError::failed(format!(
                        "release {name}: deleting {r}: {e}"
                    )));
                }
            }
        }
        for rec in release_records(&client, ns, name).await? {
            if let Some(r) = ObjectRef::of(&rec) {
                client.delete(&r).await.map_err(kube_err)?;
            }
        }
        Ok(())
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // Applying is idempotent: run the whole deployment again, pruning what the interrupted
        // run had applied beyond the new rendering.
        let prior = json!({"inventory": marker["inventory"]});
        let attributes = deploy(ctx, config, Some(&prior), self.helm.as_deref()).await?;
        Ok(Some(Created {
            id: release_id(config),
            attributes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(replicas: u64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "coder", "labels": {"app": "coder"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": []}}}})
    }

    fn secret(password: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "extra", "namespace": "coder"},
            "stringData": {"password": password}})
    }

    fn role() -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "coder-reader"}, "rules": []})
    }

    /// Attributes as `deploy` records them for `objects`.
    fn recorded(objects: &[Value], with_hashes: bool) -> Value {
        let inventory: Vec<ObjectRef> = objects
            .iter()
            .map(|o| planned_ref(o, "coder", &[]).unwrap())
            .collect();
        let hashes: Map<String, Value> = objects
            .iter()
            .zip(&inventory)
            .map(|(o, r)| (object_name(r), fingerprint(o)))
            .collect();
        let mut attrs = json!({"inventory": inventory});
        if with_hashes {
            attrs["object_hashes"] = Value::Object(hashes);
        }
        attrs
    }

    #[test]
    fn a_new_release_creates_every_object() {
        let changes = object_changes(&[deployment(1), role()], "coder", None);
        assert_eq!(
            changes,
            vec![
                ObjectChange::create("apps/v1 Deployment coder/coder"),
                ObjectChange::create("rbac.authorization.k8s.io/v1 ClusterRole coder-reader"),
            ]
        );
    }

    #[test]
    fn only_changed_objects_are_listed_with_their_changed_parts() {
        let prior = recorded(&[deployment(1), secret("hunter22"), role()], true);
        let same = object_changes(
            &[deployment(1), secret("hunter22"), role()],
            "coder",
            Some(&prior),
        );
        assert!(same.is_empty(), "{same:?}");
        let changes = object_changes(
            &[deployment(2), secret("s3cr3t-value")],
            "coder",
            Some(&prior),
        );
        assert_eq!(
            changes,
            vec![
                ObjectChange::update(
                    "apps/v1 Deployment coder/coder",
                    vec!["spec.replicas".into()]
                ),
                ObjectChange::update("v1 Secret coder/extra", vec!["stringData.password".into()]),
                ObjectChange::delete("rbac.authorization.k8s.io/v1 ClusterRole coder-reader"),
            ]
        );
        let shown = serde_json::to_string(&changes).unwrap();
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("hunter22"),
            "{shown}"
        );
    }

    #[test]
    fn a_state_without_fingerprints_reports_kept_objects_as_updated() {
        let prior = recorded(&[deployment(1), role()], false);
        let changes = object_changes(&[deployment(1), role()], "coder", Some(&prior));
        assert_eq!(
            changes,
            vec![
                ObjectChange::update("apps/v1 Deployment coder/coder", vec![]),
                ObjectChange::update(
                    "rbac.authorization.k8s.io/v1 ClusterRole coder-reader",
                    vec![]
                ),
            ]
        );
    }

    #[test]
    fn fingerprints_ignore_key_order() {
        let a = json!({"kind": "ConfigMap", "data": {"a": "1", "b": "2"}});
        let b = json!({"data": {"b": "2", "a": "1"}, "kind": "ConfigMap"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a)["sha256"],
            fingerprint(&json!({"kind": "ConfigMap", "data": {"a": "1"}}))["sha256"]
        );
    }

    #[test]
    fn cluster_scoped_objects_follow_the_inventory() {
        let custom = json!({"apiVersion": "example.com/v1", "kind": "Thing",
            "metadata": {"name": "t"}});
        let inventory = vec![ObjectRef::new("example.com/v1", "Thing", None, "t")];
        assert_eq!(
            planned_ref(&custom, "coder", &inventory).unwrap().namespace,
            None
        );
        assert_eq!(
            planned_ref(&custom, "coder", &[])
                .unwrap()
                .namespace
                .as_deref(),
            Some("coder")
        );
    }
}
