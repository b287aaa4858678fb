//! The conformance suite on SQLite: a database file (each `open` is a new handle, as another
//! process would have) and a private in-memory database (one handle, one connection).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::suite::Backend;
use xbak_catalog::Catalog;

/// A fresh database file in its own temporary directory.
struct SqliteFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteFile {
    fn new() -> SqliteFile {
        let dir = tempfile::tempdir().expect("temp dir");
        // A missing parent directory is created by `open`.
        let path = dir.path().join("state").join("catalog.db");
        SqliteFile { _dir: dir, path }
    }
}

#[async_trait]
impl Backend for SqliteFile {
    async fn open(&self) -> Arc<dyn Catalog> {
        Arc::new(
            SqliteCatalog::open(&self.path)
                .await
                .expect("open sqlite catalog"),
        )
    }
}

/// One in-memory catalog; every `open` returns the same handle.
#[derive(Default)]
struct SqliteMemory {
    catalog: tokio::sync::OnceCell<Arc<dyn Catalog>>,
}

#[async_trait]
impl Backend for SqliteMemory {
    async fn open(&self) -> Arc<dyn Catalog> {
        let catalog = self
            .catalog
            .get_or_init(|| async {
                Arc::new(
                    SqliteCatalog::open_in_memory()
                        .await
                        .expect("open in-memory catalog"),
                ) as Arc<dyn Catalog>
            })
            .await;
        Arc::clone(catalog)
    }
}

mod file {
    use super::*;
    xbak_catalog::catalog_test_suite!(SqliteFile::new());
}

mod memory {
    use super::*;
    xbak_catalog::catalog_test_suite!(SqliteMemory::default());
}
