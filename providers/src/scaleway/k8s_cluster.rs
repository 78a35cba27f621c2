//! `scaleway_k8s_cluster`: a Kapsule cluster. Usable by pools at `pool_required`; kubeconfig
//! as a sensitive attribute; version upgrades through `/upgrade`; deletion never passes
//! `with_additional_resources=true` when the private network is one kapstan manages.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverContext, DriverError, FieldError, Input, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::k8s::{
    AutoUpgradeRequest, AutoscalerConfig as WireAutoscaler, Cluster as WireCluster, Cni,
    CreateClusterRequest, MaintenanceWindow, OpenIdConnectConfig, UpdateClusterRequest,
    UpgradeClusterRequest,
};
use super::client::{Client, Error as ApiErr, Region, RetryPolicy};
use super::k8s_version;
use super::kind::{
    Deletion, Op, Readiness, attribute_as_is, bare_id, fetch, kind, kind_impl, recorded_place,
};
use super::provider::{
    Pace, Poll, api, check, conform, flag, is_ownership_tag, string, strings, u32_of, wait_for,
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

attribute_as_is!(AutoUpgrade, AutoscalerConfig, OidcConfig);

/// A cluster with its kubeconfig (`None` until read: waits poll the cluster alone).
#[derive(Debug)]
pub struct LiveCluster {
    c: WireCluster,
    kubeconfig: Option<Value>,
}

impl LiveCluster {
    /// The cluster as the API lists it, its kubeconfig not read yet.
    fn unread(c: WireCluster) -> Self {
        Self {
            c,
            kubeconfig: None,
        }
    }
}

kind! {
    /// A Kapsule cluster.
    pub struct Cluster = "scaleway_k8s_cluster" (ClusterKind, ClusterAttributes, ClusterDriver);
    wire LiveCluster as l, id l.c.id;
    /// name (updated in place)
    name: Input<String>, required => l.c.name;
    /// cluster type, e.g. `kapsule` (changed in place with set-type when available)
    cluster_type as "type": Option<String>, optional_computed => l.c.cluster_type;
    /// description (updated in place)
    description: Option<String>, optional => l.c.description;
    tags => l.c.tags;
    /// Kubernetes version `latest` (newest supported minor at creation), `x.y` or `x.y.z`,
    /// checked against the live `/versions`; raising it upgrades the cluster in place, a newer
    /// running version (auto-upgrade) is kept
    version: Input<String>, required => l.c.version;
    /// the version the control plane runs; auto-upgrades move it
    running_version: String, computed => l.c.version;
    /// `cilium`, `cilium_native`, `calico`, `kilo` or `none`
    cni: String, required force_new => l.c.cni.as_str();
    /// private network of the cluster (mandatory for Kapsule)
    private_network_id: Option<Input<String>>, optional force_new => l.c.private_network_id;
    /// pod CIDR (default 100.64.0.0/15)
    pod_cidr: Option<String>, optional_computed force_new => l.c.pod_cidr;
    /// service CIDR (default 10.32.0.0/20)
    service_cidr: Option<String>, optional_computed force_new => l.c.service_cidr;
    /// cluster DNS IP (default 10.32.0.10)
    service_dns_ip: Option<String>, optional_computed force_new => l.c.service_dns_ip;
    /// Kubernetes feature gates (updated in place)
    feature_gates: Option<Vec<String>>, optional => l.c.feature_gates;
    /// admission plugins (updated in place)
    admission_plugins: Option<Vec<String>>, optional => l.c.admission_plugins;
    /// extra SANs of the API server certificate (updated in place)
    apiserver_cert_sans: Option<Vec<String>>, optional => l.c.apiserver_cert_sans;
    /// `{enable, maintenance_window_start_hour, maintenance_window_day}` (updated in place)
    auto_upgrade: Option<AutoUpgrade>, optional => auto_upgrade_of(&l.c);
    /// autoscaler settings, Terraform names (updated in place)
    autoscaler_config: Option<AutoscalerConfig>, optional => autoscaler_of(&l.c);
    /// OIDC settings of the API server (updated in place)
    open_id_connect_config: Option<OidcConfig>, optional => l.c.open_id_connect_config;
    /// on delete, also delete volumes, LBs and an empty private network not managed by kapstan
    /// (default false)
    delete_additional_resources: Option<bool>, optional;
    /// upgrade pools with the control plane (default true)
    upgrade_pools: Option<bool>, optional;
    region => l.c.region;
    project_id => l.c.project_id;
    /// `{config_file, host, cluster_ca_certificate, token}`
    kubeconfig_block as "kubeconfig": Value, computed sensitive => l.kubeconfig;
    /// URL of the Kubernetes API server
    apiserver_url: String, computed => l.c.cluster_url;
    /// wildcard DNS name of the nodes
    wildcard_dns: String, computed => l.c.dns_wildcard;
    organization_id => l.c.organization_id;
    /// creation time
    created_at: String, computed => l.c.created_at;
}

impl ClusterAttributes {
    /// The kubeconfig file (sensitive).
    pub fn kubeconfig(&self) -> kapstan_engine::Output<String> {
        self.0.sensitive_output("kubeconfig.config_file")
    }
}

/// CNIs Kapsule offers.
pub const CNIS: &[&str] = &["cilium", "cilium_native", "calico", "kilo", "none"];

fn kubeconfig_block(yaml: &str) -> Value {
    let doc: Value = serde_norway::from_str(yaml).unwrap_or(Value::Null);
    json!({
        "config_file": yaml,
        "host": doc.pointer("/clusters/0/cluster/server"),
        "cluster_ca_certificate": doc.pointer("/clusters/0/cluster/certificate-authority-data"),
        "token": doc.pointer("/users/0/user/token"),
    })
}

fn auto_upgrade_of(c: &WireCluster) -> Value {
    json!({
        "enable": c.auto_upgrade.enabled,
        "maintenance_window_start_hour": c.auto_upgrade.maintenance_window.start_hour,
        "maintenance_window_day": c.auto_upgrade.maintenance_window.day.as_str(),
    })
}

fn autoscaler_of(c: &WireCluster) -> Value {
    let a = &c.autoscaler_config;
    json!({
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
    })
}

fn autoscaler(config: &Value) -> Option<WireAutoscaler> {
    let a = config.get("autoscaler_config")?;
    Some(WireAutoscaler {
        scale_down_disabled: flag(a, "disable_scale_down"),
        scale_down_delay_after_add: string(a, "scale_down_delay_after_add"),
        scale_down_unneeded_time: string(a, "scale_down_unneeded_time"),
        estimator: string(a, "estimator").map(Into::into),
        expander: string(a, "expander").map(Into::into),
        ignore_daemonsets_utilization: flag(a, "ignore_daemonsets_utilization"),
        balance_similar_node_groups: flag(a, "balance_similar_node_groups"),
        expendable_pods_priority_cutoff: a
            .get("expendable_pods_priority_cutoff")
            .and_then(Value::as_i64)
            .map(|v| v as i32),
        scale_down_utilization_threshold: a
            .get("scale_down_utilization_threshold")
            .and_then(Value::as_f64),
        max_graceful_termination_sec: u32_of(a, "max_graceful_termination_sec"),
        ..Default::default()
    })
}

fn auto_upgrade(config: &Value) -> Option<AutoUpgradeRequest> {
    let a = config.get("auto_upgrade")?;
    Some(AutoUpgradeRequest {
        enable: flag(a, "enable"),
        maintenance_window: Some(MaintenanceWindow {
            start_hour: u32_of(a, "maintenance_window_start_hour").unwrap_or(0),
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

async fn delete_cluster(c: &Client, at: &Region, id: &str, additional: bool) -> Result<(), ApiErr> {
    c.k8s(at).delete_cluster(id, additional).await.map(|_| ())
}

/// Waits until the cluster leaves `creating`/`updating` (`pool_required` counts as done).
async fn settled(op: &Op<'_, ClusterKind>, id: &str) -> Result<LiveCluster, DriverError> {
    op.wait_ready(Pace::Cluster, id).await
}

kind_impl! {
    impl Kind for ClusterKind, calls k8s {
        get: get_cluster => LiveCluster::unread;
        list_tagged: list_clusters => LiveCluster::unread;
        post: create_cluster => LiveCluster::unread;
    }
    status(l) => l.c.status;

    const WHAT: &'static str = "cluster";
    const DELETION: Deletion = Deletion::WaitGone(Pace::Cluster);
    type Place = Region;
    type Request = CreateClusterRequest;

    fn readiness(l: &LiveCluster) -> Readiness {
        if l.c.status.is_transient() {
            Readiness::Pending(l.c.status.to_string())
        } else if l.c.status.as_str() == "locked" {
            Readiness::Broken(format!(
                "cluster {} is locked by Scaleway; contact support",
                l.c.id
            ))
        } else {
            Readiness::Ready
        }
    }

    /// A running version at or past the declared one (Scaleway's auto-upgrade moved it) is
    /// what was declared: planning it back would be a downgrade, which Kapsule refuses.
    fn shape(attributes: &mut Value, config: &Value) {
        if let Some(declared) = config.get("version").and_then(Value::as_str)
            && let Some(running) = attributes.get("running_version").and_then(Value::as_str)
            && k8s_version::satisfies(running, declared)
        {
            attributes["version"] = json!(declared);
        }
        conform(attributes, config);
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::name(config, "name", e);
        check::one_of(config, "cni", CNIS, "CNI", e);
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
    }

    const CHECKS_LIVE: bool = true;

    async fn check_live(
        d: &ClusterDriver,
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
        let region = d.p.region_of(config)?;
        // A plan made without reaching the API (offline, no credentials yet) is not refused for
        // it: the create resolves the version against the same list and fails there.
        let client = d.p.client()?.with_retry_policy(RetryPolicy {
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

    /// The kubeconfig, `null` while the cluster cannot give one yet.
    async fn complete(c: &Client, at: &Region, l: LiveCluster) -> Result<LiveCluster, DriverError> {
        if l.kubeconfig.is_some() {
            return Ok(l);
        }
        let kubeconfig = match c.k8s(at).get_kubeconfig(&l.c.id).await {
            Ok(k) => kubeconfig_block(k.expose()),
            Err(e) if e.is_transient_state() => Value::Null,
            Err(e) => return Err(api(e)),
        };
        Ok(LiveCluster {
            kubeconfig: Some(kubeconfig),
            ..l
        })
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateClusterRequest, DriverError> {
        let Op { c, at, config, .. } = *op;
        let mut version = string(config, "version").unwrap_or_default();
        if k8s_version::parse(&version).is_none_or(|p| p.len() == 2) {
            let versions = c.k8s(at).list_versions().await.map_err(api)?;
            version =
                k8s_version::resolve(&version, &versions, chrono::Utc::now()).ok_or_else(|| {
                    DriverError::failed(format!(
                        "no Kapsule version matching {version} is offered in {at}"
                    ))
                })?;
        }
        Ok(CreateClusterRequest {
            cluster_type: string(config, "type").unwrap_or_default(),
            description: string(config, "description").unwrap_or_default(),
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
            ..op.owned()?
        })
    }

    /// Pools may be created from `pool_required` on: the cluster is usable once settled.
    async fn settle(op: &Op<'_, Self>, l: LiveCluster) -> Result<LiveCluster, DriverError> {
        let config = op.config;
        let l = settled(op, &l.c.id).await?;
        let (l, attributes) = op.d.live_attrs(op.c, op.at, l, config).await?;
        op.ctx.usable(&l.c.id, attributes);
        Ok(l)
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveCluster, DriverError> {
        let id = bare_id(update.recorded);
        let config = op.config;
        let Op { d, ctx, c, at, .. } = *op;
        let id = id.to_string();
        let touched = |f: &str| update.touches(f);
        let k8s = c.k8s(at);
        if touched("type")
            && let Some(t) = string(config, "type")
        {
            let available = k8s.list_cluster_available_types(&id).await.map_err(api)?;
            check_type_available(&t, available.iter().map(|a| a.name.as_str()))?;
            settled(op, &id).await?;
            k8s.set_cluster_type(&id, &t).await.map_err(api)?;
            settled(op, &id).await?;
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
                tags: Some(op.tags()),
                autoscaler_config: autoscaler(config),
                auto_upgrade: auto_upgrade(config),
                feature_gates: opt_strings(config, "feature_gates"),
                admission_plugins: opt_strings(config, "admission_plugins"),
                open_id_connect_config: oidc(config),
                apiserver_cert_sans: opt_strings(config, "apiserver_cert_sans"),
            };
            settled(op, &id).await?;
            k8s.update_cluster(&id, &req).await.map_err(api)?;
            settled(op, &id).await?;
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
                let upgrade_pools = flag(config, "upgrade_pools").unwrap_or(true);
                settled(op, &id).await?;
                k8s.upgrade_cluster(
                    &id,
                    &UpgradeClusterRequest {
                        version,
                        upgrade_pools,
                    },
                )
                .await
                .map_err(api)?;
                settled(op, &id).await?;
                if upgrade_pools {
                    let i = &id;
                    wait_for(
                        ctx,
                        d.p.pacing(Pace::Long),
                        "pool upgrades",
                        move || async move {
                            let pools = c
                                .k8s(at)
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
        fetch::<Self>(c, at, &id)
            .await?
            .ok_or_else(|| DriverError::failed(format!("cluster {id} is gone")))
    }

    /// Never with the additional resources of a private network kapstan manages; never over
    /// the CSI driver's volumes; the cloud controller's load balancers go after the cluster.
    async fn delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        let Op { d, ctx, c, at, .. } = *op;
        let id = bare_id(rec).to_string();
        let Some(LiveCluster { c: cl, .. }) = fetch::<Self>(c, at, &id).await? else {
            return Ok(());
        };
        let mut additional = flag(&rec.config, "delete_additional_resources").unwrap_or(false);
        if additional && let Some(pn) = cl.private_network_id.as_deref().filter(|s| !s.is_empty()) {
            // Kapsule would delete the private network once empty: never one kapstan manages.
            match c.vpc(at).get_private_network(pn).await {
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
                &d.p, ctx, c, at, &id, &cl.name, false,
            )
            .await?;
        }
        if cl.status.is_transient() && cl.status.as_str() != "deleting" {
            settled(op, &id).await?;
        }
        match delete_cluster(c, at, &id, additional).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        op.wait_gone(Pace::Cluster, &id).await?;
        if !additional {
            // Kapsule left the cloud controller's load balancers behind; they would keep the
            // private network in use.
            super::ccm_objects::remove_cluster_load_balancers(&d.p, ctx, c, at, &id)
                .await?;
        }
        Ok(())
    }

    /// The delete as declared; [`delete`](super::kind::Kind::delete) above decides about
    /// additional resources.
    async fn remove(c: &Client, at: &Region, id: &str, rec: &ResourceState) -> Result<(), ApiErr> {
        let additional = rec.config.get("delete_additional_resources");
        delete_cluster(c, at, id, additional == Some(&Value::Bool(true))).await
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
        let region = recorded_place::<Region>(&self.p, rec)?;
        let id = bare_id(rec);
        let Some(LiveCluster { c: cl, .. }) = fetch::<ClusterKind>(&client, &region, id).await?
        else {
            return Ok(vec![]);
        };
        if cl.status.as_str() == "deleting" {
            return Ok(vec![]);
        }
        super::cluster_volumes::clear_cluster_volumes(
            &self.p,
            ctx,
            &client,
            &region,
            id,
            &cl.name,
            delete_claims,
        )
        .await
    }
}
