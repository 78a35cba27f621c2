//! Which failures are retried, how often and how long apart (jittered exponential backoff).
//!
//! Idempotent verbs (GET, PUT, PATCH, DELETE) are retried on 429, 5xx (but 501 and
//! `out_of_stock`) and transport errors. POST is retried only when the server provably did not
//! act: a 429 (rejected by the rate limiter in front of the API) or a connection that was never
//! established. Any other POST failure becomes [`Error::Ambiguous`].
//!
//! A 429 is different from the other failures: the API is fine, it only asks the caller to
//! slow down, and a rate-limit window can last minutes. It is therefore not counted against
//! `max_retries`: it is retried for as long as [`RetryPolicy::rate_limit_patience`] allows,
//! after the delay the server asks for (`Retry-After`, `reset_seconds`) or a capped backoff.

use std::time::Duration;

use backon::ExponentialBuilder;

use super::error::{Error, ErrorKind};

/// `tracing` target of the info event a call emits each time it waits out a 429 (fields `api`,
/// `method`, `path`, `delay_ms`, `waited_s`), so a progress display can say that the run is
/// waiting on the API's rate limit rather than hanging.
pub const RATE_LIMIT_TARGET: &str = "kapstan::rate_limit";

/// Retry settings of a client.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retries).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay (also caps a server-suggested `reset_seconds`).
    pub max_delay: Duration,
    /// Randomize delays so parallel applies do not retry in lockstep.
    pub jitter: bool,
    /// How many times a 409 `transient_state` may be waited out (through the transient-state
    /// hook) before giving up.
    pub max_transient_waits: usize,
    /// How long one call keeps retrying through a rate-limit window (429s) before failing.
    /// The default is the longest deadline of any operation (pools and databases, 30 min):
    /// a rate limit never fails an operation that would otherwise have had time to finish.
    pub rate_limit_patience: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: true,
            max_transient_waits: 20,
            rate_limit_patience: Duration::from_secs(30 * 60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (tests, or callers with their own loop).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            max_transient_waits: 0,
            rate_limit_patience: Duration::ZERO,
            ..Self::default()
        }
    }

    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        let b = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries);
        if self.jitter { b.with_jitter() } else { b }
    }

    /// Delays between attempts inside a rate-limit window: the same backoff, without a limit
    /// on the number of attempts (the patience bounds them instead).
    pub(crate) fn rate_limit_backoff(&self) -> ExponentialBuilder {
        self.backoff().without_max_times()
    }
}

fn is_retryable_server_error(err: &Error) -> bool {
    err.api_error().is_some_and(|e| {
        e.is_server_error() && e.status != 501 && !matches!(e.kind, ErrorKind::OutOfStock { .. })
    })
}

/// Whether `err` may be retried for a request with `method`.
pub(crate) fn should_retry(method: &reqwest::Method, err: &Error) -> bool {
    let idempotent = method != reqwest::Method::POST;
    match err {
        Error::Api(e) if e.is_rate_limited() => true,
        Error::Api(_) => idempotent && is_retryable_server_error(err),
        Error::Transport { connect: true, .. } => true,
        Error::Transport { .. } => idempotent,
        _ => false,
    }
}

/// The delay the server asks for: a `Retry-After` header, else a `too_many_requests` body's
/// `reset_seconds`.
pub(crate) fn server_suggested_delay(err: &Error) -> Option<Duration> {
    let api = err.api_error()?;
    api.retry_after.or(match &api.kind {
        ErrorKind::TooManyRequests {
            reset_seconds: Some(s),
        } => Some(Duration::from_secs(*s)),
        _ => None,
    })
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = std::time::SystemTime::from(at.with_timezone(&chrono::Utc));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Turns the last error of a POST whose outcome is unknown into [`Error::Ambiguous`].
pub(crate) fn finalize(method: &reqwest::Method, err: Error) -> Error {
    if method != reqwest::Method::POST {
        return err;
    }
    let reason = match &err {
        Error::Api(e) if is_retryable_server_error(&err) => {
            format!("HTTP {}: {}", e.status, e.message)
        }
        Error::Transport {
            connect: false,
            message,
            ..
        } => message.clone(),
        _ => return err,
    };
    let (m, p) = match &err {
        Error::Api(e) => (e.method.clone(), e.path.clone()),
        Error::Transport { method, path, .. } => (method.clone(), path.clone()),
        _ => unreachable!("only API and transport errors reach here"),
    };
    Error::Ambiguous {
        method: m,
        path: p,
        reason,
    }
}
