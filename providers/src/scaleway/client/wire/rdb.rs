//! Managed Database `rdb/v1`: instances, databases, users, privileges, ACLs, node types.

use serde::{Deserialize, Serialize};

use super::common::Empty;
use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::list_response;
use crate::scaleway::client::secret::SecretString;

open_enum! {
    /// Status of an instance.
    InstanceStatus {
        Ready,
        Provisioning,
        Configuring,
        Deleting,
        Error,
        Autohealing,
        Locked,
        Initializing,
        DiskFull,
        Backuping,
        Snapshotting,
        Restarting,
    }
}

impl InstanceStatus {
    /// Whether a waiter keeps polling (the SDK's transient set).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Provisioning
                | Self::Configuring
                | Self::Deleting
                | Self::Autohealing
                | Self::Initializing
                | Self::Backuping
                | Self::Snapshotting
                | Self::Restarting
        )
    }
}

open_enum! {
    /// Volume type.
    VolumeType {
        Lssd,
        Bssd,
        Sbs5k = "sbs_5k",
        Sbs15k = "sbs_15k",
    }
}

open_enum! {
    /// High-availability mode.
    HighAvailabilityMode {
        Disabled,
        SingleZone,
        MultipleZone,
    }
}

open_enum! {
    /// Privilege of a user on a database (`none` removes it).
    Permission {
        Readonly,
        Readwrite,
        All,
        Custom,
        None,
    }
}

open_enum! {
    /// How a private-network endpoint got its IP.
    ProvisioningMode {
        Static,
        Ipam,
    }
}

/// Volume of an instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    /// Type.
    #[serde(rename = "type")]
    pub volume_type: VolumeType,
    /// Size in bytes.
    pub size: u64,
    /// Storage class (`lssd`, `bssd`, `sbs`).
    pub class: String,
}

/// Backup schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupSchedule {
    /// Hours between backups.
    pub frequency: u32,
    /// Days kept.
    pub retention: u32,
    /// Disabled.
    pub disabled: bool,
    /// Start hour.
    pub start_hour: Option<u32>,
}

wire_struct! {
    /// Engine setting.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Setting {
        @name,
        /// Value.
        pub value: String,
    }
}

wire_struct! {
    #[response]
    /// Private-network details of an endpoint.
    pub struct EndpointPrivateNetwork {
        @private_network_id,
        /// Service IP in CIDR form.
        pub service_ip: String,
        @zone,
        /// IP provisioning.
        pub provisioning_mode: ProvisioningMode,
    }
}

wire_struct! {
    #[response]
    /// An instance endpoint: exactly one of `load_balancer`, `private_network`, `direct_access` (not read).
    pub struct Endpoint {
        @id,
        /// IP.
        pub ip: Option<String>,
        /// Hostname, instead of an IP.
        pub hostname: Option<String>,
        /// Port.
        pub port: u32,
        /// Name.
        pub name: Option<String>,
        /// Public (load-balancer) endpoint marker.
        pub load_balancer: Option<Empty>,
        /// Private network endpoint.
        pub private_network: Option<EndpointPrivateNetwork>,
    }
}

/// Encryption at rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Encryption {
    /// Enabled.
    pub enabled: bool,
}

wire_struct! {
    #[response]
    /// A database instance.
    pub struct Instance {
        @id, @name, @region, @organization_id, @project_id,
        /// Status.
        pub status: InstanceStatus,
        /// Engine (`PostgreSQL-16`).
        pub engine: String,
        /// Node type, lower-case.
        pub node_type: String,
        /// HA (deprecated).
        pub is_ha_cluster: bool,
        /// Volume.
        pub volume: Volume,
        /// Backup schedule.
        pub backup_schedule: BackupSchedule,
        /// Backups in the same region.
        pub backup_same_region: bool,
        @tags,
        /// Engine settings.
        pub settings: Vec<Setting>,
        /// Immutable init settings.
        pub init_settings: Vec<Setting>,
        /// First endpoint (deprecated).
        pub endpoint: Option<Endpoint>,
        /// Endpoints.
        pub endpoints: Vec<Endpoint>,
        /// Encryption.
        pub encryption: Encryption,
        @created_at,
    }
}

/// IPAM settings of a private endpoint spec (`{}` lets IPAM choose).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpamConfig {}

wire_struct! {
    /// Private network of an endpoint spec: one of `service_ip` or `ipam_config`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct EndpointSpecPrivateNetwork {
        @private_network_id,
        /// Static IP in CIDR form (not registered in IPAM/DNS).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub service_ip: Option<String>,
        /// Let IPAM allocate.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub ipam_config: Option<IpamConfig>,
    }
}

/// An endpoint to create: exactly one of the two fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSpec {
    /// Public endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<Empty>,
    /// Private endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_network: Option<EndpointSpecPrivateNetwork>,
}

wire_struct! {
    /// `POST /instances`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateInstanceRequest {
        @project_id, @name,
        /// Engine (`PostgreSQL-16`).
        pub engine: String,
        /// Initial admin user.
        pub user_name: String,
        /// Initial admin password (sensitive).
        pub password: SecretString,
        /// Node type.
        pub node_type: String,
        /// HA (deprecated form).
        pub is_ha_cluster: bool,
        /// HA mode.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub high_availability_mode: Option<HighAvailabilityMode>,
        /// Disable backups.
        pub disable_backup: bool,
        @tags,
        /// Immutable settings.
        pub init_settings: Vec<Setting>,
        /// Volume type.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub volume_type: Option<VolumeType>,
        /// Volume size in bytes (block volumes only).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub volume_size: Option<u64>,
        /// Endpoints; `None` creates a public endpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub init_endpoints: Option<Vec<EndpointSpec>>,
        /// Backups in the same region.
        pub backup_same_region: bool,
        /// Encryption at rest.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub encryption: Option<Encryption>,
    }
}

wire_struct! {
    /// `PATCH /instances/{id}`: `None` leaves a field unchanged.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct UpdateInstanceRequest {
        /// Hours between backups.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub backup_schedule_frequency: Option<u32>,
        /// Days kept.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub backup_schedule_retention: Option<u32>,
        /// Disable backups.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub is_backup_schedule_disabled: Option<bool>,
        @name?, @tags?,
        /// Backups in the same region.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub backup_same_region: Option<bool>,
    }
}

/// `POST /instances/{id}/upgrade`: set exactly one field per call.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpgradeInstanceRequest {
    /// New node type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// Enable HA (only `true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ha: Option<bool>,
    /// HA mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_availability_mode: Option<HighAvailabilityMode>,
    /// New volume size in bytes (increase only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_size: Option<u64>,
    /// New volume type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeType>,
}

list_response! {
    /// `GET /instances`.
    ListInstancesResponse {
        /// Instances of this page.
        instances: Vec<Instance>
    }
}

wire_struct! {
    #[response]
    /// A logical database.
    pub struct Database {
        @name,
        /// Owner (empty right after creation).
        pub owner: String,
        /// Managed by Scaleway.
        pub managed: bool,
        /// Size in bytes.
        pub size: u64,
    }
}

list_response! {
    /// `GET /instances/{id}/databases`.
    ListDatabasesResponse {
        /// Databases of this page.
        databases: Vec<Database>
    }
}

wire_struct! {
    /// `POST /instances/{id}/databases`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateDatabaseRequest {
        @name,
    }
}

wire_struct! {
    #[response]
    /// A database user.
    pub struct User {
        @name,
        /// Admin.
        pub is_admin: bool,
    }
}

list_response! {
    /// `GET /instances/{id}/users`.
    ListUsersResponse {
        /// Users of this page.
        users: Vec<User>
    }
}

wire_struct! {
    /// `POST /instances/{id}/users`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateUserRequest {
        @name,
        /// Password (sensitive).
        pub password: SecretString,
        /// Admin.
        pub is_admin: bool,
    }
}

/// `PATCH /instances/{id}/users/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateUserRequest {
    /// New password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    /// Admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
}

/// A privilege of a user on a database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Privilege {
    /// Permission.
    pub permission: Permission,
    /// Database.
    pub database_name: String,
    /// User.
    pub user_name: String,
}

list_response! {
    /// `GET /instances/{id}/privileges`.
    ListPrivilegesResponse {
        /// Privileges of this page.
        privileges: Vec<Privilege>
    }
}

wire_struct! {
    #[response]
    /// An ACL rule as returned; its description reads `IP allowed` when it was sent empty.
    pub struct AclRule {
        /// CIDR.
        pub ip: String,
        @description,
        /// Public endpoint port.
        pub port: Option<u32>,
        /// `inbound`, `outbound`.
        pub direction: Option<String>,
        /// `allow`, `deny`.
        pub action: Option<String>,
    }
}

wire_struct! {
    /// An ACL rule to set.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AclRuleRequest {
        /// CIDR.
        pub ip: String,
        @description,
    }
}

list_response! {
    /// `GET|PUT|POST|DELETE /instances/{id}/acls` responses.
    AclRulesResponse {
        /// Rules.
        rules: Vec<AclRule>
    }
}

wire_struct! {
    #[response]
    /// An engine version.
    pub struct EngineVersion {
        @name,
        /// Version (`16`).
        pub version: String,
        /// Disabled.
        pub disabled: bool,
        /// Beta.
        pub beta: bool,
    }
}

wire_struct! {
    #[response]
    /// A database engine.
    pub struct DatabaseEngine {
        @name,
        /// Versions.
        pub versions: Vec<EngineVersion>,
        @region,
    }
}

list_response! {
    /// `GET /database-engines`.
    ListDatabaseEnginesResponse {
        /// Engines of this page.
        engines: Vec<DatabaseEngine>
    }
}

wire_struct! {
    #[response]
    /// A node type.
    pub struct NodeType {
        @name,
        @description,
        /// Memory in bytes.
        pub memory: u64,
        /// Disabled.
        pub disabled: bool,
        /// Beta.
        pub beta: bool,
        /// Generation.
        pub generation: String,
        @region,
    }
}

list_response! {
    /// `GET /node-types`.
    ListNodeTypesResponse {
        /// Node types of this page.
        node_types: Vec<NodeType>
    }
}

/// `PUT /instances/{id}/settings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsBody {
    /// Settings.
    pub settings: Vec<Setting>,
}
