//! The retry schedule of failed copy attempts: capped exponential backoff, as data.
//!
//! After the *n*-th failed attempt of a copy (n = 1, 2, …) the next attempt is due
//! `min(max, base × 2^(n−1))` later, until `max_attempts` attempts have failed: then the copy is
//! Failed for good (listed with `BackupSetStatus` 1). With the defaults (30 s, 30 min, 10):
//!
//! | failed attempts | 1   | 2   | 3    | 4    | 5    | 6     | 7…9    | 10          |
//! |-----------------|-----|-----|------|------|------|-------|--------|-------------|
//! | next attempt in | 30s | 1m  | 2m   | 4m   | 8m   | 16m   | 30m    | gives up    |
//!
//! about two hours of trying in all. There is no jitter: a job is claimed by one worker at a
//! time under a lease, so retries cannot stampede, and the schedule stays testable exactly.
//! Failures that no retry can fix (an unknown region, different bytes already published at the
//! destination) skip the schedule and fail for good at once.

use std::time::Duration;

/// Capped exponential backoff for failed copy attempts (the SDK's client-side retries are
/// `xbak_sdk::RetryPolicy`, a different thing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failed attempt.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub max: Duration,
    /// Attempts (the first included) before the copy is Failed for good; at least 1.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(30),
            max: Duration::from_secs(30 * 60),
            max_attempts: 10,
        }
    }
}

impl Backoff {
    /// Delay before the next attempt once `failed_attempts` attempts have failed, or `None` when
    /// the budget is spent.
    pub fn next_delay(&self, failed_attempts: u32) -> Option<Duration> {
        if failed_attempts >= self.max_attempts {
            return None;
        }
        let doublings = failed_attempts.saturating_sub(1);
        // 2^31 × any base ≥ 1 ns already exceeds any sensible cap; avoid overflow past it.
        let factor = 1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX);
        Some(self.base.saturating_mul(factor).min(self.max))
    }

    /// Every delay of a copy that keeps failing, in order (`max_attempts − 1` of them).
    pub fn schedule(&self) -> Vec<Duration> {
        (1..self.max_attempts)
            .filter_map(|n| self.next_delay(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn default_schedule_is_the_documented_table() {
        let p = Backoff::default();
        assert_eq!(
            p.schedule(),
            vec![
                S(30),
                S(60),
                S(120),
                S(240),
                S(480),
                S(960),
                S(1800),
                S(1800),
                S(1800)
            ]
        );
        assert_eq!(p.next_delay(10), None);
        assert_eq!(p.schedule().iter().sum::<Duration>(), S(7290));
    }

    #[test]
    fn delays_double_then_cap() {
        let p = Backoff {
            base: S(1),
            max: S(10),
            max_attempts: 6,
        };
        assert_eq!(p.schedule(), vec![S(1), S(2), S(4), S(8), S(10)]);
        assert_eq!(p.next_delay(6), None);
        assert_eq!(p.next_delay(100), None);
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let p = Backoff {
            base: S(1),
            max: S(1),
            max_attempts: 1,
        };
        assert!(p.schedule().is_empty());
        assert_eq!(p.next_delay(1), None);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let p = Backoff {
            base: Duration::from_nanos(1),
            max: Duration::MAX,
            max_attempts: u32::MAX,
        };
        assert_eq!(p.next_delay(40), Some(Duration::from_nanos(1 << 31)));
        let p = Backoff {
            base: Duration::MAX,
            max: S(5),
            max_attempts: u32::MAX,
        };
        assert_eq!(p.next_delay(3), Some(S(5)));
    }

    #[test]
    fn zero_base_retries_at_once() {
        let p = Backoff {
            base: Duration::ZERO,
            max: S(60),
            max_attempts: 3,
        };
        assert_eq!(p.schedule(), vec![Duration::ZERO, Duration::ZERO]);
    }
}
