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

/// Values expire `ttl` after insertion.
pub struct TtlCache<K, V> {
    ttl: Duration,
    hasher: RandomState,
    shards: Vec<RwLock<HashMap<K, (Instant, V)>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
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
        if shard.len() >= SWEEP_AT {
            let ttl = self.ttl;
            shard.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        shard.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire() {
        let c = TtlCache::new(Duration::from_millis(30));
        c.insert("a".to_string(), 1);
        assert_eq!(c.get(&"a".to_string()), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&"a".to_string()), None);
    }
}
