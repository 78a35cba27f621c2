//! Options of a sandbox: address, speed factor, persistence, credentials, durations and faults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::SandboxError;

/// Secret key accepted by a sandbox started with default options (a UUID, as real keys are).
pub const DEFAULT_SECRET_KEY: &str = "11111111-1111-4111-8111-111111111111";

/// Project (and organization) id of a sandbox started with default options.
pub const DEFAULT_PROJECT_ID: &str = "22222222-2222-4222-8222-222222222222";

/// How a sandbox is started.
///
/// ```
/// let opts = kapstan_sandbox::SandboxOptions { speed: 1000.0, ..Default::default() };
/// assert!(opts.data_dir.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Address to listen on; `None` picks a free port on 127.0.0.1. Must be a loopback address.
    pub addr: Option<SocketAddr>,
    /// Speed factor: every duration of [`Durations`] is divided by it (1.0 = real-world medians).
    pub speed: f64,
    /// Directory holding `sandbox-state.json`; `None` keeps state in memory only.
    pub data_dir: Option<PathBuf>,
    /// The only secret key accepted in `X-Auth-Token`.
    pub secret_key: String,
    /// Faults injected into API responses.
    pub faults: FaultSpec,
    /// Project id reported for the credentials (also used as organization id).
    pub default_project_id: String,
    /// Durations of the asynchronous state machines, at speed 1.0.
    pub durations: Durations,
    /// Chart directories the chart repository serves besides the sandbox's own chart, each
    /// packaged at start under the name and version of its `Chart.yaml` (the official Coder
    /// chart, for instance); one replaces the own chart of the same name and version.
    pub chart_dirs: Vec<PathBuf>,
    /// How the Coder emulator behaves (provisioner daemons, rate limits, faults).
    pub coder: crate::coder::CoderOptions,
    /// How long a DNS record change takes to reach the DNS responder (real time, not divided
    /// by the speed factor), to exercise propagation waits. Zero serves changes at once.
    pub dns_visibility_delay: Duration,
    /// Zones seeded `active` in the default project when the store is new (`D` or `S.D`).
    /// `None` is the default: [`DEFAULT_DNS_ZONE`] when state persists in a data directory
    /// (the `--sandbox` mode), no zone otherwise.
    pub dns_zones: Option<Vec<String>>,
}

/// The zone a persistent sandbox owns from the start, so `--domain example.test` works offline.
pub const DEFAULT_DNS_ZONE: &str = "example.test";

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            addr: None,
            speed: 1.0,
            data_dir: None,
            secret_key: DEFAULT_SECRET_KEY.to_string(),
            faults: FaultSpec::default(),
            default_project_id: DEFAULT_PROJECT_ID.to_string(),
            durations: Durations::default(),
            chart_dirs: Vec::new(),
            coder: crate::coder::CoderOptions::default(),
            dns_visibility_delay: Duration::ZERO,
            dns_zones: None,
        }
    }
}

impl SandboxOptions {
    pub(crate) fn validate(&self) -> Result<(), SandboxError> {
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(SandboxError::InvalidOption {
                name: "speed",
                reason: format!("must be a positive number, got {}", self.speed),
            });
        }
        if uuid::Uuid::parse_str(&self.default_project_id).is_err() {
            return Err(SandboxError::InvalidOption {
                name: "default_project_id",
                reason: "must be a UUID".into(),
            });
        }
        if self.secret_key.is_empty() {
            return Err(SandboxError::InvalidOption {
                name: "secret-key",
                reason: "must not be empty".into(),
            });
        }
        Ok(())
    }
}

/// Durations of the asynchronous transitions at speed 1.0.
///
/// Defaults are the medians measured on the real API (reference §2.9, §3.9, §4.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Durations {
    /// Kapsule cluster `creating` → `pool_required`.
    pub cluster_create: Duration,
    /// Kapsule cluster `updating` after a PATCH or set-type.
    pub cluster_update: Duration,
    /// Kapsule cluster `updating` after `/upgrade`.
    pub cluster_upgrade: Duration,
    /// Kapsule cluster `deleting` → gone.
    pub cluster_delete: Duration,
    /// Pool `scaling` → `ready` (creation and resize).
    pub pool_scale: Duration,
    /// Pool `upgrading` → `ready`.
    pub pool_upgrade: Duration,
    /// Pool `deleting` → gone.
    pub pool_delete: Duration,
    /// RDB instance `provisioning` → `ready`.
    pub rdb_create: Duration,
    /// RDB instance `configuring` → `ready` (ACLs, settings, endpoint removal).
    pub rdb_configure: Duration,
    /// RDB instance `initializing` → `ready` (upgrade, new endpoint).
    pub rdb_initialize: Duration,
    /// RDB instance `deleting` → gone.
    pub rdb_delete: Duration,
    /// Load balancer `to_create` → `creating` → `ready`.
    pub lb_create: Duration,
    /// Load balancer `to_delete` → gone.
    pub lb_delete: Duration,
    /// Load balancer `migrating` → `ready`.
    pub lb_migrate: Duration,
    /// Load balancer private network attachment `pending` → `ready`.
    pub lb_attach: Duration,
    /// Public gateway `allocating` → `running`.
    pub gateway_create: Duration,
    /// Gateway network `created` → `ready`.
    pub gateway_network_attach: Duration,
    /// How long a fresh cluster's Kubernetes API keeps answering `503` after its first pool
    /// is ready (the API server is still converging). No measured median: 0 by default, set
    /// it to reproduce a slow control plane.
    pub kube_api_warmup: Duration,
}

impl Default for Durations {
    fn default() -> Self {
        let s = Duration::from_secs;
        Self {
            cluster_create: s(5),
            cluster_update: s(10),
            cluster_upgrade: s(70),
            cluster_delete: s(5),
            pool_scale: s(160),
            pool_upgrade: s(50),
            pool_delete: s(76),
            rdb_create: s(212),
            rdb_configure: s(30),
            rdb_initialize: s(150),
            rdb_delete: s(30),
            lb_create: s(30),
            lb_delete: s(30),
            lb_migrate: s(30),
            lb_attach: s(2),
            gateway_create: s(30),
            gateway_network_attach: s(10),
            kube_api_warmup: Duration::ZERO,
        }
    }
}

/// Faults injected into API responses, parsed from
/// `429=0.1,429-window=20s,503=0.05,409=0.05,latency=50ms,lost=0.02`.
///
/// Each probability is drawn independently per request, in this order: 429, 5xx, 409 (mutations
/// only), lost response (mutations only). Faults never touch `/sandbox/v1/*`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    /// Probability of `429 Too Many Requests` with an empty body and `X-Envoy-Ratelimited: true`.
    pub rate_limited: f64,
    /// Probabilities of server errors, by status code (500–599).
    pub server_errors: Vec<(u16, f64)>,
    /// Probability of a 409 on a mutation (half typed `transient_state`, half untyped).
    pub conflict: f64,
    /// Latency added before every API response.
    pub latency: Duration,
    /// Probability that a mutation is applied but its connection is closed before any reply.
    pub lost: f64,
    /// How long the rate limiter stays closed once a 429 was drawn: every API call in the
    /// window is refused the same way (a real rate-limit window, not isolated 429s).
    pub rate_limit_window: Duration,
}

impl FaultSpec {
    /// Parses a comma-separated fault specification; an empty string means no faults.
    ///
    /// Keys: `429`, any status `500`–`599`, `409`, `lost` (probabilities in `[0, 1]`),
    /// `latency` and `429-window` (`50ms`, `1s`, `250us`, or a bare number of milliseconds).
    pub fn parse(spec: &str) -> Result<FaultSpec, SandboxError> {
        let mut out = FaultSpec::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = |reason: &str| SandboxError::InvalidFaultSpec {
                item: item.to_string(),
                reason: reason.to_string(),
            };
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| bad("expected key=value"))?;
            let (key, value) = (key.trim(), value.trim());
            let probability = || -> Result<f64, SandboxError> {
                let p: f64 = value
                    .parse()
                    .map_err(|_| bad("probability must be a number between 0 and 1"))?;
                if (0.0..=1.0).contains(&p) {
                    Ok(p)
                } else {
                    Err(bad("probability must be between 0 and 1"))
                }
            };
            match key {
                "429" => out.rate_limited = probability()?,
                "409" => out.conflict = probability()?,
                "lost" => out.lost = probability()?,
                "latency" => {
                    out.latency = parse_duration(value).ok_or_else(|| {
                        bad("latency must be a duration such as 50ms, 1s or 250us")
                    })?
                }
                "429-window" => {
                    out.rate_limit_window = parse_duration(value)
                        .ok_or_else(|| bad("429-window must be a duration such as 500ms or 20s"))?
                }
                _ => match key.parse::<u16>() {
                    Ok(code @ 500..=599) => out.server_errors.push((code, probability()?)),
                    _ => {
                        return Err(bad(
                            "unknown key (expected 429, 429-window, 409, 5xx status, latency or lost)",
                        ));
                    }
                },
            }
        }
        let total: f64 = out.rate_limited
            + out.conflict
            + out.lost
            + out.server_errors.iter().map(|(_, p)| p).sum::<f64>();
        if total > 1.0 {
            return Err(SandboxError::InvalidFaultSpec {
                item: spec.to_string(),
                reason: format!("probabilities add up to {total}, more than 1"),
            });
        }
        Ok(out)
    }

    /// True when no fault is configured.
    pub fn is_empty(&self) -> bool {
        *self == FaultSpec::default()
    }
}

fn parse_duration(value: &str) -> Option<Duration> {
    let (number, unit) = match value.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => value.split_at(i),
        None => (value, "ms"),
    };
    let n: f64 = number.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let secs = match unit {
        "us" => n / 1_000_000.0,
        "ms" => n / 1000.0,
        "s" => n,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

impl std::str::FromStr for FaultSpec {
    type Err = SandboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultSpec::parse(s)
    }
}
