//! Shared server state and its configuration.

use crate::cache::TtlCache;
use crate::error::HandlerError;
use crate::listing_cache::Tagged;
use crate::nonces::NonceGuard;
use std::sync::Arc;
use std::time::Duration;
use xbak_catalog::Catalog;
use xbak_domain::{AccessKey, Instance};
use xbak_storage::links::LinkSigner;
use xbak_storage::Regions;

/// Server settings, already validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `HostId` in error envelopes.
    pub host_id: String,
    /// Accepted clock skew for `Timestamp` / `x-acs-date` (Alibaba: 15 minutes).
    pub clock_skew: Duration,
    /// Lifetime of download links handed out in listings.
    pub link_ttl: Duration,
    /// How long AccessKeys and instances are cached before the catalog is asked again.
    pub lookup_ttl: Duration,
    /// Deadline for receiving a request body once its headers are in (`RequestTimeout` after).
    pub body_timeout: Duration,
    /// Per-AccessKey request budget; `None` (the default) never throttles.
    pub request_budget: Option<crate::budget::RequestBudget>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host_id: "rds.aliyuncs.com".into(),
            clock_skew: Duration::from_secs(15 * 60),
            link_ttl: Duration::from_secs(3600),
            lookup_ttl: Duration::from_secs(2),
            body_timeout: Duration::from_secs(30),
            request_budget: None,
        }
    }
}

/// Unknown AccessKeyIds remembered at once: with ids of at most 64 bytes, well under 1 MiB.
const UNKNOWN_KEYS: usize = 4096;
/// Longest an instance is kept: while the catalog does not change, a lookup stays current, and
/// one lookup per instance and half-minute is noise even for 10,000 instances.
const INSTANCE_TTL: Duration = Duration::from_secs(30);

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

/// The shared parts behind [`AppState`].
pub struct Inner {
    pub config: ServerConfig,
    pub catalog: Arc<dyn Catalog>,
    pub regions: Regions,
    pub links: LinkSigner,
    pub nonces: NonceGuard,
    pub metrics: crate::metrics::Metrics,
    /// AccessKeys found in the catalog (only real ones, so a flood of unknown ids cannot evict them).
    pub keys: TtlCache<String, AccessKey>,
    /// AccessKeyIds the catalog does not know: few entries of at most
    /// [`xbak_protocol::sign::MAX_ACCESS_KEY_ID_LEN`] bytes each, for `lookup_ttl`.
    pub unknown_keys: TtlCache<String, ()>,
    /// Per-AccessKey request budgets.
    pub budgets: crate::budget::Budgets,
    /// Instances by DBInstanceId (`None`: not in the catalog), served while the catalog has not
    /// changed since they were read, or for `lookup_ttl` anyway; kept [`INSTANCE_TTL`] at most.
    pub instances: TtlCache<String, Tagged<Option<Instance>>>,
    pub listings: crate::listing_cache::ListingCache,
    /// Rendered listing pages (with their signed links), reused for a few seconds at most.
    pub pages: crate::page_cache::PageCache,
}

impl AppState {
    /// Builds the state (with the nonce guard's claim writer, so call it inside a tokio runtime).
    pub async fn new(
        config: ServerConfig,
        catalog: Arc<dyn Catalog>,
        regions: Regions,
        links: LinkSigner,
    ) -> Result<AppState, xbak_catalog::CatalogError> {
        let nonces = NonceGuard::new(catalog.clone(), config.clock_skew);
        let ttl = config.lookup_ttl;
        let budgets = crate::budget::Budgets::new(config.request_budget);
        let pages = crate::page_cache::PageCache::new(config.link_ttl);
        let token = catalog.change_token().await?;
        let state = AppState {
            inner: Arc::new(Inner {
                config,
                catalog,
                regions,
                links,
                nonces,
                metrics: Default::default(),
                keys: TtlCache::new(ttl),
                unknown_keys: TtlCache::with_capacity(ttl, UNKNOWN_KEYS),
                budgets,
                instances: TtlCache::new(INSTANCE_TTL),
                listings: crate::listing_cache::ListingCache::new(token),
                pages,
            }),
        };
        tokio::spawn(crate::listing_cache::ListingCache::watch(
            Arc::downgrade(&state.inner),
            |inner: &Inner| &inner.listings,
            state.catalog.clone(),
        ));
        Ok(state)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Inner {
    /// The store of a region, opening it from the catalog when another process added it after
    /// this server started.
    pub async fn region_store(
        &self,
        region_id: &str,
    ) -> Result<Option<Arc<xbak_storage::RegionStore>>, HandlerError> {
        if let Some(store) = self.regions.get(region_id) {
            return Ok(Some(store));
        }
        let Some(region) = self.catalog.region(region_id).await? else {
            return Ok(None);
        };
        let store = xbak_storage::RegionStore::open(&region.region_id, &region.store_url)
            .map_err(|e| HandlerError::Internal(format!("opening region {region_id}: {e}")))?;
        self.regions.insert(store);
        Ok(self.regions.get(region_id))
    }
}
