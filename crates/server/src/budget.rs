//! Per-AccessKey request budgets: a token bucket per key, off unless configured. A call over
//! budget is answered `Throttling.User` with `x-acs-retry-after` (milliseconds), which the Tea
//! SDKs turn into their throttling exception and, with retry options, wait out.
//!
//! Only authenticated calls spend (and create) a bucket, so the map holds at most one entry per
//! real AccessKey.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many calls one AccessKey may make: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestBudget {
    /// Calls per second refilled (greater than 0).
    pub per_second: f64,
    /// Most calls at once (at least 1).
    pub burst: u32,
}

/// The buckets of every AccessKey that called.
#[derive(Default)]
pub struct Budgets {
    budget: Option<RequestBudget>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RequestBudget {
    /// The most tokens a bucket holds: a burst, at least one.
    fn full(&self) -> f64 {
        f64::from(self.burst.max(1))
    }
}

impl Bucket {
    /// The tokens at `now`: those left at `at` plus the refill since, at most a burst.
    fn refilled(&self, budget: RequestBudget, now: Instant) -> f64 {
        let refill = now.duration_since(self.at).as_secs_f64() * budget.per_second;
        (self.tokens + refill).min(budget.full())
    }
}

impl Budgets {
    /// Budgets as configured; `None` never throttles.
    pub fn new(budget: Option<RequestBudget>) -> Budgets {
        Budgets {
            budget,
            buckets: Mutex::default(),
        }
    }

    /// Gives back a call [`Budgets::take`] spent for a call that was then refused for another
    /// reason (up to a full burst).
    pub fn give_back(&self, access_key_id: &str) {
        let Some(budget) = self.budget else {
            return;
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = buckets.get_mut(access_key_id) {
            bucket.tokens = (bucket.tokens + 1.0).min(budget.full());
        }
    }

    /// Spends one call of `access_key_id`'s budget, or says how long until one is available.
    pub fn take(&self, access_key_id: &str) -> Result<(), Duration> {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(access_key_id.to_owned()).or_insert(Bucket {
            tokens: budget.full(),
            at: now,
        });
        bucket.tokens = bucket.refilled(budget, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / budget.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default() {
        let b = Budgets::default();
        assert!((0..1000).all(|_| b.take("k").is_ok()));
    }

    #[test]
    fn burst_then_wait_per_key() {
        let b = Budgets::new(Some(RequestBudget {
            per_second: 1.0,
            burst: 2,
        }));
        assert!(b.take("a").is_ok());
        assert!(b.take("a").is_ok());
        let wait = b.take("a").unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert!(b.take("b").is_ok(), "another key has its own budget");
    }

    #[test]
    fn a_call_given_back_can_be_spent_again() {
        let b = Budgets::new(Some(RequestBudget {
            per_second: 0.001,
            burst: 2,
        }));
        assert!(b.take("a").is_ok());
        assert!(b.take("a").is_ok());
        assert!(b.take("a").is_err());
        b.give_back("a");
        assert!(b.take("a").is_ok());
        assert!(b.take("a").is_err());
        b.give_back("a");
        b.give_back("a");
        b.give_back("a");
        assert!(b.take("a").is_ok() && b.take("a").is_ok());
        assert!(b.take("a").is_err(), "never more than a burst");
        b.give_back("b");
        assert!(b.take("b").is_ok() && b.take("b").is_ok());
        assert!(
            b.take("b").is_err(),
            "a key that never spent gets nothing back"
        );
    }
}
