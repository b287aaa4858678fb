//! Replay protection: a nonce may be used once per AccessKey while its request could still pass the
//! clock check.
//!
//! The check runs in memory on 64-bit keyed fingerprints of `(AccessKeyId, nonce)` kept in
//! one-minute buckets, so it costs a hash and a set insert per request and about 10 bytes per
//! remembered nonce (a collision between two different nonces has odds of ~n/2^64). Accepted nonces
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

/// Fingerprints seen in one minute, by shard.
struct Bucket {
    minute: i64,
    seen: HashSet<u64, NoHash>,
}

/// Remembers nonces until they expire.
pub struct NonceGuard {
    catalog: Arc<dyn Catalog>,
    remember_secs: i64,
    hasher: RandomState,
    shards: Vec<Mutex<VecDeque<Bucket>>>,
    unflushed: Mutex<Vec<SeenNonce>>,
}

impl NonceGuard {
    /// Loads the catalog's live nonces. `remember_for` must cover every timestamp the clock check accepts.
    pub async fn load(
        catalog: Arc<dyn Catalog>,
        remember_for: Duration,
    ) -> Result<NonceGuard, CatalogError> {
        let guard = NonceGuard {
            catalog: catalog.clone(),
            remember_secs: remember_for.as_secs().max(1) as i64,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            unflushed: Mutex::default(),
        };
        for n in catalog.live_nonces(Utc::now()).await? {
            let seen_at = n.expires_at.timestamp() - guard.remember_secs;
            guard.insert(guard.fingerprint(&n.access_key_id, &n.nonce), seen_at);
        }
        Ok(guard)
    }

    fn fingerprint(&self, access_key_id: &str, nonce: &str) -> u64 {
        self.hasher.hash_one((access_key_id, nonce))
    }

    /// Inserts a fingerprint seen at `at` (unix seconds); `false` if it is already remembered.
    fn insert(&self, fp: u64, at: i64) -> bool {
        let minute = at.div_euclid(BUCKET_SECS);
        let oldest_live = (at - self.remember_secs).div_euclid(BUCKET_SECS);
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
                // Buckets stay ordered by minute; a late loader entry goes in its place.
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

    /// Records the nonce; `false` when it was already used and has not expired.
    pub fn check_and_remember(&self, access_key_id: &str, nonce: &str) -> bool {
        let now = Utc::now();
        if !self.insert(self.fingerprint(access_key_id, nonce), now.timestamp()) {
            return false;
        }
        self.unflushed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(SeenNonce {
                access_key_id: access_key_id.to_owned(),
                nonce: nonce.to_owned(),
                expires_at: now + chrono::Duration::seconds(self.remember_secs),
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
        NonceGuard::load(Arc::new(cat), Duration::from_secs(1800))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_nonce_is_accepted_once_per_key() {
        let g = guard().await;
        assert!(g.check_and_remember("ak1", "n1"));
        assert!(!g.check_and_remember("ak1", "n1"));
        assert!(g.check_and_remember("ak2", "n1"));
        assert!(g.check_and_remember("ak1", "n2"));
    }

    #[tokio::test]
    async fn fingerprints_expire_with_their_bucket() {
        let g = guard().await;
        let t0 = 1_000_000;
        assert!(g.insert(42, t0));
        assert!(!g.insert(42, t0 + 1799), "still inside the window");
        assert!(g.insert(42, t0 + 1800 + BUCKET_SECS), "past the window");
    }

    #[tokio::test]
    async fn buckets_stay_ordered_when_old_entries_are_loaded() {
        let g = guard().await;
        let t0 = 2_000_000;
        assert!(g.insert(7, t0));
        assert!(g.insert(8, t0 - 600)); // loaded from the catalog, seen earlier
        assert!(!g.insert(8, t0));
        assert!(!g.insert(7, t0 - 600));
    }
}
