//! A [`Catalog`] in front of another that fails the calls a test chooses (testing only): to see
//! what a worker does when, say, its lease is taken over while it works.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    AccessKey, Account, BackupMethod, BackupRun, BackupSchedule, BackupSet, BackupSetDetails,
    CopyJob, CopyListing, CopyQuery, CrossBackupPolicy, CrossRegionCopy, Instance,
    InstanceConnection, NewBackupRun, NewBackupSet, NewInstance, Policy, PolicyChange, Region,
    RequestedBackup,
};

use crate::{
    Catalog, CatalogError, CopyCounts, CopyFreshness, ExpiredCopy, ExpiringObject,
    PolicyChangeError, PolicyChanged, RecordedBackupSet, Result, SeenNonce,
};

/// Decides, by method name, whether a call fails (with the error returned) before it reaches
/// the inner catalog.
pub type Fault = dyn Fn(&'static str) -> Option<CatalogError> + Send + Sync;

/// Passes every call to `inner`, unless `fault` fails it first.
pub struct FaultyCatalog {
    inner: Arc<dyn Catalog>,
    fault: Box<Fault>,
}

impl FaultyCatalog {
    pub fn new(
        inner: Arc<dyn Catalog>,
        fault: impl Fn(&'static str) -> Option<CatalogError> + Send + Sync + 'static,
    ) -> FaultyCatalog {
        FaultyCatalog {
            inner,
            fault: Box::new(fault),
        }
    }
}

macro_rules! implement_catalog {
    ($( $(#[$doc:meta])* $kind:ident fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
        => $($route:ident)::+($($pass:expr),*); )*) => {
        #[async_trait]
        impl Catalog for FaultyCatalog {
            $( async fn $name(&self, $($arg: $ty),*) -> $ret {
                if let Some(e) = (self.fault)(stringify!($name)) {
                    return Err(e.into());
                }
                self.inner.$name($($arg),*).await
            } )*
        }
    };
}

catalog_methods!(implement_catalog);
