//! A real xbak server for the SDK: SQLite catalog and local regions in a temp dir, seeded with
//! an account, an eligible instance, a policy and N registered sets copied by the replicator,
//! served by `xbak_server::app` on a real `127.0.0.1:0` listener.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, Category, NewBackupSet, NewInstance, Policy, Region,
    StorageType,
};
use xbak_replicator::{Replicator, ReplicatorConfig};
use xbak_sdk::{Client, Credentials, HttpMethod, RetryPolicy, SignatureVersion};
use xbak_server::{app, AppState, ServerConfig};
use xbak_storage::links::LinkSigner;
use xbak_storage::{RegionStore, Regions};

pub const SRC: &str = "cn-hangzhou";
pub const DEST: &str = "cn-shanghai";
pub const INSTANCE: &str = "rm-sdk0001";

pub struct Server {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub ak: String,
    pub secret: String,
    /// Contents of set i (started at `base + i hours`).
    pub contents: Vec<Vec<u8>>,
    pub base: DateTime<Utc>,
    /// `Range` header of every download request, in order ("" when absent).
    pub download_ranges: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Options of a test server.
pub struct Setup {
    pub sets: usize,
    /// Bytes of set 0 (the oldest); the others are small.
    pub first_set_bytes: Option<usize>,
    pub link_ttl: StdDuration,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            sets: 3,
            first_set_bytes: None,
            link_ttl: StdDuration::from_secs(3600),
        }
    }
}

/// Deterministic pseudo-random bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

impl Server {
    pub async fn start(setup: Setup) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let catalog: Arc<dyn Catalog> = Arc::new(
            SqliteCatalog::open(&dir.path().join("catalog.db"))
                .await
                .unwrap(),
        );
        let regions = Regions::new();
        for r in [SRC, DEST] {
            let path = dir.path().join("regions").join(r);
            std::fs::create_dir_all(&path).unwrap();
            let url = format!("file://{}", path.display());
            catalog
                .put_region(&Region {
                    region_id: r.into(),
                    store_url: url.clone(),
                })
                .await
                .unwrap();
            regions.insert(RegionStore::open(r, &url).unwrap());
        }
        let (acct, key) = catalog.create_account("sdk").await.unwrap();
        let inst = catalog
            .create_instance(&NewInstance {
                db_instance_id: INSTANCE.into(),
                region_id: SRC.into(),
                account_id: acct.id,
                engine: "MySQL".into(),
                engine_version: "5.7".into(),
                category: Category::HighAvailability,
                storage_type: StorageType::LocalSsd,
                instance_number: 7980000,
            })
            .await
            .unwrap();
        catalog
            .put_policy(&Policy {
                instance_id: inst.id,
                enabled: true,
                dest_region_id: DEST.into(),
                retention_days: 7,
                updated_at: Utc::now(),
            })
            .await
            .unwrap();
        let base = xbak_domain::time::parse_utc("2024-03-01T00:00:00Z").unwrap();
        let src = regions.get(SRC).unwrap();
        let mut contents = Vec::new();
        for i in 0..setup.sets {
            let started = base + Duration::hours(i as i64);
            let method = if i % 2 == 0 {
                BackupMethod::Physical
            } else {
                BackupMethod::Logical
            };
            let body = match (i, setup.first_set_bytes) {
                (0, Some(n)) => noise(n, 1),
                _ => format!("set {i} ").repeat(20 + i).into_bytes(),
            };
            let name = backup_set_file_name(SRC, INSTANCE, 7980000, started, method);
            let key = backup_set_key(INSTANCE, &name);
            let staged = src
                .upload_staged(&key, std::io::Cursor::new(body.clone()), &|_| {})
                .await
                .unwrap();
            src.publish(&staged, &key).await.unwrap();
            catalog
                .record_backup_set(&NewBackupSet {
                    instance_id: inst.id,
                    method,
                    backup_type: if i % 3 == 0 {
                        BackupType::Full
                    } else {
                        BackupType::Incremental
                    },
                    scale: BackupSetScale::Instance,
                    started_at: started,
                    finished_at: started + Duration::minutes(5),
                    consistent_at: started + Duration::minutes(5),
                    instance_number: 7980000,
                    object_key: key,
                    size_bytes: staged.size as i64,
                    sha256: staged.sha256.clone(),
                })
                .await
                .unwrap();
            contents.push(body);
        }
        Replicator::new(
            catalog.clone(),
            regions.clone(),
            ReplicatorConfig::default(),
        )
        .run_once()
        .await
        .unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (kid, ksecret) = catalog.link_signing_key().await.unwrap();
        let links = LinkSigner::new(kid, ksecret, url.clone());
        let config = ServerConfig {
            link_ttl: setup.link_ttl,
            ..ServerConfig::default()
        };
        let state = AppState::new(config, catalog.clone(), regions.clone(), links)
            .await
            .unwrap();
        let download_ranges = Arc::new(Mutex::new(Vec::new()));
        let ranges = download_ranges.clone();
        let router = app(state).layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let ranges = ranges.clone();
                async move {
                    if req.uri().path().starts_with("/download/") {
                        let r = req
                            .headers()
                            .get("range")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        ranges.lock().unwrap().push(r);
                    }
                    next.run(req).await
                }
            },
        ));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Server {
            dir,
            url,
            ak: key.access_key_id,
            secret: key.secret,
            contents,
            base,
            download_ranges,
            task,
        }
    }

    /// A client for this server (v3, POST, fast retries).
    pub fn client(&self) -> Client {
        self.client_with(SignatureVersion::V3, HttpMethod::Post)
    }

    pub fn client_with(&self, sig: SignatureVersion, method: HttpMethod) -> Client {
        Client::builder()
            .endpoint(&self.url)
            .credentials(Credentials::new(&self.ak, &self.secret))
            .region_id(SRC)
            .signature_version(sig)
            .method(method)
            .retry(fast_retries())
            .build()
            .unwrap()
    }

    /// `(StartTime, EndTime)` covering every set.
    pub fn window(&self) -> (String, String) {
        let f = |t: DateTime<Utc>| xbak_domain::time::format_utc(t);
        (
            f(self.base),
            f(self.base + Duration::hours(self.contents.len() as i64)),
        )
    }
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: StdDuration::from_millis(5),
        max_delay: StdDuration::from_millis(20),
        max_retry_after: StdDuration::from_millis(50),
    }
}
