//! Where state lives: the `[state]` table of `kapstan.toml`, `KAPSTAN_STATE`, `--state`, and
//! opening the configured store.
//!
//! Precedence, highest first: the `--state` string, the `KAPSTAN_STATE` variable, the `[state]`
//! table of `kapstan.toml`, the default (a local store in `.kapstan`). A URL given through
//! `--state` or `KAPSTAN_STATE` replaces the whole table; it is not merged with it.
//!
//! URL syntax: `local`, `local:DIR`, or
//! `s3://BUCKET[/PREFIX][?region=R&endpoint=URL&path_style=BOOL&allow_http=BOOL&lock=BOOL&lease=SECONDS]`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::s3::S3Store;
use crate::{KeySource, LocalStore, StateError, StateStore};

/// Default directory of the local store, relative to the project root.
pub const DEFAULT_LOCAL_DIR: &str = ".kapstan";
/// Environment variable overriding the configured store (same syntax as `--state`).
pub const STATE_VARIABLE: &str = "KAPSTAN_STATE";
/// The project configuration file, at the project root.
pub const CONFIG_FILE: &str = "kapstan.toml";
/// Scaleway regions with Object Storage.
pub const SCALEWAY_REGIONS: &[&str] = &["fr-par", "nl-ams", "pl-waw"];
/// Region used when none is configured.
pub const DEFAULT_REGION: &str = "fr-par";

/// Where a project's state lives.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    /// The local redb store in a directory.
    Local {
        /// The store directory (`.kapstan` by default).
        dir: PathBuf,
    },
    /// A bucket of an S3-compatible object store (Scaleway Object Storage by default).
    S3(S3Config),
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self::Local {
            dir: PathBuf::from(DEFAULT_LOCAL_DIR),
        }
    }
}

/// Settings of the S3 store.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
    /// Region slug, used for the default endpoint and as the SigV4 signing region.
    pub region: String,
    /// Endpoint URL of another S3 service; `None` means Scaleway `https://s3.{region}.scw.cloud`.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted style (implied
    /// for an IP-address endpoint: see [`S3Config::uses_path_style`]).
    pub path_style: bool,
    /// Allow a plain `http://` endpoint that is not a loopback address.
    pub allow_http: bool,
    /// Whether to lock stacks (and to require conditional writes); `false` is the explicit
    /// escape for stores that do not enforce them.
    pub lock: bool,
    /// Lease of a lock: it is renewed every third of it while held and can be taken over once
    /// it has run out.
    pub lease: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// How many times a failed request is retried.
    pub max_retries: usize,
    /// Overall time budget for the retries of one request.
    pub retry_timeout: Duration,
}

impl S3Config {
    /// Settings for `bucket` in `region` with every other field at its default.
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: String::new(),
            region: region.into(),
            endpoint: None,
            path_style: false,
            allow_http: false,
            lock: true,
            lease: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        }
    }

    /// Whether this targets Scaleway Object Storage (no custom endpoint).
    pub fn is_scaleway(&self) -> bool {
        self.endpoint.is_none()
    }

    /// The service endpoint without the bucket (`https://s3.fr-par.scw.cloud`).
    pub fn service_endpoint(&self) -> String {
        match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("https://s3.{}.scw.cloud", self.region),
        }
    }

    /// Whether requests are addressed path-style: when `path_style` is set, and always for an
    /// endpoint that is an IP address, whose host name cannot carry the bucket
    /// (`BUCKET.127.0.0.1` is no host). The AWS SDKs' S3 endpoint rules do the same, so an
    /// `endpoint=http://127.0.0.1:9000` that works with boto3 or the AWS CLI works here.
    pub fn uses_path_style(&self) -> bool {
        self.path_style
            || self
                .endpoint
                .as_deref()
                .and_then(|e| url::Url::parse(e).ok())
                .is_some_and(|u| matches!(u.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))))
    }

    /// The URL of the bucket itself, path or virtual-hosted style.
    pub fn bucket_url(&self) -> Result<url::Url, StateError> {
        let base = url::Url::parse(&self.service_endpoint()).map_err(|e| {
            StateError::Config(format!(
                "endpoint `{}` is not a URL ({e}); write it like `https://s3.fr-par.scw.cloud`",
                self.service_endpoint()
            ))
        })?;
        if self.uses_path_style() {
            let mut url = base;
            let path = format!("{}/{}", url.path().trim_end_matches('/'), self.bucket);
            url.set_path(&path);
            Ok(url)
        } else {
            let host = base.host_str().unwrap_or_default();
            let mut url = base.clone();
            url.set_host(Some(&format!("{}.{host}", self.bucket)))
                .map_err(|e| StateError::Config(format!("bucket `{}`: {e}", self.bucket)))?;
            Ok(url)
        }
    }

    /// Checks every field, with an error naming the field, the value and the fix.
    pub fn validate(&self) -> Result<(), StateError> {
        validate_bucket(&self.bucket)?;
        validate_prefix(&self.prefix)?;
        if self.region.is_empty()
            || !self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(StateError::Config(format!(
                "region `{}` is not a region slug; use one of {} (or the region of your S3 service)",
                self.region,
                SCALEWAY_REGIONS.join(", ")
            )));
        }
        match &self.endpoint {
            None => {
                if !SCALEWAY_REGIONS.contains(&self.region.as_str()) {
                    return Err(StateError::Config(format!(
                        "region `{}` has no Scaleway Object Storage; use one of {}, or set `endpoint` for another S3 service",
                        self.region,
                        SCALEWAY_REGIONS.join(", ")
                    )));
                }
            }
            Some(endpoint) => {
                let url = url::Url::parse(endpoint).map_err(|e| {
                    StateError::Config(format!(
                        "endpoint `{endpoint}` is not a URL ({e}); write it like `https://s3.example.com` or `http://127.0.0.1:9000`"
                    ))
                })?;
                match url.scheme() {
                    "https" => {}
                    "http" if self.allow_http || is_loopback(&url) => {}
                    "http" => {
                        return Err(StateError::Config(format!(
                            "endpoint `{endpoint}` uses plain http to a remote host: credentials and state would travel unencrypted; use https, or set `allow_http = true` if you really mean it"
                        )));
                    }
                    other => {
                        return Err(StateError::Config(format!(
                            "endpoint `{endpoint}` has scheme `{other}`; use https:// (or http:// for 127.0.0.1)"
                        )));
                    }
                }
                if url.host_str().is_none() {
                    return Err(StateError::Config(format!(
                        "endpoint `{endpoint}` has no host"
                    )));
                }
            }
        }
        if self.lease < Duration::from_secs(1) {
            return Err(StateError::Config(format!(
                "lease of {} ms is too short; use at least 1 second (default 60)",
                self.lease.as_millis()
            )));
        }
        Ok(())
    }

    /// The URL form (`s3://bucket/prefix?region=...`), as accepted by [`StoreConfig::parse`].
    pub fn to_url(&self) -> String {
        let mut out = format!("s3://{}", self.bucket);
        if !self.prefix.is_empty() {
            out.push('/');
            out.push_str(&self.prefix);
        }
        let mut query = vec![format!("region={}", self.region)];
        if let Some(e) = &self.endpoint {
            query.push(format!("endpoint={e}"));
        }
        if self.path_style {
            query.push("path_style=true".into());
        }
        if self.allow_http {
            query.push("allow_http=true".into());
        }
        if !self.lock {
            query.push("lock=false".into());
        }
        if self.lease != Duration::from_secs(60) {
            query.push(format!("lease={}", self.lease.as_secs()));
        }
        out.push('?');
        out.push_str(&query.join("&"));
        out
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn validate_bucket(bucket: &str) -> Result<(), StateError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && bucket
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && bucket
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(StateError::Config(format!(
            "bucket `{bucket}` is not a valid bucket name; use 3 to 63 lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"
        )))
    }
}

fn validate_prefix(prefix: &str) -> Result<(), StateError> {
    if prefix.is_empty() {
        return Ok(());
    }
    let ok = prefix.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    if ok {
        Ok(())
    } else {
        Err(StateError::Config(format!(
            "prefix `{prefix}` is not valid; use `/`-separated segments of letters, digits, `-`, `_` and `.` (no empty, `.` or `..` segment)"
        )))
    }
}

fn parse_bool(field: &str, value: &str) -> Result<bool, StateError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(StateError::Config(format!(
            "`{field}={value}` is not a boolean; use `{field}=true` or `{field}=false`"
        ))),
    }
}

/// The `[state]` table as written in `kapstan.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateTable {
    backend: Option<String>,
    dir: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    path_style: Option<bool>,
    allow_http: Option<bool>,
    lock: Option<bool>,
    lease_seconds: Option<u64>,
}

impl StoreConfig {
    /// Parses a `--state` / `KAPSTAN_STATE` string: `local`, `local:DIR` or an `s3://` URL.
    pub fn parse(text: &str) -> Result<Self, StateError> {
        let text = text.trim();
        if text == "local" {
            return Ok(Self::default());
        }
        if let Some(dir) = text.strip_prefix("local:") {
            if dir.is_empty() {
                return Err(StateError::Config(
                    "`local:` needs a directory, e.g. `local:.kapstan`".into(),
                ));
            }
            return Ok(Self::Local {
                dir: PathBuf::from(dir),
            });
        }
        if !text.starts_with("s3://") {
            return Err(StateError::Config(format!(
                "`{text}` is not a state location; use `local`, `local:DIR` or `s3://BUCKET/PREFIX?region=fr-par`"
            )));
        }
        let url = url::Url::parse(text).map_err(|e| {
            StateError::Config(format!(
                "`{text}` is not a valid URL ({e}); write it like `s3://my-bucket/kapstan?region=fr-par`"
            ))
        })?;
        let bucket = url.host_str().unwrap_or_default().to_string();
        if bucket.is_empty() {
            return Err(StateError::Config(format!(
                "`{text}` names no bucket; write it like `s3://my-bucket/kapstan`"
            )));
        }
        let mut cfg = S3Config::new(bucket, DEFAULT_REGION);
        cfg.prefix = url.path().trim_matches('/').to_string();
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "region" => cfg.region = value.into_owned(),
                "endpoint" => cfg.endpoint = Some(value.into_owned()).filter(|e| !e.is_empty()),
                "path_style" => cfg.path_style = parse_bool("path_style", &value)?,
                "allow_http" => cfg.allow_http = parse_bool("allow_http", &value)?,
                "lock" => cfg.lock = parse_bool("lock", &value)?,
                "lease" => {
                    let secs: u64 = value.parse().map_err(|_| {
                        StateError::Config(format!(
                            "`lease={value}` is not a number of seconds; use e.g. `lease=60`"
                        ))
                    })?;
                    cfg.lease = Duration::from_secs(secs);
                }
                other => {
                    return Err(StateError::Config(format!(
                        "unknown option `{other}` in `{text}`; known: region, endpoint, path_style, allow_http, lock, lease"
                    )));
                }
            }
        }
        cfg.validate()?;
        Ok(Self::S3(cfg))
    }

    /// Parses the `[state]` table of a `kapstan.toml` text; no table means the default.
    /// `origin` names the file in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, StateError> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| StateError::Config(format!("{origin} is not valid TOML: {e}")))?;
        let Some(state) = table.get("state") else {
            return Ok(Self::default());
        };
        let state: StateTable = state
            .clone()
            .try_into()
            .map_err(|e| StateError::Config(format!("{origin} [state]: {e}")))?;
        let backend = state.backend.as_deref().unwrap_or("local");
        match backend {
            "local" => {
                let s3_only = [
                    ("bucket", state.bucket.is_some()),
                    ("prefix", state.prefix.is_some()),
                    ("region", state.region.is_some()),
                    ("endpoint", state.endpoint.is_some()),
                    ("path_style", state.path_style.is_some()),
                    ("allow_http", state.allow_http.is_some()),
                    ("lease_seconds", state.lease_seconds.is_some()),
                ];
                if let Some((field, _)) = s3_only.iter().find(|(_, set)| *set) {
                    return Err(StateError::Config(format!(
                        "{origin} [state]: `{field}` is set but backend is `local`; set `backend = \"s3\"` or remove `{field}`"
                    )));
                }
                Ok(Self::Local {
                    dir: PathBuf::from(state.dir.as_deref().unwrap_or(DEFAULT_LOCAL_DIR)),
                })
            }
            "s3" => {
                if state.dir.is_some() {
                    return Err(StateError::Config(format!(
                        "{origin} [state]: `dir` only applies to backend `local`; remove it"
                    )));
                }
                let bucket = state.bucket.ok_or_else(|| {
                    StateError::Config(format!(
                        "{origin} [state]: backend `s3` needs `bucket = \"NAME\"` (create one with `kapstan state bootstrap --bucket NAME`)"
                    ))
                })?;
                let mut cfg = S3Config::new(
                    bucket,
                    state.region.unwrap_or_else(|| DEFAULT_REGION.to_string()),
                );
                cfg.prefix = state
                    .prefix
                    .unwrap_or_default()
                    .trim_matches('/')
                    .to_string();
                cfg.endpoint = state.endpoint.filter(|e| !e.is_empty());
                cfg.path_style = state.path_style.unwrap_or(false);
                cfg.allow_http = state.allow_http.unwrap_or(false);
                cfg.lock = state.lock.unwrap_or(true);
                if let Some(secs) = state.lease_seconds {
                    cfg.lease = Duration::from_secs(secs);
                }
                cfg.validate()
                    .map_err(|e| StateError::Config(format!("{origin} [state]: {}", strip(e))))?;
                Ok(Self::S3(cfg))
            }
            other => Err(StateError::Config(format!(
                "{origin} [state]: backend `{other}` is unknown; use `backend = \"local\"` or `backend = \"s3\"`"
            ))),
        }
    }

    /// Reads the `[state]` table of the file at `path`; a missing file means the default.
    pub fn from_toml_file(path: &Path) -> Result<Self, StateError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_toml_str(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(StateError::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Resolves the configuration of the project at `project_dir`: `cli` (the `--state`
    /// string) wins over `KAPSTAN_STATE` (read through `env`), which wins over
    /// `project_dir/kapstan.toml`. A relative local directory is made relative to
    /// `project_dir`.
    pub fn resolve(
        project_dir: &Path,
        cli: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, StateError> {
        let cfg = if let Some(text) = cli.filter(|t| !t.trim().is_empty()) {
            Self::parse(text).map_err(|e| StateError::Config(format!("--state: {}", strip(e))))?
        } else if let Some(text) = env(STATE_VARIABLE).filter(|t| !t.trim().is_empty()) {
            Self::parse(&text)
                .map_err(|e| StateError::Config(format!("{STATE_VARIABLE}: {}", strip(e))))?
        } else {
            Self::from_toml_file(&project_dir.join(CONFIG_FILE))?
        };
        Ok(match cfg {
            Self::Local { dir } if dir.is_relative() => Self::Local {
                dir: project_dir.join(dir),
            },
            other => other,
        })
    }

    /// The string form accepted by [`StoreConfig::parse`].
    pub fn to_url(&self) -> String {
        match self {
            Self::Local { dir } => format!("local:{}", dir.display()),
            Self::S3(cfg) => cfg.to_url(),
        }
    }
}

impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_url())
    }
}

fn strip(e: StateError) -> String {
    match e {
        StateError::Config(m) => m,
        other => other.to_string(),
    }
}

/// Opens the configured store, reading credentials and the state key from the process
/// environment.
pub fn open_store(config: &StoreConfig) -> Result<Arc<dyn StateStore>, StateError> {
    open_store_with_env(config, &|name| std::env::var(name).ok())
}

/// Opens the configured store, reading credentials and the state key through `env`.
///
/// The key is the one [`state_key`] finds. Without one the S3 store can hold no secrets.
pub fn open_store_with_env(
    config: &StoreConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn StateStore>, StateError> {
    match config {
        StoreConfig::Local { dir } => Ok(Arc::new(LocalStore::open(
            dir.clone(),
            state_key(config, env)?,
        )?)),
        StoreConfig::S3(cfg) => Ok(Arc::new(S3Store::open(cfg, env)?)),
    }
}

/// The state key for `config`: `KAPSTAN_STATE_KEY` / `KAPSTAN_STATE_PASSPHRASE` (read through
/// `env`) for any store; for the local store, else its key file `DIR/state.key` (generated with
/// mode 0600 on first use). `None`: an S3 store without a key.
///
/// Backup and restore take a [`crate::Sealer`] made from this key.
pub fn state_key(
    config: &StoreConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<KeySource>, StateError> {
    if let Some(key) = KeySource::from_lookup(env)? {
        return Ok(Some(key));
    }
    match config {
        StoreConfig::Local { dir } => {
            KeySource::load_or_create_file(&dir.join("state.key")).map(Some)
        }
        StoreConfig::S3(_) => Ok(None),
    }
}

/// Writes `config` as the `[state]` table of the TOML file at `path`, keeping every other
/// table, key and comment as it was (the file is created when missing).
pub fn write_state_config(path: &Path, config: &StoreConfig) -> Result<(), StateError> {
    use toml_edit::{DocumentMut, Item, Table, value};
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(StateError::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut doc: DocumentMut = text.parse().map_err(|e| {
        StateError::Config(format!(
            "{} is not valid TOML ({e}); fix it before switching the state store",
            path.display()
        ))
    })?;
    if !doc.contains_table("state") {
        doc.insert("state", Item::Table(Table::new()));
    }
    let table = doc["state"].as_table_mut().ok_or_else(|| {
        StateError::Config(format!(
            "{}: `state` is not a table; write it as a `[state]` section",
            path.display()
        ))
    })?;
    let mut wanted: Vec<(&str, toml_edit::Item)> = vec![];
    match config {
        StoreConfig::Local { dir } => {
            wanted.push(("backend", value("local")));
            if dir != Path::new(DEFAULT_LOCAL_DIR) {
                wanted.push(("dir", value(dir.display().to_string())));
            }
        }
        StoreConfig::S3(cfg) => {
            wanted.push(("backend", value("s3")));
            wanted.push(("bucket", value(cfg.bucket.clone())));
            if !cfg.prefix.is_empty() {
                wanted.push(("prefix", value(cfg.prefix.clone())));
            }
            wanted.push(("region", value(cfg.region.clone())));
            if let Some(e) = &cfg.endpoint {
                wanted.push(("endpoint", value(e.clone())));
            }
            if cfg.path_style {
                wanted.push(("path_style", value(true)));
            }
            if cfg.allow_http {
                wanted.push(("allow_http", value(true)));
            }
            if !cfg.lock {
                wanted.push(("lock", value(false)));
            }
            if cfg.lease != Duration::from_secs(60) {
                wanted.push(("lease_seconds", value(cfg.lease.as_secs() as i64)));
            }
        }
    }
    let stale: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !wanted.iter().any(|(w, _)| w == k))
        .collect();
    for k in stale {
        table.remove(&k);
    }
    for (k, v) in wanted {
        table[k] = v;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string()).map_err(|source| StateError::Io {
        action: "writing",
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| StateError::Io {
        action: "replacing",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_print_back() {
        let cfg = StoreConfig::parse(
            "s3://my-bucket/team/kapstan?region=nl-ams&endpoint=http://127.0.0.1:9000&path_style=true&lock=false",
        )
        .unwrap();
        let StoreConfig::S3(s3) = &cfg else {
            panic!("{cfg:?}")
        };
        assert_eq!(s3.bucket, "my-bucket");
        assert_eq!(s3.prefix, "team/kapstan");
        assert_eq!(s3.region, "nl-ams");
        assert!(s3.path_style && !s3.lock);
        assert_eq!(StoreConfig::parse(&cfg.to_url()).unwrap(), cfg);
        assert_eq!(StoreConfig::parse("local").unwrap(), StoreConfig::default());
        assert_eq!(
            StoreConfig::parse("local:/tmp/x").unwrap(),
            StoreConfig::Local {
                dir: "/tmp/x".into()
            }
        );
    }

    #[test]
    fn an_ip_endpoint_is_addressed_path_style_without_being_told() {
        // Virtual-hosted style would put the bucket in front of the IP address; this failed
        // with "bucket `state-bucket`: invalid IPv4 address" before.
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI".to_string()),
            _ => None,
        };
        for (endpoint, bucket_url) in [
            (
                "http://127.0.0.1:9000",
                "http://127.0.0.1:9000/state-bucket",
            ),
            ("https://10.1.2.3/", "https://10.1.2.3/state-bucket"),
            ("http://[::1]:9000", "http://[::1]:9000/state-bucket"),
        ] {
            let cfg =
                StoreConfig::parse(&format!("s3://state-bucket?endpoint={endpoint}")).unwrap();
            let StoreConfig::S3(s3) = &cfg else { panic!() };
            assert!(s3.uses_path_style(), "{endpoint}");
            assert_eq!(s3.bucket_url().unwrap().as_str(), bucket_url);
            assert!(open_store_with_env(&cfg, &env).is_ok(), "{endpoint}");
        }
        let StoreConfig::S3(named) =
            StoreConfig::parse("s3://state-bucket?endpoint=https://s3.example.com").unwrap()
        else {
            panic!()
        };
        assert!(!named.uses_path_style());
        assert_eq!(
            named.bucket_url().unwrap().as_str(),
            "https://state-bucket.s3.example.com/"
        );
    }

    #[test]
    fn scaleway_defaults() {
        let StoreConfig::S3(s3) = StoreConfig::parse("s3://state-bucket").unwrap() else {
            panic!()
        };
        assert_eq!(s3.region, "fr-par");
        assert_eq!(s3.service_endpoint(), "https://s3.fr-par.scw.cloud");
        assert_eq!(
            s3.bucket_url().unwrap().as_str(),
            "https://state-bucket.s3.fr-par.scw.cloud/"
        );
        let mut p = s3.clone();
        p.path_style = true;
        assert_eq!(
            p.bucket_url().unwrap().as_str(),
            "https://s3.fr-par.scw.cloud/state-bucket"
        );
    }

    #[test]
    fn errors_name_field_value_and_fix() {
        let e = StoreConfig::parse("s3://Bad_Bucket")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Bad_Bucket") && e.contains("lowercase"), "{e}");
        let e = StoreConfig::parse("s3://bucket?region=par")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`par`") && e.contains("fr-par"), "{e}");
        let e = StoreConfig::parse("s3://bucket?regoin=fr-par")
            .unwrap_err()
            .to_string();
        assert!(e.contains("regoin") && e.contains("known"), "{e}");
        let e = StoreConfig::parse("s3://bucket?endpoint=http://s3.example.com")
            .unwrap_err()
            .to_string();
        assert!(e.contains("https"), "{e}");
        assert!(StoreConfig::parse("s3://bucket?endpoint=http://127.0.0.1:9000").is_ok());
        let e = StoreConfig::parse("gs://bucket").unwrap_err().to_string();
        assert!(e.contains("s3://"), "{e}");
        let e = StoreConfig::from_toml_str("[state]\nbackend = \"s3\"\n", "kapstan.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kapstan.toml [state]") && e.contains("bucket"),
            "{e}"
        );
        let e = StoreConfig::from_toml_str("[state]\nbackend = \"s3\"\nbuckt = \"x\"\n", "k")
            .unwrap_err()
            .to_string();
        assert!(e.contains("buckt"), "{e}");
        let e = StoreConfig::from_toml_str("[state]\nbackend = \"gcs\"\n", "k")
            .unwrap_err()
            .to_string();
        assert!(e.contains("gcs") && e.contains("\"s3\""), "{e}");
        let e = StoreConfig::from_toml_str("[state]\nbucket = \"abc\"\n", "k")
            .unwrap_err()
            .to_string();
        assert!(e.contains("backend"), "{e}");
    }

    #[test]
    fn precedence_cli_env_file_default() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        assert_eq!(
            StoreConfig::resolve(dir.path(), None, &none).unwrap(),
            StoreConfig::Local {
                dir: dir.path().join(".kapstan")
            }
        );
        std::fs::write(
            dir.path().join("kapstan.toml"),
            "[project]\nname = \"x\"\n\n[state]\nbackend = \"s3\"\nbucket = \"from-file\"\nprefix = \"p\"\n",
        )
        .unwrap();
        let cfg = StoreConfig::resolve(dir.path(), None, &none).unwrap();
        assert!(matches!(&cfg, StoreConfig::S3(c) if c.bucket == "from-file" && c.prefix == "p"));
        let env = |k: &str| (k == STATE_VARIABLE).then(|| "s3://from-env".to_string());
        let cfg = StoreConfig::resolve(dir.path(), None, &env).unwrap();
        assert!(matches!(&cfg, StoreConfig::S3(c) if c.bucket == "from-env"));
        let cfg = StoreConfig::resolve(dir.path(), Some("local:st"), &env).unwrap();
        assert_eq!(
            cfg,
            StoreConfig::Local {
                dir: dir.path().join("st")
            }
        );
        let e = StoreConfig::resolve(dir.path(), Some("s3://x"), &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--state"), "{e}");
    }

    #[test]
    fn write_state_config_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kapstan.toml");
        let original = "# project file\n[project]\nname = \"demo\" # the name\n\n[state]\nbackend = \"local\"\ndir = \"old\"\n\n[other]\nx = 1\n";
        std::fs::write(&path, original).unwrap();
        let mut s3 = S3Config::new("team-state", "fr-par");
        s3.prefix = "kapstan".into();
        let cfg = StoreConfig::S3(s3);
        write_state_config(&path, &cfg).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# project file\n[project]\nname = \"demo\" # the name\n"),
            "{text}"
        );
        assert!(text.contains("[other]\nx = 1"), "{text}");
        assert!(!text.contains("dir ="), "{text}");
        assert_eq!(StoreConfig::from_toml_file(&path).unwrap(), cfg);
        write_state_config(&path, &StoreConfig::default()).unwrap();
        assert_eq!(
            StoreConfig::from_toml_file(&path).unwrap(),
            StoreConfig::default()
        );
        let fresh = dir.path().join("new.toml");
        write_state_config(&fresh, &cfg).unwrap();
        assert_eq!(StoreConfig::from_toml_file(&fresh).unwrap(), cfg);
    }
}
