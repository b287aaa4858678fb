//! A tiny time-bounded cache for hot-path lookups (AccessKeys, instances).
//!
//! Hand-rolled rather than `moka`: the server needs only get/insert with a short TTL on a few
//! thousand keys, and a sharded `RwLock<HashMap>` does that without another dependency tree.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, RwLock};
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
    /// When set, a key is stored only on its second insert ([`Self::admitting_on_second_offer`]).
    doorkeeper: Option<Doorkeeper>,
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
            doorkeeper: None,
        }
    }

    /// The same cache storing a key only when it is inserted the second time (see [`Doorkeeper`]),
    /// remembering up to about `remembered` keys inserted once.
    pub fn admitting_on_second_offer(self, remembered: usize) -> Self {
        TtlCache {
            doorkeeper: Some(Doorkeeper::new(remembered)),
            ..self
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<HashMap<K, (Instant, V)>> {
        &self.shards[(hash as usize) % SHARDS]
    }

    /// The cached value, if present and fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let shard = self
            .shard(self.hasher.hash_one(key))
            .read()
            .unwrap_or_else(|e| e.into_inner());
        match shard.get(key) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            _ => None,
        }
    }

    /// Stores `value` under `key` (unless a doorkeeper turns the key away).
    pub fn insert(&self, key: K, value: V) {
        let hash = self.hasher.hash_one(&key);
        if self.doorkeeper.as_ref().is_some_and(|d| !d.admit(hash)) {
            return;
        }
        let mut shard = self.shard(hash).write().unwrap_or_else(|e| e.into_inner());
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

/// Admission to a cache: a key is let in on its second offer, so keys asked once (a listing whose
/// window ends "now", a different one on every call) never enter it. Without it such keys filled
/// the listing and page caches at the request rate, each evicting an older entry that nobody
/// would ask again: every uncached call paid for inserting and later freeing ~1,000 cold
/// allocations (bench/results.md, 2026-12-05T12:15Z). The price is one more miss per popular key.
///
/// Remembers 64-bit hashes of the keys offered, at most `capacity` (a full shard forgets its own,
/// so under churn a popular key needs two offers again); a hash collision only admits a key one
/// offer early.
struct Doorkeeper {
    per_shard: usize,
    shards: Vec<Mutex<HashSet<u64>>>,
}

impl Doorkeeper {
    fn new(capacity: usize) -> Doorkeeper {
        Doorkeeper {
            per_shard: (capacity / SHARDS).max(1),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Whether the key of `hash` (the cache's own hash of it) was offered before; remembers it
    /// if not.
    fn admit(&self, hash: u64) -> bool {
        let mut seen = self.shards[(hash as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if seen.contains(&hash) {
            return true;
        }
        if seen.len() >= self.per_shard {
            seen.clear();
        }
        seen.insert(hash);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_admitted_on_its_second_offer() {
        let c = TtlCache::new(Duration::from_secs(60)).admitting_on_second_offer(SHARDS * 4);
        c.insert("a", 1);
        c.insert("b", 2);
        assert_eq!(c.get(&"a"), None, "first offer");
        c.insert("a", 3);
        assert_eq!(c.get(&"a"), Some(3), "second offer");
        c.insert("a", 4);
        assert_eq!(c.get(&"a"), Some(4), "and after");
        assert_eq!(c.get(&"b"), None);
        // Bounded: many keys offered once make it forget, never admit them.
        let d = c.doorkeeper.as_ref().unwrap();
        for i in 0..10_000u64 {
            assert!(!d.admit(c.hasher.hash_one(format!("k{i}"))));
        }
        let total: usize = d.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total <= SHARDS * 4, "{total}");
    }

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
