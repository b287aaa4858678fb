//! What every command shares: the data dir, the catalog, the regions.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_storage::{RegionStore, Regions};

/// The data dir and lazily opened catalog.
pub struct Context {
    pub data_dir: PathBuf,
}

impl Context {
    pub fn new(data_dir: PathBuf) -> Self {
        Context { data_dir }
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.data_dir.join("catalog.db")
    }

    /// Opens (creating and migrating if needed) the embedded catalog.
    pub async fn catalog(&self) -> anyhow::Result<Arc<dyn Catalog>> {
        let path = self.catalog_path();
        let cat = SqliteCatalog::open(&path)
            .await
            .with_context(|| format!("opening the catalog at {}", path.display()))?;
        Ok(Arc::new(cat))
    }

    /// Default store of a region created without `--store`: a folder under the data dir.
    pub fn default_store_url(&self, region_id: &str) -> anyhow::Result<String> {
        let dir = absolute(&self.data_dir.join("regions").join(region_id))?;
        Ok(format!("file://{}", dir.display()))
    }

    /// Every region of the catalog, opened.
    pub async fn regions(&self, catalog: &dyn Catalog) -> anyhow::Result<Regions> {
        let regions = Regions::new();
        for r in catalog.regions().await? {
            let store = RegionStore::open(&r.region_id, &r.store_url)
                .with_context(|| format!("opening region {} at {}", r.region_id, r.store_url))?;
            regions.insert(store);
        }
        Ok(regions)
    }
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
    Ok(std::fs::canonicalize(p)?)
}

/// Logs go to stderr; `RUST_LOG` overrides the level (info for `serve`, warn otherwise).
pub fn init_tracing(serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
