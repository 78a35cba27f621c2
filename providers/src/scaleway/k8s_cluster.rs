//! `scaleway_k8s_cluster`: a Kapsule cluster. Usable by pools at `pool_required`; kubeconfig
//! as a sensitive attribute; version upgrades through `/upgrade`; deletion never passes
//! `with_additional_resources=true` when the private network is one kapstan manages.

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
    AutoUpgradeRequest, AutoscalerConfig as WireAutoscaler, Cluster as WireCluster, Cni,
    CreateClusterRequest, MaintenanceWindow, OpenIdConnectConfig, UpdateClusterRequest,
    UpgradeClusterRequest,
};
use super::client::{Client, Region, RetryPolicy};
use super::k8s_version;
use super::provider::{
    Pace, Poll, ScalewayProvider, adopt_one, api, attributes, check, config_from, conform, found,
    is_owned, is_ownership_tag, marker_id, owned_tags, post_or_adopt, split_locality, string,
    strings, user_tags, wait_for,
};

/// Automatic upgrades of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoUpgrade {
    /// Upgrade patch versions automatically.
    pub enable: bool,
    /// Hour (0–23) the maintenance window starts.
    pub maintenance_window_start_hour: u32,
    /// Day of the window: `any`, `monday` … `sunday`.
    pub maintenance_window_day: String,
}

/// Cluster autoscaler settings (Terraform names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoscalerConfig {
    /// Disable scale-down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_down: Option<bool>,
    /// Delay after a scale-up before scale-down is considered, e.g. `10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_after_add: Option<String>,
    /// How long a node must be unneeded before removal, e.g. `10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_unneeded_time: Option<String>,
    /// `binpacking`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimator: Option<String>,
    /// `random`, `most_pods`, `least_waste`, `priority` or `price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expander: Option<String>,
    /// Ignore DaemonSet pods when computing utilization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_daemonsets_utilization: Option<bool>,
    /// Balance similar node groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_similar_node_groups: Option<bool>,
    /// Pods below this priority do not trigger scale-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expendable_pods_priority_cutoff: Option<i32>,
    /// Utilization below which a node may be removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_utilization_threshold: Option<f64>,
    /// Seconds a pod may take to terminate on scale-down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_graceful_termination_sec: Option<u32>,
}

/// OpenID Connect settings of the API server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OidcConfig {
    /// Issuer URL (https).
    pub issuer_url: String,
    /// Client id.
    pub client_id: String,
    /// Claim used as user name.
    #[serde(default)]
    pub username_claim: String,
    /// Prefix of user names.
    #[serde(default)]
    pub username_prefix: String,
    /// Claims used as groups.
    #[serde(default)]
    pub groups_claim: Vec<String>,
    /// Prefix of groups.
    #[serde(default)]
    pub groups_prefix: String,
    /// Required `key=value` claims.
    #[serde(default)]
    pub required_claim: Vec<String>,
}

/// A Kapsule cluster.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cluster {
    /// Name (updated in place).
    pub name: Input<String>,
    /// Cluster type (`kapsule`, `kapsule-dedicated-4` …), changed with set-type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub cluster_type: Option<String>,
    /// Description (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Kubernetes version `x.y.z` (or `x.y`: latest patch); raising it upgrades the cluster.
    pub version: Input<String>,
    /// CNI: `cilium`, `cilium_native`, `calico`, `kilo` or `none`. Changing it replaces the
    /// cluster.
    pub cni: String,
    /// Private network. Changing it replaces the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_network_id: Option<Input<String>>,
    /// Pod CIDR. Changing it replaces the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    /// Service CIDR. Changing it replaces the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_cidr: Option<String>,
    /// Cluster DNS service IP. Changing it replaces the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_dns_ip: Option<String>,
    /// Feature gates (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_gates: Option<Vec<String>>,
    /// Admission plugins (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_plugins: Option<Vec<String>>,
    /// Extra SANs of the API server certificate (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apiserver_cert_sans: Option<Vec<String>>,
    /// Automatic upgrades (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_upgrade: Option<AutoUpgrade>,
    /// Autoscaler settings (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler_config: Option<AutoscalerConfig>,
    /// OpenID Connect (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id_connect_config: Option<OidcConfig>,
    /// On delete, also delete volumes, LBs and an empty private network (never one kapstan
    /// manages). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_additional_resources: Option<bool>,
    /// Upgrade the pools with the control plane (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_pools: Option<bool>,
    /// Region. Changing it replaces the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project. Changing it replaces the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_k8s_cluster`.
    ClusterAttributes {
        /// The API server URL.
        apiserver_url: String = "apiserver_url",
        /// The wildcard DNS of the nodes.
        wildcard_dns: String = "wildcard_dns",
        /// The declared version while the running one satisfies it.
        version: String = "version",
        /// The version the control plane runs (auto-upgrades move it).
        running_version: String = "running_version",
        /// The region.
        region: String = "region",
    }
}

impl ClusterAttributes {
    /// The kubeconfig file (sensitive).
    pub fn kubeconfig(&self) -> kapstan_engine::Output<String> {
        self.0.sensitive_output("kubeconfig.config_file")
    }
    /// The kubeconfig as `{config_file, host, cluster_ca_certificate, token}` (sensitive).
    pub fn kubeconfig_block(&self) -> kapstan_engine::Output<Value> {
        self.0.sensitive_output("kubeconfig")
    }
}

impl Resource for Cluster {
    const KIND: &'static str = "scaleway_k8s_cluster";
    type Attributes = ClusterAttributes;
}

/// CNIs Kapsule offers.
pub const CNIS: &[&str] = &["cilium", "cilium_native", "calico", "kilo", "none"];

/// The `scaleway_k8s_cluster` driver.
#[derive(Debug)]
pub struct ClusterDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl ClusterDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_k8s_cluster",
                vec![
                    Field::required("name").describe("name (updated in place)"),
                    Field::optional_computed("type").describe("cluster type, e.g. `kapsule` (changed in place with set-type when available)"),
                    Field::optional("description").describe("description (updated in place)"),
                    Field::optional("tags").describe("tags (updated in place); kapstan adds kapstan-stack and kapstan-addr"),
                    Field::required("version").describe("Kubernetes version `latest` (newest supported minor at creation), `x.y` or `x.y.z`, checked against the live `/versions`; raising it upgrades the cluster in place, a newer running version (auto-upgrade) is kept"),
                    Field::computed("running_version").describe("the version the control plane runs; auto-upgrades move it"),
                    Field::required("cni").force_new().describe("`cilium`, `cilium_native`, `calico`, `kilo` or `none`"),
                    Field::optional("private_network_id").force_new().describe("private network of the cluster (mandatory for Kapsule)"),
                    Field::optional_computed("pod_cidr").force_new().describe("pod CIDR (default 100.64.0.0/15)"),
                    Field::optional_computed("service_cidr").force_new().describe("service CIDR (default 10.32.0.0/20)"),
                    Field::optional_computed("service_dns_ip").force_new().describe("cluster DNS IP (default 10.32.0.10)"),
                    Field::optional("feature_gates").describe("Kubernetes feature gates (updated in place)"),
                    Field::optional("admission_plugins").describe("admission plugins (updated in place)"),
                    Field::optional("apiserver_cert_sans").describe("extra SANs of the API server certificate (updated in place)"),
                    Field::optional("auto_upgrade").describe("`{enable, maintenance_window_start_hour, maintenance_window_day}` (updated in place)"),
                    Field::optional("autoscaler_config").describe("autoscaler settings, Terraform names (updated in place)"),
                    Field::optional("open_id_connect_config").describe("OIDC settings of the API server (updated in place)"),
                    Field::optional("delete_additional_resources").describe("on delete, also delete volumes, LBs and an empty private network not managed by kapstan (default false)"),
                    Field::optional("upgrade_pools").describe("upgrade pools with the control plane (default true)"),
                    Field::optional_computed("region").force_new().describe("region; default: the configured region"),
                    Field::optional_computed("project_id").force_new().describe("project; default: the credentials' project"),
                    Field::computed("kubeconfig").sensitive().describe("`{config_file, host, cluster_ca_certificate, token}`"),
                    Field::computed("apiserver_url").describe("URL of the Kubernetes API server"),
                    Field::computed("wildcard_dns").describe("wildcard DNS name of the nodes"),
                    Field::computed("organization_id").describe("organization of the project"),
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
    ) -> Result<Option<WireCluster>, DriverError> {
        let found = client
            .k8s(region)
            .list_clusters(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|c| is_owned(ctx, &c.tags))
            .map(|c| (c.id.clone(), c))
            .collect();
        Ok(adopt_one(ctx, "scaleway_k8s_cluster", found)?.map(|(_, c)| c))
    }

    /// Waits until the cluster leaves `creating`/`updating` (`pool_required` counts as done).
    async fn settle(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        id: &str,
    ) -> Result<WireCluster, DriverError> {
        let (c, r) = (client, region);
        wait_for(
            ctx,
            self.p.pacing(Pace::Cluster),
            "cluster",
            move || async move {
                let cl = c.k8s(r).get_cluster(id).await.map_err(api)?;
                if cl.status.is_transient() {
                    return Ok(Poll::Pending(cl.status.to_string()));
                }
                if cl.status.as_str() == "locked" {
                    return Err(DriverError::failed(format!(
                        "cluster {id} is locked by Scaleway; contact support"
                    )));
                }
                Ok(Poll::Done(cl))
            },
        )
        .await
    }

    async fn attributes(
        &self,
        client: &Client,
        cl: &WireCluster,
        config: &Value,
    ) -> Result<Value, DriverError> {
        let region = Region::parse(&cl.region).map_err(|e| DriverError::failed(e.to_string()))?;
        let kubeconfig = match client.k8s(&region).get_kubeconfig(&cl.id).await {
            Ok(k) => kubeconfig_block(k.expose()),
            Err(e) if e.is_transient_state() => Value::Null,
            Err(e) => return Err(api(e)),
        };
        Ok(attrs(cl, kubeconfig, config))
    }
}

fn kubeconfig_block(yaml: &str) -> Value {
    let doc: Value = serde_norway::from_str(yaml).unwrap_or(Value::Null);
    json!({
        "config_file": yaml,
        "host": doc.pointer("/clusters/0/cluster/server"),
        "cluster_ca_certificate": doc.pointer("/clusters/0/cluster/certificate-authority-data"),
        "token": doc.pointer("/users/0/user/token"),
    })
}

fn attrs(c: &WireCluster, kubeconfig: Value, config: &Value) -> Value {
    // A running version at or past the declared one (Scaleway's auto-upgrade moved it) is
    // what was declared: planning it back would be a downgrade, which Kapsule refuses.
    let version = match config.get("version").and_then(Value::as_str) {
        Some(v) if k8s_version::satisfies(&c.version, v) => v.to_string(),
        _ => c.version.clone(),
    };
    let a = &c.autoscaler_config;
    let mut out = json!({
        "name": c.name,
        "type": c.cluster_type,
        "description": c.description,
        "tags": user_tags(&c.tags),
        "version": version,
        "running_version": c.version,
        "cni": c.cni.as_str(),
        "private_network_id": c.private_network_id,
        "pod_cidr": c.pod_cidr,
        "service_cidr": c.service_cidr,
        "service_dns_ip": c.service_dns_ip,
        "feature_gates": c.feature_gates,
        "admission_plugins": c.admission_plugins,
        "apiserver_cert_sans": c.apiserver_cert_sans,
        "auto_upgrade": {
            "enable": c.auto_upgrade.enabled,
            "maintenance_window_start_hour": c.auto_upgrade.maintenance_window.start_hour,
            "maintenance_window_day": c.auto_upgrade.maintenance_window.day.as_str(),
        },
        "autoscaler_config": {
            "disable_scale_down": a.scale_down_disabled,
            "scale_down_delay_after_add": a.scale_down_delay_after_add,
            "scale_down_unneeded_time": a.scale_down_unneeded_time,
            "estimator": a.estimator.as_ref().map(|e| e.as_str().to_string()),
            "expander": a.expander.as_ref().map(|e| e.as_str().to_string()),
            "ignore_daemonsets_utilization": a.ignore_daemonsets_utilization,
            "balance_similar_node_groups": a.balance_similar_node_groups,
            "expendable_pods_priority_cutoff": a.expendable_pods_priority_cutoff,
            "scale_down_utilization_threshold": a.scale_down_utilization_threshold,
            "max_graceful_termination_sec": a.max_graceful_termination_sec,
        },
        "open_id_connect_config": c.open_id_connect_config,
        "region": c.region,
        "project_id": c.project_id,
        "kubeconfig": kubeconfig,
        "apiserver_url": c.cluster_url,
        "wildcard_dns": c.dns_wildcard,
        "organization_id": c.organization_id,
        "created_at": c.created_at,
    });
    conform(&mut out, config);
    out
}

fn autoscaler(config: &Value) -> Option<WireAutoscaler> {
    let a = config.get("autoscaler_config")?;
    Some(WireAutoscaler {
        scale_down_disabled: a.get("disable_scale_down").and_then(Value::as_bool),
        scale_down_delay_after_add: string(a, "scale_down_delay_after_add"),
        scale_down_unneeded_time: string(a, "scale_down_unneeded_time"),
        estimator: string(a, "estimator").map(Into::into),
        expander: string(a, "expander").map(Into::into),
        ignore_daemonsets_utilization: a
            .get("ignore_daemonsets_utilization")
            .and_then(Value::as_bool),
        balance_similar_node_groups: a
            .get("balance_similar_node_groups")
            .and_then(Value::as_bool),
        expendable_pods_priority_cutoff: a
            .get("expendable_pods_priority_cutoff")
            .and_then(Value::as_i64)
            .map(|v| v as i32),
        scale_down_utilization_threshold: a
            .get("scale_down_utilization_threshold")
            .and_then(Value::as_f64),
        max_graceful_termination_sec: a
            .get("max_graceful_termination_sec")
            .and_then(Value::as_u64)
            .map(|v| v as u32),
        ..Default::default()
    })
}

fn auto_upgrade(config: &Value) -> Option<AutoUpgradeRequest> {
    let a = config.get("auto_upgrade")?;
    Some(AutoUpgradeRequest {
        enable: a.get("enable").and_then(Value::as_bool),
        maintenance_window: Some(MaintenanceWindow {
            start_hour: a
                .get("maintenance_window_start_hour")
                .and_then(Value::as_u64)
                .unwrap_or(0) as u32,
            day: string(a, "maintenance_window_day")
                .unwrap_or_else(|| "any".into())
                .as_str()
                .into(),
        }),
    })
}

fn oidc(config: &Value) -> Option<OpenIdConnectConfig> {
    config
        .get("open_id_connect_config")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

fn opt_strings(config: &Value, key: &str) -> Option<Vec<String>> {
    config.get(key).map(|_| strings(config, key))
}

fn recorded_region(p: &ScalewayProvider, rec: &ResourceState) -> Result<Region, DriverError> {
    match rec.attributes.get("region").and_then(Value::as_str) {
        Some(r) => Region::parse(r).map_err(|e| DriverError::failed(e.to_string())),
        None => p.region_of(&rec.config),
    }
}

/// A type change is in place only to a type the cluster offers.
fn check_type_available<'a>(
    t: &str,
    available: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), DriverError> {
    if available.clone().any(|a| a == t) {
        return Ok(());
    }
    Err(DriverError::failed(format!(
        "cluster type {t} is not available for this cluster (available: {}); replace the cluster with `--replace` to change it",
        available.collect::<Vec<_>>().join(", ")
    )))
}

#[async_trait]
impl Driver for ClusterDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::name(config, "name", &mut e);
        check::tags(config, &mut e);
        check::one_of(config, "cni", CNIS, "CNI", &mut e);
        if let Some(v) = config.get("version").and_then(Value::as_str)
            && v != k8s_version::LATEST
            && k8s_version::parse(v).is_none()
        {
            e.push(FieldError::new(
                "version",
                &format!("{v:?}"),
                "is not a Kubernetes version",
                "use `latest`, `x.y` (the latest patch) or `x.y.z`, e.g. 1.35",
            ));
        }
        if let Some(h) = config
            .pointer("/auto_upgrade/maintenance_window_start_hour")
            .and_then(Value::as_u64)
            && h > 23
        {
            e.push(FieldError::new(
                "auto_upgrade.maintenance_window_start_hour",
                &h.to_string(),
                "is not an hour",
                "use 0 to 23",
            ));
        }
        if let Some(url) = config
            .pointer("/open_id_connect_config/issuer_url")
            .and_then(Value::as_str)
            && !url.starts_with("https://")
        {
            e.push(FieldError::new(
                "open_id_connect_config.issuer_url",
                &format!("{url:?}"),
                "is not an https URL",
                "use the issuer's https URL",
            ));
        }
        e
    }

    fn checks_live(&self) -> bool {
        true
    }

    async fn check_live(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        changed: Option<&[String]>,
    ) -> Result<Vec<FieldError>, DriverError> {
        let version_changed = changed.is_none_or(|c| {
            c.iter()
                .any(|p| p == "/version" || p.starts_with("/version/"))
        });
        let Some(declared) = config.get("version").and_then(Value::as_str) else {
            return Ok(vec![]);
        };
        if !version_changed {
            return Ok(vec![]);
        }
        let region = self.p.region_of(config)?;
        // A plan made without reaching the API (offline, no credentials yet) is not refused for
        // it: the create resolves the version against the same list and fails there.
        let client = self.p.client()?.with_retry_policy(RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::none()
        });
        let versions = match client.k8s(&region).list_versions().await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "the Kubernetes version could not be checked against /versions");
                return Ok(vec![]);
            }
        };
        let now = chrono::Utc::now();
        Ok(k8s_version::refusal(declared, &versions, now)
            .map(|problem| {
                let fix = match k8s_version::supported_minors(&versions, now).first() {
                    Some(newest) => format!(
                        "declare a supported minor (newest: {newest}), or `latest`, in the cluster version"
                    ),
                    None => "wait until Kapsule offers a supported version".into(),
                };
                vec![FieldError::new("version", &format!("{declared:?}"), &problem, &fix)]
            })
            .unwrap_or_default())
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let region = recorded_region(&self.p, rec)?;
        match found(
            client
                .k8s(&region)
                .get_cluster(rec.id.as_deref().unwrap_or_default())
                .await,
        )? {
            Some(c) => Ok(Some(self.attributes(&client, &c, &rec.config).await?)),
            None => Ok(None),
        }
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let mut version = string(config, "version").unwrap_or_default();
        if k8s_version::parse(&version).is_none_or(|p| p.len() == 2) {
            let versions = client.k8s(&region).list_versions().await.map_err(api)?;
            version =
                k8s_version::resolve(&version, &versions, chrono::Utc::now()).ok_or_else(|| {
                    DriverError::failed(format!(
                        "no Kapsule version matching {version} is offered in {region}"
                    ))
                })?;
        }
        let req = CreateClusterRequest {
            project_id: self.p.project_of(config)?,
            cluster_type: string(config, "type").unwrap_or_default(),
            name: string(config, "name").unwrap_or_default(),
            description: string(config, "description").unwrap_or_default(),
            tags: owned_tags(ctx, &strings(config, "tags")),
            version,
            cni: Cni::from(string(config, "cni").unwrap_or_default()),
            autoscaler_config: autoscaler(config),
            auto_upgrade: auto_upgrade(config),
            feature_gates: strings(config, "feature_gates"),
            admission_plugins: strings(config, "admission_plugins"),
            open_id_connect_config: oidc(config),
            apiserver_cert_sans: strings(config, "apiserver_cert_sans"),
            private_network_id: string(config, "private_network_id"),
            pod_cidr: string(config, "pod_cidr"),
            service_cidr: string(config, "service_cidr"),
            service_dns_ip: string(config, "service_dns_ip"),
        };
        let (c, r, q) = (&client, &region, &req);
        let cl = post_or_adopt(
            move || async move { c.k8s(r).create_cluster(q).await },
            move || async move { self.find(ctx, c, r).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": cl.id})).await?;
        self.finish(ctx, &client, &region, &cl.id, config)
            .await?
            .ok_or_else(|| DriverError::failed("cluster vanished"))
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client()?;
        let region = self.p.region_of(config)?;
        let id = match marker_id(marker) {
            Some(id) => found(client.k8s(&region).get_cluster(id).await)?.map(|c| c.id),
            None => self.find(ctx, &client, &region).await?.map(|c| c.id),
        };
        match id {
            Some(id) => self.finish(ctx, &client, &region, &id, config).await,
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
        let touched = |f: &str| {
            changed
                .iter()
                .any(|c| c == &format!("/{f}") || c.starts_with(&format!("/{f}/")))
        };
        let k8s = client.k8s(&region);
        if touched("type")
            && let Some(t) = string(config, "type")
        {
            let available = k8s.list_cluster_available_types(&id).await.map_err(api)?;
            check_type_available(&t, available.iter().map(|a| a.name.as_str()))?;
            self.settle(ctx, &client, &region, &id).await?;
            k8s.set_cluster_type(&id, &t).await.map_err(api)?;
            self.settle(ctx, &client, &region, &id).await?;
        }
        let patch_fields = [
            "name",
            "description",
            "tags",
            "feature_gates",
            "admission_plugins",
            "apiserver_cert_sans",
            "auto_upgrade",
            "autoscaler_config",
            "open_id_connect_config",
        ];
        if patch_fields.iter().any(|f| touched(f)) {
            let req = UpdateClusterRequest {
                name: string(config, "name"),
                description: string(config, "description"),
                tags: Some(owned_tags(ctx, &strings(config, "tags"))),
                autoscaler_config: autoscaler(config),
                auto_upgrade: auto_upgrade(config),
                feature_gates: opt_strings(config, "feature_gates"),
                admission_plugins: opt_strings(config, "admission_plugins"),
                open_id_connect_config: oidc(config),
                apiserver_cert_sans: opt_strings(config, "apiserver_cert_sans"),
            };
            self.settle(ctx, &client, &region, &id).await?;
            k8s.update_cluster(&id, &req).await.map_err(api)?;
            self.settle(ctx, &client, &region, &id).await?;
        }
        let declared_version = string(config, "version").unwrap_or_default();
        let running = k8s.get_cluster(&id).await.map_err(api)?.version;
        if touched("version") && !k8s_version::satisfies(&running, &declared_version) {
            let mut version = declared_version;
            if version.matches('.').count() == 1 {
                let versions = k8s
                    .list_cluster_available_versions(&id)
                    .await
                    .map_err(api)?;
                if let Some(v) = versions
                    .iter()
                    .find(|v| v.name.starts_with(&format!("{version}.")))
                {
                    version = v.name.clone();
                }
            }
            let current = k8s.get_cluster(&id).await.map_err(api)?;
            if current.version != version {
                let upgrade_pools = config
                    .get("upgrade_pools")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                self.settle(ctx, &client, &region, &id).await?;
                k8s.upgrade_cluster(
                    &id,
                    &UpgradeClusterRequest {
                        version,
                        upgrade_pools,
                    },
                )
                .await
                .map_err(api)?;
                self.settle(ctx, &client, &region, &id).await?;
                if upgrade_pools {
                    let (c, r, i) = (&client, &region, &id);
                    wait_for(
                        ctx,
                        self.p.pacing(Pace::Long),
                        "pool upgrades",
                        move || async move {
                            let pools = c
                                .k8s(r)
                                .list_pools(i, &ListFilter::default())
                                .await
                                .map_err(api)?;
                            match pools.iter().find(|p| p.status.is_transient()) {
                                Some(p) => {
                                    Ok(Poll::Pending(format!("pool {} {}", p.name, p.status)))
                                }
                                None => Ok(Poll::Done(())),
                            }
                        },
                    )
                    .await?;
                }
            }
        }
        let cl = k8s.get_cluster(&id).await.map_err(api)?;
        self.attributes(&client, &cl, config).await
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = recorded_region(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let cl = match client.k8s(&region).get_cluster(&id).await {
            Ok(c) => c,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        };
        let mut additional = rec
            .config
            .get("delete_additional_resources")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if additional && let Some(pn) = cl.private_network_id.as_deref().filter(|s| !s.is_empty()) {
            // Kapsule would delete the private network once empty: never one kapstan manages.
            match client.vpc(&region).get_private_network(pn).await {
                Ok(net) if net.tags.iter().any(|t| is_ownership_tag(t)) => {
                    ctx.progress("private network is managed by kapstan: deleting without additional resources");
                    additional = false;
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(api(e)),
            }
        }
        if cl.status.as_str() != "deleting" {
            // The CSI driver's block volumes outlive the cluster: never delete it over them.
            super::cluster_volumes::clear_cluster_volumes(
                &self.p, ctx, &client, &region, &id, &cl.name, false,
            )
            .await?;
        }
        if cl.status.is_transient() && cl.status.as_str() != "deleting" {
            self.settle(ctx, &client, &region, &id).await?;
        }
        match client.k8s(&region).delete_cluster(&id, additional).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        let (c, r, i) = (&client, &region, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Cluster),
            "cluster deletion",
            move || async move {
                match c.k8s(r).get_cluster(i).await {
                    Ok(cl) => Ok(Poll::Pending(cl.status.to_string())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) => Err(api(e)),
                }
            },
        )
        .await?;
        if !additional {
            // Kapsule left the cloud controller's load balancers behind; they would keep the
            // private network in use.
            super::ccm_objects::remove_cluster_load_balancers(&self.p, ctx, &client, &region, &id)
                .await?;
        }
        Ok(())
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let client = self.p.client()?;
        let (loc, id) = split_locality(id);
        let region = match loc {
            Some(l) => Region::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.region().clone(),
        };
        match client.k8s(&region).get_cluster(id).await {
            Ok(c) => {
                let attributes = self.attributes(&client, &c, &Value::Null).await?;
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

impl ClusterDriver {
    /// Before the recorded cluster `rec` is deleted: deletes the PersistentVolumeClaims whose
    /// block volumes the CSI driver deletes with them and waits until those volumes are gone
    /// (returning what went), or fails naming the volumes when `delete_claims` is false or a
    /// volume would be kept. See [`super::cluster_volumes`].
    pub async fn clear_volumes_of(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        delete_claims: bool,
    ) -> Result<Vec<String>, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = recorded_region(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let cl = match client.k8s(&region).get_cluster(&id).await {
            Ok(c) => c,
            Err(e) if e.is_not_found() => return Ok(vec![]),
            Err(e) => return Err(api(e)),
        };
        if cl.status.as_str() == "deleting" {
            return Ok(vec![]);
        }
        super::cluster_volumes::clear_cluster_volumes(
            &self.p,
            ctx,
            &client,
            &region,
            &id,
            &cl.name,
            delete_claims,
        )
        .await
    }

    async fn finish(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        id: &str,
        config: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let cl = self.settle(ctx, client, region, id).await?;
        let attributes = self.attributes(client, &cl, config).await?;
        // Pools may be created from `pool_required` on.
        ctx.usable(id, attributes.clone());
        Ok(Some(Created {
            id: id.to_string(),
            attributes,
        }))
    }
}
