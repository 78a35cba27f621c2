//! `scaleway_rdb_instance`: a managed PostgreSQL/MySQL instance. Private-network endpoint
//! through IPAM, backup schedule, HA, node-type and volume upgrades in place (one upgrade per
//! call, waiting `ready` in between), settings; waits up to 30 minutes.

use std::collections::BTreeMap;
use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::api::{IpamIpFilter, ListFilter};
use super::client::secret::SecretString;
use super::client::wire::common::Empty;
use super::client::wire::ipam::ResourceType;
use super::client::wire::rdb::{
    CreateInstanceRequest, EndpointSpec, EndpointSpecPrivateNetwork, Instance, IpamConfig, Setting,
    UpdateInstanceRequest, UpdateUserRequest, UpgradeInstanceRequest, VolumeType,
};
use super::client::{Client, Region};
use super::kind::client_waiting_on;
use super::provider::{
    Pace, Pacing, Poll, ScalewayProvider, adopt_one, api, attributes, check, config_from, conform,
    found, is_owned, marker_id, owned_tags, post_or_adopt, split_locality, string, strings,
    user_tags, wait_for,
};

/// The private-network endpoint of an instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RdbPrivateNetwork {
    /// The private network.
    pub pn_id: Input<String>,
    /// Static service IP with prefix (`192.168.1.254/24`); prefer IPAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_net: Option<String>,
    /// Let IPAM allocate the address (default when `ip_net` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ipam: Option<bool>,
}

/// The public load-balancer endpoint of an instance (present = enabled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RdbLoadBalancer {}

/// A managed database instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RdbInstance {
    /// Name (updated in place).
    pub name: Input<String>,
    /// Node type, e.g. `DB-DEV-S` (upgraded in place).
    pub node_type: Input<String>,
    /// Engine, e.g. `PostgreSQL-16`. Changing it replaces the instance.
    pub engine: String,
    /// High availability (enabled in place; cannot be disabled).
    #[serde(default)]
    pub is_ha_cluster: bool,
    /// Initial admin user. Changing it replaces the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Password of the initial admin user (sensitive; updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Input<String>>,
    /// Disable automatic backups (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_backup: Option<bool>,
    /// Hours between backups (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_schedule_frequency: Option<u32>,
    /// Days backups are kept (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_schedule_retention: Option<u32>,
    /// Keep backups in the instance's region (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_same_region: Option<bool>,
    /// Engine settings (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BTreeMap<String, String>>,
    /// Settings fixed at creation. Changing them replaces the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_settings: Option<BTreeMap<String, String>>,
    /// Volume type `lssd`, `sbs_5k` or `sbs_15k` (upgraded in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// Volume size in GB for block volumes (grown in place, multiple of 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_size_in_gb: Option<u64>,
    /// Encryption at rest. Changing it replaces the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_at_rest: Option<bool>,
    /// Private-network endpoint (changed in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_network: Option<RdbPrivateNetwork>,
    /// Public endpoint (changed in place). Without either endpoint, a public one is created.
    /// With a private network and no public endpoint, "none" is the declared value (always
    /// serialized, as JSON `null`): a public endpoint added outside kapstan is then planned
    /// for removal instead of only showing as drift.
    #[serde(default)]
    pub load_balancer: Option<RdbLoadBalancer>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Region. Changing it replaces the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project. Changing it replaces the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_rdb_instance`.
    RdbInstanceAttributes {
        /// Private endpoint address (IPAM).
        private_ip: String = "private_endpoint.ip",
        /// Private endpoint port.
        private_port: u32 = "private_endpoint.port",
        /// Public endpoint address.
        endpoint_ip: String = "endpoint_ip",
        /// Public endpoint port.
        endpoint_port: u32 = "endpoint_port",
        /// The region.
        region: String = "region",
    }
}

impl Resource for RdbInstance {
    const KIND: &'static str = "scaleway_rdb_instance";
    type Attributes = RdbInstanceAttributes;
}

/// RDB node types (compared case-insensitively).
pub const NODE_TYPES: &[&str] = &[
    "DB-DEV-S",
    "DB-DEV-M",
    "DB-DEV-L",
    "DB-DEV-XL",
    "DB-PLAY2-PICO",
    "DB-PLAY2-NANO",
    "DB-PLAY2-MICRO",
    "DB-PRO2-XXS",
    "DB-PRO2-XS",
    "DB-PRO2-S",
    "DB-PRO2-M",
    "DB-PRO2-L",
    "DB-POP2-2C-8G",
    "DB-POP2-4C-16G",
    "DB-POP2-8C-32G",
    "DB-POP2-16C-64G",
    "DB-POP2-32C-128G",
    "DB-POP2-64C-256G",
    "DB-POP2-HM-2C-16G",
    "DB-POP2-HM-4C-32G",
    "DB-POP2-HM-8C-64G",
    "DB-POP2-HM-16C-128G",
    "DB-POP2-HC-2C-4G",
    "DB-POP2-HC-4C-8G",
    "DB-POP2-HC-8C-16G",
    "DB-GP-XS",
    "DB-GP-S",
    "DB-GP-M",
    "DB-GP-L",
    "DB-GP-XL",
];

/// Regions offering Managed Databases.
pub const REGIONS: &[&str] = &["fr-par", "nl-ams", "pl-waw"];

const GB: u64 = 1_000_000_000;

/// Waits until the instance is out of its transient states; fails on `error`/`locked`.
pub(crate) async fn wait_instance(
    ctx: &DriverContext,
    pacing: Pacing,
    client: &Client,
    region: &Region,
    id: &str,
) -> Result<Instance, DriverError> {
    wait_for(ctx, pacing, "database instance", move || async move {
        let i = client.rdb(region).get_instance(id).await.map_err(api)?;
        match i.status.as_str() {
            s if i.status.is_transient() => Ok(Poll::Pending(s.to_string())),
            "error" | "locked" => Err(DriverError::failed(format!(
                "database instance {id} is `{}`",
                i.status
            ))),
            _ => Ok(Poll::Done(i)),
        }
    })
    .await
}

/// A client whose 409 answers on instance sub-resources wait for the instance to be ready.
pub(crate) fn rdb_client(
    p: &ScalewayProvider,
    region: &Region,
    instance_id: &str,
) -> Result<Client, DriverError> {
    let (region, id) = (region.clone(), instance_id.to_string());
    let pacing = p.pacing(Pace::Long);
    client_waiting_on(p, format!("instance {id}"), move |c| {
        let (region, id) = (region.clone(), id.clone());
        async move {
            let ctx = DriverContext::detached("", "");
            wait_instance(&ctx, pacing, &c, &region, &id)
                .await
                .map(|_| ())
        }
    })
}

/// The in-place upgrades a change asks for, one call each, or why it cannot be in place.
fn upgrades_of(
    config: &Value,
    current: &Instance,
    touched: &dyn Fn(&str) -> bool,
) -> Result<Vec<UpgradeInstanceRequest>, DriverError> {
    let mut upgrades = vec![];
    if touched("node_type") {
        upgrades.push(UpgradeInstanceRequest {
            node_type: string(config, "node_type").map(|n| n.to_ascii_lowercase()),
            ..Default::default()
        });
    }
    if touched("is_ha_cluster") {
        let want = config
            .get("is_ha_cluster")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !want && current.is_ha_cluster {
            return Err(DriverError::failed(
                "high availability cannot be disabled in place; replace the instance with `--replace`",
            ));
        }
        if want && !current.is_ha_cluster {
            upgrades.push(UpgradeInstanceRequest {
                enable_ha: Some(true),
                ..Default::default()
            });
        }
    }
    if touched("volume_type")
        && let Some(t) = string(config, "volume_type")
    {
        upgrades.push(UpgradeInstanceRequest {
            volume_type: Some(VolumeType::from(t.as_str())),
            ..Default::default()
        });
    }
    if touched("volume_size_in_gb")
        && let Some(g) = config.get("volume_size_in_gb").and_then(Value::as_u64)
    {
        if g * GB < current.volume.size {
            return Err(DriverError::failed(
                "the volume can only grow; replace the instance with `--replace` to shrink it",
            ));
        }
        upgrades.push(UpgradeInstanceRequest {
            volume_size: Some(g * GB),
            ..Default::default()
        });
    }
    Ok(upgrades)
}

/// The `scaleway_rdb_instance` driver.
#[derive(Debug)]
pub struct RdbInstanceDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl RdbInstanceDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_rdb_instance",
                vec![
                    Field::required("name").describe("name (updated in place)"),
                    Field::required("node_type").describe("node type, e.g. DB-DEV-S (upgraded in place)"),
                    Field::required("engine").force_new().describe("engine and major version, e.g. PostgreSQL-16"),
                    Field::optional("is_ha_cluster").describe("high availability (enabled in place, cannot be disabled)"),
                    Field::optional("user_name").force_new().describe("initial admin user"),
                    Field::optional("password").sensitive().describe("password of the initial admin user (updated in place)"),
                    Field::optional_computed("disable_backup").describe("disable automatic backups (updated in place)"),
                    Field::optional_computed("backup_schedule_frequency").describe("hours between backups (updated in place)"),
                    Field::optional_computed("backup_schedule_retention").describe("days backups are kept (updated in place)"),
                    Field::optional_computed("backup_same_region").describe("keep backups in the region (updated in place)"),
                    Field::optional("settings").describe("engine settings `{name: value}` (updated in place)"),
                    Field::optional("init_settings").force_new().describe("settings fixed at creation"),
                    Field::optional_computed("volume_type").describe("lssd, sbs_5k or sbs_15k (upgraded in place)"),
                    Field::optional_computed("volume_size_in_gb").describe("block volume size in GB (grown in place, multiple of 5)"),
                    Field::optional("encryption_at_rest").force_new().describe("encryption at rest"),
                    Field::optional("private_network").describe("`{pn_id, ip_net?, enable_ipam?}`: private endpoint (changed in place)"),
                    Field::optional("load_balancer").describe("`{}`: public endpoint (changed in place); default when no endpoint is declared"),
                    Field::optional("tags").describe("tags (updated in place); kapstan adds kapstan-stack and kapstan-addr"),
                    Field::optional_computed("region").force_new().describe("region; default: the configured region"),
                    Field::optional_computed("project_id").force_new().describe("project; default: the credentials' project"),
                    Field::computed("private_endpoint").describe("`{ip, port, endpoint_id}` of the private endpoint"),
                    Field::computed("private_ip").describe("`[{id, address}]`: IPAM addresses of the instance"),
                    Field::computed("endpoint_ip").describe("address of the public endpoint"),
                    Field::computed("endpoint_port").describe("port of the public endpoint"),
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
    ) -> Result<Option<Instance>, DriverError> {
        let found = client
            .rdb(region)
            .list_instances(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|i| is_owned(ctx, &i.tags))
            .map(|i| (i.id.clone(), i))
            .collect();
        Ok(adopt_one(ctx, "scaleway_rdb_instance", found)?.map(|(_, i)| i))
    }

    async fn attributes(
        &self,
        client: &Client,
        i: &Instance,
        config: &Value,
    ) -> Result<Value, DriverError> {
        let region = Region::parse(&i.region).map_err(|e| DriverError::failed(e.to_string()))?;
        let ips = client
            .ipam(&region)
            .list_ips(&IpamIpFilter {
                resource_id: Some(i.id.clone()),
                resource_type: Some(ResourceType::RdbInstance),
                ..Default::default()
            })
            .await
            .map_err(api)?;
        let private_ip: Vec<Value> = ips
            .iter()
            .map(|ip| json!({"id": ip.id, "address": ip.address.split('/').next().unwrap_or_default()}))
            .collect();
        Ok(attrs(i, private_ip, config))
    }

    async fn finish(
        &self,
        ctx: &DriverContext,
        client: &Client,
        region: &Region,
        id: &str,
        config: &Value,
    ) -> Result<Created, DriverError> {
        let pacing = self.p.pacing(Pace::Long);
        let inst = wait_instance(ctx, pacing, client, region, id).await?;
        let rdb = client.rdb(region);
        let backup = backup_patch(config);
        let needs_backup = backup.backup_schedule_frequency.is_some()
            || backup.backup_schedule_retention.is_some()
            || backup.is_backup_schedule_disabled.is_some()
            || backup.backup_same_region.is_some();
        if needs_backup && !backup_matches(&inst, config) {
            rdb.update_instance(id, &backup).await.map_err(api)?;
            wait_instance(ctx, pacing, client, region, id).await?;
        }
        let settings = settings_of(config, "settings");
        if !settings.is_empty() && !settings.iter().all(|s| inst.settings.contains(s)) {
            rdb.set_instance_settings(id, &settings)
                .await
                .map_err(api)?;
            wait_instance(ctx, pacing, client, region, id).await?;
        }
        let inst = rdb.get_instance(id).await.map_err(api)?;
        Ok(Created {
            id: id.to_string(),
            attributes: self.attributes(client, &inst, config).await?,
        })
    }
}

fn backup_patch(config: &Value) -> UpdateInstanceRequest {
    UpdateInstanceRequest {
        backup_schedule_frequency: config
            .get("backup_schedule_frequency")
            .and_then(Value::as_u64)
            .map(|v| v as u32),
        backup_schedule_retention: config
            .get("backup_schedule_retention")
            .and_then(Value::as_u64)
            .map(|v| v as u32),
        is_backup_schedule_disabled: config.get("disable_backup").and_then(Value::as_bool),
        backup_same_region: config.get("backup_same_region").and_then(Value::as_bool),
        ..Default::default()
    }
}

fn backup_matches(i: &Instance, config: &Value) -> bool {
    let b = backup_patch(config);
    b.backup_schedule_frequency
        .is_none_or(|f| f == i.backup_schedule.frequency)
        && b.backup_schedule_retention
            .is_none_or(|r| r == i.backup_schedule.retention)
        && b.is_backup_schedule_disabled
            .is_none_or(|d| d == i.backup_schedule.disabled)
        && b.backup_same_region
            .is_none_or(|s| s == i.backup_same_region)
}

fn settings_of(config: &Value, key: &str) -> Vec<Setting> {
    config
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| Setting {
                    name: k.clone(),
                    value: v
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn settings_map(s: &[Setting]) -> Value {
    Value::Object(
        s.iter()
            .map(|s| (s.name.clone(), json!(s.value)))
            .collect::<Map<_, _>>(),
    )
}

fn endpoint_specs(config: &Value) -> Option<Vec<EndpointSpec>> {
    let mut specs = vec![];
    if let Some(pn) = config.get("private_network").filter(|v| v.is_object()) {
        let ip_net = string(pn, "ip_net");
        specs.push(EndpointSpec {
            load_balancer: None,
            private_network: Some(EndpointSpecPrivateNetwork {
                private_network_id: string(pn, "pn_id").unwrap_or_default(),
                ipam_config: ip_net.is_none().then_some(IpamConfig {}),
                service_ip: ip_net,
            }),
        });
    }
    if config.get("load_balancer").is_some_and(|v| !v.is_null()) {
        specs.push(EndpointSpec {
            load_balancer: Some(Empty {}),
            private_network: None,
        });
    }
    (!specs.is_empty()).then_some(specs)
}

/// The `load_balancer` attribute: `{}` when a public endpoint exists, else `null`. With no
/// endpoint declared at all, the public one is the API's default: it is what was declared.
fn public_endpoint(exists: bool, config: &Value) -> Value {
    let declared = |k: &str| config.get(k).is_some_and(|v| !v.is_null());
    let default_public = !declared("load_balancer") && !declared("private_network");
    if exists && !default_public {
        json!({})
    } else {
        Value::Null
    }
}

fn attrs(i: &Instance, private_ip: Vec<Value>, config: &Value) -> Value {
    let pn = i.endpoints.iter().find(|e| e.private_network.is_some());
    let lb = i.endpoints.iter().find(|e| e.load_balancer.is_some());
    let private_network = pn.and_then(|e| e.private_network.as_ref()).map(|p| {
        let mut v = json!({"pn_id": p.private_network_id, "enable_ipam": p.provisioning_mode.as_str() == "ipam"});
        if p.provisioning_mode.as_str() != "ipam" {
            v["ip_net"] = json!(p.service_ip);
        }
        v
    });
    let mut a = json!({
        "name": i.name,
        "node_type": i.node_type,
        "engine": i.engine,
        "is_ha_cluster": i.is_ha_cluster,
        "disable_backup": i.backup_schedule.disabled,
        "backup_schedule_frequency": i.backup_schedule.frequency,
        "backup_schedule_retention": i.backup_schedule.retention,
        "backup_same_region": i.backup_same_region,
        "settings": settings_map(&i.settings),
        "init_settings": settings_map(&i.init_settings),
        "volume_type": i.volume.volume_type.as_str(),
        "volume_size_in_gb": i.volume.size / GB,
        "encryption_at_rest": i.encryption.enabled,
        "private_network": private_network,
        "load_balancer": public_endpoint(lb.is_some(), config),
        "tags": user_tags(&i.tags),
        "region": i.region,
        "project_id": i.project_id,
        "private_endpoint": pn.map(|e| json!({"ip": e.ip, "port": e.port, "endpoint_id": e.id})),
        "private_ip": private_ip,
        "endpoint_ip": lb.and_then(|e| e.ip.clone()),
        "endpoint_port": lb.map(|e| e.port),
        "organization_id": i.organization_id,
        "created_at": i.created_at,
    });
    if let Some(obj) = a.as_object_mut() {
        // Values only the config knows (never readable back): keep them out of drift.
        for k in ["user_name", "password"] {
            obj.remove(k);
        }
    }
    conform(&mut a, config);
    a
}

fn recorded_region(p: &ScalewayProvider, rec: &ResourceState) -> Result<Region, DriverError> {
    match rec.attributes.get("region").and_then(Value::as_str) {
        Some(r) => Region::parse(r).map_err(|e| DriverError::failed(e.to_string())),
        None => p.region_of(&rec.config),
    }
}

/// Checks an RDB user name (PostgreSQL rules, reference §3.3).
pub(crate) fn check_user_name(config: &Value, field: &str, e: &mut Vec<FieldError>) {
    if let Some(n) = config.get(field).and_then(Value::as_str) {
        let ok = (1..=63).contains(&n.len())
            && n.starts_with(|c: char| c.is_ascii_alphabetic())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-'))
            && !n.starts_with("_rdb")
            && !n.starts_with("pg_");
        if !ok {
            e.push(FieldError::new(field, &format!("{n:?}"), "is not a valid database user name", "use 1 to 63 letters, digits, `_`, `$` or `-`, starting with a letter (not `pg_` or `_rdb`)"));
        }
    }
}

/// Checks an RDB password: 8 to 128 characters with a digit, an upper-case, a lower-case and
/// a special character. The value is never echoed.
pub(crate) fn check_password(config: &Value, field: &str, e: &mut Vec<FieldError>) {
    if let Some(p) = config.get(field).and_then(Value::as_str) {
        let ok = (8..=128).contains(&p.chars().count())
            && p.chars().any(|c| c.is_ascii_digit())
            && p.chars().any(|c| c.is_ascii_uppercase())
            && p.chars().any(|c| c.is_ascii_lowercase())
            && p.chars().any(|c| !c.is_ascii_alphanumeric());
        if !ok {
            e.push(FieldError::new(field, "(sensitive value)", "does not meet the password rules", "use 8 to 128 characters with a digit, an upper-case, a lower-case and a special character"));
        }
    }
}

#[async_trait]
impl Driver for RdbInstanceDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "region", REGIONS, "Managed Database region", &mut e);
        check::name(config, "name", &mut e);
        check::tags(config, &mut e);
        check::one_of(
            config,
            "node_type",
            NODE_TYPES,
            "database node type",
            &mut e,
        );
        check::one_of(
            config,
            "volume_type",
            &["lssd", "bssd", "sbs_5k", "sbs_15k"],
            "volume type",
            &mut e,
        );
        if let Some(engine) = config.get("engine").and_then(Value::as_str) {
            let ok = engine.split_once('-').is_some_and(|(n, v)| {
                matches!(n, "PostgreSQL" | "MySQL") && v.parse::<u32>().is_ok()
            });
            if !ok {
                e.push(FieldError::new(
                    "engine",
                    &format!("{engine:?}"),
                    "is not an engine version",
                    "use e.g. PostgreSQL-16 or MySQL-8",
                ));
            }
        }
        if let Some(size) = config.get("volume_size_in_gb").and_then(Value::as_u64)
            && size % 5 != 0
        {
            e.push(FieldError::new(
                "volume_size_in_gb",
                &size.to_string(),
                "is not a multiple of 5",
                "use a multiple of 5 GB",
            ));
        }
        if let Some(f) = config
            .get("backup_schedule_frequency")
            .and_then(Value::as_u64)
            && !(1..=24).contains(&f)
        {
            e.push(FieldError::new(
                "backup_schedule_frequency",
                &f.to_string(),
                "is out of range",
                "use 1 to 24 hours",
            ));
        }
        if let Some(r) = config
            .get("backup_schedule_retention")
            .and_then(Value::as_u64)
            && !(1..=365).contains(&r)
        {
            e.push(FieldError::new(
                "backup_schedule_retention",
                &r.to_string(),
                "is out of range",
                "use 1 to 365 days",
            ));
        }
        check_user_name(config, "user_name", &mut e);
        check_password(config, "password", &mut e);
        e
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
                .rdb(&region)
                .get_instance(rec.id.as_deref().unwrap_or_default())
                .await,
        )? {
            Some(i) => Ok(Some(self.attributes(&client, &i, &rec.config).await?)),
            None => Ok(None),
        }
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let region = self.p.region_of(config)?;
        let client = self.p.client_with_backoff()?;
        let req = CreateInstanceRequest {
            project_id: self.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            engine: string(config, "engine").unwrap_or_default(),
            user_name: string(config, "user_name").unwrap_or_default(),
            password: SecretString::new(string(config, "password").unwrap_or_default()),
            node_type: string(config, "node_type")
                .unwrap_or_default()
                .to_ascii_lowercase(),
            is_ha_cluster: config
                .get("is_ha_cluster")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            high_availability_mode: None,
            disable_backup: config
                .get("disable_backup")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tags: owned_tags(ctx, &strings(config, "tags")),
            init_settings: settings_of(config, "init_settings"),
            volume_type: string(config, "volume_type").map(|v| VolumeType::from(v.as_str())),
            volume_size: config
                .get("volume_size_in_gb")
                .and_then(Value::as_u64)
                .map(|g| g * GB),
            init_endpoints: endpoint_specs(config),
            backup_same_region: config
                .get("backup_same_region")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            encryption: config
                .get("encryption_at_rest")
                .and_then(Value::as_bool)
                .map(|enabled| super::client::wire::rdb::Encryption { enabled }),
        };
        let (c, r, q) = (&client, &region, &req);
        let inst = post_or_adopt(
            move || async move { c.rdb(r).create_instance(q).await },
            move || async move { self.find(ctx, c, r).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": inst.id})).await?;
        self.finish(ctx, &client, &region, &inst.id, config).await
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client_with_backoff()?;
        let region = self.p.region_of(config)?;
        let id = match marker_id(marker) {
            Some(id) => found(client.rdb(&region).get_instance(id).await)?.map(|i| i.id),
            None => self.find(ctx, &client, &region).await?.map(|i| i.id),
        };
        match id {
            Some(id) => self
                .finish(ctx, &client, &region, &id, config)
                .await
                .map(Some),
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
        let region = recorded_region(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let client = rdb_client(&self.p, &region, &id)?;
        let pacing = self.p.pacing(Pace::Long);
        let touched = |f: &str| {
            changed
                .iter()
                .any(|c| c == &format!("/{f}") || c.starts_with(&format!("/{f}/")))
        };
        let rdb = client.rdb(&region);
        let current = wait_instance(ctx, pacing, &client, &region, &id).await?;
        if [
            "name",
            "tags",
            "disable_backup",
            "backup_schedule_frequency",
            "backup_schedule_retention",
            "backup_same_region",
        ]
        .iter()
        .any(|f| touched(f))
        {
            let mut req = backup_patch(config);
            req.name = string(config, "name");
            req.tags = Some(owned_tags(ctx, &strings(config, "tags")));
            rdb.update_instance(&id, &req).await.map_err(api)?;
            wait_instance(ctx, pacing, &client, &region, &id).await?;
        }
        for up in upgrades_of(config, &current, &touched)? {
            rdb.upgrade_instance(&id, &up).await.map_err(api)?;
            wait_instance(ctx, pacing, &client, &region, &id).await?;
        }
        if touched("settings") {
            let settings = settings_of(config, "settings");
            if !settings.is_empty() {
                rdb.set_instance_settings(&id, &settings)
                    .await
                    .map_err(api)?;
                wait_instance(ctx, pacing, &client, &region, &id).await?;
            }
        }
        if touched("password")
            && let (Some(user), Some(password)) =
                (string(config, "user_name"), string(config, "password"))
        {
            rdb.update_user(
                &id,
                &user,
                &UpdateUserRequest {
                    password: Some(SecretString::new(password)),
                    is_admin: None,
                },
            )
            .await
            .map_err(api)?;
            wait_instance(ctx, pacing, &client, &region, &id).await?;
        }
        if touched("private_network") || touched("load_balancer") {
            let now = rdb.get_instance(&id).await.map_err(api)?;
            for ep in &now.endpoints {
                let stale = (ep.private_network.is_some() && touched("private_network"))
                    || (ep.load_balancer.is_some() && touched("load_balancer"));
                if stale && !ep.id.is_empty() {
                    match rdb.delete_endpoint(&ep.id).await {
                        Ok(()) => {}
                        Err(e) if e.is_not_found() => {}
                        Err(e) => return Err(api(e)),
                    }
                    wait_instance(ctx, pacing, &client, &region, &id).await?;
                }
            }
            for spec in endpoint_specs(config).unwrap_or_default() {
                let wanted = (spec.private_network.is_some() && touched("private_network"))
                    || (spec.load_balancer.is_some() && touched("load_balancer"));
                if wanted {
                    rdb.create_endpoint(&id, &spec).await.map_err(api)?;
                    wait_instance(ctx, pacing, &client, &region, &id).await?;
                }
            }
        }
        let inst = rdb.get_instance(&id).await.map_err(api)?;
        self.attributes(&client, &inst, config).await
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let region = recorded_region(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let client = rdb_client(&self.p, &region, &id)?;
        match client.rdb(&region).delete_instance(&id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        let (c, r, i) = (&client, &region, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Long),
            "database instance deletion",
            move || async move {
                match c.rdb(r).get_instance(i).await {
                    Ok(x) => Ok(Poll::Pending(x.status.to_string())),
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
            Some(l) => Region::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.region().clone(),
        };
        match client.rdb(&region).get_instance(id).await {
            Ok(i) => {
                let attributes = self.attributes(&client, &i, &Value::Null).await?;
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
