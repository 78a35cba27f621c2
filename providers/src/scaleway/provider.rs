//! The state shared by every Scaleway driver: a lazily built [`Client`], localities, adaptive
//! waits, ownership tags, adoption by tags and the per-cluster pool mutex.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kapstan_engine::{DriverContext, DriverError, FieldError, Schema};
use serde_json::{Map, Value};

use super::client::Client;
use super::client::{
    ClientOptions, ConfigOverrides, EnvSource, Error as ApiErr, ProcessEnv, Region, ScalewayConfig,
    Zone, hook_fn,
};

/// Environment variable scaling every poll interval (and, floored at 10 %, every deadline):
/// `0.01` makes waits a hundred times more eager, for sandbox runs.
pub const POLL_SCALE_ENV: &str = "KAPSTAN_POLL_SCALE";

/// What a Scaleway driver shares with the others: configuration, client, waits, locks.
pub struct ScalewayProvider {
    overrides: ConfigOverrides,
    env: Arc<dyn EnvSource>,
    options: ClientOptions,
    poll_scale: f64,
    s3_endpoint: Option<String>,
    client: OnceLock<Result<Client, String>>,
    pool_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for ScalewayProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalewayProvider")
            .field("api_url", &self.overrides.api_url)
            .field("poll_scale", &self.poll_scale)
            .finish()
    }
}

impl Default for ScalewayProvider {
    fn default() -> Self {
        Self::from_env(ConfigOverrides::default(), ClientOptions::default())
    }
}

impl ScalewayProvider {
    /// A provider reading the process environment and config file, with `overrides` (CLI
    /// flags) on top and `options` (e.g. `--api-rate`) for the client.
    pub fn from_env(overrides: ConfigOverrides, options: ClientOptions) -> Self {
        Self::with_env(overrides, options, Arc::new(ProcessEnv))
    }

    /// A provider reading variables from `env` instead of the process (tests, embedders).
    pub fn with_env(
        overrides: ConfigOverrides,
        options: ClientOptions,
        env: Arc<dyn EnvSource>,
    ) -> Self {
        let poll_scale = env
            .var(POLL_SCALE_ENV)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(1.0);
        let s3_endpoint = env
            .var("SCW_S3_ENDPOINT")
            .or_else(|| env.var("AWS_ENDPOINT_URL_S3"));
        Self {
            overrides,
            env,
            options,
            poll_scale,
            s3_endpoint,
            client: OnceLock::new(),
            pool_locks: Mutex::new(HashMap::new()),
        }
    }

    /// Scales poll intervals (1.0 = real-world pacing).
    pub fn with_poll_scale(mut self, scale: f64) -> Self {
        if scale.is_finite() && scale > 0.0 {
            self.poll_scale = scale;
        }
        self
    }

    /// Uses this Object Storage endpoint instead of `https://s3.{region}.scw.cloud`.
    pub fn with_s3_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.s3_endpoint = Some(endpoint.into());
        self
    }

    /// The poll scale.
    pub fn poll_scale(&self) -> f64 {
        self.poll_scale
    }

    /// The Object Storage endpoint override, if any.
    pub fn s3_endpoint(&self) -> Option<&str> {
        self.s3_endpoint.as_deref()
    }

    /// The resolved configuration (credentials, localities), or why it cannot be resolved.
    pub fn config(&self) -> Result<ScalewayConfig, String> {
        ScalewayConfig::load(&self.overrides, &*self.env).map_err(|e| e.to_string())
    }

    /// The client, built on first use.
    pub fn client(&self) -> Result<Client, DriverError> {
        self.client
            .get_or_init(|| {
                let cfg = self.config()?;
                Client::with_options(cfg, self.options.clone()).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(DriverError::failed)
    }

    /// Field errors for unusable credentials, reported by `validate` before any API call.
    pub fn credential_errors(&self) -> Vec<FieldError> {
        match self.client() {
            Ok(_) => vec![],
            Err(e) => vec![FieldError::new(
                "(scaleway credentials)",
                "(not set)",
                &format!("cannot be used: {e}"),
                "set SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID (or a profile in ~/.config/scw/config.yaml selected with SCW_PROFILE)",
            )],
        }
    }

    /// The mutex serializing pool mutations of one cluster.
    pub(crate) fn pool_lock(&self, cluster_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.pool_locks
            .lock()
            .expect("pool locks")
            .entry(cluster_id.to_string())
            .or_default()
            .clone()
    }

    /// The region of a config (`region`, else the zone's region, else the default).
    pub(crate) fn region_of(&self, config: &Value) -> Result<Region, DriverError> {
        if let Some(r) = config.get("region").and_then(Value::as_str) {
            return Region::parse(r).map_err(|e| DriverError::failed(e.to_string()));
        }
        if let Some(z) = config.get("zone").and_then(Value::as_str) {
            return Zone::parse(z)
                .map(|z| z.region())
                .map_err(|e| DriverError::failed(e.to_string()));
        }
        Ok(self.client()?.region().clone())
    }

    /// The zone of a config (`zone`, else the default zone).
    pub(crate) fn zone_of(&self, config: &Value) -> Result<Zone, DriverError> {
        match config.get("zone").and_then(Value::as_str) {
            Some(z) => Zone::parse(z).map_err(|e| DriverError::failed(e.to_string())),
            None => Ok(self.client()?.zone().clone()),
        }
    }

    /// The project of a config (`project_id`, else the credentials' project).
    pub(crate) fn project_of(&self, config: &Value) -> Result<String, DriverError> {
        match config.get("project_id").and_then(Value::as_str) {
            Some(p) => Ok(p.to_string()),
            None => Ok(self.client()?.project_id().to_string()),
        }
    }

    /// A client whose 409 `transient_state` answers are waited out with a short backoff.
    pub(crate) fn client_with_backoff(&self) -> Result<Client, DriverError> {
        let client = self.client()?;
        let scale = self.poll_scale;
        Ok(client.with_transient_hook(hook_fn(move |c| async move {
            let d = Duration::from_secs_f64((0.5 * (c.attempt as f64 + 1.0)).min(5.0) * scale);
            tokio::time::sleep(d).await;
            Ok(())
        })))
    }

    /// How long to wait between polls and overall for a kind of wait.
    pub(crate) fn pacing(&self, pace: Pace) -> Pacing {
        let (first, cap, deadline) = match pace {
            Pace::Fast => (0.5, 2.0, 300.0),
            Pace::Lb => (1.0, 10.0, 900.0),
            Pace::Cluster => (1.0, 10.0, 900.0),
            Pace::Long => (2.0, 15.0, 1800.0),
        };
        let s = self.poll_scale;
        Pacing {
            first: Duration::from_secs_f64(first * s),
            cap: Duration::from_secs_f64(cap * s),
            deadline: Duration::from_secs_f64(deadline * s.clamp(0.1, 1.0)),
        }
    }
}

/// Kinds of waits, from quick attachments to 30-minute pools and databases.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pace {
    /// Attachments, gateways, networks: 5 minutes.
    Fast,
    /// Load balancers: 15 minutes.
    Lb,
    /// Kapsule clusters: 15 minutes.
    Cluster,
    /// Pools and RDB instances: 30 minutes.
    Long,
}

/// Poll intervals and deadline of a wait.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing {
    first: Duration,
    cap: Duration,
    pub(crate) deadline: Duration,
}

/// One observation of a waited-for object.
pub(crate) enum Poll<T> {
    /// The wait is over.
    Done(T),
    /// Still in this status.
    Pending(String),
}

/// Polls `probe` until it reports `Done`, fast at first then slower (×1.5 up to the cap),
/// failing with [`DriverError::Timeout`] at the deadline.
pub(crate) async fn wait_for<T, F, Fut>(
    ctx: &DriverContext,
    pacing: Pacing,
    what: &str,
    mut probe: F,
) -> Result<T, DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, DriverError>>,
{
    let start = Instant::now();
    let mut interval = pacing.first;
    let mut last = String::new();
    loop {
        if ctx.abandoned() {
            return Err(DriverError::Interrupted);
        }
        match probe().await? {
            Poll::Done(v) => return Ok(v),
            Poll::Pending(status) => {
                if status != last {
                    ctx.progress(format!("{what}: {status}"));
                    last = status;
                }
            }
        }
        if start.elapsed() >= pacing.deadline {
            return Err(DriverError::Timeout {
                what: what.to_string(),
                after: pacing.deadline,
            });
        }
        tokio::time::sleep(interval).await;
        interval = (interval.mul_f64(1.5)).min(pacing.cap);
    }
}

/// A client error as a driver error keeping it as the source (client messages carry no
/// secrets), retryable as the client classifies it.
pub(crate) fn api(e: ApiErr) -> DriverError {
    let retryable = e.is_retryable();
    DriverError::api(e, retryable)
}

/// Whether a driver error is a client "not found" answer.
pub(crate) fn is_not_found(e: &DriverError) -> bool {
    e.api_source::<ApiErr>().is_some_and(ApiErr::is_not_found)
}

/// Whether a tag is one of kapstan's ownership tags.
pub(crate) fn is_ownership_tag(t: &str) -> bool {
    t.starts_with("kapstan-stack=") || t.starts_with("kapstan-addr=")
}

/// The user's tags plus the two ownership tags.
pub(crate) fn owned_tags(ctx: &DriverContext, user: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = user
        .iter()
        .filter(|t| !is_ownership_tag(t))
        .cloned()
        .collect();
    tags.extend(ctx.ownership_tags());
    tags
}

/// Live tags without the ownership tags (what users declare).
pub(crate) fn user_tags(live: &[String]) -> Vec<String> {
    live.iter()
        .filter(|t| !is_ownership_tag(t))
        .cloned()
        .collect()
}

/// Whether `tags` carries exactly this resource's two ownership tags.
pub(crate) fn is_owned(ctx: &DriverContext, tags: &[String]) -> bool {
    ctx.ownership_tags().iter().all(|t| tags.contains(t))
}

/// The one candidate found by tags, none, or an ambiguity error.
pub(crate) fn adopt_one<T>(
    ctx: &DriverContext,
    kind: &str,
    mut found: Vec<(String, T)>,
) -> Result<Option<(String, T)>, DriverError> {
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        n => Err(DriverError::Ambiguous {
            kind: kind.to_string(),
            tag: format!("kapstan-addr={}", ctx.address),
            count: n,
            ids: found
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The `id` a create checkpointed, if any.
pub(crate) fn marker_id(marker: &Value) -> Option<&str> {
    marker
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The elements of the list at `key` of a config (none when it is absent or not a list).
pub(crate) fn items<'a>(config: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    config
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// String list at `key` of a config.
pub(crate) fn strings(config: &Value, key: &str) -> Vec<String> {
    items(config, key)
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// String at `key`.
pub(crate) fn string(config: &Value, key: &str) -> Option<String> {
    config.get(key).and_then(Value::as_str).map(String::from)
}

/// Boolean at `key`.
pub(crate) fn flag(config: &Value, key: &str) -> Option<bool> {
    config.get(key).and_then(Value::as_bool)
}

/// Whole number at `key`, for the API's 32-bit fields (sizes, hours, TTLs; the schema and
/// validation keep values in range).
pub(crate) fn u32_of(config: &Value, key: &str) -> Option<u32> {
    config.get(key).and_then(Value::as_u64).map(|v| v as u32)
}

/// Shapes live attributes like the recorded config: nested objects of declared top-level
/// fields keep only the keys the config has (computed values live in their own fields), and
/// values equal under `same` keep the config's spelling (case of node types, tag order).
pub(crate) fn conform(live: &mut Value, config: &Value) {
    let (Some(live), Some(config)) = (live.as_object_mut(), config.as_object()) else {
        return;
    };
    for (k, c) in config {
        let Some(l) = live.get_mut(k) else { continue };
        conform_value(l, c);
    }
}

fn conform_value(live: &mut Value, config: &Value) {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            let keep: Map<String, Value> = c
                .iter()
                .filter_map(|(k, cv)| {
                    l.get(k).map(|lv| {
                        let mut lv = lv.clone();
                        conform_value(&mut lv, cv);
                        (k.clone(), lv)
                    })
                })
                .collect();
            *l = keep;
        }
        // Same elements in another order: keep the declared order.
        (Value::Array(l), Value::Array(c))
            if l.len() == c.len()
                && c.iter().all(|x| l.contains(x))
                && l.iter().all(|x| c.contains(x)) =>
        {
            *l = c.clone();
        }
        (Value::String(l), Value::String(c)) if norm(l) == norm(c) => {
            *l = c.clone();
        }
        _ => {}
    }
}

/// Case-, `-`- and `_`-insensitive form of a commercial type (`DEV1-M` = `dev1_m`).
pub(crate) fn norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', "_")
}

/// The config an import records: the required arguments, read back from `attributes`.
///
/// Everything else is left out on purpose: the planner compares every declared field with its
/// live value, so an import plans exactly the real differences with the declaration, and an
/// undeclared optional field (region, zone, project) is not mistaken for one to remove.
pub(crate) fn config_from(schema: &Schema, attributes: &Value) -> Value {
    let mut out = Map::new();
    for f in &schema.fields {
        if f.role == kapstan_engine::Role::Required
            && let Some(v) = attributes.get(f.name)
            && !v.is_null()
        {
            out.insert(f.name.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Splits an import id `locality/uuid` into its parts (a bare uuid has no locality).
pub(crate) fn split_locality(id: &str) -> (Option<&str>, &str) {
    match id.split_once('/') {
        Some((loc, rest)) if loc.contains('-') && !loc.contains('/') && loc.len() <= 12 => {
            (Some(loc), rest)
        }
        _ => (None, id),
    }
}

/// Validation helpers shared by the kinds.
pub(crate) mod check {
    use super::*;

    /// A rule for one string field: its key (dotted for a nested field, `ipv4_subnet.subnet`),
    /// the test its value must pass, the problem and the fix the error names.
    pub type TextRule = (&'static str, fn(&str) -> bool, &'static str, &'static str);

    /// A rule for one whole-number field, as [`TextRule`].
    pub type NumberRule = (&'static str, fn(u64) -> bool, &'static str, &'static str);

    /// Refuses each string field that fails its rule (an absent field passes).
    pub fn texts(config: &Value, rules: &[TextRule], errors: &mut Vec<FieldError>) {
        for (field, ok, problem, fix) in rules {
            let pointer = format!("/{}", field.replace('.', "/"));
            if let Some(v) = config.pointer(&pointer).and_then(Value::as_str)
                && !ok(v)
            {
                errors.push(FieldError::new(field, &format!("{v:?}"), problem, fix));
            }
        }
    }

    /// Refuses each whole-number field that fails its rule (an absent field passes).
    pub fn numbers(config: &Value, rules: &[NumberRule], errors: &mut Vec<FieldError>) {
        for (field, ok, problem, fix) in rules {
            if let Some(v) = config.get(*field).and_then(Value::as_u64)
                && !ok(v)
            {
                errors.push(FieldError::new(field, &v.to_string(), problem, fix));
            }
        }
    }

    /// `region` is well formed and, when `zone` is set, contains it.
    pub fn locality(config: &Value, errors: &mut Vec<FieldError>) {
        let region = config.get("region").and_then(Value::as_str);
        let zone = config.get("zone").and_then(Value::as_str);
        let mut parsed_region = None;
        if let Some(r) = region {
            match Region::parse(r) {
                Ok(p) if p.is_known() => parsed_region = Some(p),
                Ok(_) => errors.push(FieldError::new(
                    "region",
                    &format!("{r:?}"),
                    "is not a Scaleway region",
                    &format!(
                        "use one of {}",
                        super::super::client::locality::KNOWN_REGIONS.join(", ")
                    ),
                )),
                Err(e) => errors.push(FieldError::new(
                    "region",
                    &format!("{r:?}"),
                    &e.to_string(),
                    "use a region such as fr-par",
                )),
            }
        }
        if let Some(z) = zone {
            match Zone::parse(z) {
                Ok(pz) if !pz.is_known() => errors.push(FieldError::new(
                    "zone",
                    &format!("{z:?}"),
                    "is not a Scaleway zone",
                    &format!(
                        "use one of {}",
                        super::super::client::locality::KNOWN_ZONES.join(", ")
                    ),
                )),
                Ok(pz) => {
                    if let Some(r) = &parsed_region
                        && r.check_zone(&pz).is_err()
                    {
                        errors.push(FieldError::new(
                            "zone",
                            &format!("{z:?}"),
                            &format!("is not in region {r}"),
                            &format!("use a zone of {r} such as {}", r.first_zone()),
                        ));
                    }
                }
                Err(e) => errors.push(FieldError::new(
                    "zone",
                    &format!("{z:?}"),
                    &e.to_string(),
                    "use a zone such as fr-par-1",
                )),
            }
        }
    }

    /// A resource name: 1 to 63 characters, letters, digits, `-`, `_`, `.`.
    pub fn name(config: &Value, field: &'static str, errors: &mut Vec<FieldError>) {
        let rule: TextRule = (
            field,
            |n| {
                !n.is_empty()
                    && n.len() <= 63
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            },
            "is not a valid name",
            "use 1 to 63 letters, digits, `-`, `_` or `.`",
        );
        texts(config, &[rule], errors);
    }

    /// A rule for one field whose value is among a list: its key, the allowed values and
    /// what the error calls a value (`"volume type"`).
    pub type ChoiceRule<'a> = (&'static str, &'a [&'a str], &'static str);

    /// A value among `allowed`, compared case-, `-`- and `_`-insensitively.
    pub fn one_of(
        config: &Value,
        field: &str,
        allowed: &[&str],
        what: &str,
        errors: &mut Vec<FieldError>,
    ) {
        if let Some(v) = config.get(field).and_then(Value::as_str)
            && !allowed.iter().any(|a| norm(a) == norm(v))
        {
            errors.push(FieldError::new(
                field,
                &format!("{v:?}"),
                &format!("is not a known {what}"),
                &format!("use one of {}", allowed.join(", ")),
            ));
        }
    }

    /// Refuses each field whose value is not among its rule's, as [`one_of`] does, in the
    /// rules' order (an absent field passes).
    pub fn choices(config: &Value, rules: &[ChoiceRule], errors: &mut Vec<FieldError>) {
        for (field, allowed, what) in rules {
            one_of(config, field, allowed, what, errors);
        }
    }

    /// Tags: strings without kapstan's reserved prefixes.
    pub fn tags(config: &Value, errors: &mut Vec<FieldError>) {
        if let Some(tags) = config.get("tags").and_then(Value::as_array) {
            for t in tags.iter().filter_map(Value::as_str) {
                if is_ownership_tag(t) {
                    errors.push(FieldError::new(
                        "tags",
                        &format!("{t:?}"),
                        "uses a tag prefix reserved for kapstan's ownership tags",
                        "remove it: kapstan adds kapstan-stack and kapstan-addr itself",
                    ));
                }
            }
        }
    }
}

/// Sends a create (`post`); when its outcome is unknown (lost response), looks the object up
/// with `find` (ownership tags or natural key) and adopts it, or, when nothing was created,
/// sends it again (at most three attempts).
pub(crate) async fn post_or_adopt<T, P, PF, F, FF>(post: P, find: F) -> Result<T, DriverError>
where
    P: FnMut() -> PF,
    PF: Future<Output = Result<T, ApiErr>>,
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<T>, DriverError>>,
{
    super::kind::adopt_on_create(post, find, |_| false).await
}

/// Declares the typed attribute accessors of a kind.
macro_rules! attributes {
    ($(#[$sm:meta])* $name:ident { $($(#[$m:meta])* $f:ident : $t:ty = $path:literal),* $(,)? }) => {
        $(#[$sm])*
        #[derive(Debug, Clone)]
        pub struct $name(kapstan_engine::ResourceRef);

        impl From<kapstan_engine::ResourceRef> for $name {
            fn from(r: kapstan_engine::ResourceRef) -> Self {
                Self(r)
            }
        }

        impl $name {
            /// The provider id.
            pub fn id(&self) -> kapstan_engine::Output<String> {
                self.0.id()
            }
            $(
                $(#[$m])*
                pub fn $f(&self) -> kapstan_engine::Output<$t> {
                    self.0.output($path)
                }
            )*
        }
    };
}
pub(crate) use attributes;
