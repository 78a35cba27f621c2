//! A small token bucket, one per Scaleway API, so a large plan never floods an endpoint.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Default sustained request rate per API (requests per second).
pub const DEFAULT_RATE: f64 = 20.0;

/// Rate of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second; must be positive and finite.
    pub per_second: f64,
    /// Requests allowed back to back after an idle period.
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` sustained, with a burst of one second's worth (at least 1).
    pub fn per_second(per_second: f64) -> Self {
        Self {
            per_second,
            burst: (per_second.ceil() as u32).max(1),
        }
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::per_second(DEFAULT_RATE)
    }
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    last: Instant,
}

/// A token bucket: `burst` tokens, refilled at `per_second`.
///
/// [`TokenBucket::acquire`] reserves a token immediately (letting the balance go negative)
/// and sleeps for the debt, so waiters are served in call order without a queue and the lock
/// is never held across an await.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    state: Mutex<BucketState>,
}

impl TokenBucket {
    /// A full bucket. Non-positive or non-finite rates are clamped to a tiny positive rate
    /// rather than dividing by zero later.
    pub fn new(limit: RateLimit) -> Self {
        let rate = if limit.per_second.is_finite() && limit.per_second > 0.0 {
            limit.per_second
        } else {
            1e-3
        };
        let capacity = f64::from(limit.burst.max(1));
        Self {
            rate,
            capacity,
            state: Mutex::new(BucketState {
                tokens: capacity,
                last: Instant::now(),
            }),
        }
    }

    /// Takes one token, or returns how long the caller must wait for the one it reserved.
    fn reserve(&self, now: Instant) -> Duration {
        // A poisoned lock only means another task panicked mid-update of two floats;
        // the state is still usable.
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.rate).min(self.capacity);
        s.last = now;
        s.tokens -= 1.0;
        if s.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.tokens / self.rate)
        }
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token only if one is available now.
    pub fn try_acquire(&self) -> bool {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.rate).min(self.capacity);
        s.last = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
