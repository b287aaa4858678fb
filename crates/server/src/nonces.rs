//! Replay protection: a nonce may be used once per AccessKey while its request could still pass the
//! clock check.
//!
//! The check is in memory (one sharded map, atomic check-and-insert), so it costs nothing on the hot
//! path; accepted nonces are flushed to the catalog in batches by [`NonceGuard::flush`] (the server
//! calls it every [`FLUSH_EVERY`] and on shutdown) and loaded back on start, so a restart does
//! not reopen the window. A hard crash can forget at most the last flush interval's nonces.

use chrono::Utc;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xbak_catalog::{Catalog, CatalogError, SeenNonce};
use xbak_domain::time::Timestamp;

/// How often accepted nonces are written to the catalog.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
const SHARDS: usize = 32;

type Key = (String, String);

/// Remembers nonces until they expire.
pub struct NonceGuard {
    catalog: Arc<dyn Catalog>,
    remember_for: chrono::Duration,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<Key, Timestamp>>>,
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
            remember_for: chrono::Duration::from_std(remember_for)
                .unwrap_or(chrono::Duration::minutes(30)),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            unflushed: Mutex::default(),
        };
        for n in catalog.live_nonces(Utc::now()).await? {
            let key = (n.access_key_id, n.nonce);
            guard
                .shard(&key)
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, n.expires_at);
        }
        Ok(guard)
    }

    fn shard(&self, key: &Key) -> &Mutex<HashMap<Key, Timestamp>> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// Records the nonce; `false` when it was already used and has not expired.
    pub fn check_and_remember(&self, access_key_id: &str, nonce: &str) -> bool {
        let now = Utc::now();
        let key = (access_key_id.to_owned(), nonce.to_owned());
        let expires_at = now + self.remember_for;
        {
            let mut shard = self.shard(&key).lock().unwrap_or_else(|e| e.into_inner());
            if let Some(exp) = shard.get(&key) {
                if *exp > now {
                    return false;
                }
            }
            shard.insert(key, expires_at);
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

    /// Writes accepted nonces to the catalog and drops expired ones from memory and the catalog.
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

    /// Forgets expired nonces (memory and catalog).
    pub async fn prune(&self) -> Result<u64, CatalogError> {
        let now = Utc::now();
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, exp| *exp > now);
        }
        self.catalog.prune_nonces(now).await
    }
}
