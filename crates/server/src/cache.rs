//! A tiny time-bounded cache for hot-path lookups (AccessKeys, instances).
//!
//! Hand-rolled rather than `moka`: the server needs only get/insert with a short TTL on a few
//! thousand keys, and a sharded `RwLock<HashMap>` does that without another dependency tree.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::RwLock;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Entries per shard before expired ones are swept on insert.
const SWEEP_AT: usize = 4096;

/// Values expire `ttl` after insertion; at most `capacity` entries are kept.
pub struct TtlCache<K, V> {
    ttl: Duration,
    per_shard: usize,
    hasher: RandomState,
    shards: Vec<RwLock<HashMap<K, (Instant, V)>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self::with_capacity(ttl, SHARDS * SWEEP_AT)
    }

    /// A cache of at most about `capacity` entries: a full shard first drops its expired
    /// entries, then, if still full, everything (cheap, and only under churn the cache cannot
    /// absorb anyway).
    pub fn with_capacity(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            ttl,
            per_shard: (capacity / SHARDS).max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
        }
    }

    fn shard(&self, key: &K) -> &RwLock<HashMap<K, (Instant, V)>> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// The cached value, if present and fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        match shard.get(key) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            _ => None,
        }
    }

    pub fn insert(&self, key: K, value: V) {
        let mut shard = self.shard(&key).write().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard {
            let ttl = self.ttl;
            shard.retain(|_, (at, _)| at.elapsed() < ttl);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_bounded() {
        let c = TtlCache::with_capacity(Duration::from_secs(60), SHARDS * 4);
        for i in 0..10_000 {
            c.insert(i, i);
        }
        let total: usize = c.shards.iter().map(|s| s.read().unwrap().len()).sum();
        assert!(total <= SHARDS * 4, "{total}");
        c.insert(-1, 7);
        assert_eq!(c.get(&-1), Some(7));
    }

    #[test]
    fn values_expire() {
        let c = TtlCache::new(Duration::from_millis(30));
        c.insert("a".to_string(), 1);
        assert_eq!(c.get(&"a".to_string()), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&"a".to_string()), None);
    }
}
