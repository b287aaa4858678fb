//! Replay protection: a nonce may be used once per AccessKey while its request could still pass the
//! clock check.
//!
//! The check runs in memory on 64-bit keyed fingerprints of `(AccessKeyId, nonce)` kept in
//! one-minute buckets, so it costs a hash and a set insert per request and about 10–20 bytes per
//! remembered nonce (a collision between two different nonces has odds of ~n/2^64). A nonce is
//! remembered only until its request's own `Timestamp` leaves the clock window (signing time +
//! skew): after that the clock check refuses a replay anyway. Requests signed now are thus kept
//! 15 minutes, not the window's whole 30. Accepted nonces
//! are flushed to the catalog in batches by [`NonceGuard::flush`] (the server calls it every
//! [`FLUSH_EVERY`] and on shutdown) and loaded back on start, so a restart does not reopen the
//! window. A hard crash can forget at most the last flush interval's nonces.

use chrono::Utc;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xbak_catalog::{Catalog, CatalogError, SeenNonce};

/// How often accepted nonces are written to the catalog.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
const SHARDS: usize = 16;
const BUCKET_SECS: i64 = 60;

/// Fingerprints expiring in one minute, by shard.
struct Bucket {
    /// Unix minute in which its fingerprints expire.
    minute: i64,
    seen: HashSet<u64, NoHash>,
}

/// Remembers nonces until they expire.
pub struct NonceGuard {
    catalog: Arc<dyn Catalog>,
    /// How far a request's `Timestamp` may be from now (the clock check's skew).
    skew_secs: i64,
    hasher: RandomState,
    shards: Vec<Mutex<VecDeque<Bucket>>>,
    unflushed: Mutex<Vec<SeenNonce>>,
}

impl NonceGuard {
    /// Loads the catalog's live nonces. `skew` is the clock check's: how far a request's
    /// `Timestamp` may be from now.
    pub async fn load(
        catalog: Arc<dyn Catalog>,
        skew: Duration,
    ) -> Result<NonceGuard, CatalogError> {
        let guard = NonceGuard {
            catalog: catalog.clone(),
            skew_secs: skew.as_secs().max(1) as i64,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            unflushed: Mutex::default(),
        };
        let now = Utc::now().timestamp();
        for n in catalog.live_nonces(Utc::now()).await? {
            let fp = guard.fingerprint(&n.access_key_id, &n.nonce);
            guard.insert(fp, n.expires_at.timestamp(), now);
        }
        Ok(guard)
    }

    fn fingerprint(&self, access_key_id: &str, nonce: &str) -> u64 {
        self.hasher.hash_one((access_key_id, nonce))
    }

    /// Inserts a fingerprint that expires at `expires` (unix seconds), dropping the buckets that
    /// expired before `now`; `false` if it is already remembered.
    fn insert(&self, fp: u64, expires: i64, now: i64) -> bool {
        let minute = expires.div_euclid(BUCKET_SECS);
        // A bucket lives to the end of its minute, so nothing goes before it expired.
        let oldest_live = now.div_euclid(BUCKET_SECS);
        let mut buckets = self.shards[(fp as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while buckets.front().is_some_and(|b| b.minute < oldest_live) {
            buckets.pop_front();
        }
        if buckets.iter().any(|b| b.seen.contains(&fp)) {
            return false;
        }
        let bucket = match buckets.iter_mut().rposition(|b| b.minute == minute) {
            Some(i) => &mut buckets[i],
            None => {
                // Buckets stay ordered by minute; an earlier expiry goes in its place.
                let pos = buckets
                    .iter()
                    .position(|b| b.minute > minute)
                    .unwrap_or(buckets.len());
                buckets.insert(
                    pos,
                    Bucket {
                        minute,
                        seen: HashSet::default(),
                    },
                );
                &mut buckets[pos]
            }
        };
        bucket.seen.insert(fp)
    }

    /// Records the nonce of a request signed at `signed_at` (already within the clock window);
    /// `false` when it was already used and has not expired.
    pub fn check_and_remember(
        &self,
        access_key_id: &str,
        nonce: &str,
        signed_at: chrono::DateTime<Utc>,
    ) -> bool {
        let now = Utc::now();
        let expires_at = signed_at + chrono::Duration::seconds(self.skew_secs);
        let fp = self.fingerprint(access_key_id, nonce);
        if !self.insert(fp, expires_at.timestamp(), now.timestamp()) {
            return false;
        }
        self.unflushed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(SeenNonce {
                access_key_id: access_key_id.to_owned(),
                nonce: nonce.to_owned(),
                expires_at,
            });
        true
    }

    /// Writes accepted nonces to the catalog.
    pub async fn flush(&self) -> Result<(), CatalogError> {
        let batch = std::mem::take(&mut *self.unflushed.lock().unwrap_or_else(|e| e.into_inner()));
        if !batch.is_empty() {
            if let Err(e) = self.catalog.remember_nonces(&batch).await {
                // Keep them for the next flush rather than forgetting them.
                self.unflushed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(batch);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Deletes expired nonces from the catalog (memory expires by whole buckets on insert).
    pub async fn prune(&self) -> Result<u64, CatalogError> {
        self.catalog.prune_nonces(Utc::now()).await
    }
}

/// The fingerprints are already keyed hashes: hashing them again would only cost time.
#[derive(Default, Clone, Copy)]
struct NoHash;

impl BuildHasher for NoHash {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn guard() -> NonceGuard {
        let cat = xbak_catalog::sqlite::SqliteCatalog::open_in_memory()
            .await
            .unwrap();
        NonceGuard::load(Arc::new(cat), Duration::from_secs(900))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_nonce_is_accepted_once_per_key() {
        let g = guard().await;
        let now = Utc::now();
        assert!(g.check_and_remember("ak1", "n1", now));
        assert!(!g.check_and_remember("ak1", "n1", now));
        assert!(!g.check_and_remember("ak1", "n1", now - chrono::Duration::minutes(10)));
        assert!(g.check_and_remember("ak2", "n1", now));
        assert!(g.check_and_remember("ak1", "n2", now));
    }

    #[tokio::test]
    async fn fingerprints_live_until_their_request_leaves_the_clock_window() {
        let g = guard().await;
        let signed = 1_000_000;
        let expires = signed + 900;
        assert!(g.insert(42, expires, signed));
        assert!(!g.insert(42, expires, expires), "still inside the window");
        assert!(
            !g.insert(42, expires + 60, expires + 59 - expires.rem_euclid(60)),
            "kept to the end of its minute"
        );
        let next_minute = (expires.div_euclid(BUCKET_SECS) + 1) * BUCKET_SECS;
        assert!(
            g.insert(42, next_minute + 900, next_minute),
            "past the window"
        );
    }

    #[tokio::test]
    async fn a_request_signed_minutes_ago_is_kept_only_as_long_as_needed() {
        let g = guard().await;
        let now = 3_000_000;
        // Signed 14 minutes ago: a replay passes the clock check for one more minute only.
        assert!(g.insert(9, now - 14 * 60 + 900, now));
        assert!(!g.insert(9, now + 900, now + 30));
        assert!(
            g.insert(9, now + 3 * 60 + 900, now + 3 * 60),
            "forgotten after its window"
        );
    }

    #[tokio::test]
    async fn buckets_stay_ordered_when_earlier_expiries_arrive() {
        let g = guard().await;
        let now = 2_000_000;
        assert!(g.insert(7, now + 900, now));
        assert!(g.insert(8, now + 300, now)); // loaded from the catalog, signed earlier
        assert!(!g.insert(8, now + 900, now));
        assert!(!g.insert(7, now + 300, now));
    }

    #[tokio::test]
    async fn remembered_nonces_survive_a_restart_with_their_expiry() {
        let cat: Arc<dyn Catalog> = Arc::new(
            xbak_catalog::sqlite::SqliteCatalog::open_in_memory()
                .await
                .unwrap(),
        );
        let skew = Duration::from_secs(900);
        let g = NonceGuard::load(cat.clone(), skew).await.unwrap();
        let now = Utc::now();
        assert!(g.check_and_remember("ak", "once", now));
        g.flush().await.unwrap();
        let live = cat.live_nonces(now).await.unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(
            live[0].expires_at.timestamp(),
            (now + chrono::Duration::seconds(900)).timestamp()
        );
        let restarted = NonceGuard::load(cat, skew).await.unwrap();
        assert!(!restarted.check_and_remember("ak", "once", now));
    }
}
