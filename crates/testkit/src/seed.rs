//! The seeded world every server-level test starts from: a SQLite catalog and local regions in
//! a temp dir, two accounts with their instances, an enabled policy and backup sets already
//! copied by the replicator.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, Category, Instance, NewBackupSet, NewInstance,
    Policy, Region, StorageType,
};
use xbak_replicator::{Replicator, ReplicatorConfig};
use xbak_server::{AppState, ServerConfig};
use xbak_storage::links::LinkSigner;
use xbak_storage::{RegionStore, Regions};

/// Source region of every seeded instance.
pub const SRC: &str = "cn-hangzhou";
/// Destination region of [`INSTANCE`]'s policy.
pub const DEST: &str = "cn-shanghai";
/// A third configured region, used by no policy.
pub const THIRD: &str = "cn-beijing";
/// Account A's eligible instance: the policy and the backup sets are its.
pub const INSTANCE: &str = "rm-test0001";
/// Account B's instance (eligible, no policy).
pub const OTHER_INSTANCE: &str = "rm-other0001";
/// Account A's MySQL 8.0 instance (no policy).
pub const MYSQL8: &str = "rm-mysql8";
/// Node number of every seeded instance.
pub const INSTANCE_NUMBER: i64 = 7980000;

/// `2024-03-01T00:00:00Z`-style UTC time, parsed.
pub fn t(s: &str) -> DateTime<Utc> {
    xbak_protocol::time::parse_utc_seconds(s).unwrap()
}

/// Start time of the first seeded set; set `i` starts `i` hours later.
fn base() -> DateTime<Utc> {
    t("2024-03-01T00:00:00Z")
}

/// `(StartTime, EndTime)` covering every set of a world seeded with `sets` sets.
pub fn window(sets: usize) -> (String, String) {
    let f = xbak_protocol::time::format_utc;
    (f(base()), f(base() + Duration::hours(sets as i64)))
}

/// The parameters that list the backups of [`INSTANCE`] in [`SRC`] from `start` to `end`.
pub fn listing<'a>(start: &'a str, end: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("DBInstanceId", INSTANCE),
        ("RegionId", SRC),
        ("StartTime", start),
        ("EndTime", end),
    ]
}

/// What to seed.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Backup sets of [`INSTANCE`], all copied to [`DEST`].
    pub sets: usize,
    /// Bytes of set 0 (the oldest), as [`crate::noise`]; the others are small text.
    pub first_set_bytes: Option<usize>,
    /// Lifetime of the download links the server signs.
    pub link_ttl: StdDuration,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            sets: 3,
            first_set_bytes: None,
            link_ttl: ServerConfig::default().link_ttl,
        }
    }
}

impl Setup {
    /// The default setup with `sets` backup sets.
    pub fn sets(sets: usize) -> Setup {
        Setup {
            sets,
            ..Setup::default()
        }
    }
}

/// A seeded catalog and its regions. Regions [`SRC`], [`DEST`] and [`THIRD`]; account A
/// (`alice`) owns [`INSTANCE`] (policy to [`DEST`]) and [`MYSQL8`]; account B (`bob`) owns
/// [`OTHER_INSTANCE`].
pub struct Seeded {
    /// Holds the catalog file and the region folders.
    pub dir: tempfile::TempDir,
    pub catalog: Arc<dyn Catalog>,
    pub regions: Regions,
    /// Account A's AccessKey.
    pub ak: String,
    pub secret: String,
    /// Account B's AccessKey.
    pub other_ak: String,
    pub other_secret: String,
    /// Start time of set i is `base + i hours`.
    pub base: DateTime<Utc>,
    /// Contents of each set, by index.
    pub contents: Vec<Vec<u8>>,
    link_ttl: StdDuration,
}

impl Seeded {
    /// Seeds a world as `setup` says and runs the replicator once, so every set is copied.
    pub async fn new(setup: &Setup) -> Seeded {
        let dir = tempfile::tempdir().unwrap();
        let catalog: Arc<dyn Catalog> = Arc::new(
            SqliteCatalog::open(&dir.path().join("catalog.db"))
                .await
                .unwrap(),
        );
        let regions =
            local_regions(&*catalog, &dir.path().join("regions"), &[SRC, DEST, THIRD]).await;
        let (alice, key) = catalog.create_account("alice").await.unwrap();
        let (bob, other_key) = catalog.create_account("bob").await.unwrap();
        let inst = catalog
            .create_instance(&new_instance(INSTANCE, alice.id, "5.7"))
            .await
            .unwrap();
        catalog
            .create_instance(&new_instance(OTHER_INSTANCE, bob.id, "5.7"))
            .await
            .unwrap();
        catalog
            .create_instance(&new_instance(MYSQL8, alice.id, "8.0"))
            .await
            .unwrap();
        catalog.put_policy(&policy_to_dest(inst.id)).await.unwrap();
        let mut seeded = Seeded {
            dir,
            catalog,
            regions,
            ak: key.access_key_id,
            secret: key.secret,
            other_ak: other_key.access_key_id,
            other_secret: other_key.secret,
            base: base(),
            contents: Vec::new(),
            link_ttl: setup.link_ttl,
        };
        for i in 0..setup.sets {
            let body = match (i, setup.first_set_bytes) {
                (0, Some(n)) => crate::noise(n, 1),
                _ => format!("backup set {i} ").repeat(100 + i).into_bytes(),
            };
            seeded.store_set(&inst, i, body).await;
        }
        Replicator::new(
            seeded.catalog.clone(),
            seeded.regions.clone(),
            ReplicatorConfig::default(),
        )
        .run_once()
        .await
        .unwrap();
        seeded
    }

    /// Stores `body` as set `i` of `inst` in [`SRC`] and records it (which queues its copy).
    async fn store_set(&mut self, inst: &Instance, i: usize, body: Vec<u8>) {
        let started = self.base + Duration::hours(i as i64);
        let method = if i.is_multiple_of(2) {
            BackupMethod::Physical
        } else {
            BackupMethod::Logical
        };
        let name = backup_set_file_name(SRC, INSTANCE, INSTANCE_NUMBER, started, method);
        let key = backup_set_key(INSTANCE, &name);
        let src = self.regions.get(SRC).unwrap();
        let staged = src
            .upload_staged(&key, std::io::Cursor::new(body.clone()), &|_| {})
            .await
            .unwrap();
        src.publish(&staged, &key).await.unwrap();
        self.catalog
            .record_backup_set(&NewBackupSet {
                instance_id: inst.id,
                method,
                backup_type: if i.is_multiple_of(3) {
                    BackupType::Full
                } else {
                    BackupType::Incremental
                },
                scale: BackupSetScale::Instance,
                started_at: started,
                finished_at: started + Duration::minutes(5),
                consistent_at: started + Duration::minutes(5),
                instance_number: INSTANCE_NUMBER,
                object_key: key,
                size_bytes: staged.size as i64,
                sha256: staged.sha256.clone(),
            })
            .await
            .unwrap();
        self.contents.push(body);
    }

    /// The server's state on this world, signing download links under `link_base`.
    pub async fn app_state(&self, link_base: &str) -> AppState {
        self.app_state_with(link_base, ServerConfig::default())
            .await
    }

    /// Like [`Seeded::app_state`], with `config` (its link TTL replaced by the setup's).
    pub async fn app_state_with(&self, link_base: &str, config: ServerConfig) -> AppState {
        let (kid, ksecret) = self.catalog.link_signing_key().await.unwrap();
        let links = LinkSigner::new(kid, ksecret, link_base.into());
        let config = ServerConfig {
            link_ttl: self.link_ttl,
            ..config
        };
        AppState::new(config, self.catalog.clone(), self.regions.clone(), links)
            .await
            .unwrap()
    }

    /// `(StartTime, EndTime)` covering every seeded set.
    pub fn window(&self) -> (String, String) {
        window(self.contents.len())
    }
}

/// Regions `ids` of `catalog`, each a folder under `root` (made here); their stores.
pub async fn local_regions(catalog: &dyn Catalog, root: &std::path::Path, ids: &[&str]) -> Regions {
    let regions = Regions::new();
    for &id in ids {
        let path = root.join(id);
        std::fs::create_dir_all(&path).unwrap();
        let url = format!("file://{}", path.display());
        let region = Region {
            region_id: id.into(),
            store_url: url.clone(),
        };
        catalog.put_region(&region).await.unwrap();
        regions.insert(RegionStore::open(id, &url).unwrap());
    }
    regions
}

/// Cross-region backup of `instance_id` on, to [`DEST`], kept 7 days.
pub fn policy_to_dest(instance_id: i64) -> Policy {
    Policy {
        instance_id,
        enabled: true,
        dest_region_id: DEST.into(),
        retention_days: 7,
        updated_at: Utc::now(),
    }
}

/// An eligible instance (MySQL, high availability, local SSD) of `account_id` in [`SRC`].
pub fn new_instance(db_instance_id: &str, account_id: i64, engine_version: &str) -> NewInstance {
    NewInstance {
        db_instance_id: db_instance_id.into(),
        region_id: SRC.into(),
        account_id,
        engine: "MySQL".into(),
        engine_version: engine_version.into(),
        category: Category::HighAvailability,
        storage_type: StorageType::LocalSsd,
        instance_number: INSTANCE_NUMBER,
    }
}
