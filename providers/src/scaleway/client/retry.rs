//! Which failures are retried, how often and how long apart (jittered exponential backoff).
//!
//! Idempotent verbs (GET, PUT, PATCH, DELETE) are retried on 429, 5xx (but 501 and
//! `out_of_stock`) and transport errors. POST is retried only when the server provably did not
//! act: a 429 (rejected by the rate limiter in front of the API) or a connection that was never
//! established. Any other POST failure becomes [`Error::Ambiguous`].

use std::time::Duration;

use backon::ExponentialBuilder;

use super::error::{Error, ErrorKind};

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
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: true,
            max_transient_waits: 20,
        }
    }
}

impl RetryPolicy {
    /// No retries at all (tests, or callers with their own loop).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            max_transient_waits: 0,
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

/// The delay the server asks for (a `too_many_requests` body's `reset_seconds`), capped.
pub(crate) fn server_suggested_delay(err: &Error, cap: Duration) -> Option<Duration> {
    match err.api_error().map(|e| &e.kind) {
        Some(ErrorKind::TooManyRequests {
            reset_seconds: Some(s),
        }) => Some(Duration::from_secs(*s).min(cap)),
        _ => None,
    }
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
