//! What every command shares: the data dir, the catalog, the regions.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_protocol::redact::redact;
use xbak_storage::{private, Regions};

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

    /// Creates the data dir `0700`, or takes group and other permissions away from an
    /// existing one (with a warning): it holds the catalog and the local regions' backups.
    fn secure_data_dir(&self) -> anyhow::Result<()> {
        let dir = &self.data_dir;
        private::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        if private::tighten_dir(dir).with_context(|| format!("securing {}", dir.display()))? {
            tracing::warn!(
                "the data dir {} was open to other users; it is now 0700",
                dir.display()
            );
        }
        Ok(())
    }

    /// Opens (creating and migrating if needed) the catalog: `--catalog` when given, else the
    /// SQLite file in the data dir.
    pub async fn catalog(&self) -> anyhow::Result<Arc<dyn Catalog>> {
        let location = self.catalog_location()?;
        if location == CatalogLocation::Sqlite(self.catalog_path()) {
            self.secure_data_dir()?;
        }
        match location {
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
        self.secure_data_dir()?;
        let dir = absolute(&self.data_dir.join("regions").join(region_id))?;
        Ok(format!("file://{}", dir.display()))
    }

    /// Every region of the catalog, opened.
    pub async fn regions(&self, catalog: &dyn Catalog) -> anyhow::Result<Regions> {
        let regions = Regions::new();
        let rows = catalog.regions().await?;
        if let Some((region_id, e)) = regions.sync(region_urls(&rows)).into_iter().next() {
            let url = rows
                .iter()
                .find(|r| r.region_id == region_id)
                .map(|r| &r.store_url);
            anyhow::bail!(
                "opening region {region_id} at {}: {e}",
                redact(url.map_or("", |u| u))
            );
        }
        Ok(regions)
    }
}

/// `(region_id, store_url)` of catalog rows.
fn region_urls(rows: &[xbak_domain::Region]) -> impl Iterator<Item = (&str, &str)> {
    rows.iter()
        .map(|r| (r.region_id.as_str(), r.store_url.as_str()))
}

/// How often a running `serve` looks for regions added or moved by `region add`.
pub const REGION_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Until `stop`, reopens every [`REGION_RELOAD_EVERY`] the regions whose store URL changed in
/// the catalog (and opens new ones), so the API and the copy workers use them within seconds.
pub async fn reload_regions(
    catalog: Arc<dyn Catalog>,
    regions: Regions,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(REGION_RELOAD_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let rows = match catalog.regions().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the regions; will retry");
                continue;
            }
        };
        let before: Vec<(String, String)> = regions
            .all()
            .iter()
            .map(|s| (s.region_id().to_owned(), s.url().to_owned()))
            .collect();
        let failed = regions.sync(region_urls(&rows));
        for (region_id, e) in &failed {
            tracing::warn!(region = %region_id, error = %e, "cannot open the region's new store");
        }
        for r in &rows {
            let old = before.iter().find(|(id, _)| *id == r.region_id);
            let changed = old.is_none_or(|(_, url)| *url != r.store_url);
            if changed && !failed.iter().any(|(id, _)| *id == r.region_id) {
                tracing::info!(region = %r.region_id, store = %redact(&r.store_url), "region store opened");
            }
        }
    }
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    private::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
    Ok(std::fs::canonicalize(p)?)
}

/// Logs go to stderr, secrets redacted, coloured only on a terminal; `RUST_LOG` overrides the
/// level (info for `serve`, warn otherwise).
pub fn init_tracing(serving: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| RedactingWriter(std::io::stderr()))
        .init();
}

/// Writes log lines through [`redact`]: the formatter hands over one whole event per write.
struct RedactingWriter<W>(W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .write_all(redact(&String::from_utf8_lossy(buf)).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
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
