use std::sync::{Arc, Barrier};

use super::*;

/// How many of `n` requests at `now_ms` pass.
fn passed(limiter: &RateLimiter, key: &str, rate: u32, now_ms: i64, n: usize) -> usize {
    (0..n)
        .filter(|_| limiter.check(key, rate, now_ms).is_ok())
        .count()
}

#[test]
fn burst_of_one_second_then_refusal() {
    let limiter = RateLimiter::new();
    assert_eq!(passed(&limiter, "acct", 5, 1_000, 5), 5);
    let refused = limiter.check("acct", 5, 1_000).unwrap_err();
    // One token takes 1000 / 5 = 200 ms.
    assert_eq!(
        refused,
        Throttled {
            retry_after_ms: 200
        }
    );
    assert_eq!(
        refused.to_string(),
        "request rate exceeded; retry after 200 ms"
    );
    // The smallest rate still allows one request.
    assert_eq!(passed(&limiter, "slow", 1, 0, 3), 1);
    assert_eq!(
        limiter.check("slow", 1, 0),
        Err(Throttled {
            retry_after_ms: 1000
        })
    );
}

#[test]
fn refills_continuously_over_injected_time() {
    let limiter = RateLimiter::new();
    assert_eq!(passed(&limiter, "a", 10, 0, 10), 10);
    // 100 ms is one token at 10 per second; 50 ms only half of one.
    assert_eq!(passed(&limiter, "a", 10, 50, 5), 0);
    assert_eq!(
        limiter.check("a", 10, 50),
        Err(Throttled { retry_after_ms: 50 })
    );
    assert_eq!(passed(&limiter, "a", 10, 100, 5), 1);
    assert_eq!(passed(&limiter, "a", 10, 350, 5), 2);
    // A long pause refills only up to the burst size, never beyond.
    assert_eq!(passed(&limiter, "a", 10, 3_600_000, 50), 10);
    // Fractions of a token accumulate: at 3 per second, one ms by one ms, a second yields
    // exactly 3 tokens (no rounding lost on the way).
    let limiter = RateLimiter::new();
    assert_eq!(passed(&limiter, "b", 3, 0, 3), 3);
    let over_a_second: usize = (1..=1000).map(|t| passed(&limiter, "b", 3, t, 1)).sum();
    assert_eq!(over_a_second, 3);
}

#[test]
fn keys_are_independent() {
    let limiter = RateLimiter::new();
    assert_eq!(passed(&limiter, "a", 2, 0, 5), 2);
    assert_eq!(passed(&limiter, "b", 2, 0, 5), 2);
    assert_eq!(passed(&limiter, "c", 7, 0, 9), 7);
    assert_eq!(limiter.tracked_keys(), 3);
}

#[test]
fn zero_rate_is_unlimited() {
    let limiter = RateLimiter::new();
    assert_eq!(passed(&limiter, "a", 0, 0, 10_000), 10_000);
    assert_eq!(limiter.tracked_keys(), 0);
}

#[test]
fn rate_changes_cap_the_bucket() {
    let limiter = RateLimiter::new();
    assert_eq!(passed(&limiter, "a", 100, 0, 1), 1);
    // Lowered to 2 per second: the 99 tokens left shrink to 2.
    assert_eq!(passed(&limiter, "a", 2, 0, 10), 2);
}

#[test]
fn time_going_backwards_grants_nothing() {
    let limiter = RateLimiter::new();
    assert_eq!(passed(&limiter, "a", 4, 10_000, 4), 4);
    assert!(limiter.check("a", 4, 9_000).is_err());
    assert!(limiter.check("a", 4, i64::MIN).is_err());
    // Back to the latest time seen: still nothing; the refill counts from 10 000.
    assert!(limiter.check("a", 4, 10_000).is_err());
    assert_eq!(passed(&limiter, "a", 4, 10_250, 4), 1);
    // Extreme times neither panic nor overflow.
    assert!(limiter.check("a", 4, i64::MAX).is_ok());
    assert_eq!(passed(&limiter, "b", u32::MAX, i64::MIN, 3), 3);
    assert_eq!(passed(&limiter, "b", u32::MAX, i64::MAX, 3), 3);
}

#[test]
fn eviction_keeps_memory_bounded() {
    let limiter = RateLimiter::with_eviction(100, 60_000);
    // 10 000 one-off callers, one every 100 ms: only those of the last minute are kept, and
    // the map never grows much past the threshold.
    let mut largest = 0;
    for i in 0..10_000i64 {
        assert!(limiter.check(&format!("k{i}"), 1, i * 100).is_ok());
        largest = largest.max(limiter.tracked_keys());
    }
    assert!(largest <= 1_300, "{largest} buckets tracked");
    // Idle buckets went, recent ones stayed (a recent key is still throttled).
    assert!(limiter.tracked_keys() >= 600);
    assert!(limiter.check("k9999", 1, 999_900).is_err());
    // An evicted key starts afresh, which is what it would have had anyway (full after 1 s).
    assert!(limiter.check("k0", 1, 999_900).is_ok());
}

#[test]
fn busy_keys_are_never_evicted() {
    let limiter = RateLimiter::with_eviction(10, 60_000);
    for i in 0..50 {
        assert!(limiter.check(&format!("k{i}"), 1, 0).is_ok());
    }
    // Nothing idle: all kept, so no one gets a fresh bucket early.
    assert_eq!(limiter.tracked_keys(), 50);
    for i in 0..50 {
        assert!(limiter.check(&format!("k{i}"), 1, 10).is_err());
    }
}

#[test]
fn threads_never_exceed_the_allowance_within_one_instant() {
    let limiter = Arc::new(RateLimiter::new());
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (limiter, barrier) = (Arc::clone(&limiter), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let shared = passed(&limiter, "shared", 50, 5_000, 100);
                let own = passed(
                    &limiter,
                    &format!("{:?}", std::thread::current().id()),
                    3,
                    5_000,
                    10,
                );
                (shared, own)
            })
        })
        .collect();
    let results: Vec<(usize, usize)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().map(|r| r.0).sum::<usize>(), 50);
    assert!(results.iter().all(|r| r.1 == 3));
}

#[test]
fn concurrency_limits() {
    assert!(concurrency_allows(0, None));
    assert!(concurrency_allows(u64::MAX, None));
    assert!(concurrency_allows(9, Some(10)));
    assert!(!concurrency_allows(10, Some(10)));
    assert!(!concurrency_allows(11, Some(10)));
    assert!(!concurrency_allows(0, Some(0)));
}
