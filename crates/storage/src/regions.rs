//! [`Regions`]: the open region stores of a process, by region id.

use crate::RegionStore;
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

    /// All open stores, in region id order.
    pub fn all(&self) -> Vec<Arc<RegionStore>> {
        self.ids().iter().filter_map(|id| self.get(id)).collect()
    }
}
