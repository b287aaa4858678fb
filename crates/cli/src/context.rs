//! What every command shares: the data dir, the catalog, the regions.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_storage::{RegionStore, Regions};

/// The data dir and lazily opened catalog.
pub struct Context {
    pub data_dir: PathBuf,
    /// `--catalog`: a `postgres://` or `sqlite://` URL; `None` for `catalog.db` in the data dir.
    pub catalog_url: Option<String>,
}

/// Where the catalog lives.
#[derive(Debug, PartialEq, Eq)]
enum CatalogLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Context {
    pub fn new(data_dir: PathBuf, catalog_url: Option<String>) -> Self {
        Context {
            data_dir,
            catalog_url,
        }
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.data_dir.join("catalog.db")
    }

    fn catalog_location(&self) -> anyhow::Result<CatalogLocation> {
        let Some(url) = self.catalog_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(CatalogLocation::Sqlite(self.catalog_path()));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(CatalogLocation::Postgres(url.to_string()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            anyhow::ensure!(
                !path.is_empty(),
                "--catalog sqlite:// needs a path, as in sqlite:///var/lib/xbak/catalog.db"
            );
            Ok(CatalogLocation::Sqlite(PathBuf::from(path)))
        } else {
            anyhow::bail!("--catalog must be a postgres://, postgresql:// or sqlite:// URL")
        }
    }

    /// Opens (creating and migrating if needed) the catalog: `--catalog` when given, else the
    /// SQLite file in the data dir.
    pub async fn catalog(&self) -> anyhow::Result<Arc<dyn Catalog>> {
        match self.catalog_location()? {
            CatalogLocation::Sqlite(path) => {
                let cat = SqliteCatalog::open(&path)
                    .await
                    .with_context(|| format!("opening the catalog at {}", path.display()))?;
                Ok(Arc::new(cat))
            }
            CatalogLocation::Postgres(url) => {
                // The URL may hold a password: name the catalog without it.
                let cat = PostgresCatalog::open(&url)
                    .await
                    .context("opening the PostgreSQL catalog given by --catalog")?;
                Ok(Arc::new(cat))
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn location(url: Option<&str>) -> anyhow::Result<CatalogLocation> {
        Context::new(PathBuf::from("/data"), url.map(str::to_string)).catalog_location()
    }

    #[test]
    fn catalog_urls_select_the_backend() {
        assert_eq!(
            location(None).unwrap(),
            CatalogLocation::Sqlite(PathBuf::from("/data/catalog.db"))
        );
        assert_eq!(
            location(Some("sqlite:///srv/x.db")).unwrap(),
            CatalogLocation::Sqlite(PathBuf::from("/srv/x.db"))
        );
        assert_eq!(
            location(Some("postgres://u@h/db")).unwrap(),
            CatalogLocation::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            location(Some("postgresql://u@h/db")).unwrap(),
            CatalogLocation::Postgres("postgresql://u@h/db".into())
        );
        assert!(location(Some("mysql://h/db")).is_err());
        assert!(location(Some("sqlite://")).is_err());
    }
}
