//! A [`Catalog`] in front of another that fails the calls a test chooses (testing only): to see
//! what a worker does when, say, its lease is taken over while it works.

use std::sync::Arc;

use crate::{Catalog, CatalogError};

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

/// Fails the call if the fault says so, else passes it on.
macro_rules! forward {
    ($kind:ident $self:ident $name:ident($($arg:ident),*) $($route:tt)*) => {{
        if let Some(e) = ($self.fault)(stringify!($name)) {
            return Err(e.into());
        }
        $self.inner.$name($($arg),*).await
    }};
}

catalog_methods!(implement_catalog! FaultyCatalog, forward);
