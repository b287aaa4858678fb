//! [`RegionStore`]: one region's object store, opened from its URL, and the small operations
//! (head, delete, list, publish). Uploads, reads and sweeping have their own files.

use crate::s3::S3Region;
use crate::{keys, Checksum, Staged, StorageError};
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::ObjectStore;
use std::path::PathBuf;
use std::sync::Arc;

/// One region's objects.
///
/// Keys are `/`-separated (`cross/rm-bp1/…_qp.xb`); the first segment `.staging` is reserved.
#[derive(Clone)]
pub struct RegionStore {
    pub(crate) region_id: String,
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) url: String,
    /// The directory behind a `file://` region: reads use positional reads on it, sweeping walks
    /// it (in-progress local uploads are files the object store does not list).
    pub(crate) local_root: Option<PathBuf>,
    /// What an `s3://` region has beyond `store`: resumable uploads and presigned links.
    pub(crate) s3: Option<Arc<S3Region>>,
    /// A `file://` region opened by [`RegionStore::open`]: resumable uploads write its staging
    /// files directly (not through `store`, which may be a wrapper).
    pub(crate) local_uploads: bool,
}

impl std::fmt::Debug for RegionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionStore")
            .field("region_id", &self.region_id)
            .field("url", &xbak_protocol::redact::redact(&self.url))
            .finish()
    }
}

impl RegionStore {
    /// Opens a region's store from its URL:
    ///
    /// - `file:///abs/path`: a local directory, created if missing (`0700`, see
    ///   [`crate::private`]);
    /// - `memory://` (or `memory:///name`): an empty in-memory store, for tests; its objects
    ///   vanish with the process and each `open` is a new, empty store;
    /// - `s3://[KEY:SECRET@]bucket[/prefix]?endpoint=…&region=…&path_style=…`: an S3-compatible
    ///   bucket (AWS S3, OSS, MinIO…), see [`crate::s3`] for the options and where credentials
    ///   come from. Nothing is requested while opening.
    ///
    /// Other schemes are [`StorageError::Unsupported`]. Error messages never hold the secret.
    pub fn open(region_id: &str, url: &str) -> Result<RegionStore, StorageError> {
        let parsed = url::Url::parse(url).map_err(|e| {
            StorageError::Unsupported(format!(
                "region {region_id}: store URL {:?}: {e}",
                xbak_protocol::redact::redact(url)
            ))
        })?;
        if parsed.scheme() == "s3" {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            let config = crate::s3::parse(region_id, &parsed, &env)?;
            let (store, s3) = crate::s3::build(region_id, &config)?;
            let mut region = Self::from_object_store(region_id, url, store)?;
            region.s3 = Some(Arc::new(s3));
            return Ok(region);
        }
        let store: Arc<dyn ObjectStore> = match parsed.scheme() {
            "file" => {
                let root = local_root(region_id, &parsed)?;
                crate::private::create_dir_all(&root)
                    .map_err(|e| StorageError::Io(format!("creating {}: {e}", root.display())))?;
                let fs = LocalFileSystem::new_with_prefix(&root)
                    .map_err(|e| StorageError::from_store(url, e))?;
                Arc::new(fs.with_automatic_cleanup(true))
            }
            "memory" => Arc::new(InMemory::new()),
            other => {
                return Err(StorageError::Unsupported(format!(
                    "region {region_id}: store URL scheme {other:?} (supported: file, memory, s3)"
                )))
            }
        };
        let mut region = Self::from_object_store(region_id, url, store)?;
        region.local_uploads = region.local_root.is_some();
        Ok(region)
    }

    /// Wraps an already built store, e.g. a fault-injecting wrapper in tests. `url` is the
    /// store's URL; when it is `file://`, the directory is used for fast reads and sweeping.
    /// The result has no resumable uploads nor presigned links, whatever the URL.
    pub fn from_object_store(
        region_id: &str,
        url: &str,
        store: Arc<dyn ObjectStore>,
    ) -> Result<RegionStore, StorageError> {
        let parsed = url::Url::parse(url).map_err(|e| {
            StorageError::Unsupported(format!(
                "region {region_id}: store URL {:?}: {e}",
                xbak_protocol::redact::redact(url)
            ))
        })?;
        let local_root = match parsed.scheme() {
            "file" => Some(local_root(region_id, &parsed)?),
            _ => None,
        };
        let local_root = local_root.map(|root| std::fs::canonicalize(&root).unwrap_or(root));
        Ok(RegionStore {
            region_id: region_id.to_owned(),
            store,
            url: url.to_owned(),
            local_root,
            s3: None,
            local_uploads: false,
        })
    }

    /// The region's id (`cn-hangzhou`).
    pub fn region_id(&self) -> &str {
        &self.region_id
    }

    /// The URL the store was opened from (with its credentials, if it has any: show
    /// [`RegionStore::redacted_url`] instead).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL with any secret in it replaced by `***`, for logs and listings.
    pub fn redacted_url(&self) -> String {
        xbak_protocol::redact::redact(&self.url)
    }

    /// Size of a visible or staging object, `None` if absent.
    pub async fn head(&self, key: &str) -> Result<Option<u64>, StorageError> {
        let Ok(path) = keys::path(key) else {
            return Ok(None);
        };
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(StorageError::from_store(key, e)),
        }
    }

    /// Deletes an object; deleting an absent one succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = keys::path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StorageError::from_store(key, e)),
        }
    }

    /// Visible keys under `prefix`, sorted; never staging objects. The prefix is matched by
    /// whole segments (`cross/rm-1` lists `cross/rm-1/…`, not `cross/rm-10/…`); `""` lists all.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let prefix = prefix.trim_matches('/');
        if keys::is_staging(prefix) {
            return Ok(Vec::new());
        }
        let path = match prefix {
            "" => None,
            p => Some(keys::path(p)?),
        };
        let metas: Vec<_> = self
            .store
            .list(path.as_ref())
            .try_collect()
            .await
            .map_err(|e| StorageError::from_store(prefix, e))?;
        let mut keys: Vec<String> = metas
            .into_iter()
            .map(|m| m.location.to_string())
            .filter(|k| !keys::is_staging(k))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Makes a verified staging object visible at `key`, atomically: the object appears whole
    /// or not at all (a hard link on local stores; a server-side copy-if-not-exists, then
    /// deleting the staging object, on S3).
    ///
    /// On S3 regions configured with `copy_if_not_exists=none` (stores with no conditional
    /// copy), and on stores found to ignore the condition ([`RegionStore::publishes_conditionally`]:
    /// Garage), publishing is HEAD, then an unconditional server-side copy: a publisher racing
    /// between the two could overwrite. xbak writes a destination key only from the copy job
    /// that holds its lease, re-checked just before publishing, so that race needs a lease to
    /// expire within that instant; and both racers would hold verified copies of the same set.
    /// Server-side copies are single requests: S3 copies up to 5 GiB that way (OSS 1 GiB).
    ///
    /// Idempotent: if `key` already holds the same bytes (a re-publish after a crash), the staging
    /// object is dropped and the call succeeds. If it holds different bytes, the staging object
    /// is dropped and the call fails with [`StorageError::AlreadyExists`]: published objects are
    /// never overwritten.
    pub async fn publish(&self, staged: &Staged, key: &str) -> Result<(), StorageError> {
        let to = keys::visible_path(key)?;
        let from = keys::path(&staged.staging_key)?;
        if !keys::is_staging(&staged.staging_key) {
            return Err(StorageError::InvalidKey(staged.staging_key.clone()));
        }
        self.sync_local(&staged.staging_key).await?;
        let renamed = if self.publishes_conditionally().await? {
            match self.store.rename_if_not_exists(&from, &to).await {
                Err(
                    object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented,
                ) if self.s3.is_some() => self.copy_unless_present(&from, &to).await,
                other => other,
            }
        } else {
            self.copy_unless_present(&from, &to).await
        };
        match renamed {
            Ok(()) => {
                self.sync_local_dir(key).await?;
                Ok(())
            }
            Err(object_store::Error::AlreadyExists { .. }) => {
                let same = self.holds(key, &staged.checksum()).await?;
                self.delete(&staged.staging_key).await?;
                if same {
                    Ok(())
                } else {
                    Err(StorageError::AlreadyExists(key.to_owned()))
                }
            }
            // The staging object is gone: fine if an earlier call already published it.
            Err(object_store::Error::NotFound { .. }) => {
                match self.holds(key, &staged.checksum()).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(StorageError::AlreadyExists(key.to_owned())),
                    Err(StorageError::NotFound(_)) => {
                        Err(StorageError::NotFound(staged.staging_key.clone()))
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(StorageError::from_store(key, e)),
        }
    }

    /// Publishing without a conditional copy: HEAD, copy, delete (the race is in `publish`'s
    /// docs). Answers like `rename_if_not_exists` would.
    async fn copy_unless_present(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
    ) -> object_store::Result<()> {
        match self.store.head(to).await {
            Ok(_) => {
                return Err(object_store::Error::AlreadyExists {
                    path: to.to_string(),
                    source: "published object exists".into(),
                })
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        self.store.head(from).await?;
        self.store.copy(from, to).await?;
        self.store.delete(from).await
    }

    /// Reads `key` back and fails with [`StorageError::ChecksumMismatch`] unless its bytes have
    /// the `expected` size and SHA-256. Returns what was read.
    ///
    /// On local stores a staging object is also flushed to disk meanwhile (publishing needs it
    /// durable): the flush waits on the disk while the read-back hashes from the page cache.
    pub async fn verify(&self, key: &str, expected: &Checksum) -> Result<Checksum, StorageError> {
        let (actual, flushed) = if keys::is_staging(key) {
            tokio::join!(self.checksum(key), self.sync_local(key))
        } else {
            (self.checksum(key).await, Ok(()))
        };
        let actual = actual?;
        flushed?;
        actual.confirm(key, expected)
    }

    /// Whether `key` exists with the given size and checksum (`NotFound` if it does not exist).
    async fn holds(&self, key: &str, checksum: &Checksum) -> Result<bool, StorageError> {
        if self.head(key).await?.is_none() {
            return Err(StorageError::NotFound(key.to_owned()));
        }
        Ok(&self.checksum(key).await? == checksum)
    }

    /// On local stores, flushes a staged file to disk before it is published: once the catalog
    /// says Completed, the bytes must survive a power cut, not only a process crash.
    async fn sync_local(&self, key: &str) -> Result<(), StorageError> {
        let Some(file) = self.local_file(key) else {
            return Ok(());
        };
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || {
            match std::fs::File::open(&file).and_then(|f| f.sync_all()) {
                // Gone: publish finds out what happened to it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other.map_err(|e| StorageError::from_io(&key, e)),
            }
        })
        .await
        .map_err(StorageError::from_join)?
    }

    /// On local stores, flushes the directory entry of a freshly published `key`.
    async fn sync_local_dir(&self, key: &str) -> Result<(), StorageError> {
        let Some(dir) = self
            .local_file(key)
            .and_then(|f| f.parent().map(PathBuf::from))
        else {
            return Ok(());
        };
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || {
            std::fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StorageError::from_io(&key, e))
        })
        .await
        .map_err(StorageError::from_join)?
    }

    /// The file behind `key` on a local store.
    pub(crate) fn local_file(&self, key: &str) -> Option<PathBuf> {
        let root = self.local_root.as_ref()?;
        let mut path = root.clone();
        path.extend(key.split('/'));
        Some(path)
    }
}

/// The directory a `file://` URL names.
fn local_root(region_id: &str, url: &url::Url) -> Result<PathBuf, StorageError> {
    if url
        .host_str()
        .is_some_and(|h| !h.is_empty() && h != "localhost")
    {
        return Err(StorageError::Unsupported(format!(
            "region {region_id}: file URL with a host: {url}"
        )));
    }
    url.to_file_path().map_err(|_| {
        StorageError::Unsupported(format!(
            "region {region_id}: not an absolute file path: {url}"
        ))
    })
}
