//! Scaleway client configuration: flags > `SCW_*` environment > `config.yaml` profile > defaults.
//!
//! The environment is read through [`EnvSource`] so tests (and embedders) can pass a map
//! instead of mutating the process environment.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::locality::{LocalityError, Region, Zone};
use super::secret::{SecretKey, is_uuid};

/// Default API endpoint.
pub const DEFAULT_API_URL: &str = "https://api.scaleway.com";
/// Default region when none is configured anywhere.
pub const DEFAULT_REGION: &str = "fr-par";
/// Default zone when neither a zone nor a region is configured.
pub const DEFAULT_ZONE: &str = "fr-par-1";

/// Where environment variables come from.
pub trait EnvSource: Send + Sync {
    /// The value of `name`, or `None` when unset. Empty values count as unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl EnvSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// Explicit settings (command-line flags or an embedding program); they win over everything.
#[derive(Debug, Clone, Default)]
pub struct ConfigOverrides {
    /// Access key (`SCW…`), only used for Object Storage signatures.
    pub access_key: Option<String>,
    /// Secret key sent as `X-Auth-Token`.
    pub secret_key: Option<SecretKey>,
    /// Project that created resources belong to.
    pub project_id: Option<String>,
    /// Organization ID.
    pub organization_id: Option<String>,
    /// Default region.
    pub region: Option<String>,
    /// Default zone.
    pub zone: Option<String>,
    /// API endpoint, e.g. a local sandbox.
    pub api_url: Option<String>,
    /// Profile of the config file to use.
    pub profile: Option<String>,
    /// Config file to read instead of the default location.
    pub config_path: Option<PathBuf>,
}

/// Where a configuration value came from, for error messages and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// An explicit override (flag).
    Flag,
    /// An environment variable, by name.
    Env(&'static str),
    /// A profile of the config file.
    Profile(String),
    /// A built-in default.
    Default,
    /// Derived from another setting (region from zone, zone from region, project from
    /// organization).
    Derived,
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Flag => f.write_str("flag"),
            ConfigSource::Env(name) => write!(f, "environment variable {name}"),
            ConfigSource::Profile(name) => write!(f, "profile {name:?}"),
            ConfigSource::Default => f.write_str("default"),
            ConfigSource::Derived => f.write_str("derived"),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Credentials (secret key and/or project) are missing; the message names what to set.
    #[error("{0}")]
    MissingCredentials(String),
    /// The secret key is not a UUID.
    #[error(
        "the Scaleway secret key from {origin} is malformed: a secret key is a UUID \
         (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); did you swap the access key and the secret key?"
    )]
    InvalidSecretKey {
        /// Where the key came from.
        origin: ConfigSource,
    },
    /// The access key does not look like `SCW` followed by 17 upper-case letters or digits.
    #[error(
        "the Scaleway access key from {origin} is malformed: expected `SCW` followed by 17 \
         upper-case letters or digits, optionally `@<project-id>`"
    )]
    InvalidAccessKey {
        /// Where the key came from.
        origin: ConfigSource,
    },
    /// A project or organization ID is not a UUID.
    #[error("the {field} from {origin} is not a UUID: {value:?}")]
    InvalidId {
        /// Which field.
        field: &'static str,
        /// Where it came from.
        origin: ConfigSource,
        /// The value.
        value: String,
    },
    /// A region or zone is malformed, or the zone is outside the region.
    #[error("{error} (region from {region_source}, zone from {zone_source})")]
    Locality {
        /// The problem.
        error: LocalityError,
        /// Where the region came from.
        region_source: ConfigSource,
        /// Where the zone came from.
        zone_source: ConfigSource,
    },
    /// The API URL is not an absolute http(s) URL.
    #[error("invalid Scaleway API URL {url:?} from {origin}: {reason}")]
    InvalidApiUrl {
        /// The URL.
        url: String,
        /// Where it came from.
        origin: ConfigSource,
        /// Why it was rejected.
        reason: String,
    },
    /// The config file could not be read or parsed.
    #[error("cannot read Scaleway config file {}: {reason}", .path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The requested profile does not exist in the config file.
    #[error(
        "Scaleway profile {name:?} (from {origin}) not found in {}; available profiles: {available}",
        .path.display()
    )]
    ProfileNotFound {
        /// The profile asked for.
        name: String,
        /// Where the name came from.
        origin: ConfigSource,
        /// The config file looked at.
        path: PathBuf,
        /// Comma-separated names of the profiles that exist.
        available: String,
    },
}

/// One profile of `config.yaml`; unknown keys (telemetry, S3 settings…) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
struct RawProfile {
    access_key: Option<String>,
    secret_key: Option<String>,
    default_organization_id: Option<String>,
    default_project_id: Option<String>,
    default_region: Option<String>,
    default_zone: Option<String>,
    api_url: Option<String>,
}

impl RawProfile {
    /// `self` with every unset field taken from `base` (a named profile over the top level).
    fn merged_over(self, base: &RawProfile) -> RawProfile {
        RawProfile {
            access_key: self.access_key.or_else(|| base.access_key.clone()),
            secret_key: self.secret_key.or_else(|| base.secret_key.clone()),
            default_organization_id: self
                .default_organization_id
                .or_else(|| base.default_organization_id.clone()),
            default_project_id: self
                .default_project_id
                .or_else(|| base.default_project_id.clone()),
            default_region: self.default_region.or_else(|| base.default_region.clone()),
            default_zone: self.default_zone.or_else(|| base.default_zone.clone()),
            api_url: self.api_url.or_else(|| base.api_url.clone()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawConfigFile {
    #[serde(flatten)]
    top: RawProfile,
    active_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

/// A resolved, validated Scaleway configuration.
#[derive(Clone)]
pub struct ScalewayConfig {
    /// Access key, needed only for Object Storage.
    pub access_key: Option<String>,
    /// Secret key (redacted in `Debug`).
    pub secret_key: SecretKey,
    /// Project that created resources belong to.
    pub project_id: String,
    /// Organization ID, when known.
    pub organization_id: Option<String>,
    /// Default region.
    pub region: Region,
    /// Default zone, always inside [`ScalewayConfig::region`].
    pub zone: Zone,
    /// API endpoint without trailing slash.
    pub api_url: String,
    /// The profile that was used, if a config file was read.
    pub profile: Option<String>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Where the secret key came from.
    pub secret_key_source: ConfigSource,
    /// Where the region came from.
    pub region_source: ConfigSource,
    /// Where the zone came from.
    pub zone_source: ConfigSource,
}

impl fmt::Debug for ScalewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScalewayConfig")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .field("project_id", &self.project_id)
            .field("organization_id", &self.organization_id)
            .field("region", &self.region)
            .field("zone", &self.zone)
            .field("api_url", &self.api_url)
            .field("profile", &self.profile)
            .field("config_file", &self.config_file)
            .finish()
    }
}

/// A value and where it came from.
struct Sourced<T> {
    value: T,
    source: ConfigSource,
}

impl Sourced<String> {
    /// The value parsed, from the same source.
    fn parse<T, E>(self, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<Sourced<T>, E> {
        Ok(Sourced {
            value: parse(&self.value)?,
            source: self.source,
        })
    }
}

/// Looks up the first set variable among `names`, warning when a legacy name is used.
fn env_first(env: &dyn EnvSource, names: &[&'static str]) -> Option<Sourced<String>> {
    names.iter().enumerate().find_map(|(i, name)| {
        env.var(name).map(|value| {
            if i > 0 {
                tracing::warn!(
                    variable = name,
                    replacement = names[0],
                    "deprecated Scaleway environment variable"
                );
            }
            Sourced {
                value,
                source: ConfigSource::Env(name),
            }
        })
    })
}

/// flag > env > profile, as a sourced value.
fn pick(
    flag: Option<String>,
    env: Option<Sourced<String>>,
    profile_value: Option<String>,
    profile_name: &str,
) -> Option<Sourced<String>> {
    flag.map(|value| Sourced {
        value,
        source: ConfigSource::Flag,
    })
    .or(env)
    .or_else(|| {
        profile_value.map(|value| Sourced {
            value,
            source: ConfigSource::Profile(profile_name.to_owned()),
        })
    })
}

/// Where the config file is, and whether its absence is an error (explicit path).
fn config_path(overrides: &ConfigOverrides, env: &dyn EnvSource) -> Option<(PathBuf, bool)> {
    if let Some(p) = &overrides.config_path {
        return Some((p.clone(), true));
    }
    if let Some(p) = env.var("SCW_CONFIG_PATH") {
        return Some((PathBuf::from(p), true));
    }
    let dir = if let Some(xdg) = env.var("XDG_CONFIG_HOME") {
        PathBuf::from(xdg).join("scw")
    } else {
        PathBuf::from(env.var("HOME").or_else(|| env.var("USERPROFILE"))?)
            .join(".config")
            .join("scw")
    };
    let yaml = dir.join("config.yaml");
    if yaml.exists() {
        return Some((yaml, false));
    }
    let yml = dir.join("config.yml");
    if yml.exists() {
        return Some((yml, false));
    }
    Some((yaml, false))
}

fn read_config_file(path: &Path) -> Result<RawConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::ConfigFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if text.trim().is_empty() {
        return Ok(RawConfigFile::default());
    }
    serde_norway::from_str(&text).map_err(|e| ConfigError::ConfigFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn is_access_key(s: &str) -> bool {
    let key = s
        .split_once('@')
        .map_or(s, |(k, project)| if is_uuid(project) { k } else { "" });
    key.len() == 20
        && key.starts_with("SCW")
        && key[3..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl ScalewayConfig {
    /// Resolves the configuration from the process environment and the default config file.
    pub fn from_env(overrides: &ConfigOverrides) -> Result<Self, ConfigError> {
        Self::load(overrides, &ProcessEnv)
    }

    /// Resolves the configuration: `overrides` > `env` (`SCW_*`, then legacy names) > the
    /// selected profile of the config file > defaults (`fr-par`, `fr-par-1`,
    /// `https://api.scaleway.com`).
    pub fn load(overrides: &ConfigOverrides, env: &dyn EnvSource) -> Result<Self, ConfigError> {
        let path = config_path(overrides, env);
        let (file, file_path) = match &path {
            Some((p, explicit)) if *explicit || p.exists() => {
                if !p.exists() {
                    return Err(ConfigError::ConfigFile {
                        path: p.clone(),
                        reason: "file does not exist".into(),
                    });
                }
                (Some(read_config_file(p)?), Some(p.clone()))
            }
            _ => (None, None),
        };
        let display_path = file_path
            .clone()
            .or_else(|| path.as_ref().map(|(p, _)| p.clone()))
            .unwrap_or_else(|| PathBuf::from("~/.config/scw/config.yaml"));
        let (profile_name, profile) = select_profile(overrides, env, file.as_ref(), &display_path)?;
        let raw = Resolved::pick_all(overrides, env, &profile, &profile_name);
        Self::checked(raw, profile_name, display_path, file_path)
    }
}

/// Every setting as picked from its highest-precedence source, not validated yet.
struct Resolved {
    access_key: Option<Sourced<String>>,
    secret_key: Option<Sourced<String>>,
    project_id: Option<Sourced<String>>,
    organization_id: Option<Sourced<String>>,
    region: Option<Sourced<String>>,
    zone: Option<Sourced<String>>,
    api_url: Sourced<String>,
}

/// The profile the flags, `SCW_PROFILE` or the file's `active_profile` select, merged over
/// the file's top level.
fn select_profile(
    overrides: &ConfigOverrides,
    env: &dyn EnvSource,
    file: Option<&RawConfigFile>,
    display_path: &Path,
) -> Result<(String, RawProfile), ConfigError> {
    let display_path = display_path.to_path_buf();
    {
        let requested_profile = overrides
            .profile
            .clone()
            .map(|n| (n, ConfigSource::Flag))
            .or_else(|| {
                env.var("SCW_PROFILE")
                    .map(|n| (n, ConfigSource::Env("SCW_PROFILE")))
            })
            .or_else(|| {
                file.as_ref()
                    .and_then(|f| f.active_profile.clone())
                    .map(|n| (n, ConfigSource::Profile("active_profile".into())))
            });

        let (profile_name, profile) = match (file, requested_profile) {
            (Some(f), Some((name, _))) if name == "default" => {
                ("default".to_owned(), f.top.clone())
            }
            (Some(f), Some((name, source))) => match f.profiles.get(&name) {
                Some(p) => (name, p.clone().merged_over(&f.top)),
                None => {
                    return Err(ConfigError::ProfileNotFound {
                        name,
                        origin: source,
                        path: display_path,
                        available: std::iter::once("default".to_owned())
                            .chain(f.profiles.keys().cloned())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            },
            (None, Some((name, source))) if name != "default" => {
                return Err(ConfigError::ProfileNotFound {
                    name,
                    origin: source,
                    path: display_path,
                    available: "none (the file does not exist)".into(),
                });
            }
            (Some(f), None) => ("default".to_owned(), f.top.clone()),
            (None, _) => ("default".to_owned(), RawProfile::default()),
        };
        Ok((profile_name, profile))
    }
}

impl Resolved {
    /// Picks every setting: flags > environment (`SCW_*`, then legacy names) > profile.
    fn pick_all(
        overrides: &ConfigOverrides,
        env: &dyn EnvSource,
        profile: &RawProfile,
        profile_name: &str,
    ) -> Self {
        let profile_name = profile_name.to_string();

        // SCALEWAY_ACCESS_KEY historically held the secret token in old Terraform setups:
        // decide by shape so a UUID in it is never sent as an S3 access key id.
        let legacy_access = env.var("SCALEWAY_ACCESS_KEY");
        let legacy_access_is_secret = legacy_access.as_deref().is_some_and(is_uuid);

        let access_env = env_first(env, &["SCW_ACCESS_KEY"]).or_else(|| {
            legacy_access
                .clone()
                .filter(|_| !legacy_access_is_secret)
                .map(|value| Sourced {
                    value,
                    source: ConfigSource::Env("SCALEWAY_ACCESS_KEY"),
                })
        });
        let secret_env = env_first(env, &["SCW_SECRET_KEY", "SCW_TOKEN", "SCALEWAY_TOKEN"])
            .or_else(|| {
                legacy_access
                    .filter(|_| legacy_access_is_secret)
                    .map(|value| Sourced {
                        value,
                        source: ConfigSource::Env("SCALEWAY_ACCESS_KEY"),
                    })
            });

        // A setting read from the flag, else the first of its variables, else the profile.
        let from_env = |flag: &Option<String>, vars: &[&'static str], file: &Option<String>| {
            pick(
                flag.clone(),
                env_first(env, vars),
                file.clone(),
                &profile_name,
            )
        };
        Resolved {
            access_key: pick(
                overrides.access_key.clone(),
                access_env,
                profile.access_key.clone(),
                &profile_name,
            ),
            secret_key: match &overrides.secret_key {
                Some(k) => Some(Sourced {
                    value: k.expose().to_owned(),
                    source: ConfigSource::Flag,
                }),
                None => pick(None, secret_env, profile.secret_key.clone(), &profile_name),
            },
            project_id: from_env(
                &overrides.project_id,
                &["SCW_DEFAULT_PROJECT_ID"],
                &profile.default_project_id,
            ),
            organization_id: from_env(
                &overrides.organization_id,
                &[
                    "SCW_DEFAULT_ORGANIZATION_ID",
                    "SCW_ORGANIZATION",
                    "SCALEWAY_ORGANIZATION",
                ],
                &profile.default_organization_id,
            ),
            region: from_env(
                &overrides.region,
                &["SCW_DEFAULT_REGION", "SCW_REGION", "SCALEWAY_REGION"],
                &profile.default_region,
            ),
            zone: from_env(
                &overrides.zone,
                &["SCW_DEFAULT_ZONE"],
                &profile.default_zone,
            ),
            api_url: from_env(&overrides.api_url, &["SCW_API_URL"], &profile.api_url).unwrap_or(
                Sourced {
                    value: DEFAULT_API_URL.to_owned(),
                    source: ConfigSource::Default,
                },
            ),
        }
    }
}

impl ScalewayConfig {
    /// Validates what was picked, credentials first: they are the most common first-run
    /// problem.
    fn checked(
        raw: Resolved,
        profile_name: String,
        display_path: PathBuf,
        file_path: Option<PathBuf>,
    ) -> Result<Self, ConfigError> {
        let Resolved {
            access_key,
            secret_key,
            project_id,
            organization_id,
            region,
            zone,
            api_url,
        } = raw;
        // Credentials first: they are the most common first-run problem.
        let project_id = project_id.or_else(|| {
            // The default Project of an Organization carries the Organization's ID.
            organization_id.as_ref().map(|o| Sourced {
                value: o.value.clone(),
                source: ConfigSource::Derived,
            })
        });
        if secret_key.is_none() || project_id.is_none() {
            return Err(ConfigError::MissingCredentials(
                missing_credentials_message(
                    secret_key.is_none(),
                    project_id.is_none(),
                    &profile_name,
                    &display_path,
                    file_path.is_some(),
                ),
            ));
        }
        let (secret_key, project_id) = (
            secret_key.expect("checked above"),
            project_id.expect("checked above"),
        );
        let secret = SecretKey::new(secret_key.value);
        if !secret.is_well_formed() {
            return Err(ConfigError::InvalidSecretKey {
                origin: secret_key.source,
            });
        }
        if let Some(a) = &access_key
            && !is_access_key(&a.value)
        {
            return Err(ConfigError::InvalidAccessKey {
                origin: a.source.clone(),
            });
        }
        for (field, value) in [
            ("project ID", Some(&project_id)),
            ("organization ID", organization_id.as_ref()),
        ] {
            if let Some(v) = value
                && !is_uuid(&v.value)
            {
                return Err(ConfigError::InvalidId {
                    field,
                    origin: v.source.clone(),
                    value: v.value.clone(),
                });
            }
        }

        let (region, zone) = resolve_locality(region, zone)?;
        let api_url = validate_api_url(api_url)?;

        Ok(ScalewayConfig {
            access_key: access_key.map(|a| a.value),
            secret_key: secret,
            project_id: project_id.value,
            organization_id: organization_id.map(|o| o.value),
            region: region.value,
            zone: zone.value,
            api_url,
            profile: file_path.as_ref().map(|_| profile_name),
            config_file: file_path,
            secret_key_source: secret_key.source,
            region_source: region.source,
            zone_source: zone.source,
        })
    }
}

fn missing_credentials_message(
    secret_missing: bool,
    project_missing: bool,
    profile: &str,
    path: &Path,
    file_exists: bool,
) -> String {
    let mut vars = Vec::new();
    let mut keys = Vec::new();
    let mut what = Vec::new();
    if secret_missing {
        what.push("secret key");
        vars.push("SCW_SECRET_KEY");
        keys.push("secret_key");
    }
    if project_missing {
        what.push("project ID");
        vars.push("SCW_DEFAULT_PROJECT_ID");
        keys.push("default_project_id");
    }
    let file_note = if file_exists {
        format!("in profile {profile:?} of {}", path.display())
    } else {
        format!(
            "in profile {profile:?} of {} (the file does not exist; `scw init` creates it)",
            path.display()
        )
    };
    format!(
        "no Scaleway {what} configured: set {vars} in the environment (or pass them as flags), \
         or set {keys} {file_note}; choose another profile with SCW_PROFILE or a file with \
         SCW_CONFIG_PATH",
        what = what.join(" or "),
        vars = vars.join(" and "),
        keys = keys.join(" and "),
    )
}

fn resolve_locality(
    region: Option<Sourced<String>>,
    zone: Option<Sourced<String>>,
) -> Result<(Sourced<Region>, Sourced<Zone>), ConfigError> {
    let region_source = region
        .as_ref()
        .map_or(ConfigSource::Default, |r| r.source.clone());
    let zone_source = zone
        .as_ref()
        .map_or(ConfigSource::Default, |z| z.source.clone());
    let wrap = |error| ConfigError::Locality {
        error,
        region_source: region_source.clone(),
        zone_source: zone_source.clone(),
    };
    let zone = zone
        .map(|z| z.parse(Zone::parse))
        .transpose()
        .map_err(wrap)?;
    let region = region
        .map(|r| r.parse(Region::parse))
        .transpose()
        .map_err(wrap)?;
    let (region, zone) = match (region, zone) {
        (Some(r), Some(z)) => {
            r.value.check_zone(&z.value).map_err(wrap)?;
            (r, z)
        }
        (Some(r), None) => {
            let z = r.value.first_zone();
            (
                r,
                Sourced {
                    value: z,
                    source: ConfigSource::Derived,
                },
            )
        }
        (None, Some(z)) => (
            Sourced {
                value: z.value.region(),
                source: ConfigSource::Derived,
            },
            z,
        ),
        (None, None) => (
            Sourced {
                value: Region::parse(DEFAULT_REGION).map_err(wrap)?,
                source: ConfigSource::Default,
            },
            Sourced {
                value: Zone::parse(DEFAULT_ZONE).map_err(wrap)?,
                source: ConfigSource::Default,
            },
        ),
    };
    Ok((region, zone))
}

fn validate_api_url(url: Sourced<String>) -> Result<String, ConfigError> {
    let trimmed = url.value.trim_end_matches('/').to_owned();
    let reject = |reason: &str| ConfigError::InvalidApiUrl {
        url: url.value.clone(),
        origin: url.source.clone(),
        reason: reason.to_owned(),
    };
    let parsed = reqwest::Url::parse(&trimmed).map_err(|e| reject(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(reject("the scheme must be http or https"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(reject("the URL must not carry a query or fragment"));
    }
    Ok(trimmed)
}
