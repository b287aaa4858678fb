//! Pure rules every adapter applies the same way, so backends agree without sharing SQL: how a
//! listing page is read, how a window splits into whole days, lease lengths, error truncation,
//! and the shapes of generated keys.

use std::time::Duration;

use rand::distr::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use xbak_domain::time::Timestamp;
use xbak_domain::LeaseHolder;

use xbak_domain::{AccessKey, BackupRun, BackupRunStatus, CrossBackupPolicy, Policy};

use crate::{CatalogError, CopyCounts, Result};

/// Seconds per day: a listing day is `backup_started_at / DAY`.
pub(crate) const DAY: i64 = 86_400;

/// `last_error` is for operators; keep rows small even if a cause chain is huge.
pub(crate) const MAX_ERROR_LEN: usize = 2000;

/// The `settings` key of the download-link signing key.
pub(crate) const LINK_KEY: &str = "link_signing_key";

/// `(reverse, limit, offset)` to read rows `offset..offset + limit` of the listing. With a known
/// `total`, a page in the older half is read from the oldest end, so no page skips more than
/// half of the instance's copies.
pub(crate) fn page_window(limit: i64, offset: i64, total: Option<u64>) -> (bool, i64, i64) {
    match total.and_then(|t| i64::try_from(t).ok()) {
        Some(total) if offset < total && offset > total / 2 => {
            let end = offset.saturating_add(limit).min(total);
            (true, end - offset, total - end)
        }
        _ => (false, limit, offset),
    }
}

/// How to total a window `[from, to]` (inclusive, unix seconds): the whole days `days` (inclusive
/// day numbers, `backup_started_at / 86400`) from `copy_listing_days`, plus a count of the
/// `partial` ranges (inclusive seconds) before and after them. `None` when there is no whole day
/// inside (a count over the window is then no dearer), or the window starts before 1970 (SQLite's
/// division truncates towards zero, so days before it are not `[d * 86400, d * 86400 + 86399]`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DaySplit {
    pub(crate) days: (i64, i64),
    pub(crate) partial: Vec<(i64, i64)>,
}

pub(crate) fn split_window(from: i64, to: i64) -> Option<DaySplit> {
    if from < 0 || to < from {
        return None;
    }
    // The first day starting at or after `from`, and the last ending at or before `to`.
    let first = from.saturating_add(DAY - 1) / DAY;
    let last = to.saturating_add(1) / DAY - 1;
    if first > last {
        return None;
    }
    let mut partial = Vec::new();
    if from < first * DAY {
        partial.push((from, first * DAY - 1));
    }
    if (last + 1) * DAY <= to {
        partial.push(((last + 1) * DAY, to));
    }
    Some(DaySplit {
        days: (first, last),
        partial,
    })
}

/// Unix seconds, the catalog's time unit. Sub-second precision is dropped.
pub(crate) fn secs(t: Timestamp) -> i64 {
    t.timestamp()
}

/// The wall clock, for columns no caller supplies a time for (`created_at`, `queued_at`).
pub(crate) fn wall_clock() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A lease in whole seconds.
pub(crate) fn lease_secs(lease: Duration) -> i64 {
    // Whole seconds, rounded up, at least one: a lease never ends before it starts.
    let secs = lease
        .as_secs()
        .saturating_add(u64::from(lease.subsec_nanos() > 0));
    i64::try_from(secs.max(1)).unwrap_or(i64::MAX / 2)
}

/// A lease being taken at `now` for `lease` by `holder`, in the catalog's columns: whole
/// seconds, a fresh token, the encoded holder. Every claim (copy jobs, requested backups,
/// periodic runs) takes one.
pub(crate) struct NewLease {
    pub(crate) now: i64,
    pub(crate) token: String,
    pub(crate) until: i64,
    pub(crate) holder: String,
}

impl NewLease {
    pub(crate) fn new(now: Timestamp, lease: Duration, holder: &LeaseHolder) -> NewLease {
        let now = secs(now);
        NewLease {
            now,
            token: random_alphanumeric(32),
            until: now.saturating_add(lease_secs(lease)),
            holder: holder.encode(),
        }
    }
}

/// At most `max` bytes, cut at a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `n` random ASCII letters and digits from the thread's CSPRNG.
pub(crate) fn random_alphanumeric(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// Alibaba's AccessKeyId shape: `LTAI` and 20 letters or digits.
pub(crate) fn new_access_key_id() -> String {
    format!("LTAI{}", random_alphanumeric(20))
}

/// The log switch and enable times to store with policy `new`, given the stored one (`before`):
/// the log switch is forced off with the policy; a switch turned on now gets `new.updated_at`,
/// one already on keeps its time, one turned off keeps the time it was last turned on.
pub(crate) fn switch_times(
    before: Option<&CrossBackupPolicy>,
    new: &Policy,
    log_backup_enabled: bool,
) -> (bool, Option<Timestamp>, Option<Timestamp>) {
    let log_on = log_backup_enabled && new.enabled;
    let (was_on, was_log_on, backup_at, log_at) = match before {
        Some(b) => (
            b.policy.enabled,
            b.log_backup_enabled,
            b.backup_enabled_at,
            b.log_backup_enabled_at,
        ),
        None => (false, false, None, None),
    };
    let backup_at = if new.enabled && !was_on {
        Some(new.updated_at)
    } else {
        backup_at
    };
    let log_at = if log_on && !was_log_on {
        Some(new.updated_at)
    } else {
        log_at
    };
    (log_on, backup_at, log_at)
}

/// A new enabled AccessKey of `account_id`, with a random id and secret.
pub(crate) fn new_access_key(account_id: i64) -> AccessKey {
    AccessKey {
        access_key_id: new_access_key_id(),
        secret: random_alphanumeric(30),
        account_id,
        enabled: true,
    }
}

/// Backup run `run_id` as read (`found`), which must exist and be running.
pub(crate) fn running_run(run_id: i64, found: Option<BackupRun>) -> Result<BackupRun> {
    let run = found.ok_or_else(|| CatalogError::NotFound(format!("backup run {run_id}")))?;
    if run.status != BackupRunStatus::Running {
        return Err(CatalogError::Conflict(format!(
            "backup run {run_id} is {}; a finished run",
            run.status.as_str()
        )));
    }
    Ok(run)
}

/// A run records only its own instance's backup set.
pub(crate) fn check_run_instance(run: &BackupRun, instance_id: i64) -> Result<()> {
    if run.instance_id != instance_id {
        return Err(CatalogError::Internal(format!(
            "backup run {} belongs to another instance",
            run.id
        )));
    }
    Ok(())
}

impl CopyCounts {
    /// Adds `n` copies in state `status` (a `copies.status` value).
    pub(crate) fn add(&mut self, status: &str, n: u64) {
        match status {
            "pending" => self.pending = n,
            "completed" => self.completed = n,
            "failed" => self.failed = n,
            // The CHECK constraint makes this unreachable.
            _ => {}
        }
    }
}

/// A fresh link signing key, as stored in `settings` (JSON with `key_id` and `secret`).
pub(crate) fn new_link_key() -> String {
    serde_json::json!({
        "key_id": format!("xbak-link-{}", random_alphanumeric(8).to_ascii_lowercase()),
        "secret": random_alphanumeric(40),
    })
    .to_string()
}

/// `(key id, secret)` of a stored link signing key.
pub(crate) fn parse_link_key(value: &str) -> Result<(String, String)> {
    let bad = || CatalogError::Internal("malformed link signing key in settings".into());
    let v: serde_json::Value = serde_json::from_str(value).map_err(|_| bad())?;
    let key_id = v.get("key_id").and_then(|x| x.as_str()).ok_or_else(bad)?;
    let secret = v.get("secret").and_then(|x| x.as_str()).ok_or_else(bad)?;
    Ok((key_id.to_string(), secret.to_string()))
}

/// A claim's key: the first 128 bits of SHA-256 over the AccessKeyId's length in bytes (8, big
/// endian), the AccessKeyId and the nonce. The same in every process and on both backends
/// (PostgreSQL's `nonce_fingerprint` function computes it in SQL, for older binaries' claims).
pub(crate) type Fingerprint = [u8; 16];

/// The [`Fingerprint`] of a claim of `nonce` by `access_key_id`.
pub(crate) fn fingerprint(access_key_id: &str, nonce: &str) -> Fingerprint {
    let mut hash = Sha256::new();
    hash.update((access_key_id.len() as u64).to_be_bytes());
    hash.update(access_key_id.as_bytes());
    hash.update(nonce.as_bytes());
    let digest = hash.finalize();
    let mut fp = [0; 16];
    fp.copy_from_slice(&digest[..16]);
    fp
}

/// A batch of nonce claims reduced to its distinct claims in [`Fingerprint`] order: every
/// process then takes the rows' locks in the same order (two batches never deadlock), and a
/// nonce claimed twice in one batch is a single claim, won at most by its first occurrence.
pub(crate) struct NonceBatch<'a> {
    /// Each claim's fingerprint, in the order given.
    fingerprints: Vec<Fingerprint>,
    /// The distinct claims (each one's first occurrence), ordered by fingerprint.
    pub(crate) distinct: Vec<(Fingerprint, &'a crate::SeenNonce)>,
}

impl<'a> NonceBatch<'a> {
    pub(crate) fn new(claims: &'a [crate::SeenNonce]) -> NonceBatch<'a> {
        let fingerprints: Vec<Fingerprint> = claims
            .iter()
            .map(|n| fingerprint(&n.access_key_id, &n.nonce))
            .collect();
        let mut distinct: Vec<_> = fingerprints.iter().copied().zip(claims).collect();
        // Stable, so `dedup_by` keeps each claim's first occurrence.
        distinct.sort_by_key(|a| a.0);
        distinct.dedup_by(|a, b| a.0 == b.0);
        NonceBatch {
            fingerprints,
            distinct,
        }
    }

    /// Each claim's answer, in the order given, knowing the fingerprints the batch won.
    pub(crate) fn answers(&self, won: &std::collections::HashSet<Fingerprint>) -> Vec<bool> {
        let mut answered = std::collections::HashSet::new();
        self.fingerprints
            .iter()
            .map(|fp| won.contains(fp) && answered.insert(*fp))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_the_key_from_the_nonce() {
        assert_ne!(fingerprint("LTAIa", "bc"), fingerprint("LTAIab", "c"));
        assert_ne!(fingerprint("LTAIa", "n1"), fingerprint("LTAIb", "n1"));
        assert_eq!(fingerprint("LTAIa", "n1"), fingerprint("LTAIa", "n1"));
    }

    #[test]
    fn older_pages_are_read_from_the_oldest_end() {
        // Newer half, unknown total, or past the end: forwards, unchanged.
        assert_eq!(page_window(30, 0, Some(100)), (false, 30, 0));
        assert_eq!(page_window(30, 30, Some(100)), (false, 30, 30));
        assert_eq!(page_window(30, 90, None), (false, 30, 90));
        assert_eq!(page_window(30, 120, Some(100)), (false, 30, 120));
        // Rows 60..90 of 100 are rows 10..40 counted from the oldest.
        assert_eq!(page_window(30, 60, Some(100)), (true, 30, 10));
        // The last, partial page: rows 90..100 are the 10 oldest.
        assert_eq!(page_window(30, 90, Some(100)), (true, 10, 0));
        assert_eq!(page_window(100, 9900, Some(10_000)), (true, 100, 0));
    }

    #[test]
    fn windows_split_into_whole_days_and_partial_ends() {
        const D: i64 = DAY;
        let split = |days: (i64, i64), partial: Vec<(i64, i64)>| Some(DaySplit { days, partial });
        // Within one day, across two partial days, or before 1970: counted.
        assert_eq!(split_window(10 * D + 5, 10 * D + 500), None);
        assert_eq!(split_window(10 * D, 10 * D + D - 2), None);
        assert_eq!(split_window(10 * D + 1, 11 * D + D - 2), None);
        assert_eq!(split_window(-D, 5 * D), None);
        assert_eq!(split_window(5 * D, 4 * D), None);
        // Whole days only.
        assert_eq!(
            split_window(10 * D, 10 * D + D - 1),
            split((10, 10), vec![])
        );
        assert_eq!(split_window(0, 3 * D - 1), split((0, 2), vec![]));
        // Partial ends around the whole days.
        assert_eq!(
            split_window(10 * D + 7, 13 * D + 9),
            split(
                (11, 12),
                vec![(10 * D + 7, 11 * D - 1), (13 * D, 13 * D + 9)]
            )
        );
        assert_eq!(
            split_window(10 * D, 12 * D),
            split((10, 11), vec![(12 * D, 12 * D)])
        );
        assert_eq!(
            split_window(10 * D - 1, 12 * D - 1),
            split((10, 11), vec![(10 * D - 1, 10 * D - 1)])
        );
        assert_eq!(
            split_window(10 * D + 1, 11 * D + D - 1),
            split((11, 11), vec![(10 * D + 1, 11 * D - 1)])
        );
    }

    #[test]
    fn leases_round_up_to_whole_seconds() {
        assert_eq!(lease_secs(Duration::from_secs(30)), 30);
        assert_eq!(lease_secs(Duration::from_millis(30_001)), 31);
        assert_eq!(lease_secs(Duration::ZERO), 1);
        assert!(lease_secs(Duration::MAX) > 0);
    }

    #[test]
    fn errors_are_cut_on_char_boundaries() {
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("ééé", 4), "éé");
    }

    #[test]
    fn random_strings_are_alphanumeric_and_differ() {
        let a = random_alphanumeric(30);
        assert_eq!(a.len(), 30);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_alphanumeric(30));
    }

    #[test]
    fn access_key_ids_look_like_alibabas() {
        let id = new_access_key_id();
        assert_eq!(id.len(), 24);
        assert!(id.starts_with("LTAI"));
        assert!(id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn link_keys_round_trip() {
        let (id, secret) = parse_link_key(&new_link_key()).unwrap();
        assert!(id.starts_with("xbak-link-"));
        assert_eq!(secret.len(), 40);
        assert!(parse_link_key("{}").is_err());
    }
}
