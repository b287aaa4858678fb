//! Keeping a claimed job's lease alive while it is copied, and noticing when it is gone.

use crate::copy::Failure;
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
    pub async fn keep(&self) -> Failure {
        let period = (self.length / 3).max(Duration::from_millis(100));
        let mut held_until = self.job.lease_until;
        loop {
            tokio::time::sleep(period).await;
            match self.renew().await {
                Ok(until) => held_until = until,
                Err(Failure::LeaseLost) => return Failure::LeaseLost,
                Err(e) => {
                    tracing::warn!(copy_id = self.job.copy_id, error = %e, "cannot renew lease");
                    if chrono::Utc::now() >= held_until {
                        return Failure::LeaseLost;
                    }
                }
            }
        }
    }

    /// Renews once: `Ok` with the new end if the lease is still ours.
    pub async fn renew(&self) -> Result<Timestamp, Failure> {
        let until = crate::copy::after(self.length);
        match self
            .catalog
            .renew_copy_lease(self.job.copy_id, &self.job.lease_token, until)
            .await
        {
            Ok(()) => Ok(until),
            Err(CatalogError::LeaseLost(_) | CatalogError::NotFound(_)) => Err(Failure::LeaseLost),
            Err(e) => Err(Failure::Retryable(format!("renewing lease: {e}"))),
        }
    }
}
