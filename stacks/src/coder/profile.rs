//! Environment profiles (dev, staging, prod) from the original project's matrix, with its
//! defects fixed, and per-environment override files (`environments/<env>.toml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::sign_in::{ExternalAuthSettings, OidcSettings, SecretSource, check_provisioner_daemons};
use crate::catalog::StackError;
use crate::suggest::did_you_mean;

/// The three environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Environment {
    /// Development.
    Dev,
    /// Staging.
    Staging,
    /// Production.
    Prod,
}

impl Environment {
    /// Every environment, in promotion order.
    pub const ALL: [Environment; 3] = [Environment::Dev, Environment::Staging, Environment::Prod];

    /// The environment's name.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Staging => "staging",
            Environment::Prod => "prod",
        }
    }

    /// Parses a name, with an error naming the choices.
    pub fn parse(name: &str) -> Result<Self, StackError> {
        match name {
            "dev" => Ok(Self::Dev),
            "staging" => Ok(Self::Staging),
            "prod" => Ok(Self::Prod),
            other => Err(StackError::Var {
                stack: "coder".into(),
                var: "env".into(),
                value: other.into(),
                problem: format!(
                    "is not an environment{}; use dev, staging or prod",
                    crate::suggest::did_you_mean(other, &Self::ALL.map(Environment::name))
                ),
            }),
        }
    }
}

/// Pod Security Standard level enforced on the environment's namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSecurityLevel {
    /// No labels (dev).
    None,
    /// `baseline` (staging).
    Baseline,
    /// `restricted` (prod).
    Restricted,
}

/// Namespace resource quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    /// requests.cpu
    pub requests_cpu: String,
    /// requests.memory
    pub requests_memory: String,
    /// limits.cpu
    pub limits_cpu: String,
    /// limits.memory
    pub limits_memory: String,
    /// pods
    pub pods: u32,
    /// services
    pub services: u32,
    /// persistentvolumeclaims
    pub pvcs: u32,
}

/// Everything that differs between environments.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The environment.
    pub env: Environment,
    /// Region (`fr-par`).
    pub region: String,
    /// Zone (`fr-par-1`).
    pub zone: String,
    /// Kubernetes version: `latest` (the default: the newest minor the live `/versions` list
    /// still supports, chosen when the cluster is created and then kept current by
    /// auto-upgrade), or a pinned `x.y` / `x.y.z`, refused at plan time once deprecated.
    pub kubernetes_version: String,
    /// Pool node type.
    pub node_type: String,
    /// Pool size.
    pub pool_size: u32,
    /// Pool autoscaling minimum.
    pub pool_min: u32,
    /// Pool autoscaling maximum.
    pub pool_max: u32,
    /// Let the cluster autoscaler size the pool within `pool_min..=pool_max` (off: the pool
    /// stays at `pool_size` nodes).
    pub pool_autoscaling: bool,
    /// Cluster autoscaler `scale_down_utilization_threshold` (0 < t <= 1; `None`: Kapsule's
    /// default).
    pub scale_down_utilization_threshold: Option<f64>,
    /// Private network IPv4 subnet (explicit, so the database ACL matches it).
    pub subnet: String,
    /// Whether the stateful resources (cluster, database, private network) carry
    /// `prevent_destroy`. On by default; `kapstan down` lifts it (stack variable
    /// `prevent_destroy=false`) because tearing the environment down is what it is for.
    pub prevent_destroy: bool,
    /// Database node type.
    pub db_node_type: String,
    /// High availability (two nodes).
    pub db_ha: bool,
    /// `lssd` (local SSD) or `bssd` / `sbs_5k` (block).
    pub db_volume_type: String,
    /// Block volume size, when the volume is a block volume.
    pub db_volume_size_gb: Option<u64>,
    /// Backup every N hours.
    pub backup_frequency_hours: u32,
    /// Keep backups N days.
    pub backup_retention_days: u32,
    /// Keep backups in the same region.
    pub backup_same_region: bool,
    /// PostgreSQL settings (only ones Scaleway accepts).
    pub db_settings: BTreeMap<String, String>,
    /// Load balancer type.
    pub lb_type: String,
    /// Pod Security level of the namespaces.
    pub pod_security: PodSecurityLevel,
    /// Default-deny network policies with the allowances Coder needs.
    pub network_policies: bool,
    /// Quota of each namespace.
    pub quota: Quota,
    /// Coder chart version.
    pub coder_version: String,
    /// Coder replicas (one: HA replicas need an Enterprise licence).
    pub coder_replicas: u32,
    /// Coder resources (requests cpu, memory; limits cpu, memory).
    pub coder_resources: (String, String, String, String),
    /// Domain for the access URL (empty: the LB address is used).
    pub domain: String,
    /// Subdomain under `domain`.
    pub subdomain: String,
    /// How a domain deployment gets its certificate.
    pub tls: TlsSettings,
    /// GitHub OAuth: client id and the environment variable holding the client secret.
    pub github: Option<GithubSettings>,
    /// Built-in provisioner daemons per Coder replica (`CODER_PROVISIONER_DAEMONS`): how
    /// many template and workspace builds run at once.
    pub provisioner_daemons: u32,
    /// The first admin's password as a reference (`None`: kapstan generates one).
    pub admin_password: Option<SecretSource>,
    /// Single sign-on (`[oidc]`).
    pub oidc: Option<OidcSettings>,
    /// Git provider authentication for templates (`[[external_auth]]`).
    pub external_auth: Vec<ExternalAuthSettings>,
    /// Templates pushed by the app phase (names; empty means all).
    pub templates: Vec<String>,
    /// Metrics, logs and alerts in Scaleway Cockpit (`[monitoring]`).
    pub monitoring: super::monitoring::MonitoringSettings,
    /// Where the override file was read from, if any.
    pub overrides_from: Option<PathBuf>,
}

/// How a domain deployment is served over HTTPS (`[tls]` in `environments/<env>.toml`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// `acme` (default): DNS records and a certificate by ACME in the domain's Scaleway zone,
    /// served by Coder. `external`: no record, no certificate; the records to create are
    /// printed and TLS is the user's business.
    #[serde(default)]
    pub mode: TlsMode,
    /// ACME directory: `production` (Let's Encrypt, default), `staging` or a URL.
    pub directory: Option<String>,
    /// A PEM file of CA certificates trusted for the directory's TLS (private ACME servers).
    pub ca_bundle_file: Option<PathBuf>,
    /// Authoritative name servers (`HOST:PORT`) to check the challenge on; default the zone's.
    #[serde(default)]
    pub dns_servers: Vec<String>,
    /// Renew when fewer days than this are left (default 30).
    pub renew_before: Option<u32>,
    /// The content of `ca_bundle_file`, read when the profile is built.
    #[serde(skip)]
    pub ca_bundle_pem: Option<String>,
}

impl TlsSettings {
    /// Reads `ca_bundle_file` (relative to `project_dir`) into `ca_bundle_pem`.
    pub fn load_ca_bundle(&mut self, project_dir: &Path) -> Result<(), String> {
        let Some(f) = &self.ca_bundle_file else {
            self.ca_bundle_pem = None;
            return Ok(());
        };
        let path = if f.is_absolute() {
            f.clone()
        } else {
            project_dir.join(f)
        };
        self.ca_bundle_pem = Some(std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "tls.ca_bundle_file {} cannot be read ({e}); give a PEM file of the ACME server's CA certificates",
                path.display()
            )
        })?);
        Ok(())
    }
}

/// Where a domain deployment's certificate comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// kapstan issues it by ACME with DNS-01 in the Scaleway zone.
    #[default]
    Acme,
    /// The user terminates TLS and creates the DNS records.
    External,
}

impl TlsMode {
    /// The mode named `s` (`acme`, `external`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "acme" => Some(Self::Acme),
            "external" => Some(Self::External),
            _ => None,
        }
    }
}

impl Profile {
    /// Whether kapstan serves HTTPS itself: a domain with TLS by ACME.
    pub fn serves_tls(&self) -> bool {
        !self.domain.is_empty() && self.tls.mode == TlsMode::Acme
    }
}

/// GitHub OAuth settings (the secret itself comes from the environment, never from a file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSettings {
    /// OAuth app client id.
    pub client_id: String,
    /// Environment variable holding the client secret.
    #[serde(default = "default_github_secret_env")]
    pub client_secret_env: String,
    /// Organizations whose members may sign in.
    #[serde(default)]
    pub allowed_orgs: Vec<String>,
    /// Teams (`org/team`) whose members may sign in.
    #[serde(default)]
    pub allowed_teams: Vec<String>,
    /// Let new users sign up with GitHub.
    #[serde(default = "yes")]
    pub allow_signups: bool,
}

fn default_github_secret_env() -> String {
    "CODER_GITHUB_CLIENT_SECRET".into()
}

fn yes() -> bool {
    true
}

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Profile {
    /// The built-in profile of `env`.
    pub fn builtin(env: Environment) -> Self {
        let quota = |rc: &str, rm: &str, lc: &str, lm: &str, pods, services, pvcs| Quota {
            requests_cpu: rc.into(),
            requests_memory: rm.into(),
            limits_cpu: lc.into(),
            limits_memory: lm.into(),
            pods,
            services,
            pvcs,
        };
        let base = Profile {
            env,
            region: "fr-par".into(),
            zone: "fr-par-1".into(),
            kubernetes_version: kapstan_providers::scaleway::k8s_version::LATEST.into(),
            node_type: "GP1-XS".into(),
            pool_size: 2,
            pool_min: 1,
            pool_max: 5,
            pool_autoscaling: true,
            scale_down_utilization_threshold: None,
            subnet: "172.16.0.0/22".into(),
            prevent_destroy: true,
            db_node_type: "DB-DEV-S".into(),
            db_ha: false,
            db_volume_type: "lssd".into(),
            db_volume_size_gb: None,
            backup_frequency_hours: 24,
            backup_retention_days: 7,
            backup_same_region: true,
            db_settings: BTreeMap::new(),
            lb_type: "LB-S".into(),
            pod_security: PodSecurityLevel::None,
            network_policies: false,
            quota: quota("4", "8Gi", "8", "16Gi", 10, 5, 10),
            coder_version: "2.21.1".into(),
            coder_replicas: 1,
            coder_resources: ("250m".into(), "512Mi".into(), "1000m".into(), "2Gi".into()),
            domain: String::new(),
            subdomain: "coder-dev".into(),
            tls: TlsSettings::default(),
            github: None,
            provisioner_daemons: 3,
            admin_password: None,
            oidc: None,
            external_auth: vec![],
            templates: vec![],
            monitoring: super::monitoring::MonitoringSettings::builtin(env),
            overrides_from: None,
        };
        match env {
            Environment::Dev => base,
            Environment::Staging => Profile {
                node_type: "GP1-S".into(),
                pool_size: 3,
                pool_min: 2,
                pool_max: 8,
                subnet: "172.16.4.0/22".into(),
                db_node_type: "DB-GP-S".into(),
                backup_frequency_hours: 12,
                backup_retention_days: 30,
                // The original's pg_stat_monitor preload is not offered by Scaleway: only
                // settings the managed service accepts are kept.
                db_settings: settings(&[
                    ("max_connections", "300"),
                    ("log_min_duration_statement", "500"),
                    ("work_mem", "8192"),
                    ("maintenance_work_mem", "256"),
                    ("effective_cache_size", "512"),
                ]),
                pod_security: PodSecurityLevel::Baseline,
                network_policies: true,
                quota: quota("8", "16Gi", "16", "32Gi", 20, 10, 20),
                coder_resources: ("500m".into(), "1Gi".into(), "2000m".into(), "4Gi".into()),
                subdomain: "coder-staging".into(),
                ..base
            },
            Environment::Prod => Profile {
                node_type: "GP1-M".into(),
                pool_size: 5,
                pool_min: 3,
                pool_max: 15,
                subnet: "172.16.8.0/22".into(),
                db_node_type: "DB-GP-M".into(),
                db_ha: true,
                db_volume_type: "sbs_5k".into(),
                db_volume_size_gb: Some(250),
                backup_frequency_hours: 6,
                backup_retention_days: 90,
                backup_same_region: false,
                db_settings: settings(&[
                    ("max_connections", "500"),
                    ("log_min_duration_statement", "250"),
                    ("work_mem", "16384"),
                    ("maintenance_work_mem", "512"),
                    ("effective_cache_size", "2048"),
                ]),
                lb_type: "LB-GP-M".into(),
                pod_security: PodSecurityLevel::Restricted,
                network_policies: true,
                quota: quota("16", "32Gi", "32", "64Gi", 50, 20, 50),
                coder_resources: ("1000m".into(), "2Gi".into(), "4000m".into(), "8Gi".into()),
                // Coder's default of 3 per replica, raised where more people build at once.
                provisioner_daemons: 5,
                subdomain: "coder".into(),
                ..base
            },
        }
    }

    /// The profile of `env` with `project_dir/environments/<env>.toml` applied when present.
    pub fn load(env: Environment, project_dir: &Path) -> Result<Self, StackError> {
        let mut profile = Self::builtin(env);
        let path = project_dir
            .join("environments")
            .join(format!("{}.toml", env.name()));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(profile),
            Err(e) => {
                return Err(StackError::Overrides {
                    file: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        let overrides: Overrides = toml::from_str(&text).map_err(|e| StackError::Overrides {
            file: path.display().to_string(),
            message: located(&text, &e),
        })?;
        let autoscaling_given = overrides.pool.autoscaling;
        let admin_password = overrides.coder.admin_password.clone();
        let size_given = overrides.pool.size.is_some();
        let fail = |(table, key, message): (&str, &str, String)| StackError::Overrides {
            file: path.display().to_string(),
            message: match line_of(&text, table, key) {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            },
        };
        let monitoring = overrides.apply(&mut profile);
        monitoring
            .and_then(|()| profile.monitoring.validate())
            .map_err(|(key, message)| fail(("monitoring", key, message)))?;
        profile.overrides_from = Some(path.clone());
        profile
            .tls
            .load_ca_bundle(project_dir)
            .map_err(|message| StackError::Overrides {
                file: path.display().to_string(),
                message,
            })?;
        profile.normalise().map_err(fail)?;
        profile.check_day_two(&admin_password).map_err(fail)?;
        if !size_given && profile.pool_autoscaling && profile.pool_min <= profile.pool_max {
            // The initial size of an autoscaled pool follows the file's bounds.
            profile.pool_size = profile.pool_size.clamp(profile.pool_min, profile.pool_max);
        }
        if size_given && profile.pool_autoscaling {
            let why = if autoscaling_given == Some(true) {
                "`autoscaling = true`"
            } else {
                "autoscaling (on by default)"
            };
            return Err(fail((
                "pool",
                "size",
                format!(
                    "[pool] size = {} has no effect with {why}: the cluster autoscaler sizes the pool between min_size ({}) and max_size ({}); remove `size`, set min_size/max_size, or set `autoscaling = false` for a fixed pool",
                    profile.pool_size, profile.pool_min, profile.pool_max
                ),
            )));
        }
        profile.check().map_err(|message| StackError::Overrides {
            file: path.display().to_string(),
            message,
        })?;
        Ok(profile)
    }

    /// Puts the Scaleway identifiers an override file gave in the spelling the API uses (it
    /// compares them case-insensitively, so `gp1-xs` must not plan a new pool), and refuses
    /// unknown ones with the closest spellings. Errors are `(table, key, message)`.
    fn normalise(&mut self) -> Result<(), FileProblem> {
        self.normalise_location()?;
        self.normalise_types()?;
        self.check_coder_version()?;
        self.check_templates()
    }

    /// The region and the zone, which must be one of the region's.
    fn normalise_location(&mut self) -> Result<(), FileProblem> {
        use kapstan_providers::scaleway::{lb_ip, rdb_instance};
        let regions = rdb_instance::REGIONS;
        self.region = canonical(&self.region, regions, ignore_case).ok_or_else(|| {
            let hint = if self.region.matches('-').count() == 2 {
                " (that looks like another cloud's region name)"
            } else {
                ""
            };
            (
                "",
                "region",
                format!(
                    "region = {:?} is not a Scaleway region{hint}{}; use {}",
                    self.region,
                    did_you_mean(&self.region, regions),
                    regions.join(", ")
                ),
            )
        })?;
        let zones: Vec<&str> = lb_ip::LB_ZONES
            .iter()
            .copied()
            .filter(|z| z.starts_with(&format!("{}-", self.region)))
            .collect();
        self.zone = canonical(&self.zone, &zones, ignore_case).ok_or_else(|| {
            (
                "",
                "zone",
                format!(
                    "zone = {:?} is not a zone of region {} offering Kapsule and load balancers; use {}",
                    self.zone,
                    self.region,
                    zones.join(", ")
                ),
            )
        })?;
        Ok(())
    }

    /// The node types of the pool and the database, the volume type and the load balancer
    /// type.
    fn normalise_types(&mut self) -> Result<(), FileProblem> {
        use kapstan_providers::scaleway::{k8s_pool, lb, rdb_instance};
        // Node types are also written with `_` (`gp1_xs`).
        let loose = |a: &str, b: &str| {
            let n = |s: &str| s.to_ascii_lowercase().replace('_', "-");
            n(a) == n(b)
        };
        self.node_type = known_spelling(
            &self.node_type,
            k8s_pool::NODE_TYPES,
            &loose,
            ("pool", "node_type"),
            "Kapsule node type",
        )?;
        self.db_node_type = known_spelling(
            &self.db_node_type,
            rdb_instance::NODE_TYPES,
            &ignore_case,
            ("database", "node_type"),
            "database node type",
        )?;
        self.db_volume_type = known_spelling(
            &self.db_volume_type,
            &["lssd", "bssd", "sbs_5k", "sbs_15k"],
            &ignore_case,
            ("database", "volume_type"),
            "database volume type",
        )?;
        self.lb_type = known_spelling(
            &self.lb_type,
            lb::LB_TYPES,
            &ignore_case,
            ("load_balancer", "type"),
            "load balancer type",
        )?;
        Ok(())
    }

    /// `[coder] version` is a pinned chart version.
    fn check_coder_version(&self) -> Result<(), FileProblem> {
        let parts: Vec<&str> = self.coder_version.split('.').collect();
        let pinned = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if pinned {
            return Ok(());
        }
        Err((
            "coder",
            "version",
            format!(
                "[coder] version = {:?} is not a chart version: pin one such as \"2.21.1\" (a moving version like `latest` would change what an apply installs without any change to this file)",
                self.coder_version
            ),
        ))
    }

    /// `[templates] include` names shipped templates.
    fn check_templates(&self) -> Result<(), FileProblem> {
        if self.templates.is_empty() {
            return Ok(());
        }
        let shipped: Vec<String> = crate::templates::discover(crate::templates::shipped_root())
            .into_iter()
            .map(|t| t.name)
            .collect();
        let known: Vec<&str> = shipped.iter().map(String::as_str).collect();
        match self.templates.iter().find(|t| !known.contains(&t.as_str())) {
            Some(bad) => Err((
                "templates",
                "include",
                format!(
                    "[templates] include: {bad:?} is not a template{}; known templates: {}",
                    did_you_mean(bad, &known),
                    known.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Checks sign-on, external auth, provisioners and secret references, and parses the
    /// admin password reference. Errors are `(table, key, message)`.
    fn check_day_two(
        &mut self,
        admin_password: &Option<String>,
    ) -> Result<(), (&'static str, &'static str, String)> {
        check_provisioner_daemons(self.provisioner_daemons)?;
        if let Some(o) = &self.oidc {
            o.check()?;
        }
        for e in &self.external_auth {
            e.check(&self.external_auth)?;
        }
        if let Some(p) = admin_password {
            let source = SecretSource::parse(p, "coder", "admin_password")?;
            source.check_present("coder", "admin_password")?;
            self.admin_password = Some(source);
        }
        Ok(())
    }

    /// Consistency checks that no single field can express.
    pub fn check(&self) -> Result<(), String> {
        if !self.zone.starts_with(&format!("{}-", self.region)) {
            return Err(format!(
                "zone `{}` is not in region `{}`; use a zone such as {}-1",
                self.zone, self.region, self.region
            ));
        }
        if !(self.pool_min <= self.pool_size && self.pool_size <= self.pool_max) {
            return Err(format!(
                "pool sizes must satisfy min_size <= size <= max_size, got {} <= {} <= {}",
                self.pool_min, self.pool_size, self.pool_max
            ));
        }
        if let Some(t) = self.scale_down_utilization_threshold
            && !(t > 0.0 && t <= 1.0)
        {
            return Err(format!(
                "cluster.scale_down_utilization_threshold must be in (0, 1], got {t}"
            ));
        }
        if !self.domain.is_empty() && self.subdomain.is_empty() {
            return Err(format!(
                "domain `{}` is set without a subdomain; set coder.subdomain",
                self.domain
            ));
        }
        Ok(())
    }

    /// Stack names of the two phases.
    pub fn stack_name(&self, phase: Phase) -> String {
        format!("coder-{}-{}", self.env.name(), phase.name())
    }
}

/// A problem in an override file: `(table, key, message)`.
type FileProblem = (&'static str, &'static str, String);

/// The spelling in `known` that is the `same` as `value`.
fn canonical(value: &str, known: &[&str], same: impl Fn(&str, &str) -> bool) -> Option<String> {
    known.iter().find(|k| same(k, value)).map(|k| k.to_string())
}

fn ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `value` in the spelling of `known`, or an error at `[table] key` naming the closest
/// spellings of a `what`.
fn known_spelling(
    value: &str,
    known: &[&str],
    same: &dyn Fn(&str, &str) -> bool,
    (table, key): (&'static str, &'static str),
    what: &str,
) -> Result<String, FileProblem> {
    canonical(value, known, same).ok_or_else(|| {
        let close = did_you_mean(value, known);
        let fix = if close.is_empty() {
            format!("; see the {what}s in docs/platform.md")
        } else {
            close
        };
        (
            table,
            key,
            format!("[{table}] {key} = {value:?} is not a {what}{fix}"),
        )
    })
}

/// The two phases of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Network, cluster, database, load balancer.
    Infra,
    /// Namespaces, policies, Coder, admin, templates.
    App,
}

impl Phase {
    /// The phase's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Infra => "infra",
            Phase::App => "app",
        }
    }
}

/// The line of `key` in `[table]` (`""`: the top level) of an override file.
fn line_of(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            current = line
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                .to_string();
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        if (current == table && k == key) || (current.is_empty() && k == format!("{table}.{key}")) {
            return Some(n + 1);
        }
    }
    None
}

fn located(text: &str, e: &toml::de::Error) -> String {
    let msg = in_user_terms(e.message());
    match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line = text[..start].matches('\n').count() + 1;
            // Name the field as the user wrote it: `[pool] size`, not the Rust type.
            let header = text[..start]
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix('['))
                .map(|h| format!("[{}] ", h.trim_end_matches(']').trim()))
                .unwrap_or_default();
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().to_string());
            match key {
                Some(k) if !msg.starts_with("unknown field") => {
                    format!("line {line}: {header}{k}: {msg}")
                }
                _ => format!("line {line}: {msg}"),
            }
        }
        None => msg,
    }
}

/// serde's type names in words a user of the file knows.
fn in_user_terms(message: &str) -> String {
    [
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u8", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
        (
            "expected a sequence",
            "expected a list such as [\"a\", \"b\"]",
        ),
        ("expected a string", "expected a quoted string"),
    ]
    .iter()
    .fold(message.to_string(), |m, (from, to)| m.replace(from, to))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    region: Option<String>,
    zone: Option<String>,
    prevent_destroy: Option<bool>,
    #[serde(default)]
    cluster: ClusterOverrides,
    #[serde(default)]
    pool: PoolOverrides,
    #[serde(default)]
    database: DatabaseOverrides,
    #[serde(default)]
    load_balancer: LbOverrides,
    #[serde(default)]
    coder: CoderOverrides,
    #[serde(default)]
    oauth: OauthOverrides,
    #[serde(default)]
    oidc: Option<OidcSettings>,
    #[serde(default)]
    external_auth: Vec<ExternalAuthSettings>,
    #[serde(default)]
    templates: TemplateOverrides,
    tls: Option<TlsSettings>,
    #[serde(default)]
    monitoring: super::monitoring::MonitoringOverrides,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterOverrides {
    version: Option<String>,
    scale_down_utilization_threshold: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolOverrides {
    node_type: Option<String>,
    size: Option<u32>,
    min_size: Option<u32>,
    max_size: Option<u32>,
    autoscaling: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseOverrides {
    node_type: Option<String>,
    ha: Option<bool>,
    volume_type: Option<String>,
    volume_size_in_gb: Option<u64>,
    backup_frequency_hours: Option<u32>,
    backup_retention_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LbOverrides {
    #[serde(rename = "type")]
    lb_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoderOverrides {
    version: Option<String>,
    provisioner_daemons: Option<u32>,
    admin_password: Option<String>,
    domain: Option<String>,
    subdomain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OauthOverrides {
    github: Option<GithubSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateOverrides {
    include: Option<Vec<String>>,
}

impl Overrides {
    /// Applies the file; the `[monitoring]` part can fail (an unknown collector target).
    fn apply(self, p: &mut Profile) -> Result<(), (&'static str, String)> {
        if let Some(v) = self.region {
            p.region = v;
        }
        if let Some(v) = self.zone {
            p.zone = v;
        }
        if let Some(v) = self.prevent_destroy {
            p.prevent_destroy = v;
        }
        if let Some(v) = self.cluster.version {
            p.kubernetes_version = v;
        }
        if let Some(v) = self.pool.node_type {
            p.node_type = v;
        }
        if let Some(v) = self.pool.size {
            p.pool_size = v;
        }
        if let Some(v) = self.pool.min_size {
            p.pool_min = v;
        }
        if let Some(v) = self.pool.max_size {
            p.pool_max = v;
        }
        if let Some(v) = self.pool.autoscaling {
            p.pool_autoscaling = v;
        }
        if let Some(v) = self.cluster.scale_down_utilization_threshold {
            p.scale_down_utilization_threshold = Some(v);
        }
        if let Some(v) = self.database.node_type {
            p.db_node_type = v;
        }
        if let Some(v) = self.database.ha {
            p.db_ha = v;
        }
        if let Some(v) = self.database.volume_type {
            p.db_volume_type = v;
        }
        if let Some(v) = self.database.volume_size_in_gb {
            p.db_volume_size_gb = Some(v);
        }
        if let Some(v) = self.database.backup_frequency_hours {
            p.backup_frequency_hours = v;
        }
        if let Some(v) = self.database.backup_retention_days {
            p.backup_retention_days = v;
        }
        if let Some(v) = self.load_balancer.lb_type {
            p.lb_type = v;
        }
        if let Some(v) = self.coder.version {
            p.coder_version = v;
        }
        if let Some(v) = self.coder.domain {
            p.domain = v;
        }
        if let Some(v) = self.coder.subdomain {
            p.subdomain = v;
        }
        if let Some(n) = self.coder.provisioner_daemons {
            p.provisioner_daemons = n;
        }
        if let Some(o) = self.oidc {
            p.oidc = Some(o);
        }
        if !self.external_auth.is_empty() {
            p.external_auth = self.external_auth;
        }
        if let Some(g) = self.oauth.github {
            p.github = Some(g);
        }
        if let Some(t) = self.templates.include {
            p.templates = t;
        }
        if let Some(t) = self.tls {
            p.tls = t;
        }
        self.monitoring.apply(&mut p.monitoring)
    }
}
