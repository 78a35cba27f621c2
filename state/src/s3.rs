//! The S3 store: state in a bucket of an S3-compatible object store (Scaleway Object Storage by
//! default), guarded by conditional writes.
//!
//! Layout under `<prefix>/<stack>/`:
//! - `state.json`: the current document, every sensitive value sealed; written with
//!   `If-Match: <etag read>` (or `If-None-Match: *` for the first save), so a lost update is
//!   refused and reported as [`StateError::Conflict`], never overwritten;
//! - `history/<serial:020>.json`: a copy of every saved version with its reason and time;
//! - `state.lock`: the lock, created with `If-None-Match: *`, holding a [`LockInfo`] whose lease
//!   (`expires`) a background task renews with `If-Match` while the lock is held. A lock whose
//!   lease ran out is taken over with `If-Match` on its etag; `force_unlock` removes any lock.
//!
//! Before it relies on conditional writes the store proves, once, on a scratch key that the
//! service enforces them; a service that does not is refused (`lock = false` is the explicit
//! escape).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
    UpdateVersion,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::config::S3Config;
use crate::document::{FORMAT_VERSION, StateDelta, StateDocument};
use crate::store::{HistoryEntry, StateStore, validate_stack_name};
use crate::{KeySource, LockInfo, Sealer, StateError, decode_document, encode_document};

/// Folder (under the prefix) of the self-test's scratch objects.
const SELFTEST_DIR: &str = ".kapstan-selftest";

/// Access key and secret key for an S3 service. The secret never appears in `Debug` output or
/// in errors.
#[derive(Clone)]
pub struct S3Credentials {
    access_key: String,
    secret_key: String,
    source: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

/// The parts of `~/.config/scw/config.yaml` kapstan reads.
#[derive(Debug, Default, Deserialize)]
struct ScwProfile {
    access_key: Option<String>,
    secret_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ScwConfigFile {
    access_key: Option<String>,
    secret_key: Option<String>,
    active_profile: Option<String>,
    #[serde(default)]
    profiles: HashMap<String, ScwProfile>,
}

impl S3Credentials {
    /// Credentials given directly; `source` says where they came from (for messages).
    pub fn new(
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            source: source.into(),
        }
    }

    /// The access key id (possibly `ACCESS_KEY@PROJECT_ID`).
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret key, for request signing.
    pub(crate) fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// Where the credentials were found.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Finds credentials for `config` through `env`.
    ///
    /// Order: for another S3 service (custom endpoint) `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` first; then `SCW_ACCESS_KEY` / `SCW_SECRET_KEY`; then the active
    /// profile (`SCW_PROFILE`, else `active_profile`, else the top level) of the Scaleway CLI
    /// configuration (`SCW_CONFIG_PATH`, else `$XDG_CONFIG_HOME/scw/config.yaml`, else
    /// `~/.config/scw/config.yaml`). An access key may carry `@PROJECT_ID`.
    pub fn resolve(
        config: &S3Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, StateError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let pair = |a: &str, s: &str| -> Result<Option<Self>, StateError> {
            match (get(a), get(s)) {
                (Some(access), Some(secret)) => {
                    Ok(Some(Self::new(access, secret, format!("{a} / {s}"))))
                }
                (Some(_), None) => Err(StateError::Config(format!(
                    "{a} is set but {s} is not; set both (or neither)"
                ))),
                (None, Some(_)) => Err(StateError::Config(format!(
                    "{s} is set but {a} is not; set both (or neither)"
                ))),
                (None, None) => Ok(None),
            }
        };
        let found = if config.is_scaleway() {
            pair("SCW_ACCESS_KEY", "SCW_SECRET_KEY")?
        } else {
            match pair("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")? {
                Some(c) => Some(c),
                None => pair("SCW_ACCESS_KEY", "SCW_SECRET_KEY")?,
            }
        };
        let creds = match found {
            Some(c) => c,
            None => Self::from_scw_config(env)?,
        };
        validate_access_key(&creds)?;
        Ok(creds)
    }

    fn from_scw_config(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, StateError> {
        let path = match env("SCW_CONFIG_PATH").filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => match env("XDG_CONFIG_HOME").filter(|p| !p.is_empty()) {
                Some(x) => PathBuf::from(x).join("scw/config.yaml"),
                None => match env("HOME").filter(|p| !p.is_empty()) {
                    Some(h) => PathBuf::from(h).join(".config/scw/config.yaml"),
                    None => PathBuf::from(".config/scw/config.yaml"),
                },
            },
        };
        let missing = |detail: String| {
            StateError::Config(format!(
                "no S3 credentials: set SCW_ACCESS_KEY and SCW_SECRET_KEY, or run `scw init` to create a profile ({detail})"
            ))
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(missing(format!("{} does not exist", path.display())));
            }
            Err(source) => {
                return Err(StateError::Io {
                    action: "reading",
                    path,
                    source,
                });
            }
        };
        let file: ScwConfigFile = serde_norway::from_str(&text).map_err(|e| {
            StateError::Config(format!(
                "{} is not a valid Scaleway CLI configuration: {e}",
                path.display()
            ))
        })?;
        let profile_name = env("SCW_PROFILE")
            .filter(|p| !p.is_empty())
            .or(file.active_profile.clone());
        let (access, secret, label) = match &profile_name {
            Some(name) if name != "default" => {
                let p = file.profiles.get(name).ok_or_else(|| {
                    StateError::Config(format!(
                        "profile `{name}` is not in {}; known profiles: {}",
                        path.display(),
                        {
                            let mut names: Vec<&str> =
                                file.profiles.keys().map(String::as_str).collect();
                            names.sort();
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        }
                    ))
                })?;
                (
                    p.access_key.clone().or(file.access_key.clone()),
                    p.secret_key.clone().or(file.secret_key.clone()),
                    format!("profile `{name}` of {}", path.display()),
                )
            }
            _ => (
                file.access_key.clone(),
                file.secret_key.clone(),
                format!("default profile of {}", path.display()),
            ),
        };
        match (access, secret) {
            (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() => Ok(Self::new(a, s, label)),
            _ => Err(missing(format!("{label} has no access_key/secret_key"))),
        }
    }
}

fn validate_access_key(creds: &S3Credentials) -> Result<(), StateError> {
    let (key, project) = match creds.access_key.split_once('@') {
        Some((k, p)) => (k, Some(p)),
        None => (creds.access_key.as_str(), None),
    };
    if key.is_empty() || key.chars().any(|c| c.is_whitespace()) {
        return Err(StateError::Config(format!(
            "the access key from {} is not valid; expected `ACCESS_KEY` or `ACCESS_KEY@PROJECT_ID`",
            creds.source
        )));
    }
    if project.is_some_and(|p| p.is_empty() || p.chars().any(|c| c.is_whitespace())) {
        return Err(StateError::Config(format!(
            "the access key from {} ends in `@` without a project id; write `ACCESS_KEY@PROJECT_ID`",
            creds.source
        )));
    }
    Ok(())
}

/// A lock this process holds, with its heartbeat.
struct Held {
    id: Uuid,
    heartbeat: tokio::task::AbortHandle,
    lost: Arc<Mutex<Option<String>>>,
}

/// One saved version as stored in `history/`.
#[derive(Serialize, Deserialize)]
struct HistoryRecord {
    serial: u64,
    time: chrono::DateTime<Utc>,
    reason: String,
    #[serde(default)]
    changed: usize,
    #[serde(default)]
    removed: usize,
    document: Value,
}

/// Outcome of the conditional-write self-test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfTest {
    /// The service refused a second create and a stale update.
    Enforced,
    /// The service accepted a write it should have refused; the text says which.
    NotEnforced(String),
}

/// State in a bucket of an S3-compatible object store.
pub struct S3Store {
    config: S3Config,
    access_key: String,
    store: Arc<dyn ObjectStore>,
    sealer: Option<Sealer>,
    selftest: tokio::sync::Mutex<Option<SelfTest>>,
    held: Arc<Mutex<HashMap<String, Held>>>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location())
            .field("endpoint", &self.config.service_endpoint())
            .field("access_key", &self.access_key)
            .field("sealer", &self.sealer)
            .finish()
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        // Stop renewing: a lock this store still holds then runs out with its lease.
        if let Ok(held) = self.held.lock() {
            for h in held.values() {
                h.heartbeat.abort();
            }
        }
    }
}

fn is_precondition(e: &object_store::Error) -> bool {
    matches!(
        e,
        object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }
    )
}

impl S3Store {
    /// Opens the store for `config`, with credentials and the state key read through `env`
    /// (see [`S3Credentials::resolve`] and [`KeySource::from_lookup`]).
    pub fn open(
        config: &S3Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, StateError> {
        let creds = S3Credentials::resolve(config, env)?;
        let key = KeySource::from_lookup(env)?;
        Self::with_credentials(config, &creds, key)
    }

    /// Opens the store with explicit credentials and key (`None`: the store refuses to save
    /// documents holding secrets).
    pub fn with_credentials(
        config: &S3Config,
        creds: &S3Credentials,
        key: Option<KeySource>,
    ) -> Result<Self, StateError> {
        config.validate()?;
        let endpoint = if config.uses_path_style() {
            config.service_endpoint()
        } else {
            let url = config.bucket_url()?;
            url.as_str().trim_end_matches('/').to_string()
        };
        let options = ClientOptions::new()
            .with_allow_http(config.allow_http || endpoint.starts_with("http://"))
            .with_timeout(config.request_timeout)
            .with_connect_timeout(Duration::from_secs(5).min(config.request_timeout));
        let retry = RetryConfig {
            max_retries: config.max_retries,
            retry_timeout: config.retry_timeout,
            ..RetryConfig::default()
        };
        let store = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(!config.uses_path_style())
            .with_access_key_id(creds.access_key())
            .with_secret_access_key(creds.secret_key())
            .with_client_options(options)
            .with_retry(retry)
            .build()
            .map_err(|e| StateError::Config(format!("s3://{}: {e}", config.bucket)))?;
        let sealer = key.as_ref().map(Sealer::new).transpose()?;
        Ok(Self {
            config: config.clone(),
            access_key: creds.access_key().to_string(),
            store: Arc::new(store),
            sealer,
            selftest: tokio::sync::Mutex::new(None),
            held: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The configuration this store was opened with.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn key(&self, parts: &[&str]) -> Path {
        let mut text = self.config.prefix.clone();
        for p in parts {
            if !text.is_empty() {
                text.push('/');
            }
            text.push_str(p);
        }
        Path::from(text)
    }

    fn state_key(&self, stack: &str) -> Path {
        self.key(&[stack, "state.json"])
    }

    fn lock_key(&self, stack: &str) -> Path {
        self.key(&[stack, "state.lock"])
    }

    fn history_dir(&self, stack: &str) -> Path {
        self.key(&[stack, "history"])
    }

    fn history_key(&self, stack: &str, serial: u64) -> Path {
        self.key(&[stack, "history", &format!("{serial:020}.json")])
    }

    fn url_of(&self, path: &Path) -> String {
        format!("s3://{}/{}", self.config.bucket, path)
    }

    fn remote(&self, path: &Path, action: &str, e: object_store::Error) -> StateError {
        use object_store::Error as E;
        let hint = match &e {
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
                "; check the access key and secret key, and that the bucket belongs to their project (use ACCESS_KEY@PROJECT_ID for another project)"
            }
            E::NotFound { .. } => {
                "; does the bucket exist? create it with `kapstan state bootstrap --bucket NAME`"
            }
            E::Generic { .. } => "; is the endpoint reachable and the bucket name right?",
            _ => "",
        };
        StateError::Remote {
            location: self.url_of(path),
            reason: format!("{action}: {e}{hint}"),
        }
    }

    async fn get(&self, path: &Path) -> Result<Option<(Bytes, Option<String>)>, StateError> {
        match self.store.get(path).await {
            Ok(r) => {
                let etag = r.meta.e_tag.clone();
                let bytes = r
                    .bytes()
                    .await
                    .map_err(|e| self.remote(path, "reading", e))?;
                Ok(Some((bytes, etag)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.remote(path, "reading", e)),
        }
    }

    async fn put(
        &self,
        path: &Path,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<Result<Option<String>, object_store::Error>, StateError> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(path, PutPayload::from(bytes), opts)
            .await
        {
            Ok(r) => Ok(Ok(r.e_tag)),
            Err(e) if is_precondition(&e) => Ok(Err(e)),
            Err(e) => Err(self.remote(path, "writing", e)),
        }
    }

    fn decode(&self, stack: &str, path: &Path, bytes: &[u8]) -> Result<StateDocument, StateError> {
        decode_document(stack, &self.url_of(path), bytes, self.sealer.as_ref())
    }

    /// Proves that the service enforces conditional writes, on a scratch key: a second
    /// `If-None-Match: *` create must fail, and so must an `If-Match` with a stale etag.
    /// Network errors are returned as errors, not as a verdict.
    pub async fn self_test(&self) -> Result<SelfTest, StateError> {
        let path = self.key(&[SELFTEST_DIR, &Uuid::new_v4().to_string()]);
        let verdict = self.run_self_test(&path).await;
        if let Err(e) = self.store.delete(&path).await
            && !matches!(e, object_store::Error::NotFound { .. })
        {
            tracing::debug!(path = %path, error = %e, "could not remove the self-test object");
        }
        verdict
    }

    async fn run_self_test(&self, path: &Path) -> Result<SelfTest, StateError> {
        let first = match self.put(path, b"1".to_vec(), PutMode::Create).await? {
            Ok(etag) => etag,
            Err(e) => {
                return Ok(SelfTest::NotEnforced(format!(
                    "a create with If-None-Match: * on a new key was refused ({e})"
                )));
            }
        };
        if self
            .put(path, b"2".to_vec(), PutMode::Create)
            .await?
            .is_ok()
        {
            return Ok(SelfTest::NotEnforced(
                "a second create with If-None-Match: * on an existing key succeeded".into(),
            ));
        }
        let Some(first) = first else {
            return Ok(SelfTest::NotEnforced(
                "the service returns no ETag, so If-Match cannot be used".into(),
            ));
        };
        let update = |etag: &str| {
            PutMode::Update(UpdateVersion {
                e_tag: Some(etag.to_string()),
                version: None,
            })
        };
        match self.put(path, b"3".to_vec(), update(&first)).await? {
            Ok(_) => {}
            Err(e) => {
                return Ok(SelfTest::NotEnforced(format!(
                    "a write with the current ETag in If-Match was refused ({e})"
                )));
            }
        }
        if self.put(path, b"4".to_vec(), update(&first)).await?.is_ok() {
            return Ok(SelfTest::NotEnforced(
                "a write with a stale ETag in If-Match succeeded".into(),
            ));
        }
        Ok(SelfTest::Enforced)
    }

    /// Runs the self-test once per store (when locking is on) and refuses an unsafe service.
    async fn ensure_safe(&self) -> Result<(), StateError> {
        if !self.config.lock {
            return Ok(());
        }
        let mut cached = self.selftest.lock().await;
        let verdict = match &*cached {
            Some(v) => v.clone(),
            None => {
                let v = self.self_test().await?;
                *cached = Some(v.clone());
                v
            }
        };
        match verdict {
            SelfTest::Enforced => Ok(()),
            SelfTest::NotEnforced(detail) => Err(StateError::UnsafeStore {
                location: self.location(),
                detail,
            }),
        }
    }

    fn check_not_lost(&self, stack: &str) -> Result<(), StateError> {
        let held = self.held.lock().expect("held locks mutex");
        if let Some(h) = held.get(stack)
            && let Some(reason) = h.lost.lock().expect("lost mutex").clone()
        {
            return Err(StateError::LockLost {
                stack: stack.to_string(),
                reason,
            });
        }
        Ok(())
    }

    async fn read_lock(
        &self,
        stack: &str,
    ) -> Result<Option<(LockInfo, Option<String>)>, StateError> {
        let path = self.lock_key(stack);
        let Some((bytes, etag)) = self.get(&path).await? else {
            return Ok(None);
        };
        let info: LockInfo = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            stack: stack.to_string(),
            location: self.url_of(&path),
            reason: format!(
                "lock record: {e}; remove it with `kapstan state unlock --force --stack {stack}`"
            ),
        })?;
        Ok(Some((info, etag)))
    }

    fn start_heartbeat(&self, stack: &str, info: LockInfo, etag: Option<String>) {
        let id = info.id;
        let lost = Arc::new(Mutex::new(None));
        let store = self.store.clone();
        let path = self.lock_key(stack);
        let lease = self.config.lease;
        let lost_in_task = lost.clone();
        let stack_name = stack.to_string();
        let task = tokio::spawn(async move {
            heartbeat(store, path, stack_name, info, etag, lease, lost_in_task).await;
        });
        let held = Held {
            id,
            heartbeat: task.abort_handle(),
            lost,
        };
        let mut map = self.held.lock().expect("held locks mutex");
        if let Some(old) = map.insert(stack.to_string(), held) {
            old.heartbeat.abort();
        }
    }

    fn forget_held(&self, stack: &str, id: Option<Uuid>) {
        let mut map = self.held.lock().expect("held locks mutex");
        if map
            .get(stack)
            .is_some_and(|h| id.is_none_or(|id| h.id == id))
            && let Some(h) = map.remove(stack)
        {
            h.heartbeat.abort();
        }
    }

    /// Writes the history copy of `doc` (already encoded as `encoded`).
    async fn write_history(
        &self,
        stack: &str,
        doc: &StateDocument,
        encoded: &[u8],
        (reason, changed, removed): (&str, usize, usize),
        mode: PutMode,
    ) -> Result<(), StateError> {
        let record = HistoryRecord {
            serial: doc.serial,
            time: Utc::now(),
            reason: reason.to_string(),
            changed,
            removed,
            document: serde_json::from_slice(encoded).expect("encoded document is JSON"),
        };
        let path = self.history_key(stack, doc.serial);
        let body = serde_json::to_vec(&record).expect("history record serializes");
        // A refused create means the copy is already there.
        let _ = self.put(&path, body, mode).await?;
        Ok(())
    }

    /// The raw stored (sealed) bytes of a stack's current document, as kept in the bucket.
    pub async fn load_raw(&self, stack: &str) -> Result<Option<Vec<u8>>, StateError> {
        validate_stack_name(stack)?;
        Ok(self
            .get(&self.state_key(stack))
            .await?
            .map(|(b, _)| b.to_vec()))
    }

    async fn history_serials(&self, stack: &str) -> Result<Vec<u64>, StateError> {
        let dir = self.history_dir(stack);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| self.remote(&dir, "listing", e))?;
        let mut serials: Vec<u64> = metas
            .iter()
            .filter_map(|m| m.location.filename())
            .filter_map(|f| f.strip_suffix(".json"))
            .filter_map(|s| s.parse().ok())
            .collect();
        serials.sort_unstable();
        Ok(serials)
    }
}

async fn heartbeat(
    store: Arc<dyn ObjectStore>,
    path: Path,
    stack: String,
    mut info: LockInfo,
    mut etag: Option<String>,
    lease: Duration,
    lost: Arc<Mutex<Option<String>>>,
) {
    let interval = lease / 3;
    loop {
        tokio::time::sleep(interval).await;
        let lose = |reason: String| {
            tracing::error!(stack = %stack, "{reason}");
            *lost.lock().expect("lost mutex") = Some(reason);
        };
        let Some(current) = etag.clone() else {
            lose("the lock has no ETag, its lease cannot be renewed".into());
            return;
        };
        let previous_expiry = info.expires;
        info.expires = Some(Utc::now() + lease);
        let body = serde_json::to_vec_pretty(&info).expect("lock record serializes");
        let opts = PutOptions {
            mode: PutMode::Update(UpdateVersion {
                e_tag: Some(current),
                version: None,
            }),
            ..PutOptions::default()
        };
        match store.put_opts(&path, PutPayload::from(body), opts).await {
            Ok(r) => etag = r.e_tag,
            Err(e) if is_precondition(&e) || matches!(e, object_store::Error::NotFound { .. }) => {
                // A retried renewal may have landed already: look before declaring the lock lost.
                if let Ok(r) = store.get(&path).await {
                    let tag = r.meta.e_tag.clone();
                    if let Ok(bytes) = r.bytes().await
                        && let Ok(held) = serde_json::from_slice::<LockInfo>(&bytes)
                        && held.id == info.id
                    {
                        etag = tag;
                        continue;
                    }
                }
                lose(format!(
                    "the lock of stack `{stack}` was removed or taken over by another process while this one held it"
                ));
                return;
            }
            Err(e) => {
                if previous_expiry.is_some_and(|exp| exp < Utc::now()) {
                    lose(format!(
                        "the lease of the lock of stack `{stack}` ran out before it could be renewed ({e})"
                    ));
                    return;
                }
                tracing::warn!(stack = %stack, error = %e, "could not renew the lock lease; retrying");
                info.expires = previous_expiry;
            }
        }
    }
}

fn raw_serial(bytes: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get("serial").and_then(Value::as_u64))
        .unwrap_or(0)
}

#[async_trait]
impl StateStore for S3Store {
    fn location(&self) -> String {
        if self.config.prefix.is_empty() {
            format!("s3://{}", self.config.bucket)
        } else {
            format!("s3://{}/{}", self.config.bucket, self.config.prefix)
        }
    }

    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        let prefix =
            (!self.config.prefix.is_empty()).then(|| Path::from(self.config.prefix.as_str()));
        let listing = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|e| self.remote(&prefix.clone().unwrap_or_default(), "listing", e))?;
        let candidates: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(String::from))
            .filter(|name| validate_stack_name(name).is_ok())
            .collect();
        let checks: Vec<_> = candidates
            .into_iter()
            .map(|name| self.stack_if_saved(name))
            .collect();
        let checks = futures::stream::iter(checks)
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?;
        let mut out: Vec<String> = checks.into_iter().flatten().collect();
        out.sort();
        Ok(out)
    }

    async fn load(&self, stack: &str) -> Result<Option<StateDocument>, StateError> {
        validate_stack_name(stack)?;
        let path = self.state_key(stack);
        match self.get(&path).await? {
            None => Ok(None),
            Some((bytes, _)) => self.decode(stack, &path, &bytes).map(Some),
        }
    }

    async fn commit(&self, stack: &str, delta: StateDelta) -> Result<u64, StateError> {
        validate_stack_name(stack)?;
        self.ensure_safe().await?;
        self.check_not_lost(stack)?;
        let path = self.state_key(stack);
        let (mut doc, mode) = match self.get(&path).await? {
            None => {
                let mut doc = StateDocument::new(stack);
                doc.lineage = delta.lineage;
                (doc, PutMode::Create)
            }
            Some((bytes, etag)) => {
                let doc = self.decode(stack, &path, &bytes)?;
                let Some(etag) = etag else {
                    return Err(StateError::Remote {
                        location: self.url_of(&path),
                        reason: "the service returned no ETag; compare-and-swap is impossible"
                            .into(),
                    });
                };
                if doc.serial > 0
                    && doc.lineage == delta.lineage
                    && self.history_serials_has(stack, doc.serial).await? == Some(false)
                {
                    // A previous save stopped between the state and its history copy.
                    self.write_history(
                        stack,
                        &doc,
                        &bytes,
                        ("recovered copy", 0, 0),
                        PutMode::Create,
                    )
                    .await?;
                }
                (
                    doc,
                    PutMode::Update(UpdateVersion {
                        e_tag: Some(etag),
                        version: None,
                    }),
                )
            }
        };
        if doc.lineage != delta.lineage {
            return Err(StateError::LineageMismatch {
                stack: stack.into(),
                expected: delta.lineage.to_string(),
                found: doc.lineage.to_string(),
            });
        }
        if doc.serial != delta.base_serial {
            return Err(StateError::Conflict {
                stack: stack.into(),
                expected: delta.base_serial,
                found: doc.serial,
            });
        }
        let lineage = doc.lineage;
        doc.apply_delta(&delta);
        doc.lineage = lineage;
        doc.stack = stack.to_string();
        doc.format_version = FORMAT_VERSION;
        let new_serial = doc.serial;
        let encoded = encode_document(&doc, self.sealer.as_ref())?;
        match self.put(&path, encoded.clone(), mode).await {
            Ok(Ok(_)) => {}
            Ok(Err(_refused)) => {
                // Refused: somebody else saved first, unless a retry of our own write landed.
                let current = self.get(&path).await?;
                match current {
                    Some((bytes, _)) if bytes.as_ref() == encoded.as_slice() => {}
                    other => {
                        return Err(StateError::Conflict {
                            stack: stack.into(),
                            expected: delta.base_serial,
                            found: other.map_or(0, |(b, _)| raw_serial(&b)),
                        });
                    }
                }
            }
            Err(StateError::Remote { location, reason }) => {
                return Err(StateError::Remote {
                    location,
                    reason: format!(
                        "{reason}; the save of serial {new_serial} was not confirmed: the stored state is the previous version, or serial {new_serial} if the write landed before the connection broke, never a mix (writes are all-or-nothing); run the command again"
                    ),
                });
            }
            Err(e) => return Err(e),
        }
        let changed = delta.upserts.len() + usize::from(delta.replace.is_some());
        if let Err(e) = self
            .write_history(
                stack,
                &doc,
                &encoded,
                (&delta.reason, changed, delta.removals.len()),
                PutMode::Overwrite,
            )
            .await
        {
            tracing::warn!(stack, serial = new_serial, error = %e, "state saved, but its history copy was not written; it is written by the next save");
        }
        Ok(new_serial)
    }

    async fn lock(&self, stack: &str, operation: &str) -> Result<LockInfo, StateError> {
        validate_stack_name(stack)?;
        let mut info = LockInfo::for_this_process(operation);
        if !self.config.lock {
            tracing::warn!(
                stack,
                location = %self.location(),
                "locking is disabled (lock = false): nothing keeps another run from working on this stack at the same time"
            );
            return Ok(info);
        }
        self.ensure_safe().await?;
        let path = self.lock_key(stack);
        for _ in 0..4 {
            info.expires = Some(Utc::now() + self.config.lease);
            let body = serde_json::to_vec_pretty(&info).expect("lock record serializes");
            match self.put(&path, body.clone(), PutMode::Create).await? {
                Ok(etag) => {
                    self.start_heartbeat(stack, info.clone(), etag);
                    return Ok(info);
                }
                Err(_exists) => {
                    let Some((held, etag)) = self.read_lock(stack).await? else {
                        continue; // released in between: try again
                    };
                    if held.id == info.id {
                        // A retried create of ours landed.
                        self.start_heartbeat(stack, held.clone(), etag);
                        return Ok(held);
                    }
                    if !held.lease_expired(Utc::now()) {
                        return Err(StateError::Locked {
                            stack: stack.into(),
                            holder: Box::new(held),
                        });
                    }
                    let Some(etag) = etag else {
                        return Err(StateError::Locked {
                            stack: stack.into(),
                            holder: Box::new(held),
                        });
                    };
                    let mode = PutMode::Update(UpdateVersion {
                        e_tag: Some(etag),
                        version: None,
                    });
                    if let Ok(new_etag) = self.put(&path, body, mode).await? {
                        tracing::warn!(
                            stack,
                            previous_holder = %held.holder,
                            previous_pid = held.pid,
                            "took over a lock whose lease ran out"
                        );
                        self.start_heartbeat(stack, info.clone(), new_etag);
                        return Ok(info);
                    }
                    // Someone else renewed or took it over first: look again.
                }
            }
        }
        match self.read_lock(stack).await? {
            Some((held, _)) => Err(StateError::Locked {
                stack: stack.into(),
                holder: Box::new(held),
            }),
            None => Err(StateError::Remote {
                location: self.url_of(&path),
                reason: "the lock keeps changing hands; try again".into(),
            }),
        }
    }

    async fn unlock(&self, stack: &str, lock: &LockInfo) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        if !self.config.lock {
            return Ok(());
        }
        self.forget_held(stack, Some(lock.id));
        let path = self.lock_key(stack);
        match self.read_lock(stack).await? {
            Some((held, _)) if held.id == lock.id => match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.remote(&path, "removing the lock", e)),
            },
            Some((held, _)) => {
                tracing::warn!(
                    stack,
                    holder = %held.holder,
                    "the lock is now held by another process; leaving it alone"
                );
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn force_unlock(&self, stack: &str) -> Result<Option<LockInfo>, StateError> {
        validate_stack_name(stack)?;
        self.forget_held(stack, None);
        let path = self.lock_key(stack);
        let held = match self.read_lock(stack).await {
            Ok(h) => h.map(|(info, _)| info),
            Err(StateError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        };
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(held),
            Err(e) => Err(self.remote(&path, "removing the lock", e)),
        }
    }

    async fn current_lock(&self, stack: &str) -> Result<Option<LockInfo>, StateError> {
        validate_stack_name(stack)?;
        Ok(self.read_lock(stack).await?.map(|(info, _)| info))
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        validate_stack_name(stack)?;
        let serials = self.history_serials(stack).await?;
        let current = self.get(&self.state_key(stack)).await?;
        if serials.is_empty() && current.is_none() {
            return Err(StateError::NoState(stack.to_string()));
        }
        let reads: Vec<_> = serials
            .iter()
            .map(|&serial| self.history_entry(stack, serial))
            .collect();
        let mut entries: Vec<HistoryEntry> = futures::stream::iter(reads)
            .buffered(8)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .collect();
        if let Some((bytes, _)) = current {
            let serial = raw_serial(&bytes);
            if serial > 0 && !serials.contains(&serial) {
                entries.push(HistoryEntry {
                    serial,
                    time: Utc::now(),
                    reason: "(current version; its history copy is written by the next save)"
                        .into(),
                    changed: 0,
                    removed: 0,
                });
            }
        }
        Ok(entries)
    }

    async fn version(&self, stack: &str, serial: u64) -> Result<StateDocument, StateError> {
        validate_stack_name(stack)?;
        let path = self.history_key(stack, serial);
        if let Some((bytes, _)) = self.get(&path).await? {
            let record: HistoryRecord =
                serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                    stack: stack.into(),
                    location: self.url_of(&path),
                    reason: e.to_string(),
                })?;
            let doc_bytes = serde_json::to_vec(&record.document).expect("JSON value serializes");
            return self.decode(stack, &path, &doc_bytes);
        }
        if let Some(doc) = self.load(stack).await?
            && doc.serial == serial
        {
            return Ok(doc);
        }
        Err(StateError::NoSuchVersion {
            stack: stack.into(),
            serial,
        })
    }
}

impl S3Store {
    async fn history_entry(
        &self,
        stack: &str,
        serial: u64,
    ) -> Result<Option<HistoryEntry>, StateError> {
        let path = self.history_key(stack, serial);
        let Some((bytes, _)) = self.get(&path).await? else {
            return Ok(None);
        };
        let record: HistoryRecord =
            serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                stack: stack.into(),
                location: self.url_of(&path),
                reason: e.to_string(),
            })?;
        Ok(Some(HistoryEntry {
            serial,
            time: record.time,
            reason: record.reason,
            changed: record.changed,
            removed: record.removed,
        }))
    }

    async fn stack_if_saved(&self, name: String) -> Result<Option<String>, StateError> {
        let path = self.state_key(&name);
        match self.store.head(&path).await {
            Ok(_) => Ok(Some(name)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.remote(&path, "reading", e)),
        }
    }

    /// `Some(true)` when the history copy of `serial` exists.
    async fn history_serials_has(
        &self,
        stack: &str,
        serial: u64,
    ) -> Result<Option<bool>, StateError> {
        let path = self.history_key(stack, serial);
        match self.store.head(&path).await {
            Ok(_) => Ok(Some(true)),
            Err(object_store::Error::NotFound { .. }) => Ok(Some(false)),
            Err(e) => Err(self.remote(&path, "reading", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn credentials_from_environment_and_profiles() {
        let scw = S3Config::new("bucket", "fr-par");
        let creds = S3Credentials::resolve(
            &scw,
            &env_of(&[
                ("SCW_ACCESS_KEY", "SCWAAA@proj-1"),
                ("SCW_SECRET_KEY", "s3cr3t"),
            ]),
        )
        .unwrap();
        assert_eq!(creds.access_key(), "SCWAAA@proj-1");
        assert!(!format!("{creds:?}").contains("s3cr3t"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "access_key: SCWTOP\nsecret_key: top-secret\nactive_profile: team\nprofiles:\n  team:\n    access_key: SCWTEAM\n    secret_key: team-secret\n  other:\n    access_key: SCWOTHER\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c = S3Credentials::resolve(&scw, &env_of(&[("SCW_CONFIG_PATH", p)])).unwrap();
        assert_eq!(c.access_key(), "SCWTEAM");
        let c = S3Credentials::resolve(
            &scw,
            &env_of(&[("SCW_CONFIG_PATH", p), ("SCW_PROFILE", "other")]),
        )
        .unwrap();
        assert_eq!((c.access_key(), c.secret_key()), ("SCWOTHER", "top-secret"));
        let c = S3Credentials::resolve(
            &scw,
            &env_of(&[("SCW_CONFIG_PATH", p), ("SCW_PROFILE", "default")]),
        )
        .unwrap();
        assert_eq!(c.access_key(), "SCWTOP");
        let e = S3Credentials::resolve(
            &scw,
            &env_of(&[("SCW_CONFIG_PATH", p), ("SCW_PROFILE", "nope")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("nope") && e.contains("team"), "{e}");
        assert!(!e.contains("secret"), "{e}");

        let e = S3Credentials::resolve(&scw, &env_of(&[("HOME", "/nonexistent")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("SCW_ACCESS_KEY") && e.contains("scw init"),
            "{e}"
        );
        let e = S3Credentials::resolve(&scw, &env_of(&[("SCW_ACCESS_KEY", "SCWAAA")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SCW_SECRET_KEY"), "{e}");
        let e = S3Credentials::resolve(
            &scw,
            &env_of(&[("SCW_ACCESS_KEY", "SCWAAA@"), ("SCW_SECRET_KEY", "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("project id"), "{e}");

        let mut other = scw.clone();
        other.endpoint = Some("http://127.0.0.1:9000".into());
        let c = S3Credentials::resolve(
            &other,
            &env_of(&[
                ("AWS_ACCESS_KEY_ID", "AKIA"),
                ("AWS_SECRET_ACCESS_KEY", "x"),
                ("SCW_ACCESS_KEY", "SCW"),
                ("SCW_SECRET_KEY", "y"),
            ]),
        )
        .unwrap();
        assert_eq!(c.access_key(), "AKIA");
    }

    #[tokio::test]
    async fn debug_never_shows_the_secret() {
        let creds = S3Credentials::new("SCWKEY", "very-secret-value", "test");
        let store =
            S3Store::with_credentials(&S3Config::new("bucket", "fr-par"), &creds, None).unwrap();
        let text = format!("{store:?}");
        assert!(!text.contains("very-secret-value"), "{text}");
        assert!(text.contains("s3.fr-par.scw.cloud"), "{text}");
        assert_eq!(store.location(), "s3://bucket");
    }
}
