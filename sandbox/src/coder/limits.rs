//! Coder's rate limits (`coderd/httpmw/ratelimit.go`, reference §1): every `/api/v2` path per
//! user (or per client address when anonymous) 512 a minute by default, `POST /api/v2/files` 12
//! a minute per user, `POST /api/v2/users/login` 60 a minute. Windows slide over the last
//! minute (go-chi/httprate approximates the same with a weighted previous window); answers carry
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`, and a refusal
//! `Retry-After` with the window's length, as httprate sends them.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Uploads a user may make per window.
pub const FILES_PER_MINUTE: u32 = 12;
/// Logins per window.
pub const LOGINS_PER_MINUTE: u32 = 60;

/// The outcome of counting one request against one limit.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    /// The limit of the window.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// How long until the oldest counted request leaves the window.
    pub reset_in: Duration,
    /// Whether the request is refused.
    pub refused: bool,
}

/// Sliding one-minute windows, by key.
#[derive(Debug, Default)]
pub struct Limiter {
    seen: HashMap<String, VecDeque<Instant>>,
}

impl Limiter {
    /// Counts a request under `key` against `limit` per `window`; a refused one is not counted.
    pub fn check(&mut self, key: &str, limit: u32, window: Duration) -> Verdict {
        let now = Instant::now();
        let q = self.seen.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        let refused = q.len() as u32 >= limit;
        if !refused {
            q.push_back(now);
        }
        let reset_in = q
            .front()
            .map(|t| window.saturating_sub(now.duration_since(*t)))
            .unwrap_or(window);
        Verdict {
            limit,
            remaining: limit.saturating_sub(q.len() as u32),
            reset_in,
            refused,
        }
    }
}
