//! When a failed call is tried again, and after how long. Documented data, decided by one pure
//! function ([`RetryPolicy::decide`]) so the rules are tested without a network.
//!
//! | failure | retried? |
//! |---|---|
//! | throttling: a `Code` containing `Throttling`, or an `x-acs-retry-after` header | yes, always (the request was refused, not run) |
//! | connection could not be made (refused, DNS, connect timeout) | yes, always (nothing was sent) |
//! | HTTP 5xx (`InternalError`, `ServiceUnavailable`, a proxy's 502/504) | yes, for idempotent actions |
//! | timeout or reset after the request was sent | yes, for idempotent actions |
//! | any other 4xx (bad parameters, signature, not found, …) | never |
//! | a 2xx body that does not decode | never |
//!
//! An action is idempotent when its name starts with `Describe`, `List`, `Get`, `Query` or
//! `Check` (every action xbak serves today is). Delays: `base_delay × 2^(retry−1)` capped at
//! `max_delay`; a throttled answer waits at least its `x-acs-retry-after` (milliseconds), capped
//! at `max_retry_after`. No jitter: a CLI issues one call at a time. Every attempt is signed
//! afresh (new nonce and timestamp), since the server refuses a nonce it has seen.
//!
//! Errors that no retry can fix are not attempt failures at all ([`AttemptFailure::of`] is
//! `None`): local file IO, configuration, a download whose bytes do not verify.
//!
//! # Downloads
//!
//! A download ([`crate::download`]) follows the same table with two differences. Its GETs of a
//! signed link are idempotent. And `attempt` counts the failed attempts since the last one that
//! wrote bytes, so a long download that keeps making progress is never given up; only
//! `max_attempts` attempts in a row without a byte fail it. Its default is
//! [`RetryPolicy::downloads`] (6 attempts without progress, 0.5 s doubling to at most 4 s). A
//! link the object store refuses as expired is not a failure: it is renewed, within
//! [`DownloadOptions::max_renewals`](crate::DownloadOptions::max_renewals).

use std::time::Duration;

use crate::error::SdkError;

/// Retry settings; see the module docs for the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub base_delay: Duration,
    /// Cap of the exponential delay.
    pub max_delay: Duration,
    /// Cap of a server-requested `x-acs-retry-after` wait.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The default for downloads: 6 attempts without progress, 0.5 s doubling to at most 4 s.
    pub fn downloads() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
            ..RetryPolicy::default()
        }
    }

    /// What to do after attempt number `attempt` (1-based; for downloads, counted since the
    /// last progress) failed with `failure`: `Some(delay)` to try again after `delay`, `None` to
    /// give up.
    pub fn decide(
        &self,
        attempt: u32,
        failure: &AttemptFailure,
        idempotent: bool,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let retryable = match failure {
            AttemptFailure::Throttled { .. } | AttemptFailure::Connect => true,
            AttemptFailure::ServerError | AttemptFailure::AfterSend => idempotent,
            AttemptFailure::ClientError | AttemptFailure::Undecodable => false,
        };
        if !retryable {
            return None;
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        Some(match failure {
            AttemptFailure::Throttled {
                retry_after: Some(wait),
            } => exp.max((*wait).min(self.max_retry_after)),
            _ => exp,
        })
    }
}

/// How an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptFailure {
    /// Throttled; `retry_after` from the `x-acs-retry-after` header when present.
    Throttled {
        /// Server-requested wait.
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx.
    ServerError,
    /// HTTP 4xx other than throttling.
    ClientError,
    /// No connection could be made: nothing reached the server.
    Connect,
    /// Timeout or broken connection after sending.
    AfterSend,
    /// A success status with a body we cannot read.
    Undecodable,
}

impl AttemptFailure {
    /// How `err` counts for retrying: an error envelope by its code and status (throttled when
    /// the code contains `Throttling` or the answer carried `retry_after`), a transport error by
    /// whether a connection was made, an undecodable body as such. `None` for errors that are not
    /// an attempt's failure (local IO, configuration, a download that does not verify).
    pub fn of(err: &SdkError, retry_after: Option<Duration>) -> Option<AttemptFailure> {
        Some(match err {
            SdkError::Api { http_status, .. } => {
                if err.is_throttling() || retry_after.is_some() {
                    AttemptFailure::Throttled { retry_after }
                } else if *http_status >= 500 {
                    AttemptFailure::ServerError
                } else {
                    AttemptFailure::ClientError
                }
            }
            SdkError::Transport(e) if e.is_connect() => AttemptFailure::Connect,
            SdkError::Transport(_) => AttemptFailure::AfterSend,
            SdkError::Decode { .. } => AttemptFailure::Undecodable,
            SdkError::Config(_) | SdkError::Download(_) | SdkError::Io(_) => return None,
        })
    }
}

/// True for read-only actions (`Describe…`, `List…`, `Get…`, `Query…`, `Check…`).
pub fn is_idempotent(action: &str) -> bool {
    ["Describe", "List", "Get", "Query", "Check"]
        .iter()
        .any(|p| action.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: ms(100),
            max_delay: ms(1000),
            max_retry_after: ms(5000),
        };
        let delays: Vec<_> = (1..10)
            .map(|a| p.decide(a, &AttemptFailure::ServerError, true).unwrap())
            .collect();
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000].map(ms)
        );
        assert_eq!(p.decide(10, &AttemptFailure::ServerError, true), None);
    }

    #[test]
    fn what_is_retried() {
        let p = RetryPolicy::default();
        let t = AttemptFailure::Throttled { retry_after: None };
        assert_eq!(p.decide(1, &t, false), Some(ms(200)));
        assert_eq!(p.decide(1, &AttemptFailure::Connect, false), Some(ms(200)));
        assert_eq!(
            p.decide(1, &AttemptFailure::ServerError, true),
            Some(ms(200))
        );
        assert_eq!(p.decide(1, &AttemptFailure::ServerError, false), None);
        assert_eq!(p.decide(1, &AttemptFailure::AfterSend, true), Some(ms(200)));
        assert_eq!(p.decide(1, &AttemptFailure::AfterSend, false), None);
        assert_eq!(p.decide(1, &AttemptFailure::ClientError, true), None);
        assert_eq!(p.decide(1, &AttemptFailure::Undecodable, true), None);
        assert_eq!(p.decide(4, &t, true), None, "4 attempts in total");
        assert_eq!(RetryPolicy::none().decide(1, &t, true), None);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        let t = |n| AttemptFailure::Throttled {
            retry_after: Some(ms(n)),
        };
        assert_eq!(p.decide(1, &t(1500), true), Some(ms(1500)));
        assert_eq!(
            p.decide(1, &t(50), true),
            Some(ms(200)),
            "never below the backoff"
        );
        assert_eq!(
            p.decide(1, &t(3_600_000), true),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn download_defaults_double_from_half_a_second_to_four() {
        let p = RetryPolicy::downloads();
        let delays: Vec<_> = (1..6)
            .map(|a| p.decide(a, &AttemptFailure::AfterSend, true).unwrap())
            .collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 4000].map(ms));
        assert_eq!(p.decide(6, &AttemptFailure::AfterSend, true), None);
    }

    #[test]
    fn errors_are_classified() {
        let api = |status: u16, code: &str| SdkError::Api {
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
            http_status: status,
        };
        let of = AttemptFailure::of;
        assert_eq!(
            of(&api(400, "Throttling.User"), None),
            Some(AttemptFailure::Throttled { retry_after: None })
        );
        assert_eq!(
            of(&api(503, "ServiceUnavailable"), Some(ms(7))),
            Some(AttemptFailure::Throttled {
                retry_after: Some(ms(7))
            })
        );
        assert_eq!(
            of(&api(502, "SDK.UnknownServerError"), None),
            Some(AttemptFailure::ServerError)
        );
        assert_eq!(
            of(&api(403, "AccessDenied"), None),
            Some(AttemptFailure::ClientError)
        );
        let decode = SdkError::Decode {
            message: "x".into(),
        };
        assert_eq!(of(&decode, None), Some(AttemptFailure::Undecodable));
        assert_eq!(of(&SdkError::Download("sha".into()), None), None);
        assert_eq!(of(&SdkError::Io(std::io::Error::other("disk")), None), None);
        assert_eq!(of(&SdkError::Config("c".into()), None), None);
    }

    #[test]
    fn idempotent_names() {
        assert!(is_idempotent("DescribeCrossRegionBackups"));
        assert!(is_idempotent("ListTagResources"));
        assert!(!is_idempotent("ModifyInstanceCrossBackupPolicy"));
        assert!(!is_idempotent("describeX"));
    }
}
