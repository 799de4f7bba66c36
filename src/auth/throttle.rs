//! Per-account request-rate limiting and the concurrency-limit check, both pure: the caller
//! passes the time in (milliseconds, any epoch), so tests control it and no clock is read here.
//!
//! Rate limiting is a token bucket per key (an account id): the bucket holds up to one second's
//! worth of tokens (`rate_per_second`, at least 1), refills continuously at `rate_per_second`
//! per 1000 ms, and each request takes one token. Tokens are counted in thousandths so the
//! refill is exact integer arithmetic, with no drift from floating point.
//!
//! Memory stays bounded: when the map grows past a threshold, buckets untouched for longer than
//! an idle time (10 minutes by default) are dropped. Dropping never changes an answer (for an
//! idle time of a second or more): such a bucket is full again, like the fresh one replacing it.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Mutex;

/// Thousandths of a token per token.
const MILLI: u64 = 1000;
/// A bucket refills fully within this time, so longer gaps need no bigger arithmetic.
const FULL_REFILL_MS: i64 = 1000;

/// The request was refused; the caller answers `ResourceThrottled` (HTTP 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("request rate exceeded; retry after {retry_after_ms} ms")]
pub struct Throttled {
    /// When the next token will be there, if nothing else takes it first (at least 1).
    pub retry_after_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Thousandths of a token.
    tokens: u64,
    /// Latest time seen for this key; time going backwards never moves it back.
    last_ms: i64,
}

impl Bucket {
    /// Refills for the time since the last call, then takes one token if there is one.
    fn take(&mut self, rate: u64, now_ms: i64) -> Result<(), Throttled> {
        // Time going backwards counts as no time passing, and `last_ms` keeps the latest time.
        let elapsed = now_ms.saturating_sub(self.last_ms).clamp(0, FULL_REFILL_MS) as u64;
        self.last_ms = self.last_ms.max(now_ms);
        // Elapsed ms × tokens per second = thousandths of a token; at most one second's worth.
        self.tokens = (self.tokens + elapsed * rate).min(rate * MILLI);
        if self.tokens >= MILLI {
            self.tokens -= MILLI;
            Ok(())
        } else {
            let missing = MILLI - self.tokens;
            Err(Throttled {
                retry_after_ms: missing.div_ceil(rate).max(1),
            })
        }
    }
}

#[derive(Debug)]
struct Buckets {
    map: HashMap<String, Bucket>,
    /// Sweep idle buckets when the map reaches this size (see [`RateLimiter::check`]).
    sweep_at: usize,
}

/// Token buckets per key, shared by all request handlers (`&self`, internally locked).
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<Buckets>,
    max_keys: usize,
    idle_ms: i64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new()
    }
}

impl RateLimiter {
    /// Sweeps once 10 000 keys are tracked, dropping buckets idle for over 10 minutes.
    pub fn new() -> RateLimiter {
        RateLimiter::with_eviction(10_000, 10 * 60 * 1000)
    }

    /// Sweeps once `max_keys` keys are tracked, dropping buckets untouched for more than
    /// `idle_ms`. When a sweep frees little (many keys busy at once), the next sweep waits for
    /// the map to double, so sweeping costs O(1) per request amortized.
    pub fn with_eviction(max_keys: usize, idle_ms: i64) -> RateLimiter {
        RateLimiter {
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                sweep_at: max_keys.max(1),
            }),
            max_keys: max_keys.max(1),
            idle_ms: idle_ms.max(0),
        }
    }

    /// Takes one token from `key`'s bucket at time `now_ms`, or says how long to wait.
    /// `rate_per_second == 0` means unlimited (and tracks nothing). The rate may differ
    /// between calls (a changed setting): the bucket is capped at the current rate's size.
    pub fn check(&self, key: &str, rate_per_second: u32, now_ms: i64) -> Result<(), Throttled> {
        if rate_per_second == 0 {
            return Ok(());
        }
        let rate = u64::from(rate_per_second);
        // A poisoned lock only means another thread panicked mid-check; the map is still sound.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = buckets.map.get_mut(key) {
            return bucket.take(rate, now_ms);
        }
        self.sweep_if_needed(&mut buckets, now_ms);
        let fresh = Bucket {
            tokens: rate * MILLI,
            last_ms: now_ms,
        };
        buckets
            .map
            .entry(key.to_owned())
            .or_insert(fresh)
            .take(rate, now_ms)
    }

    /// How many keys have a bucket (for metrics and tests).
    pub fn tracked_keys(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    fn sweep_if_needed(&self, buckets: &mut Buckets, now_ms: i64) {
        if buckets.map.len() < buckets.sweep_at {
            return;
        }
        let idle_ms = self.idle_ms;
        buckets
            .map
            .retain(|_, b| now_ms.saturating_sub(b.last_ms) <= idle_ms);
        buckets.sweep_at = self.max_keys.max(buckets.map.len().saturating_mul(2));
    }
}

/// Whether one more execution may start when `running` are already running under `limit`
/// (`None`: no limit). `Some(0)` allows nothing: a configuration meaning "unlimited" by 0
/// must map it to `None` before calling. Kept here so every caller compares the same way
/// (`running < limit`, never `<=`).
pub fn concurrency_allows(running: u64, limit: Option<u32>) -> bool {
    limit.is_none_or(|limit| running < u64::from(limit))
}
