//! The pieces every copy and backup test world is built from: a SQLite catalog in a folder,
//! regions at given URLs, and an account's instance with (or without) an enabled policy.

use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::{Catalog, RecordedBackupSet};
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, Category, Instance, NewBackupSet, NewInstance,
    Policy, Region, StorageType,
};

/// Opens (creating) the SQLite catalog `catalog.db` in `dir`.
pub async fn sqlite_catalog(dir: &Path) -> Arc<dyn Catalog> {
    Arc::new(SqliteCatalog::open(&dir.join("catalog.db")).await.unwrap())
}

/// The `file://` URL of the local region `region` in `dir` (the folder `dir/region`).
pub fn local_url(dir: &Path, region: &str) -> String {
    format!("file://{}", dir.join(region).display())
}

/// Configures each `(region id, store URL)` in the catalog.
pub async fn put_regions(catalog: &dyn Catalog, regions: &[(&str, &str)]) {
    for (region, url) in regions {
        catalog
            .put_region(&Region {
                region_id: (*region).into(),
                store_url: (*url).into(),
            })
            .await
            .unwrap();
    }
}

/// An instance to seed: a new account of its own, the instance (high availability, local SSD)
/// and, when `copies_to` names a region, an enabled 7-day policy copying to it.
#[derive(Debug, Clone)]
pub struct InstanceSpec<'a> {
    pub account: &'a str,
    pub db_instance_id: &'a str,
    pub region: &'a str,
    pub engine: &'a str,
    pub engine_version: &'a str,
    pub instance_number: i64,
    pub copies_to: Option<&'a str>,
}

impl<'a> InstanceSpec<'a> {
    /// A MySQL 5.7 instance `db_instance_id` of account `account` in `region`, no policy.
    pub fn mysql57(account: &'a str, db_instance_id: &'a str, region: &'a str) -> Self {
        InstanceSpec {
            account,
            db_instance_id,
            region,
            engine: "MySQL",
            engine_version: "5.7",
            instance_number: 7986073,
            copies_to: None,
        }
    }

    /// The same instance as MariaDB 10.11 (what the agent's tests back up).
    pub fn mariadb(self) -> Self {
        InstanceSpec {
            engine: "MariaDB",
            engine_version: "10.11",
            ..self
        }
    }

    /// The same instance with an enabled 7-day policy copying to `dest`.
    pub fn copying_to(self, dest: &'a str) -> Self {
        InstanceSpec {
            copies_to: Some(dest),
            ..self
        }
    }

    /// Creates the account, the instance and the policy; returns the instance.
    pub async fn seed(&self, catalog: &dyn Catalog) -> Instance {
        let (account, _) = catalog.create_account(self.account).await.unwrap();
        let instance = catalog
            .create_instance(&NewInstance {
                db_instance_id: self.db_instance_id.into(),
                region_id: self.region.into(),
                account_id: account.id,
                engine: self.engine.into(),
                engine_version: self.engine_version.into(),
                category: Category::HighAvailability,
                storage_type: StorageType::LocalSsd,
                instance_number: self.instance_number,
            })
            .await
            .unwrap();
        if let Some(dest) = self.copies_to {
            catalog
                .put_policy(&Policy {
                    instance_id: instance.id,
                    enabled: true,
                    dest_region_id: dest.into(),
                    retention_days: 7,
                    updated_at: Utc::now(),
                })
                .await
                .unwrap();
        }
        instance
    }
}

/// A physical full backup set of `instance` stored at `object_key`.
#[derive(Debug, Clone)]
pub struct FullSet<'a> {
    pub object_key: &'a str,
    pub size: u64,
    pub sha256: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub consistent: DateTime<Utc>,
}

impl FullSet<'_> {
    /// Records the set in the catalog (which queues its copy when the policy is enabled).
    pub async fn record(&self, catalog: &dyn Catalog, instance: &Instance) -> RecordedBackupSet {
        catalog
            .record_backup_set(&NewBackupSet {
                instance_id: instance.id,
                method: BackupMethod::Physical,
                backup_type: BackupType::Full,
                scale: BackupSetScale::Instance,
                started_at: self.started,
                finished_at: self.finished,
                consistent_at: self.consistent,
                instance_number: instance.instance_number,
                object_key: self.object_key.into(),
                size_bytes: self.size as i64,
                sha256: self.sha256.clone(),
            })
            .await
            .unwrap()
    }
}

/// Every file below `dir`, recursively (none when `dir` does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
