//! `scaleway_k8s_pool`: a Kapsule node pool. One mutation at a time per cluster (a mutex
//! shared by the driver), waits up to 30 minutes for `ready`, `warning` is reported as a
//! failure (as Terraform does), and size, min/max size, autoscaling and autohealing update in
//! place.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::k8s::{
    CreatePoolRequest, Pool as WirePool, PoolStatus, SetPoolLabelsRequest,
    SetPoolStartupTaintsRequest, SetPoolTaintsRequest, Taint as WireTaint, UpdatePoolRequest,
    UpgradePolicy as WirePolicy,
};
use super::client::{Client, Error as ApiErr, Region};
use super::k8s_cluster::ClusterKind;
use super::kind::{
    Deletion, Op, Readiness, adopt_owned, attribute_as_is, bare_id, kind, kind_impl, wait_ready,
};
use super::provider::{
    Pace, Poll, api, check, conform, flag, items, norm, string, u32_of, wait_for,
};

/// A taint of the pool's nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Rolling-upgrade policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpgradePolicy {
    /// Nodes that may be unavailable at once.
    pub max_unavailable: u32,
    /// Extra nodes created during an upgrade.
    pub max_surge: u32,
}

attribute_as_is!(Taint, UpgradePolicy);

kind! {
    /// A Kapsule node pool.
    pub struct Pool = "scaleway_k8s_pool" (PoolKind, PoolAttributes, PoolDriver);
    wire WirePool as p, id p.id;
    /// the cluster
    cluster_id: Input<String>, required force_new => p.cluster_id;
    /// name, unique in the cluster
    name: Input<String>, required force_new => p.name;
    /// commercial node type, e.g. PRO2-XXS
    node_type: Input<String>, required force_new => p.node_type;
    /// number of nodes (updated in place; ignored by the autoscaler when autoscaling)
    size: Input<u32>, required => p.size;
    /// minimum size for the autoscaler (updated in place)
    min_size: Option<Input<u32>>, optional_computed => p.min_size;
    /// maximum size for the autoscaler (updated in place)
    max_size: Option<Input<u32>>, optional_computed => p.max_size;
    /// let the autoscaler size the pool (updated in place)
    #[serde(default)]
    autoscaling: bool, optional => p.autoscaling;
    /// replace unhealthy nodes (updated in place)
    #[serde(default)]
    autohealing: bool, optional => p.autohealing;
    tags => p.tags;
    /// container runtime (containerd)
    container_runtime: Option<String>, optional_computed force_new => p.container_runtime.as_str();
    /// placement group
    placement_group_id: Option<String>, optional force_new => p.placement_group_id;
    /// root volume type: l_ssd, sbs_5k or sbs_15k
    root_volume_type: Option<String>, optional_computed force_new => p.root_volume_type.as_str();
    /// root volume size in GB
    root_volume_size_in_gb: Option<u64>, optional_computed force_new
        => p.root_volume_size.map(|b| b / GB);
    /// nodes without public IPs (needs a public gateway)
    public_ip_disabled: Option<bool>, optional force_new => p.public_ip_disabled;
    /// kubelet arguments (updated in place)
    kubelet_args: Option<BTreeMap<String, String>>, optional => p.kubelet_args;
    /// `{max_unavailable, max_surge}` (updated in place)
    upgrade_policy: Option<UpgradePolicy>, optional_computed => json!({
        "max_unavailable": p.upgrade_policy.max_unavailable.unwrap_or(1),
        "max_surge": p.upgrade_policy.max_surge.unwrap_or(0),
    });
    /// node labels (updated in place)
    labels: Option<BTreeMap<String, String>>, optional => p.labels;
    /// node taints `[{key, value, effect}]` (updated in place)
    taints: Option<Vec<Taint>>, optional => taints(&p.taints);
    /// taints removed once nodes are ready (updated in place)
    startup_taints: Option<Vec<Taint>>, optional => taints(&p.startup_taints);
    /// security group of the nodes (updated in place)
    security_group_id: Option<String>, optional_computed => p.security_group_id;
    zone => p.zone;
    /// region of the cluster; default: the configured region
    region: Option<String>, optional_computed force_new => p.region;
    /// wait for the pool to be ready (default true)
    wait_for_pool_ready: Option<bool>, optional;
    /// creation time
    created_at: String, computed => p.created_at;
}

/// Kapsule node types (commercial names; compared case-, `-`- and `_`-insensitively).
pub const NODE_TYPES: &[&str] = &[
    "DEV1-M",
    "DEV1-L",
    "DEV1-XL",
    "GP1-XS",
    "GP1-S",
    "GP1-M",
    "GP1-L",
    "GP1-XL",
    "PLAY2-PICO",
    "PLAY2-NANO",
    "PLAY2-MICRO",
    "PRO2-XXS",
    "PRO2-XS",
    "PRO2-S",
    "PRO2-M",
    "PRO2-L",
    "POP2-2C-8G",
    "POP2-4C-16G",
    "POP2-8C-32G",
    "POP2-16C-64G",
    "POP2-32C-128G",
    "POP2-64C-256G",
    "POP2-HM-2C-16G",
    "POP2-HM-4C-32G",
    "POP2-HM-8C-64G",
    "POP2-HM-16C-128G",
    "POP2-HM-32C-256G",
    "POP2-HM-64C-512G",
    "POP2-HC-2C-4G",
    "POP2-HC-4C-8G",
    "POP2-HC-8C-16G",
    "POP2-HC-16C-32G",
    "POP2-HC-32C-64G",
    "POP2-HC-64C-128G",
    "ENT1-XXS",
    "ENT1-XS",
    "ENT1-S",
    "ENT1-M",
    "ENT1-L",
    "ENT1-XL",
    "ENT1-2XL",
    "COPARM1-2C-8G",
    "COPARM1-4C-16G",
    "COPARM1-8C-32G",
    "COPARM1-16C-64G",
    "COPARM1-32C-128G",
    "RENDER-S",
    "GPU-3070-S",
    "L4-1-24G",
    "L4-2-24G",
    "L4-4-24G",
    "L4-8-24G",
    "L40S-1-48G",
    "L40S-2-48G",
    "L40S-4-48G",
    "L40S-8-48G",
    "H100-1-80G",
    "H100-2-80G",
    "H100-SXM-2-80G",
    "H100-SXM-4-80G",
    "H100-SXM-8-80G",
];

const GB: u64 = 1_000_000_000;

fn taints(v: &[WireTaint]) -> Value {
    Value::Array(
        v.iter()
            .map(|t| json!({"key": t.key, "value": t.value, "effect": t.effect.as_str()}))
            .collect(),
    )
}

fn wire_taints(config: &Value, key: &str) -> Vec<WireTaint> {
    items(config, key)
        .map(|t| WireTaint {
            key: string(t, "key").unwrap_or_default(),
            value: string(t, "value").unwrap_or_default(),
            effect: string(t, "effect").unwrap_or_default().as_str().into(),
        })
        .collect()
}

fn string_map(config: &Value, key: &str) -> BTreeMap<String, String> {
    config
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a drain evicts the pod: not DaemonSet pods (they run on every node) nor mirror
/// pods (the kubelet owns them), and not pods that already finished.
fn evictable(pod: &Value) -> bool {
    let daemon = pod["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|o| o.iter().any(|r| r["kind"] == "DaemonSet"));
    let mirror = pod["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_string();
    let done = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    !(daemon || mirror || done)
}

/// Waits for the pool to be ready; `warning` fails loudly.
async fn wait_pool(op: &Op<'_, PoolKind>, id: &str) -> Result<WirePool, DriverError> {
    op.wait_ready(Pace::Long, id).await
}

/// Waits until the cluster is not creating or updating (pools change it too).
async fn wait_cluster(op: &Op<'_, PoolKind>, cluster_id: &str) -> Result<(), DriverError> {
    let pacing = op.d.p.pacing(Pace::Cluster);
    wait_ready::<ClusterKind>(op.ctx, pacing, op.c, op.at, cluster_id)
        .await
        .map(|_| ())
}

kind_impl! {
    impl Kind for PoolKind, calls k8s {
        get: get_pool; remove: delete_pool;
    }
    status(p) => p.status;

    const WHAT: &'static str = "pool";
    const DELETION: Deletion = Deletion::WaitGone(Pace::Long);
    type Place = Region;
    type Request = (String, CreatePoolRequest);

    fn readiness(p: &WirePool) -> Readiness {
        match p.status.as_str() {
            "ready" => Readiness::Ready,
            "warning" => Readiness::Broken(format!(
                "pool {} is in `warning`: {}; check its nodes (kapstan resumes the wait on the next apply)",
                p.name,
                p.error_message.as_deref().unwrap_or("no error message")
            )),
            "locked" => Readiness::Broken(format!("pool {} is locked by Scaleway", p.name)),
            s => Readiness::Pending(s.to_string()),
        }
    }

    /// No `version`: the nodes follow the cluster, whose auto-upgrades move it; reporting it
    /// here would raise a drift alert on every upgrade Scaleway does (the cluster's
    /// `running_version` says it once). The autoscaler owns the size of an autoscaled pool:
    /// not a difference to correct.
    fn shape(a: &mut Value, config: &Value) {
        if a.get("autoscaling") == Some(&Value::Bool(true))
            && let Some(size) = config.get("size").filter(|v| v.is_u64())
        {
            a["size"] = size.clone();
        }
        conform(a, config);
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::name(config, "name", e);
        let choices: [check::ChoiceRule; 3] = [
            ("node_type", NODE_TYPES, "Kapsule node type"),
            (
                "root_volume_type",
                &["l_ssd", "b_ssd", "sbs_5k", "sbs_15k", "default_volume_type"],
                "root volume type",
            ),
            ("container_runtime", &["containerd"], "container runtime"),
        ];
        check::choices(config, &choices, e);
        let (size, min, max) = (
            u32_of(config, "size"),
            u32_of(config, "min_size"),
            u32_of(config, "max_size"),
        );
        // min_size ≤ size ≤ max_size: each broken inequality is refused on its left field.
        let bounds = [
            ("min_size", min, Ordering::Greater, "max_size", max),
            ("size", size, Ordering::Greater, "max_size", max),
            ("size", size, Ordering::Less, "min_size", min),
        ];
        for (field, value, wrong, bound_field, bound) in bounds {
            if let (Some(v), Some(b)) = (value, bound)
                && v.cmp(&b) == wrong
            {
                let than = if wrong == Ordering::Greater { "larger" } else { "smaller" };
                e.push(FieldError::new(
                    field,
                    &v.to_string(),
                    &format!("is {than} than {bound_field} ({b})"),
                    "make min_size ≤ size ≤ max_size",
                ));
            }
        }
        if max == Some(0) {
            e.push(FieldError::new(
                "max_size",
                "0",
                "must be at least 1",
                "set max_size to 1 or more",
            ));
        }
        for key in ["taints", "startup_taints"] {
            for t in items(config, key) {
                if let Some(eff) = t.get("effect").and_then(Value::as_str)
                    && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&eff)
                {
                    e.push(FieldError::new(
                        &format!("{key}.effect"),
                        &format!("{eff:?}"),
                        "is not a taint effect",
                        "use NoSchedule, PreferNoSchedule or NoExecute",
                    ));
                }
            }
        }
    }

    fn lock(d: &PoolDriver, config: &Value) -> Option<Arc<tokio::sync::Mutex<()>>> {
        Some(d.p.pool_lock(&string(config, "cluster_id").unwrap_or_default()))
    }

    /// The pools list has no tag filter: list the cluster's pools and match tags exactly.
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<WirePool>, DriverError> {
        let config = op.config;
        let cluster_id = string(config, "cluster_id").unwrap_or_default();
        let listed = match op
            .c
            .k8s(op.at)
            .list_pools(&cluster_id, &ListFilter::default())
            .await
        {
            Ok(p) => p,
            Err(e) if e.is_not_found() => vec![],
            Err(e) => return Err(api(e)),
        };
        adopt_owned::<Self>(op.ctx, listed)
    }

    async fn request(op: &Op<'_, Self>) -> Result<(String, CreatePoolRequest), DriverError> {
        let Op { d, at: region, config, .. } = *op;
        let cluster_id = string(config, "cluster_id").unwrap_or_default();
        let zone = match string(config, "zone") {
            Some(z) => z,
            None => {
                let z = d.p.zone_of(config)?;
                if z.region() == *region {
                    z.to_string()
                } else {
                    region.first_zone().to_string()
                }
            }
        };
        let size = u32_of(config, "size").unwrap_or(1);
        let req = CreatePoolRequest {
            name: string(config, "name").unwrap_or_default(),
            node_type: norm(&string(config, "node_type").unwrap_or_default()),
            placement_group_id: string(config, "placement_group_id"),
            autoscaling: flag(config, "autoscaling").unwrap_or(false),
            size,
            min_size: u32_of(config, "min_size"),
            max_size: u32_of(config, "max_size"),
            container_runtime: string(config, "container_runtime").map(Into::into),
            autohealing: flag(config, "autohealing").unwrap_or(false),
            tags: op.tags(),
            kubelet_args: string_map(config, "kubelet_args"),
            upgrade_policy: config.get("upgrade_policy").map(|u| WirePolicy {
                max_unavailable: u32_of(u, "max_unavailable"),
                max_surge: u32_of(u, "max_surge"),
            }),
            zone,
            root_volume_type: string(config, "root_volume_type").map(Into::into),
            root_volume_size: config
                .get("root_volume_size_in_gb")
                .and_then(Value::as_u64)
                .map(|g| g * GB),
            public_ip_disabled: flag(config, "public_ip_disabled").unwrap_or(false),
            security_group_id: string(config, "security_group_id"),
            labels: string_map(config, "labels"),
            taints: wire_taints(config, "taints"),
            startup_taints: wire_taints(config, "startup_taints"),
        };
        wait_cluster(op, &cluster_id).await?;
        Ok((cluster_id, req))
    }

    async fn post(
        c: &Client,
        at: &Region,
        (cluster_id, req): &(String, CreatePoolRequest),
    ) -> Result<WirePool, ApiErr> {
        c.k8s(at).create_pool(cluster_id, req).await
    }

    async fn settle(op: &Op<'_, Self>, pool: WirePool) -> Result<WirePool, DriverError> {
        let config = op.config;
        let wait = flag(config, "wait_for_pool_ready").unwrap_or(true);
        if !wait {
            return Ok(pool);
        }
        let p = wait_pool(op, &pool.id).await?;
        wait_cluster(op, &p.cluster_id).await?;
        wait_kube_api(op, &p.cluster_id).await?;
        Ok(p)
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<WirePool, DriverError> {
        let id = bare_id(update.recorded);
        let config = op.config;
        let Op { c, at, .. } = *op;
        let id = id.to_string();
        let touched = |f: &str| update.touches(f);
        let k8s = c.k8s(at);
        let patch = [
            "size",
            "min_size",
            "max_size",
            "autoscaling",
            "autohealing",
            "tags",
            "kubelet_args",
            "upgrade_policy",
            "security_group_id",
        ];
        if patch.iter().any(|f| touched(f)) {
            let autoscaling = flag(config, "autoscaling");
            let req = UpdatePoolRequest {
                autoscaling,
                // The autoscaler owns the size of an autoscaled pool.
                size: if autoscaling == Some(true) && !touched("size") {
                    None
                } else {
                    u32_of(config, "size")
                },
                min_size: u32_of(config, "min_size"),
                max_size: u32_of(config, "max_size"),
                autohealing: flag(config, "autohealing"),
                tags: Some(op.tags()),
                kubelet_args: config
                    .get("kubelet_args")
                    .map(|_| string_map(config, "kubelet_args")),
                upgrade_policy: config.get("upgrade_policy").map(|u| WirePolicy {
                    max_unavailable: u32_of(u, "max_unavailable"),
                    max_surge: u32_of(u, "max_surge"),
                }),
                security_group_id: string(config, "security_group_id"),
            };
            wait_pool(op, &id).await?;
            k8s.update_pool(&id, &req).await.map_err(api)?;
            wait_pool(op, &id).await?;
        }
        // Labels, taints and startup taints each have their own call, each waited out.
        let labels = SetPoolLabelsRequest {
            labels: string_map(config, "labels"),
        };
        let taints = SetPoolTaintsRequest {
            taints: wire_taints(config, "taints"),
        };
        let startup_taints = SetPoolStartupTaintsRequest {
            startup_taints: wire_taints(config, "startup_taints"),
        };
        let sets: [(&str, BoxFuture<'_, Result<WirePool, ApiErr>>); 3] = [
            ("labels", Box::pin(k8s.set_pool_labels(&id, &labels))),
            ("taints", Box::pin(k8s.set_pool_taints(&id, &taints))),
            (
                "startup_taints",
                Box::pin(k8s.set_pool_startup_taints(&id, &startup_taints)),
            ),
        ];
        for (field, set) in sets {
            if touched(field) {
                set.await.map_err(api)?;
                wait_pool(op, &id).await?;
            }
        }
        k8s.get_pool(&id).await.map_err(api)
    }

    async fn before_delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        let id = bare_id(rec);
        let cluster_id = string(&rec.config, "cluster_id").unwrap_or_default();
        drain_if_replaced(op, &cluster_id, id).await
    }
}

/// Before a pool is deleted while another pool of the cluster is ready (a replacement, or
/// a pool removed from the stack): cordons its nodes and evicts their pods through the
/// Eviction API, which honours PodDisruptionBudgets, until none is left, so workloads move
/// to the remaining nodes instead of dying with these. Without another ready pool (the
/// cluster is being torn down) there is nowhere to go and nothing is drained.
async fn drain_if_replaced(
    op: &Op<'_, PoolKind>,
    cluster_id: &str,
    pool_id: &str,
) -> Result<(), DriverError> {
    let Op { ctx, c, at, .. } = *op;
    let pools = match c
        .k8s(at)
        .list_pools(cluster_id, &ListFilter::default())
        .await
    {
        Ok(p) => p,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(api(e)),
    };
    let elsewhere = pools
        .iter()
        .any(|p| p.id != pool_id && p.status == PoolStatus::Ready);
    if !elsewhere || !pools.iter().any(|p| p.id == pool_id) {
        return Ok(());
    }
    let kube = kube_client(op, cluster_id).await?;
    let kerr = |e: crate::kubernetes::KubeError| DriverError::failed(e.to_string());
    let selector = format!("k8s.scaleway.com/pool={pool_id}");
    let nodes = kube
        .list_selected("v1", "Node", None, Some(&selector), None)
        .await
        .map_err(kerr)?;
    let names: Vec<String> = nodes
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(String::from))
        .collect();
    ctx.progress(format!("cordoning and draining {} node(s)", names.len()));
    for name in &names {
        let node = crate::kubernetes::ObjectRef {
            api_version: "v1".into(),
            kind: "Node".into(),
            namespace: None,
            name: name.clone(),
        };
        kube.merge_patch(&node, &json!({"spec": {"unschedulable": true}}))
            .await
            .map_err(kerr)?;
    }
    let pacing = op.d.p.pacing(Pace::Long);
    let (kube, names) = (&kube, &names);
    wait_for(
        ctx,
        pacing,
        "the drain of the old nodes",
        move || async move {
            let mut left = 0;
            let mut blocked = None;
            for name in names {
                let field = format!("spec.nodeName={name}");
                let pods = kube
                    .list_selected("v1", "Pod", None, None, Some(&field))
                    .await
                    .map_err(kerr)?;
                for pod in pods.iter().filter(|p| evictable(p)) {
                    left += 1;
                    let (ns, pname) = (
                        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
                        pod["metadata"]["name"].as_str().unwrap_or_default(),
                    );
                    match kube.evict(ns, pname).await {
                        Ok(()) => {}
                        Err(e @ crate::kubernetes::KubeError::Api { code: 429, .. }) => {
                            blocked = Some(format!("{ns}/{pname}: {e}"));
                        }
                        Err(e) => return Err(kerr(e)),
                    }
                }
            }
            Ok(if left == 0 {
                Poll::Done(())
            } else {
                Poll::Pending(match blocked {
                    Some(b) => format!("{left} pod(s) left, eviction refused for {b}"),
                    None => format!("{left} pod(s) being evicted"),
                })
            })
        },
    )
    .await
}

/// A Kubernetes client of the cluster, from its kubeconfig.
async fn kube_client(
    op: &Op<'_, PoolKind>,
    cluster_id: &str,
) -> Result<crate::kubernetes::KubeClient, DriverError> {
    let kubeconfig =
        op.c.k8s(op.at)
            .get_kubeconfig(cluster_id)
            .await
            .map_err(api)?;
    crate::kubernetes::KubeClient::from_kubeconfig(kubeconfig.expose())
        .map_err(|e| DriverError::failed(e.to_string()))
}

/// Waits until the cluster's Kubernetes API answers: on a fresh cluster it keeps failing
/// for a while after the pool is ready, and whatever runs next (phase app) needs it.
async fn wait_kube_api(op: &Op<'_, PoolKind>, cluster_id: &str) -> Result<(), DriverError> {
    let kube = kube_client(op, cluster_id).await?;
    let deadline = op.d.p.pacing(Pace::Cluster).deadline;
    op.ctx.progress("waiting for the Kubernetes API to answer");
    match kube.wait_until_ready(deadline).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_transient() => Err(DriverError::Timeout {
            what: format!("the Kubernetes API of cluster {cluster_id} ({e})"),
            after: deadline,
        }),
        Err(e) => Err(DriverError::failed(e.to_string())),
    }
}
