//! [`Regions`]: the open region stores of a process, by region id.

use crate::{RegionStore, StorageError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Region stores by region id, built from the catalog's region rows (`region_id`, `store_url`).
/// Cheap to clone: clones share the same map, so a region opened by one task is seen by all.
#[derive(Clone, Default)]
pub struct Regions {
    inner: Arc<RwLock<HashMap<String, Arc<RegionStore>>>>,
}

impl std::fmt::Debug for Regions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.ids()).finish()
    }
}

impl Regions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a region, replacing any store of the same id.
    pub fn insert(&self, store: RegionStore) {
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.insert(store.region_id().to_owned(), Arc::new(store));
    }

    /// The store of `region_id`, if open.
    pub fn get(&self, region_id: &str) -> Option<Arc<RegionStore>> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(region_id)
            .cloned()
    }

    /// Ids of the open regions, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// Opens each `(region_id, store_url)` whose store is not open yet or was opened from
    /// another URL, replacing the old store (tasks holding it finish with it). Returns the
    /// regions that could not be opened, with why; their old store, if any, stays.
    pub fn sync<'a>(
        &self,
        rows: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<(String, StorageError)> {
        let mut failed = Vec::new();
        for (region_id, url) in rows {
            if self.get(region_id).is_some_and(|s| s.url() == url) {
                continue;
            }
            match RegionStore::open(region_id, url) {
                Ok(store) => self.insert(store),
                Err(e) => failed.push((region_id.to_owned(), e)),
            }
        }
        failed
    }

    /// All open stores, in region id order.
    pub fn all(&self) -> Vec<Arc<RegionStore>> {
        self.ids().iter().filter_map(|id| self.get(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_reopens_only_regions_whose_url_changed() {
        let regions = Regions::new();
        assert!(regions
            .sync([("a", "memory:///one"), ("b", "memory:///b")])
            .is_empty());
        let b = regions.get("b").unwrap();
        let failed = regions.sync([
            ("a", "memory:///two"),
            ("b", "memory:///b"),
            ("c", "nope://x"),
        ]);
        assert_eq!(regions.get("a").unwrap().url(), "memory:///two");
        assert!(Arc::ptr_eq(&b, &regions.get("b").unwrap()), "b reopened");
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, "c");
        assert_eq!(regions.ids(), ["a", "b"]);
    }
}
