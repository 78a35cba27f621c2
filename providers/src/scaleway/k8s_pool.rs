//! `scaleway_k8s_pool`: a Kapsule node pool. One mutation at a time per cluster (a mutex
//! shared by the driver), waits up to 30 minutes for `ready`, `warning` is reported as a
//! failure (as Terraform does), and size, min/max size, autoscaling and autohealing update in
//! place.

use std::collections::BTreeMap;
use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::k8s::{
    CreatePoolRequest, Pool as WirePool, PoolStatus, SetPoolLabelsRequest,
    SetPoolStartupTaintsRequest, SetPoolTaintsRequest, Taint as WireTaint, UpdatePoolRequest,
    UpgradePolicy as WirePolicy,
};
use super::client::{Client, Region, Zone};
use super::provider::{
    Pace, Poll, ScalewayProvider, adopt_one, api, attributes, check, config_from, conform, found,
    is_owned, marker_id, norm, owned_tags, post_or_adopt, split_locality, string, strings,
    user_tags, wait_for,
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

/// A Kapsule node pool.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pool {
    /// Cluster. Changing it replaces the pool.
    pub cluster_id: Input<String>,
    /// Name, unique in the cluster. Changing it replaces the pool.
    pub name: Input<String>,
    /// Commercial node type, e.g. `PRO2-XXS`. Changing it replaces the pool.
    pub node_type: Input<String>,
    /// Number of nodes (updated in place; ignored by the autoscaler when autoscaling).
    pub size: Input<u32>,
    /// Minimum size (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<Input<u32>>,
    /// Maximum size (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<Input<u32>>,
    /// Let the autoscaler size the pool (updated in place).
    #[serde(default)]
    pub autoscaling: bool,
    /// Replace unhealthy nodes (updated in place).
    #[serde(default)]
    pub autohealing: bool,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Container runtime (`containerd`). Changing it replaces the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_runtime: Option<String>,
    /// Placement group. Changing it replaces the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_group_id: Option<String>,
    /// Root volume type (`l_ssd`, `sbs_5k`, `sbs_15k`). Changing it replaces the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume_type: Option<String>,
    /// Root volume size in GB. Changing it replaces the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume_size_in_gb: Option<u64>,
    /// Nodes without public IPs (needs a public gateway on the private network). Changing it
    /// replaces the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip_disabled: Option<bool>,
    /// Kubelet arguments (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_args: Option<BTreeMap<String, String>>,
    /// Upgrade policy (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_policy: Option<UpgradePolicy>,
    /// Node labels (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Node taints (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<Taint>>,
    /// Taints removed once nodes are ready (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_taints: Option<Vec<Taint>>,
    /// Zone (default: the configured zone). Changing it replaces the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Region of the cluster. Changing it replaces the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Wait for the pool to be ready (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_pool_ready: Option<bool>,
}

attributes! {
    /// Attributes of a `scaleway_k8s_pool`.
    PoolAttributes {
        /// The size.
        size: u32 = "size",
        /// The zone.
        zone: String = "zone",
    }
}

impl Resource for Pool {
    const KIND: &'static str = "scaleway_k8s_pool";
    type Attributes = PoolAttributes;
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

/// The `scaleway_k8s_pool` driver.
#[derive(Debug)]
pub struct PoolDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl PoolDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_k8s_pool",
                vec![
                    Field::required("cluster_id")
                        .force_new()
                        .describe("the cluster"),
                    Field::required("name")
                        .force_new()
                        .describe("name, unique in the cluster"),
                    Field::required("node_type")
                        .force_new()
                        .describe("commercial node type, e.g. PRO2-XXS"),
                    Field::required("size").describe("number of nodes (updated in place)"),
                    Field::optional_computed("min_size")
                        .describe("minimum size for the autoscaler (updated in place)"),
                    Field::optional_computed("max_size")
                        .describe("maximum size for the autoscaler (updated in place)"),
                    Field::optional("autoscaling")
                        .describe("let the autoscaler size the pool (updated in place)"),
                    Field::optional("autohealing")
                        .describe("replace unhealthy nodes (updated in place)"),
                    Field::optional("tags").describe(
                        "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr",
                    ),
                    Field::optional_computed("container_runtime")
                        .force_new()
                        .describe("container runtime (containerd)"),
                    Field::optional("placement_group_id")
                        .force_new()
                        .describe("placement group"),
                    Field::optional_computed("root_volume_type")
                        .force_new()
                        .describe("root volume type: l_ssd, sbs_5k or sbs_15k"),
                    Field::optional_computed("root_volume_size_in_gb")
                        .force_new()
                        .describe("root volume size in GB"),
                    Field::optional("public_ip_disabled")
                        .force_new()
                        .describe("nodes without public IPs (needs a public gateway)"),
                    Field::optional("kubelet_args")
                        .describe("kubelet arguments (updated in place)"),
                    Field::optional_computed("upgrade_policy")
                        .describe("`{max_unavailable, max_surge}` (updated in place)"),
                    Field::optional("labels").describe("node labels (updated in place)"),
                    Field::optional("taints")
                        .describe("node taints `[{key, value, effect}]` (updated in place)"),
                    Field::optional("startup_taints")
                        .describe("taints removed once nodes are ready (updated in place)"),
                    Field::optional_computed("security_group_id")
                        .describe("security group of the nodes (updated in place)"),
                    Field::optional_computed("zone")
                        .force_new()
                        .describe("zone; default: the configured zone"),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region of the cluster; default: the configured region"),
                    Field::optional("wait_for_pool_ready")
                        .describe("wait for the pool to be ready (default true)"),
                    Field::computed("created_at").describe("creation time"),
                ],
            ),
        }
    }

    async fn find(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        cluster_id: &str,
    ) -> Result<Option<WirePool>, DriverError> {
        // The pools list has no tag filter: list the cluster's pools and match tags exactly.
        let found = match client
            .k8s(region)
            .list_pools(cluster_id, &ListFilter::default())
            .await
        {
            Ok(p) => p,
            Err(e) if e.is_not_found() => vec![],
            Err(e) => return Err(api(e)),
        }
        .into_iter()
        .filter(|p| is_owned(ctx, &p.tags))
        .map(|p| (p.id.clone(), p))
        .collect();
        Ok(adopt_one(ctx, "scaleway_k8s_pool", found)?.map(|(_, p)| p))
    }

    /// Waits for the pool to be ready; `warning` fails loudly.
    async fn wait_ready(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        id: &str,
    ) -> Result<WirePool, DriverError> {
        let (c, r) = (client, region);
        wait_for(ctx, self.p.pacing(Pace::Long), "pool", move || async move {
            let p = c.k8s(r).get_pool(id).await.map_err(api)?;
            match p.status.as_str() {
                "ready" => Ok(Poll::Done(p)),
                "warning" => Err(DriverError::failed(format!(
                    "pool {} is in `warning`: {}; check its nodes (kapstan resumes the wait on the next apply)",
                    p.name,
                    p.error_message.clone().unwrap_or_else(|| "no error message".into())
                ))),
                "locked" => Err(DriverError::failed(format!("pool {} is locked by Scaleway", p.name))),
                s => Ok(Poll::Pending(s.to_string())),
            }
        })
        .await
    }

    /// Waits until the cluster is not creating or updating (pools change it too).
    async fn wait_cluster(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        cluster_id: &str,
    ) -> Result<(), DriverError> {
        let (c, r) = (client, region);
        wait_for(
            ctx,
            self.p.pacing(Pace::Cluster),
            "cluster",
            move || async move {
                match c.k8s(r).get_cluster(cluster_id).await {
                    Ok(cl) if cl.status.is_transient() => {
                        Ok(Poll::Pending(format!("cluster {}", cl.status)))
                    }
                    Ok(_) => Ok(Poll::Done(())),
                    Err(e) => Err(api(e)),
                }
            },
        )
        .await
    }
}

fn taints(v: &[WireTaint]) -> Value {
    Value::Array(
        v.iter()
            .map(|t| json!({"key": t.key, "value": t.value, "effect": t.effect.as_str()}))
            .collect(),
    )
}

fn wire_taints(config: &Value, key: &str) -> Vec<WireTaint> {
    config
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|t| WireTaint {
                    key: string(t, "key").unwrap_or_default(),
                    value: string(t, "value").unwrap_or_default(),
                    effect: string(t, "effect").unwrap_or_default().as_str().into(),
                })
                .collect()
        })
        .unwrap_or_default()
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

fn attrs(p: &WirePool, config: &Value) -> Value {
    let mut a = json!({
        "cluster_id": p.cluster_id,
        "name": p.name,
        "node_type": p.node_type,
        "size": p.size,
        "min_size": p.min_size,
        "max_size": p.max_size,
        "autoscaling": p.autoscaling,
        "autohealing": p.autohealing,
        "tags": user_tags(&p.tags),
        "container_runtime": p.container_runtime.as_str(),
        "placement_group_id": p.placement_group_id,
        "root_volume_type": p.root_volume_type.as_str(),
        "root_volume_size_in_gb": p.root_volume_size.map(|b| b / GB),
        "public_ip_disabled": p.public_ip_disabled,
        "kubelet_args": p.kubelet_args,
        "upgrade_policy": {
            "max_unavailable": p.upgrade_policy.max_unavailable.unwrap_or(1),
            "max_surge": p.upgrade_policy.max_surge.unwrap_or(0),
        },
        "labels": p.labels,
        "taints": taints(&p.taints),
        "startup_taints": taints(&p.startup_taints),
        "security_group_id": p.security_group_id,
        "zone": p.zone,
        "region": p.region,
        "created_at": p.created_at,
    });
    // No `version`: the nodes follow the cluster, whose auto-upgrades move it; reporting it
    // here would raise a drift alert on every upgrade Scaleway does (the cluster's
    // `running_version` says it once).
    if p.autoscaling
        && let Some(size) = config.get("size").filter(|v| v.is_u64())
    {
        // The autoscaler owns the size of an autoscaled pool: not a difference to correct.
        a["size"] = size.clone();
    }
    conform(&mut a, config);
    a
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

fn u32_of(config: &Value, key: &str) -> Option<u32> {
    config.get(key).and_then(Value::as_u64).map(|v| v as u32)
}

fn recorded_region(p: &ScalewayProvider, rec: &ResourceState) -> Result<Region, DriverError> {
    match rec.attributes.get("region").and_then(Value::as_str) {
        Some(r) => Region::parse(r).map_err(|e| DriverError::failed(e.to_string())),
        None => p.region_of(&rec.config),
    }
}

#[async_trait]
impl Driver for PoolDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::name(config, "name", &mut e);
        check::tags(config, &mut e);
        check::one_of(config, "node_type", NODE_TYPES, "Kapsule node type", &mut e);
        check::one_of(
            config,
            "root_volume_type",
            &["l_ssd", "b_ssd", "sbs_5k", "sbs_15k", "default_volume_type"],
            "root volume type",
            &mut e,
        );
        check::one_of(
            config,
            "container_runtime",
            &["containerd"],
            "container runtime",
            &mut e,
        );
        let (size, min, max) = (
            u32_of(config, "size"),
            u32_of(config, "min_size"),
            u32_of(config, "max_size"),
        );
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            e.push(FieldError::new(
                "min_size",
                &min.to_string(),
                &format!("is larger than max_size ({max})"),
                "make min_size ≤ size ≤ max_size",
            ));
        }
        if let (Some(size), Some(max)) = (size, max)
            && size > max
        {
            e.push(FieldError::new(
                "size",
                &size.to_string(),
                &format!("is larger than max_size ({max})"),
                "make min_size ≤ size ≤ max_size",
            ));
        }
        if let (Some(size), Some(min)) = (size, min)
            && size < min
        {
            e.push(FieldError::new(
                "size",
                &size.to_string(),
                &format!("is smaller than min_size ({min})"),
                "make min_size ≤ size ≤ max_size",
            ));
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
            if let Some(ts) = config.get(key).and_then(Value::as_array) {
                for t in ts {
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
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let region = recorded_region(&self.p, rec)?;
        Ok(found(
            client
                .k8s(&region)
                .get_pool(rec.id.as_deref().unwrap_or_default())
                .await,
        )?
        .map(|p| attrs(&p, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let cluster_id = string(config, "cluster_id").unwrap_or_default();
        let zone = match string(config, "zone") {
            Some(z) => z,
            None => {
                let z = self.p.zone_of(config)?;
                if z.region() == region {
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
            autoscaling: config
                .get("autoscaling")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            size,
            min_size: u32_of(config, "min_size"),
            max_size: u32_of(config, "max_size"),
            container_runtime: string(config, "container_runtime").map(Into::into),
            autohealing: config
                .get("autohealing")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tags: owned_tags(ctx, &strings(config, "tags")),
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
            public_ip_disabled: config
                .get("public_ip_disabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            security_group_id: string(config, "security_group_id"),
            labels: string_map(config, "labels"),
            taints: wire_taints(config, "taints"),
            startup_taints: wire_taints(config, "startup_taints"),
        };
        let lock = self.p.pool_lock(&cluster_id);
        let _guard = lock.lock().await;
        self.wait_cluster(ctx, &client, &region, &cluster_id)
            .await?;
        let (c, r, q, cid) = (&client, &region, &req, &cluster_id);
        let pool = post_or_adopt(
            move || async move { c.k8s(r).create_pool(cid, q).await },
            move || async move { self.find(ctx, c, r, cid).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": pool.id})).await?;
        self.finish(ctx, &client, &region, pool, config).await
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client()?;
        let region = self.p.region_of(config)?;
        let cluster_id = string(config, "cluster_id").unwrap_or_default();
        let found = match marker_id(marker) {
            Some(id) => found(client.k8s(&region).get_pool(id).await)?,
            None => self.find(ctx, &client, &region, &cluster_id).await?,
        };
        match found {
            Some(p) => {
                let lock = self.p.pool_lock(&cluster_id);
                let _guard = lock.lock().await;
                self.finish(ctx, &client, &region, p, config)
                    .await
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        changed: &[String],
    ) -> Result<Value, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = recorded_region(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let cluster_id = string(&rec.config, "cluster_id").unwrap_or_default();
        let touched = |f: &str| {
            changed
                .iter()
                .any(|c| c == &format!("/{f}") || c.starts_with(&format!("/{f}/")))
        };
        let lock = self.p.pool_lock(&cluster_id);
        let _guard = lock.lock().await;
        let k8s = client.k8s(&region);
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
            let autoscaling = config.get("autoscaling").and_then(Value::as_bool);
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
                autohealing: config.get("autohealing").and_then(Value::as_bool),
                tags: Some(owned_tags(ctx, &strings(config, "tags"))),
                kubelet_args: config
                    .get("kubelet_args")
                    .map(|_| string_map(config, "kubelet_args")),
                upgrade_policy: config.get("upgrade_policy").map(|u| WirePolicy {
                    max_unavailable: u32_of(u, "max_unavailable"),
                    max_surge: u32_of(u, "max_surge"),
                }),
                security_group_id: string(config, "security_group_id"),
            };
            self.wait_ready(ctx, &client, &region, &id).await?;
            k8s.update_pool(&id, &req).await.map_err(api)?;
            self.wait_ready(ctx, &client, &region, &id).await?;
        }
        if touched("labels") {
            k8s.set_pool_labels(
                &id,
                &SetPoolLabelsRequest {
                    labels: string_map(config, "labels"),
                },
            )
            .await
            .map_err(api)?;
            self.wait_ready(ctx, &client, &region, &id).await?;
        }
        if touched("taints") {
            k8s.set_pool_taints(
                &id,
                &SetPoolTaintsRequest {
                    taints: wire_taints(config, "taints"),
                },
            )
            .await
            .map_err(api)?;
            self.wait_ready(ctx, &client, &region, &id).await?;
        }
        if touched("startup_taints") {
            k8s.set_pool_startup_taints(
                &id,
                &SetPoolStartupTaintsRequest {
                    startup_taints: wire_taints(config, "startup_taints"),
                },
            )
            .await
            .map_err(api)?;
            self.wait_ready(ctx, &client, &region, &id).await?;
        }
        let p = k8s.get_pool(&id).await.map_err(api)?;
        Ok(attrs(&p, config))
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = recorded_region(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let cluster_id = string(&rec.config, "cluster_id").unwrap_or_default();
        let lock = self.p.pool_lock(&cluster_id);
        let _guard = lock.lock().await;
        self.drain_if_replaced(ctx, &client, &region, &cluster_id, &id)
            .await?;
        match client.k8s(&region).delete_pool(&id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        let (c, r, i) = (&client, &region, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Long),
            "pool deletion",
            move || async move {
                match c.k8s(r).get_pool(i).await {
                    Ok(p) => Ok(Poll::Pending(p.status.to_string())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) => Err(api(e)),
                }
            },
        )
        .await
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let client = self.p.client()?;
        let (loc, id) = split_locality(id);
        let region = match loc {
            Some(l) => Region::parse(l)
                .or_else(|_| Zone::parse(l).map(|z| z.region()))
                .map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.region().clone(),
        };
        match client.k8s(&region).get_pool(id).await {
            Ok(p) => {
                let attributes = attrs(&p, &Value::Null);
                Ok(Some(Imported {
                    config: config_from(&self.schema, &attributes),
                    attributes,
                }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(api(e)),
        }
    }
}

impl PoolDriver {
    /// Before a pool is deleted while another pool of the cluster is ready (a replacement, or
    /// a pool removed from the stack): cordons its nodes and evicts their pods through the
    /// Eviction API, which honours PodDisruptionBudgets, until none is left, so workloads move
    /// to the remaining nodes instead of dying with these. Without another ready pool (the
    /// cluster is being torn down) there is nowhere to go and nothing is drained.
    async fn drain_if_replaced(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        cluster_id: &str,
        pool_id: &str,
    ) -> Result<(), DriverError> {
        let pools = match client
            .k8s(region)
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
        let kubeconfig = client
            .k8s(region)
            .get_kubeconfig(cluster_id)
            .await
            .map_err(api)?;
        let kube = crate::kubernetes::KubeClient::from_kubeconfig(kubeconfig.expose())
            .map_err(|e| DriverError::failed(e.to_string()))?;
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
        let pacing = self.p.pacing(Pace::Long);
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

    /// Waits until the cluster's Kubernetes API answers: on a fresh cluster it keeps failing
    /// for a while after the pool is ready, and whatever runs next (phase app) needs it.
    async fn wait_kube_api(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        cluster_id: &str,
    ) -> Result<(), DriverError> {
        let kubeconfig = client
            .k8s(region)
            .get_kubeconfig(cluster_id)
            .await
            .map_err(api)?;
        let deadline = self.p.pacing(Pace::Cluster).deadline;
        let kube = crate::kubernetes::KubeClient::from_kubeconfig(kubeconfig.expose())
            .map_err(|e| DriverError::failed(e.to_string()))?;
        ctx.progress("waiting for the Kubernetes API to answer");
        match kube.wait_until_ready(deadline).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_transient() => Err(DriverError::Timeout {
                what: format!("the Kubernetes API of cluster {cluster_id} ({e})"),
                after: deadline,
            }),
            Err(e) => Err(DriverError::failed(e.to_string())),
        }
    }

    async fn finish(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        pool: WirePool,
        config: &Value,
    ) -> Result<Created, DriverError> {
        let wait = config
            .get("wait_for_pool_ready")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let pool = if wait {
            let p = self.wait_ready(ctx, client, region, &pool.id).await?;
            self.wait_cluster(ctx, client, region, &p.cluster_id)
                .await?;
            self.wait_kube_api(ctx, client, region, &p.cluster_id)
                .await?;
            p
        } else {
            pool
        };
        Ok(Created {
            id: pool.id.clone(),
            attributes: attrs(&pool, config),
        })
    }
}
