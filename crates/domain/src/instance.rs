//! Accounts, regions, database instances and their cross-region backup policy.

use crate::time::Timestamp;

/// A tenant. Every instance belongs to exactly one account; AccessKeys authenticate as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: String,
}

/// An AccessKey pair. The secret is kept only in the catalog and never logged or listed.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret: String,
    pub account_id: i64,
    pub enabled: bool,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// A region: an id such as `cn-hangzhou` and the object store URL that holds its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub region_id: String,
    pub store_url: String,
}

/// Instance series (`Category` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Basic,
    HighAvailability,
    Finance,
}

crate::words::wire_words!(Category as "Category" {
    Basic => "Basic",
    HighAvailability => "HighAvailability",
    Finance => "Finance",
});

/// Storage type (`DBInstanceStorageType`). Alibaba's values; `local_ssd` is what "local SSD" instances report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    LocalSsd,
    CloudSsd,
    CloudEssd,
}

// The seed's sample says "ssd" for a local SSD instance; accepted as an alias.
crate::words::wire_words!(StorageType as "DBInstanceStorageType" {
    LocalSsd => "local_ssd" | "ssd",
    CloudSsd => "cloud_ssd",
    CloudEssd => "cloud_essd",
});

/// What `instance create` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub db_instance_id: String,
    pub region_id: String,
    pub account_id: i64,
    /// `MySQL` or `MariaDB` as given by the operator.
    pub engine: String,
    pub engine_version: String,
    pub category: Category,
    pub storage_type: StorageType,
    /// Alibaba's "InstanceId" (the node number, `hins…`) of the node backups are taken from.
    pub instance_number: i64,
}

/// A database instance known to the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: i64,
    pub db_instance_id: String,
    pub region_id: String,
    pub account_id: i64,
    pub engine: String,
    pub engine_version: String,
    pub category: Category,
    pub storage_type: StorageType,
    pub instance_number: i64,
    pub created_at: Timestamp,
}

impl Instance {
    /// Whether Alibaba offers cross-region backup for this kind of instance. The seed: "MySQL 5.7
    /// High-availability local SSD" and "MySQL 5.6". MariaDB is xbak's addition, under the same
    /// shape rule as MySQL 5.7 (see docs/compatibility.md).
    pub fn supports_cross_region_backup(&self) -> bool {
        let engine = self.engine.to_ascii_lowercase();
        let ha_local = self.category == Category::HighAvailability
            && self.storage_type == StorageType::LocalSsd;
        match (engine.as_str(), self.engine_version.as_str()) {
            ("mysql", "5.6") => true,
            ("mysql", "5.7") => ha_local,
            ("mariadb", _) => ha_local,
            _ => false,
        }
    }
}

/// The cross-region backup policy of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub instance_id: i64,
    pub enabled: bool,
    pub dest_region_id: String,
    pub retention_days: i64,
    pub updated_at: Timestamp,
}

/// The policy with what `DescribeInstanceCrossBackupPolicy` also reports: the log-backup switch
/// (stored and reported; xbak does not copy binlogs yet) and when each switch was last turned on
/// (kept when turned off, `None` if never on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossBackupPolicy {
    pub policy: Policy,
    pub log_backup_enabled: bool,
    pub backup_enabled_at: Option<Timestamp>,
    pub log_backup_enabled_at: Option<Timestamp>,
}

/// Retention Alibaba accepts, in days.
pub const RETENTION_DAYS: std::ops::RangeInclusive<i64> = 7..=1825;
/// Retention used when the operator names none (Alibaba's console default).
pub const DEFAULT_RETENTION_DAYS: i64 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(engine: &str, version: &str, category: Category, storage: StorageType) -> Instance {
        Instance {
            id: 1,
            db_instance_id: "rm-x".into(),
            region_id: "cn-hangzhou".into(),
            account_id: 1,
            engine: engine.into(),
            engine_version: version.into(),
            category,
            storage_type: storage,
            instance_number: 1,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn eligibility_follows_the_seed() {
        use Category::*;
        use StorageType::*;
        assert!(inst("MySQL", "5.7", HighAvailability, LocalSsd).supports_cross_region_backup());
        assert!(inst("MySQL", "5.6", Basic, CloudSsd).supports_cross_region_backup());
        assert!(!inst("MySQL", "5.7", Basic, LocalSsd).supports_cross_region_backup());
        assert!(!inst("MySQL", "5.7", HighAvailability, CloudEssd).supports_cross_region_backup());
        assert!(!inst("MySQL", "8.0", HighAvailability, LocalSsd).supports_cross_region_backup());
        assert!(
            !inst("PostgreSQL", "5.6", HighAvailability, LocalSsd).supports_cross_region_backup()
        );
    }

    #[test]
    fn access_key_debug_hides_the_secret() {
        let k = AccessKey {
            access_key_id: "LTAI1".into(),
            secret: "s3cr3t".into(),
            account_id: 1,
            enabled: true,
        };
        assert!(!format!("{k:?}").contains("s3cr3t"));
    }
}
