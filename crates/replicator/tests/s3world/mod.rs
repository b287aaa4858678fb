//! The S3 test world, on one of the loopback test servers ([`TestServer`]: moto of
//! `.ci/s3-server.sh` or Garage of `.ci/garage.sh`; the tests fail without them): the catalog
//! of [`crate::common`] with each region a local directory or a fresh prefix in a bucket; a
//! byte-counting TCP proxy in front of the server, and what the server holds beyond the
//! regions' view (staging objects, open multipart uploads).

#![allow(dead_code)]

use crate::common::{faulty_region, local_url, seeded_catalog, SetSlot, DEST, SOURCE};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xbak_catalog::Catalog;
use xbak_domain::{CopyStatus, Instance};
use xbak_storage::conformance::s3::TestServer;
use xbak_storage::conformance::PatternReader;
use xbak_storage::faults::FaultyStore;
use xbak_storage::{RegionStore, Regions};

/// Where a region lives.
pub enum At {
    /// A local directory.
    Local,
    /// A fresh prefix in this bucket of the test server.
    S3(&'static str),
    /// The same, reached through this proxy (which counts the bytes sent to the server).
    Proxied(&'static str, u16),
}

pub struct S3World {
    pub server: TestServer,
    pub dir: tempfile::TempDir,
    pub catalog_path: std::path::PathBuf,
    pub catalog: Arc<dyn Catalog>,
    pub instance: Instance,
    pub source: RegionStore,
    pub dest: RegionStore,
    /// Fault injector in front of the source, when it is local.
    pub source_faults: Option<Arc<FaultyStore>>,
    pub dest_url: String,
}

async fn region_url(server: &TestServer, dir: &std::path::Path, region: &str, at: &At) -> String {
    match at {
        At::Local => local_url(dir, region),
        At::S3(bucket) => server.region_url(bucket).await,
        At::Proxied(bucket, port) => server.region_url(bucket).await.replace(
            &format!("endpoint={}", server.endpoint),
            &format!("endpoint=http://127.0.0.1:{port}"),
        ),
    }
}

impl S3World {
    /// A world whose S3 regions are on `server`.
    pub async fn new(server: &TestServer, source: At, dest: At) -> S3World {
        let dir = tempfile::tempdir().unwrap();
        let source_url = region_url(server, dir.path(), SOURCE, &source).await;
        let dest_url = region_url(server, dir.path(), DEST, &dest).await;
        let (catalog, instance) = seeded_catalog(dir.path(), &source_url, &dest_url).await;
        let catalog_path = dir.path().join("catalog.db");
        let (source_faults, source_store) = match source {
            At::Local => {
                let (faults, store) = faulty_region(dir.path(), SOURCE);
                (Some(faults), (*store).clone())
            }
            _ => (None, RegionStore::open(SOURCE, &source_url).unwrap()),
        };
        S3World {
            server: server.clone(),
            source: source_store,
            source_faults,
            dest: RegionStore::open(DEST, &dest_url).unwrap(),
            dest_url,
            dir,
            catalog_path,
            catalog,
            instance,
        }
    }

    /// A local source and a destination in `xbak-replicator-dest` reached through a new
    /// [`CountingProxy`] (which counts what uploads really send).
    pub async fn local_to_proxied(server: &TestServer) -> (CountingProxy, S3World) {
        let proxy = CountingProxy::start(server).await;
        let dest = At::Proxied("xbak-replicator-dest", proxy.port);
        let world = S3World::new(server, At::Local, dest).await;
        (proxy, world)
    }

    /// Stores `len` pattern bytes as backup set `n` in the source region (streamed, never held
    /// whole) and records it; returns (copy id, destination key, sha256).
    pub async fn add_set(&self, n: u32, len: u64) -> (i64, String, String) {
        let slot = SetSlot::new(&self.instance, n);
        let staged = slot
            .store(&self.source, PatternReader::new(len, u64::from(n)))
            .await;
        let copy_id = slot
            .record(&*self.catalog, &self.instance, len, staged.sha256.clone())
            .await;
        (copy_id, slot.dest_key, staged.sha256)
    }

    /// Regions as a freshly started process would have them.
    pub fn regions(&self) -> Regions {
        crate::common::regions(&[&self.source, &self.dest])
    }

    pub async fn status(&self, copy_id: i64) -> CopyStatus {
        self.catalog.copy(copy_id).await.unwrap().unwrap().status
    }

    /// Asserts that the destination holds exactly `key` with `sha256`, and nothing partial:
    /// no staging object, no open multipart upload under the region's prefix.
    pub async fn assert_dest_holds_only(&self, key: &str, size: u64, sha256: &str) {
        assert_eq!(self.dest.list("").await.unwrap(), vec![key.to_owned()]);
        let checksum = self.dest.checksum(key).await.unwrap();
        assert_eq!((checksum.size, checksum.sha256.as_str()), (size, sha256));
        let (bucket, prefix) = bucket_and_prefix(&self.dest_url);
        let staging = self
            .server
            .raw_keys(bucket, &format!("{prefix}/.staging/"))
            .await;
        assert!(staging.is_empty(), "staging objects left: {staging:?}");
        let uploads = self
            .server
            .open_uploads(bucket, &format!("{prefix}/"))
            .await;
        assert_eq!(uploads, 0, "multipart uploads left open");
    }
}

/// (bucket, prefix) of a test region URL.
pub fn bucket_and_prefix(url: &str) -> (&str, &str) {
    let rest = url.split_once('@').unwrap().1;
    let path = rest.split('?').next().unwrap();
    path.split_once('/').unwrap()
}

/// A TCP proxy on 127.0.0.1 in front of the test server that counts the bytes clients send
/// through it: what uploads really cost, whichever process made them.
pub struct CountingProxy {
    pub port: u16,
    sent: Arc<AtomicU64>,
}

impl CountingProxy {
    pub async fn start(server: &TestServer) -> CountingProxy {
        let upstream = server.endpoint.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&sent);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, counter) = (upstream.clone(), Arc::clone(&counter));
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pump(cr, sw, Some(counter)), pump(sr, cw, None));
                });
            }
        });
        CountingProxy { port, sent }
    }

    /// Bytes clients sent through the proxy so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counter: Option<Arc<AtomicU64>>,
) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(c) = &counter {
            c.fetch_add(n as u64, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
