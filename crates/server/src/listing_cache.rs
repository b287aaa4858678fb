//! A cache of listing pages in front of the catalog, so a popular listing costs no catalog
//! query until something in the catalog changes.
//!
//! Validity is decided by the catalog's change token ([`xbak_catalog::Catalog::change_token`]),
//! which a background task polls every [`POLL_EVERY`]: an entry read under an older token is
//! never served. A change made by any process is therefore visible within about one poll
//! interval. The listing holds no download links; the rendered pages built from it, links
//! included, are kept for a few seconds at most by [`crate::page_cache`], under the same token.

use crate::cache::TtlCache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use xbak_catalog::Catalog;
use xbak_domain::{CopyListing, CopyQuery};

/// How often the catalog's change token is read.
pub const POLL_EVERY: Duration = Duration::from_millis(50);
/// Entries are dropped after this even if nothing changed.
const ENTRY_TTL: Duration = Duration::from_secs(30);
/// Pages kept at most: a 30-item page is ~20 KB, so the cache stays under ~20 MB even when every
/// call asks a different window (clients passing "now" as EndTime).
const MAX_PAGES: usize = 1024;
/// Keys the cache's doorkeeper remembers at most (8 bytes each).
const SEEN_ONCE: usize = 16 * 1024;

/// A value read from the catalog under a change token ([`ListingCache::token`]), and when.
#[derive(Clone)]
pub struct Tagged<V> {
    token: u64,
    read_at: Instant,
    pub value: V,
}

impl<V> Tagged<V> {
    /// `value`, read under `token` (taken *before* the read) just now.
    pub fn new(token: u64, value: V) -> Tagged<V> {
        Tagged {
            token,
            read_at: Instant::now(),
            value,
        }
    }

    /// Whether it may still be served: nothing in the catalog changed since it was read
    /// (`token_now` is its token), or it is younger than `ttl` whatever changed.
    pub fn is_current(&self, token_now: u64, ttl: Duration) -> bool {
        self.token == token_now || self.read_at.elapsed() < ttl
    }
}

/// Listing pages keyed by their query, tagged with the change token they were read under.
pub struct ListingCache {
    token: AtomicU64,
    entries: TtlCache<CopyQuery, Tagged<Arc<CopyListing>>>,
}

impl ListingCache {
    /// A cache valid as of `token`.
    pub fn new(token: u64) -> ListingCache {
        ListingCache {
            token: AtomicU64::new(token),
            entries: TtlCache::with_capacity(ENTRY_TTL, MAX_PAGES)
                .admitting_on_second_offer(SEEN_ONCE),
        }
    }

    /// The token now in force; read it *before* querying the catalog and pass it to [`put`](Self::put).
    pub fn token(&self) -> u64 {
        self.token.load(Ordering::Acquire)
    }

    /// The page, if it was read under the token now in force.
    pub fn get(&self, query: &CopyQuery) -> Option<Arc<CopyListing>> {
        let hit = self.entries.get(query)?;
        (hit.token == self.token()).then_some(hit.value)
    }

    /// Keeps `listing`, read under `token`, if `query` was put before
    /// ([`TtlCache::admitting_on_second_offer`]).
    pub fn put(&self, query: CopyQuery, token: u64, listing: Arc<CopyListing>) {
        self.entries.insert(query, Tagged::new(token, listing));
    }

    fn advance(&self, token: u64) {
        self.token.store(token, Ordering::Release);
    }

    /// Polls the catalog's change token until `owner` is dropped. When the catalog cannot be
    /// read, the token is moved to a value no entry has, so nothing stale is served.
    pub async fn watch<T: Send + Sync + 'static>(
        owner: Weak<T>,
        cache: impl Fn(&T) -> &ListingCache + Send + 'static,
        catalog: Arc<dyn Catalog>,
    ) {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poisoned = u64::MAX;
        loop {
            tick.tick().await;
            let token = catalog.change_token().await;
            let Some(owner) = owner.upgrade() else { return };
            match token {
                Ok(t) => cache(&owner).advance(t),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the catalog's change token; listing cache bypassed");
                    poisoned = poisoned.wrapping_sub(1);
                    cache(&owner).advance(poisoned);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tagged_value_is_current_until_the_catalog_changes_and_its_ttl_passes() {
        let read = Tagged::new(7, "instance");
        let long = Duration::from_secs(3600);
        assert!(
            read.is_current(7, Duration::ZERO),
            "nothing changed: current at any age"
        );
        assert!(
            read.is_current(8, long),
            "changed, but younger than the TTL"
        );
        assert!(
            !read.is_current(8, Duration::ZERO),
            "changed and older than the TTL"
        );
    }
}
