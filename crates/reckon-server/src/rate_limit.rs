//! Per-key rate limits: a token bucket per API key, refilled at `per_second` tokens a second up
//! to `burst`; a request takes a token, and one that finds none is answered `429 Too Many
//! Requests` with `Retry-After` (whole seconds until a token is back). The buckets live in this
//! process: behind a load balancer over N replicas a key may send up to N times the rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rate every key may send at.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Requests a second, sustained.
    pub per_second: f64,
    /// Requests at once after a quiet spell.
    pub burst: f64,
}

/// The buckets of the keys seen.
#[derive(Debug)]
pub struct KeyBuckets {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// Keys whose bucket has been full this long are forgotten when the map is swept.
const IDLE_BUCKET_FORGOTTEN: Duration = Duration::from_secs(600);
/// The map is swept for idle buckets once it holds this many.
const BUCKETS_SWEPT_AT: usize = 10_000;

impl KeyBuckets {
    pub fn new(limit: RateLimit) -> KeyBuckets {
        KeyBuckets { limit, buckets: Mutex::default() }
    }

    /// Takes a token from `key_id`'s bucket; when it is empty, how long until one is back.
    pub fn take(&self, key_id: &str, now: Instant) -> Result<(), Duration> {
        let RateLimit { per_second, burst } = self.limit;
        let mut buckets = self.buckets.lock().expect("not poisoned");
        if buckets.len() >= BUCKETS_SWEPT_AT {
            buckets.retain(|_, bucket| now.duration_since(bucket.refilled_at) < IDLE_BUCKET_FORGOTTEN);
        }
        let bucket = buckets.entry(key_id.to_owned()).or_insert(Bucket { tokens: burst, refilled_at: now });
        let elapsed = now.saturating_duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_its_rate_and_other_keys_their_own() {
        let buckets = KeyBuckets::new(RateLimit { per_second: 2.0, burst: 3.0 });
        let start = Instant::now();
        // A burst of 3, then empty: the 4th waits 1 token / 2 per second = 0.5 s.
        for _ in 0..3 {
            assert_eq!(buckets.take("a", start), Ok(()));
        }
        assert_eq!(buckets.take("a", start), Err(Duration::from_millis(500)));
        // Another key has its own bucket.
        assert_eq!(buckets.take("b", start), Ok(()));
        // 0.5 s later one token is back (0.5 s * 2/s = 1), and only one.
        let later = start + Duration::from_millis(500);
        assert_eq!(buckets.take("a", later), Ok(()));
        assert!(buckets.take("a", later).is_err());
        // After a long quiet spell the bucket holds the burst, not more.
        let quiet = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(buckets.take("a", quiet), Ok(()));
        }
        assert!(buckets.take("a", quiet).is_err());
    }
}
