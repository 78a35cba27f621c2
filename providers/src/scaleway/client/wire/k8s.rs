//! Kubernetes Kapsule `k8s/v1`: clusters, pools, nodes, versions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::{list_response, paginated};

open_enum! {
    /// Status of a cluster. `pool_required` is terminal for waits.
    ClusterStatus {
        Creating,
        Ready,
        Deleting,
        Deleted,
        Updating,
        Locked,
        PoolRequired,
    }
}

impl ClusterStatus {
    /// Whether a waiter keeps polling (the SDK's transient set).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Updating | Self::Deleting)
    }
}

open_enum! {
    /// Status of a pool. `warning` is terminal.
    PoolStatus {
        Ready,
        Deleting,
        Deleted,
        Scaling,
        Warning,
        Locked,
        Upgrading,
    }
}

impl PoolStatus {
    /// Whether a waiter keeps polling.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Deleting | Self::Scaling | Self::Upgrading)
    }
}

open_enum! {
    /// Status of a node.
    NodeStatus {
        Creating,
        NotReady,
        Ready,
        Deleting,
        Deleted,
        Locked,
        Rebooting,
        CreationError,
        Upgrading,
        Starting,
        Registering,
    }
}

open_enum! {
    /// Container network interface.
    Cni {
        Cilium,
        CiliumNative,
        Calico,
        Weave,
        Flannel,
        Kilo,
        None,
    }
}

open_enum! {
    /// Container runtime of a pool.
    Runtime {
        Docker,
        Containerd,
        Crio,
    }
}

open_enum! {
    /// Root volume type of pool nodes.
    PoolVolumeType {
        DefaultVolumeType,
        LSsd,
        BSsd,
        Sbs5k = "sbs_5k",
        Sbs15k = "sbs_15k",
    }
}

open_enum! {
    /// Cluster autoscaler estimator.
    AutoscalerEstimator {
        Binpacking,
    }
}

open_enum! {
    /// Cluster autoscaler expander.
    AutoscalerExpander {
        Random,
        MostPods,
        LeastWaste,
        Priority,
        Price,
    }
}

open_enum! {
    /// Day of a maintenance window.
    MaintenanceDay {
        Any,
        Monday,
        Tuesday,
        Wednesday,
        Thursday,
        Friday,
        Saturday,
        Sunday,
    }
}

open_enum! {
    /// Effect of a node taint.
    TaintEffect {
        NoSchedule = "NoSchedule",
        PreferNoSchedule = "PreferNoSchedule",
        NoExecute = "NoExecute",
    }
}

wire_struct! {
    #[skip_serializing_none]
    /// Autoscaler settings of a cluster (response, and request with every field optional).
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct AutoscalerConfig {
        /// Disable scale down.
        pub scale_down_disabled: Option<bool>,
        /// Delay after a scale up before scale down resumes (e.g. `10m`).
        pub scale_down_delay_after_add: Option<String>,
        /// Estimator.
        pub estimator: Option<AutoscalerEstimator>,
        /// Expander.
        pub expander: Option<AutoscalerExpander>,
        /// Ignore DaemonSet pods when computing utilization.
        pub ignore_daemonsets_utilization: Option<bool>,
        /// Balance similar node groups.
        pub balance_similar_node_groups: Option<bool>,
        /// Pods below this priority are expendable.
        pub expendable_pods_priority_cutoff: Option<i32>,
        /// How long a node must be unneeded before scale down (e.g. `10m`).
        pub scale_down_unneeded_time: Option<String>,
        /// Utilization under which a node may be removed.
        pub scale_down_utilization_threshold: Option<f64>,
        /// Graceful termination limit in seconds.
        pub max_graceful_termination_sec: Option<u32>,
        /// Autoscaler log level (0–4).
        pub log_level: Option<u32>,
    }
}

/// A maintenance window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MaintenanceWindow {
    /// Start hour, 0–23.
    pub start_hour: u32,
    /// Day.
    pub day: MaintenanceDay,
}

/// Auto-upgrade settings as returned (`enabled`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoUpgrade {
    /// Whether patch upgrades are applied automatically.
    pub enabled: bool,
    /// When.
    pub maintenance_window: MaintenanceWindow,
}

wire_struct! {
    #[request]
    /// Auto-upgrade settings as sent: the request key is `enable`, not `enabled`.
    pub struct AutoUpgradeRequest {
        /// Whether patch upgrades are applied automatically.
        pub enable: Option<bool>,
        /// When.
        pub maintenance_window: Option<MaintenanceWindow>,
    }
}

/// OpenID Connect settings of the API server; empty strings when unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenIdConnectConfig {
    /// Issuer URL (https).
    pub issuer_url: String,
    /// Client ID.
    pub client_id: String,
    /// Claim used as user name.
    pub username_claim: String,
    /// Prefix of user names.
    pub username_prefix: String,
    /// Claims used as groups.
    pub groups_claim: Vec<String>,
    /// Prefix of groups.
    pub groups_prefix: String,
    /// Required claims (`key=value`).
    pub required_claim: Vec<String>,
}

wire_struct! {
    #[response]
    /// A Kapsule cluster.
    pub struct Cluster {
        @id,
        /// Offer type (`kapsule`, `kapsule-dedicated-4`…).
        #[serde(rename = "type")]
        pub cluster_type: String,
        @name,
        /// Status.
        pub status: ClusterStatus,
        /// Full Kubernetes version `x.y.z`.
        pub version: String,
        @region, @organization_id, @project_id, @tags,
        /// CNI.
        pub cni: Cni,
        @description,
        /// API server URL.
        pub cluster_url: String,
        /// Wildcard DNS of the nodes.
        pub dns_wildcard: String,
        @created_at, @updated_at,
        /// Autoscaler settings.
        pub autoscaler_config: AutoscalerConfig,
        /// Auto-upgrade settings.
        pub auto_upgrade: AutoUpgrade,
        /// Enabled feature gates.
        pub feature_gates: Vec<String>,
        /// Enabled admission plugins.
        pub admission_plugins: Vec<String>,
        /// OIDC settings.
        pub open_id_connect_config: OpenIdConnectConfig,
        /// Extra SANs of the API server certificate.
        pub apiserver_cert_sans: Vec<String>,
        /// Private network of the cluster.
        pub private_network_id: Option<String>,
        /// Pod CIDR.
        pub pod_cidr: String,
        /// Service CIDR.
        pub service_cidr: String,
        /// Cluster DNS service IP.
        pub service_dns_ip: String,
    }
}

wire_struct! {
    #[request]
    /// `POST /clusters`.
    pub struct CreateClusterRequest {
        @project_id,
        /// Offer type; empty lets the server pick `kapsule`.
        #[serde(rename = "type")]
        pub cluster_type: String,
        @name,
        @description,
        @tags,
        /// Full version `x.y.z`.
        pub version: String,
        /// CNI.
        pub cni: Cni,
        /// Autoscaler settings.
        pub autoscaler_config: Option<AutoscalerConfig>,
        /// Auto-upgrade settings.
        pub auto_upgrade: Option<AutoUpgradeRequest>,
        /// Feature gates.
        pub feature_gates: Vec<String>,
        /// Admission plugins.
        pub admission_plugins: Vec<String>,
        /// OIDC settings.
        pub open_id_connect_config: Option<OpenIdConnectConfig>,
        /// Extra SANs.
        pub apiserver_cert_sans: Vec<String>,
        /// Private network (required for Kapsule).
        pub private_network_id: Option<String>,
        /// Pod CIDR.
        pub pod_cidr: Option<String>,
        /// Service CIDR.
        pub service_cidr: Option<String>,
        /// Cluster DNS service IP.
        pub service_dns_ip: Option<String>,
    }
}

wire_struct! {
    #[request]
    /// `PATCH /clusters/{id}`: `None` leaves a field unchanged.
    pub struct UpdateClusterRequest {
        @name?,
        /// Description.
        pub description: Option<String>,
        @tags?,
        /// Autoscaler settings.
        pub autoscaler_config: Option<AutoscalerConfig>,
        /// Auto-upgrade settings.
        pub auto_upgrade: Option<AutoUpgradeRequest>,
        /// Feature gates.
        pub feature_gates: Option<Vec<String>>,
        /// Admission plugins.
        pub admission_plugins: Option<Vec<String>>,
        /// OIDC settings.
        pub open_id_connect_config: Option<OpenIdConnectConfig>,
        /// Extra SANs.
        pub apiserver_cert_sans: Option<Vec<String>>,
    }
}

/// `POST /clusters/{id}/upgrade`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpgradeClusterRequest {
    /// Target version (from `/available-versions`).
    pub version: String,
    /// Also upgrade every pool.
    pub upgrade_pools: bool,
}

/// `POST /clusters/{id}/set-type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SetClusterTypeRequest {
    /// Target offer type.
    #[serde(rename = "type")]
    pub cluster_type: String,
}

list_response! {
    /// `GET /clusters`.
    ListClustersResponse {
        /// Clusters of this page.
        clusters: Vec<Cluster>
    }
}

/// Node taint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// Effect.
    pub effect: TaintEffect,
}

wire_struct! {
    #[skip_serializing_none]
    /// Rolling upgrade policy of a pool.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct UpgradePolicy {
        /// Nodes upgraded at once.
        pub max_unavailable: Option<u32>,
        /// Extra nodes created during the upgrade.
        pub max_surge: Option<u32>,
    }
}

wire_struct! {
    #[response]
    /// A node pool.
    pub struct Pool {
        @id,
        /// Cluster.
        pub cluster_id: String,
        @region,
        @name,
        /// Status.
        pub status: PoolStatus,
        /// Kubernetes version.
        pub version: String,
        /// Node type, lower-case with underscores (`pro2_xxs`).
        pub node_type: String,
        /// Autoscaling.
        pub autoscaling: bool,
        /// Node count.
        pub size: u32,
        /// Autoscaling minimum.
        pub min_size: u32,
        /// Autoscaling maximum.
        pub max_size: u32,
        /// Container runtime.
        pub container_runtime: Runtime,
        /// Autohealing.
        pub autohealing: bool,
        @tags,
        /// Placement group.
        pub placement_group_id: Option<String>,
        /// Kubelet arguments.
        pub kubelet_args: BTreeMap<String, String>,
        /// Upgrade policy.
        pub upgrade_policy: UpgradePolicy,
        @zone,
        /// Root volume type, resolved (`sbs_5k`…).
        pub root_volume_type: PoolVolumeType,
        /// Root volume size in bytes.
        pub root_volume_size: Option<u64>,
        /// Nodes have no public IP (needs a Public Gateway for egress).
        pub public_ip_disabled: bool,
        /// Security group.
        pub security_group_id: Option<String>,
        /// Node labels.
        pub labels: BTreeMap<String, String>,
        /// Node taints.
        pub taints: Vec<Taint>,
        /// Startup taints.
        pub startup_taints: Vec<Taint>,
        /// Private network of the nodes.
        pub private_network_id: Option<String>,
        /// Error detail.
        pub error_message: Option<String>,
        @created_at, @updated_at,
    }
}

wire_struct! {
    #[request]
    /// `POST /clusters/{id}/pools`.
    pub struct CreatePoolRequest {
        @name,
        /// Node type.
        pub node_type: String,
        /// Placement group.
        pub placement_group_id: Option<String>,
        /// Autoscaling.
        pub autoscaling: bool,
        /// Node count.
        pub size: u32,
        /// Autoscaling minimum.
        pub min_size: Option<u32>,
        /// Autoscaling maximum.
        pub max_size: Option<u32>,
        /// Container runtime.
        pub container_runtime: Option<Runtime>,
        /// Autohealing.
        pub autohealing: bool,
        @tags,
        /// Kubelet arguments.
        pub kubelet_args: BTreeMap<String, String>,
        /// Upgrade policy.
        pub upgrade_policy: Option<UpgradePolicy>,
        @zone,
        /// Root volume type.
        pub root_volume_type: Option<PoolVolumeType>,
        /// Root volume size in bytes.
        pub root_volume_size: Option<u64>,
        /// No public IPs on nodes.
        pub public_ip_disabled: bool,
        /// Security group.
        pub security_group_id: Option<String>,
        /// Node labels.
        pub labels: BTreeMap<String, String>,
        /// Node taints.
        pub taints: Vec<Taint>,
        /// Startup taints.
        pub startup_taints: Vec<Taint>,
    }
}

wire_struct! {
    #[request]
    /// `PATCH /pools/{id}`: `None` leaves a field unchanged.
    pub struct UpdatePoolRequest {
        /// Autoscaling.
        pub autoscaling: Option<bool>,
        /// Node count.
        pub size: Option<u32>,
        /// Autoscaling minimum.
        pub min_size: Option<u32>,
        /// Autoscaling maximum.
        pub max_size: Option<u32>,
        /// Autohealing.
        pub autohealing: Option<bool>,
        @tags?,
        /// Kubelet arguments.
        pub kubelet_args: Option<BTreeMap<String, String>>,
        /// Upgrade policy.
        pub upgrade_policy: Option<UpgradePolicy>,
        /// Security group.
        pub security_group_id: Option<String>,
    }
}

list_response! {
    /// `GET /clusters/{id}/pools`.
    ListPoolsResponse {
        /// Pools of this page.
        pools: Vec<Pool>
    }
}

wire_struct! {
    #[response]
    /// A node.
    pub struct Node {
        @id,
        /// Pool.
        pub pool_id: String,
        /// Cluster.
        pub cluster_id: String,
        @region,
        @name,
        /// Status.
        pub status: NodeStatus,
        /// Error detail.
        pub error_message: Option<String>,
        @created_at, @updated_at,
    }
}

list_response! {
    /// `GET /clusters/{id}/nodes`.
    ListNodesResponse {
        /// Nodes of this page.
        nodes: Vec<Node>
    }
}

wire_struct! {
    #[response]
    /// A Kubernetes version offered by Kapsule.
    pub struct Version {
        @name,
        /// Human label.
        pub label: String,
        @region,
        /// CNIs available with this version.
        pub available_cnis: Vec<Cni>,
        /// Deprecation date.
        pub deprecated_at: Option<Timestamp>,
        /// End of life.
        pub end_of_life_at: Option<Timestamp>,
    }
}

/// `GET /versions` and `GET /clusters/{id}/available-versions` (not paginated).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListVersionsResponse {
    /// Versions, newest first.
    pub versions: Vec<Version>,
}
paginated!(ListVersionsResponse, versions, Version, unpaginated);

wire_struct! {
    #[response]
    /// A cluster offer type.
    pub struct ClusterType {
        @name,
        /// Control-plane memory in bytes.
        pub memory: u64,
        @region,
    }
}

list_response! {
    /// `GET /clusters/{id}/available-types` and `GET /cluster-types`.
    ListClusterTypesResponse {
        /// Types of this page.
        cluster_types: Vec<ClusterType>
    }
}

/// `PUT /pools/{id}/set-labels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SetPoolLabelsRequest {
    /// Labels, replacing all.
    pub labels: BTreeMap<String, String>,
}

/// `PUT /pools/{id}/set-taints`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SetPoolTaintsRequest {
    /// Taints, replacing all.
    pub taints: Vec<Taint>,
}

/// `PUT /pools/{id}/set-startup-taints`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SetPoolStartupTaintsRequest {
    /// Startup taints, replacing all.
    pub startup_taints: Vec<Taint>,
}
