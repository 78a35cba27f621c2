//! `scaleway_rdb_instance`: a managed PostgreSQL/MySQL instance. Private-network endpoint
//! through IPAM, backup schedule, HA, node-type and volume upgrades in place (one upgrade per
//! call, waiting `ready` in between), settings; waits up to 30 minutes.

use std::collections::BTreeMap;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverContext, DriverError, FieldError, Input, Output, Update, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::api::{IpamIpFilter, ListFilter};
use super::client::secret::SecretString;
use super::client::wire::common::Empty;
use super::client::wire::ipam::ResourceType;
use super::client::wire::rdb::{
    CreateInstanceRequest, Encryption, Endpoint, EndpointSpec, EndpointSpecPrivateNetwork,
    Instance, IpamConfig, Setting, UpdateInstanceRequest, UpdateUserRequest,
    UpgradeInstanceRequest, VolumeType,
};
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{
    Deletion, Kind, Op, Readiness, attribute_as_is, bare_id, client_waiting_on, config_block,
    delete_declared, kind, wait_ready,
};
use super::provider::{Pace, Pacing, ScalewayProvider, api, check, conform, flag, string, u32_of};

config_block! {
    /// The private-network endpoint of an instance.
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct RdbPrivateNetwork {
        /// The private network.
        pub pn_id: Input<String>,
        /// Static service IP with prefix (`192.168.1.254/24`); prefer IPAM.
        pub ip_net: Option<String>,
        /// Let IPAM allocate the address (default when `ip_net` is absent).
        pub enable_ipam: Option<bool>,
    }
}

/// The public load-balancer endpoint of an instance (present = enabled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RdbLoadBalancer {}

attribute_as_is!(RdbPrivateNetwork, RdbLoadBalancer);

kind! {
    /// A managed database instance.
    pub struct RdbInstance = "scaleway_rdb_instance"
        (RdbInstanceKind, RdbInstanceAttributes, RdbInstanceDriver);
    wire LiveInstance as i, id i.id;
    /// name (updated in place)
    name: Input<String>, required => i.name;
    /// node type, e.g. DB-DEV-S (upgraded in place)
    node_type: Input<String>, required => i.node_type;
    /// engine and major version, e.g. PostgreSQL-16
    engine: String, required force_new => i.engine;
    /// high availability (enabled in place, cannot be disabled)
    #[serde(default)]
    is_ha_cluster: bool, optional => i.is_ha_cluster;
    /// initial admin user
    user_name: Option<String>, optional force_new;
    /// password of the initial admin user (updated in place)
    password: Option<Input<String>>, optional sensitive;
    /// disable automatic backups (updated in place)
    disable_backup: Option<bool>, optional_computed => i.backup_schedule.disabled;
    /// hours between backups (updated in place)
    backup_schedule_frequency: Option<u32>, optional_computed => i.backup_schedule.frequency;
    /// days backups are kept (updated in place)
    backup_schedule_retention: Option<u32>, optional_computed => i.backup_schedule.retention;
    /// keep backups in the region (updated in place)
    backup_same_region: Option<bool>, optional_computed => i.backup_same_region;
    /// engine settings `{name: value}` (updated in place)
    settings: Option<BTreeMap<String, String>>, optional => settings_map(&i.settings);
    /// settings fixed at creation
    init_settings: Option<BTreeMap<String, String>>, optional force_new
        => settings_map(&i.init_settings);
    /// lssd, sbs_5k or sbs_15k (upgraded in place)
    volume_type: Option<String>, optional_computed => i.volume.volume_type.as_str();
    /// block volume size in GB (grown in place, multiple of 5)
    volume_size_in_gb: Option<u64>, optional_computed => i.volume.size / GB;
    /// encryption at rest
    encryption_at_rest: Option<bool>, optional force_new => i.encryption.enabled;
    /// `{pn_id, ip_net?, enable_ipam?}`: private endpoint (changed in place)
    private_network: Option<RdbPrivateNetwork>, optional => private_network(i);
    /// `{}`: public endpoint (changed in place); default when no endpoint is declared
    // `@`: with a private network and no public endpoint, "none" is the declared value,
    // always serialized (as JSON `null`): a public endpoint added outside kapstan is then
    // planned for removal instead of only showing as drift.
    #[serde(default)]
    @ load_balancer: Option<RdbLoadBalancer>, optional => public(i).map(|_| json!({}));
    tags => i.tags;
    region => i.region;
    project_id => i.project_id;
    /// `{ip, port, endpoint_id}` of the private endpoint
    private_endpoint: Value, computed => private(i)
        .map(|e| json!({"ip": e.ip, "port": e.port, "endpoint_id": e.id}));
    /// `[{id, address}]`: IPAM addresses of the instance
    private_ips as "private_ip": Vec<Value>, computed => i.private_ips;
    /// address of the public endpoint
    endpoint_ip: String, computed => public(i).and_then(|e| e.ip.clone());
    /// port of the public endpoint
    endpoint_port: u32, computed => public(i).map(|e| e.port);
    organization_id => i.organization_id;
    /// creation time
    created_at: String, computed => i.created_at;
}

impl RdbInstanceAttributes {
    /// Private endpoint address (IPAM).
    pub fn private_ip(&self) -> Output<String> {
        self.0.output("private_endpoint.ip")
    }

    /// Private endpoint port.
    pub fn private_port(&self) -> Output<u32> {
        self.0.output("private_endpoint.port")
    }
}

/// A live instance with its IPAM addresses (`[{id, address}]`, filled by
/// [`Kind::complete`]).
#[derive(Debug)]
pub(crate) struct LiveInstance {
    instance: Instance,
    private_ips: Vec<Value>,
}

impl From<Instance> for LiveInstance {
    fn from(instance: Instance) -> Self {
        Self {
            instance,
            private_ips: vec![],
        }
    }
}

impl std::ops::Deref for LiveInstance {
    type Target = Instance;
    fn deref(&self) -> &Instance {
        &self.instance
    }
}

/// The instance's private-network endpoint.
fn private(i: &Instance) -> Option<&Endpoint> {
    i.endpoints.iter().find(|e| e.private_network.is_some())
}

/// The instance's public (load-balancer) endpoint.
fn public(i: &Instance) -> Option<&Endpoint> {
    i.endpoints.iter().find(|e| e.load_balancer.is_some())
}

/// The `private_network` attribute: `ip_net` only for a static address.
fn private_network(i: &Instance) -> Option<Value> {
    private(i)
        .and_then(|e| e.private_network.as_ref())
        .map(|p| {
            let ipam = p.provisioning_mode.as_str() == "ipam";
            let mut v = json!({"pn_id": p.private_network_id, "enable_ipam": ipam});
            if !ipam {
                v["ip_net"] = json!(p.service_ip);
            }
            v
        })
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

/// The region rule every Managed Database kind checks first (its objects live in the
/// instance's region).
pub(crate) const REGION_RULE: check::ChoiceRule<'static> =
    ("region", REGIONS, "Managed Database region");

const GB: u64 = 1_000_000_000;

/// Waits until the instance is out of its transient states; fails on `error`/`locked`.
pub(crate) async fn wait_instance(
    ctx: &DriverContext,
    pacing: Pacing,
    client: &Client,
    region: &Region,
    id: &str,
) -> Result<Instance, DriverError> {
    let live = wait_ready::<RdbInstanceKind>(ctx, pacing, client, region, id).await?;
    Ok(live.instance)
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
        let want = flag(config, "is_ha_cluster").unwrap_or(false);
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

fn backup_patch(config: &Value) -> UpdateInstanceRequest {
    UpdateInstanceRequest {
        backup_schedule_frequency: u32_of(config, "backup_schedule_frequency"),
        backup_schedule_retention: u32_of(config, "backup_schedule_retention"),
        is_backup_schedule_disabled: flag(config, "disable_backup"),
        backup_same_region: flag(config, "backup_same_region"),
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

/// Whether the public endpoint is the API's default, none being declared: it is then what
/// was declared (the `load_balancer` attribute stays `null`).
fn default_public(config: &Value) -> bool {
    let declared = |k: &str| config.get(k).is_some_and(|v| !v.is_null());
    !declared("load_balancer") && !declared("private_network")
}

/// Whether `n` is a name Managed Database accepts for a PostgreSQL object: 1 to 63
/// characters, a letter first, then letters, digits and the `extra` characters.
pub(crate) fn postgres_identifier(n: &str, extra: &[char]) -> bool {
    (1..=63).contains(&n.len())
        && n.starts_with(|c: char| c.is_ascii_alphabetic())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// Checks an RDB user name (PostgreSQL rules, reference §3.3).
pub(crate) fn check_user_name(config: &Value, field: &'static str, e: &mut Vec<FieldError>) {
    let rule: check::TextRule = (
        field,
        |n| {
            postgres_identifier(n, &['_', '$', '-'])
                && !n.starts_with("_rdb")
                && !n.starts_with("pg_")
        },
        "is not a valid database user name",
        "use 1 to 63 letters, digits, `_`, `$` or `-`, starting with a letter (not `pg_` or `_rdb`)",
    );
    check::texts(config, &[rule], e);
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

/// Checks the engine, the volume and the backup schedule.
fn check_instance(config: &Value, e: &mut Vec<FieldError>) {
    let engine: check::TextRule = (
        "engine",
        |engine| {
            engine.split_once('-').is_some_and(|(n, v)| {
                matches!(n, "PostgreSQL" | "MySQL") && v.parse::<u32>().is_ok()
            })
        },
        "is not an engine version",
        "use e.g. PostgreSQL-16 or MySQL-8",
    );
    check::texts(config, &[engine], e);
    let rules: [check::NumberRule; 3] = [
        (
            "volume_size_in_gb",
            |size| size % 5 == 0,
            "is not a multiple of 5",
            "use a multiple of 5 GB",
        ),
        (
            "backup_schedule_frequency",
            |hours| (1..=24).contains(&hours),
            "is out of range",
            "use 1 to 24 hours",
        ),
        (
            "backup_schedule_retention",
            |days| (1..=365).contains(&days),
            "is out of range",
            "use 1 to 365 days",
        ),
    ];
    check::numbers(config, &rules, e);
}

/// What a config's create sends (`project_id` and the ownership `tags` resolved).
fn create_request(config: &Value, project_id: String, tags: Vec<String>) -> CreateInstanceRequest {
    CreateInstanceRequest {
        project_id,
        name: string(config, "name").unwrap_or_default(),
        engine: string(config, "engine").unwrap_or_default(),
        user_name: string(config, "user_name").unwrap_or_default(),
        password: SecretString::new(string(config, "password").unwrap_or_default()),
        node_type: string(config, "node_type")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        is_ha_cluster: flag(config, "is_ha_cluster").unwrap_or(false),
        high_availability_mode: None,
        disable_backup: flag(config, "disable_backup").unwrap_or(false),
        tags,
        init_settings: settings_of(config, "init_settings"),
        volume_type: string(config, "volume_type").map(|v| VolumeType::from(v.as_str())),
        volume_size: config
            .get("volume_size_in_gb")
            .and_then(Value::as_u64)
            .map(|g| g * GB),
        init_endpoints: endpoint_specs(config),
        backup_same_region: flag(config, "backup_same_region").unwrap_or(false),
        encryption: flag(config, "encryption_at_rest").map(|enabled| Encryption { enabled }),
    }
}

/// The instance's mutations go through a client whose 409s wait for it to be ready.
fn instance_op<'a>(op: &Op<'a, RdbInstanceKind>, client: &'a Client) -> Op<'a, RdbInstanceKind> {
    Op { c: client, ..*op }
}

/// Replaces the endpoints an update touches (`private_network`, `load_balancer`): deletes
/// the stale ones, then creates the declared ones, waiting for the instance after each call.
async fn replace_endpoints(
    op: &Op<'_, RdbInstanceKind>,
    id: &str,
    update: &Update<'_>,
) -> Result<(), DriverError> {
    let touched = |f: &str| update.touches(f);
    let Op { c, at, config, .. } = *op;
    let rdb = c.rdb(at);
    let now = rdb.get_instance(id).await.map_err(api)?;
    for ep in &now.endpoints {
        let stale = (ep.private_network.is_some() && touched("private_network"))
            || (ep.load_balancer.is_some() && touched("load_balancer"));
        if stale && !ep.id.is_empty() {
            match rdb.delete_endpoint(&ep.id).await {
                Err(e) if !e.is_not_found() => return Err(api(e)),
                _ => {}
            }
            op.wait_ready(Pace::Long, id).await?;
        }
    }
    for spec in endpoint_specs(config).unwrap_or_default() {
        let wanted = (spec.private_network.is_some() && touched("private_network"))
            || (spec.load_balancer.is_some() && touched("load_balancer"));
        if wanted {
            rdb.create_endpoint(id, &spec).await.map_err(api)?;
            op.wait_ready(Pace::Long, id).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl Kind for RdbInstanceKind {
    const DELETION: Deletion = Deletion::WaitGone(Pace::Long);
    const WHAT: &'static str = "database instance";
    type Place = Region;
    type Request = CreateInstanceRequest;

    fn status(i: &LiveInstance) -> String {
        i.status.to_string()
    }

    fn readiness(i: &LiveInstance) -> Readiness {
        match i.status.as_str() {
            s if i.status.is_transient() => Readiness::Pending(s.to_string()),
            "error" | "locked" => Readiness::Failed(i.status.to_string()),
            _ => Readiness::Ready,
        }
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::choices(config, &[REGION_RULE], e);
        check::name(config, "name", e);
        let choices: [check::ChoiceRule; 2] = [
            ("node_type", NODE_TYPES, "database node type"),
            (
                "volume_type",
                &["lssd", "bssd", "sbs_5k", "sbs_15k"],
                "volume type",
            ),
        ];
        check::choices(config, &choices, e);
        check_instance(config, e);
        check_user_name(config, "user_name", e);
        check_password(config, "password", e);
    }

    /// With no endpoint declared, the public one is the API's default: it is what was
    /// declared.
    fn shape(attributes: &mut Value, config: &Value) {
        if default_public(config) {
            attributes["load_balancer"] = Value::Null;
        }
        conform(attributes, config);
    }

    async fn get(c: &Client, at: &Region, id: &str) -> Result<Option<LiveInstance>, ApiErr> {
        Ok(Some(c.rdb(at).get_instance(id).await?.into()))
    }

    /// Adds the instance's IPAM addresses.
    async fn complete(
        c: &Client,
        at: &Region,
        mut i: LiveInstance,
    ) -> Result<LiveInstance, DriverError> {
        let filter = IpamIpFilter {
            resource_id: Some(i.id.clone()),
            resource_type: Some(ResourceType::RdbInstance),
        };
        let ips = c.ipam(at).list_ips(&filter).await.map_err(api)?;
        i.private_ips = ips
            .iter()
            .map(|ip| json!({"id": ip.id, "address": ip.address.split('/').next().unwrap_or_default()}))
            .collect();
        Ok(i)
    }

    async fn list_tagged(
        c: &Client,
        at: &Region,
        tags: &[String],
    ) -> Result<Vec<LiveInstance>, ApiErr> {
        let listed = c
            .rdb(at)
            .list_instances(&ListFilter::tags(tags.to_vec()))
            .await?;
        Ok(listed.into_iter().map(LiveInstance::from).collect())
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateInstanceRequest, DriverError> {
        let config = op.config;
        Ok(create_request(config, op.project()?, op.tags()))
    }

    async fn post(
        c: &Client,
        at: &Region,
        req: &CreateInstanceRequest,
    ) -> Result<LiveInstance, ApiErr> {
        Ok(c.rdb(at).create_instance(req).await?.into())
    }

    /// Waits for `ready`, then applies the backup schedule and the settings a create cannot
    /// send.
    async fn settle(op: &Op<'_, Self>, i: LiveInstance) -> Result<LiveInstance, DriverError> {
        let Op { c, at, config, .. } = *op;
        let id = i.id.as_str();
        let inst = op.wait_ready(Pace::Long, id).await?.instance;
        let rdb = c.rdb(at);
        let backup = backup_patch(config);
        let needs_backup = backup.backup_schedule_frequency.is_some()
            || backup.backup_schedule_retention.is_some()
            || backup.is_backup_schedule_disabled.is_some()
            || backup.backup_same_region.is_some();
        if needs_backup && !backup_matches(&inst, config) {
            rdb.update_instance(id, &backup).await.map_err(api)?;
            op.wait_ready(Pace::Long, id).await?;
        }
        let settings = settings_of(config, "settings");
        if !settings.is_empty() && !settings.iter().all(|s| inst.settings.contains(s)) {
            rdb.set_instance_settings(id, &settings)
                .await
                .map_err(api)?;
            op.wait_ready(Pace::Long, id).await?;
        }
        Ok(rdb.get_instance(id).await.map_err(api)?.into())
    }

    /// One call per change (the patch, each upgrade, the settings, the password, the
    /// endpoints), waiting for `ready` after each.
    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveInstance, DriverError> {
        let id = bare_id(update.recorded);
        let config = op.config;
        let client = rdb_client(&op.d.p, op.at, id)?;
        let op = &instance_op(op, &client);
        let Op { c, at, .. } = *op;
        let touched = |f: &str| update.touches(f);
        let rdb = c.rdb(at);
        let current = op.wait_ready(Pace::Long, id).await?.instance;
        let patched = [
            "name",
            "tags",
            "disable_backup",
            "backup_schedule_frequency",
            "backup_schedule_retention",
            "backup_same_region",
        ];
        if patched.iter().any(|f| touched(f)) {
            let mut req = backup_patch(config);
            req.name = string(config, "name");
            req.tags = Some(op.tags());
            rdb.update_instance(id, &req).await.map_err(api)?;
            op.wait_ready(Pace::Long, id).await?;
        }
        for up in upgrades_of(config, &current, &touched)? {
            rdb.upgrade_instance(id, &up).await.map_err(api)?;
            op.wait_ready(Pace::Long, id).await?;
        }
        let settings = settings_of(config, "settings");
        if touched("settings") && !settings.is_empty() {
            rdb.set_instance_settings(id, &settings)
                .await
                .map_err(api)?;
            op.wait_ready(Pace::Long, id).await?;
        }
        if touched("password")
            && let (Some(user), Some(password)) =
                (string(config, "user_name"), string(config, "password"))
        {
            let req = UpdateUserRequest {
                password: Some(SecretString::new(password)),
                is_admin: None,
            };
            rdb.update_user(id, &user, &req).await.map_err(api)?;
            op.wait_ready(Pace::Long, id).await?;
        }
        if touched("private_network") || touched("load_balancer") {
            replace_endpoints(op, id, update).await?;
        }
        Ok(rdb.get_instance(id).await.map_err(api)?.into())
    }

    /// The declared delete, through a client whose 409s wait for the instance.
    async fn delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        let client = rdb_client(&op.d.p, op.at, bare_id(rec))?;
        delete_declared(&instance_op(op, &client), rec).await
    }

    async fn remove(c: &Client, at: &Region, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.rdb(at).delete_instance(id).await.map(|_| ())
    }
}
