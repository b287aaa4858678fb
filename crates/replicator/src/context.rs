//! [`CopyContext`]: what every copy attempt of one replicator shares (the catalog, the open
//! regions, the tuning, the event channel and the bandwidth limiters), handed to the copy
//! procedure and to resumable uploads as an argument. A leaf below them: it imports neither.

use crate::config::ReplicatorConfig;
use crate::failure::CopyFailure;
use std::sync::Arc;
use tokio::sync::broadcast;
use xbak_catalog::Catalog;
use xbak_domain::CopyEvent;
use xbak_storage::throttle::{Throttled, Throttles};
use xbak_storage::{RegionStore, Regions};

/// Shared by the copies of one [`crate::Replicator`].
pub(crate) struct CopyContext {
    pub catalog: Arc<dyn Catalog>,
    pub regions: Regions,
    pub config: ReplicatorConfig,
    events: broadcast::Sender<CopyEvent>,
    throttles: Arc<Throttles>,
}

impl CopyContext {
    pub fn new(
        catalog: Arc<dyn Catalog>,
        regions: Regions,
        config: ReplicatorConfig,
        throttles: Arc<Throttles>,
    ) -> Self {
        let (events, _) = broadcast::channel(1024);
        CopyContext {
            catalog,
            regions,
            throttles,
            config,
            events,
        }
    }

    /// A receiver of every event emitted from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CopyEvent> {
        self.events.subscribe()
    }

    /// `reader` limited to the bandwidth of copies into `dest_region_id`.
    pub fn throttled<R>(&self, dest_region_id: &str, reader: R) -> Throttled<R> {
        Throttled::new(reader, self.throttles.for_region(dest_region_id))
    }

    pub fn emit(&self, event: CopyEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// A region's store, opened from the catalog if another process added it since start-up.
    pub async fn region(&self, region_id: &str) -> Result<Arc<RegionStore>, CopyFailure> {
        if let Some(store) = self.regions.get(region_id) {
            return Ok(store);
        }
        let region = match self.catalog.region(region_id).await {
            Ok(Some(region)) => region,
            Ok(None) => {
                return Err(CopyFailure::Permanent(format!(
                    "unknown region {region_id:?}"
                )))
            }
            Err(e) => {
                return Err(CopyFailure::Retryable(format!(
                    "looking up region {region_id:?}: {e}"
                )))
            }
        };
        let store = RegionStore::open(&region.region_id, &region.store_url).map_err(|e| {
            CopyFailure::Permanent(format!("cannot open region {region_id:?}: {e}"))
        })?;
        self.regions.insert(store);
        self.regions
            .get(region_id)
            .ok_or_else(|| CopyFailure::Retryable(format!("region {region_id:?} vanished")))
    }
}
