//! Keeping a claimed job's lease alive while it is copied, and noticing when it is gone.
//! Imports only [`crate::failure`].

use crate::failure::CopyFailure;
use chrono::Utc;
use std::time::Duration;
use xbak_catalog::{Catalog, CatalogError};
use xbak_domain::time::Timestamp;
use xbak_domain::CopyJob;

/// The lease on one claimed job.
pub(crate) struct Lease<'a> {
    pub catalog: &'a dyn Catalog,
    pub job: &'a CopyJob,
    pub length: Duration,
}

impl Lease<'_> {
    /// Renews the lease every `length / 3` and returns only once it is lost: taken over, or not
    /// renewable before it ran out (the catalog unreachable for too long). Dropping the future
    /// stops renewing.
    pub async fn keep(&self) -> CopyFailure {
        let period = (self.length / 3).max(Duration::from_millis(100));
        let mut held_until = self.job.lease_until;
        loop {
            tokio::time::sleep(period).await;
            match self.renew().await {
                Ok(until) => held_until = until,
                Err(CopyFailure::LeaseLost) => return CopyFailure::LeaseLost,
                Err(e) => {
                    tracing::warn!(copy_id = self.job.copy_id, error = %e, "cannot renew lease");
                    if Utc::now() >= held_until {
                        return CopyFailure::LeaseLost;
                    }
                }
            }
        }
    }

    /// Renews once: `Ok` with the new end if the lease is still ours.
    pub async fn renew(&self) -> Result<Timestamp, CopyFailure> {
        let until = after(self.length);
        match self
            .catalog
            .renew_copy_lease(self.job.copy_id, &self.job.lease_token, until)
            .await
        {
            Ok(()) => Ok(until),
            Err(CatalogError::LeaseLost(_) | CatalogError::NotFound(_)) => {
                Err(CopyFailure::LeaseLost)
            }
            Err(e) => Err(CopyFailure::Retryable(format!("renewing lease: {e}"))),
        }
    }
}

/// `now + d`, saturating far in the future: the end of a lease, or when a retry is due.
pub(crate) fn after(d: Duration) -> Timestamp {
    Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::days(36_500))
}
