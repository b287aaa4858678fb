//! One file per command group.

pub mod account;
pub mod api_client;
pub mod backup;
pub mod backup_logs;
pub mod backup_run;
pub mod backups;
pub mod completions;
pub mod dbconn;
pub mod instance;
pub mod listing;
pub mod policy;
pub mod policy_backups;
pub mod rds;
pub mod region;
pub mod replicate;
pub mod restore;
pub mod schedule;
pub mod serve;
pub mod serve_metrics;
pub mod worker;
pub mod workers;

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (or `yyyy-MM-ddTHH:mmZ`) for a named flag.
pub fn parse_time(flag: &str, value: &str) -> anyhow::Result<xbak_domain::time::Timestamp> {
    xbak_protocol::time::parse_utc_seconds_or_minutes(value).ok_or_else(|| {
        anyhow::anyhow!("{flag} {value:?} is not a UTC time like 2024-03-05T02:21:00Z")
    })
}

/// The instance named `db_instance_id`, or an error saying there is none.
pub async fn find_instance(
    catalog: &dyn xbak_catalog::Catalog,
    db_instance_id: &str,
) -> anyhow::Result<xbak_domain::Instance> {
    use anyhow::Context as _;
    catalog
        .instance_by_db_instance_id(db_instance_id)
        .await?
        .with_context(|| format!("no instance {db_instance_id:?}"))
}

/// `--method`, `--type` and `--database`: what kind of backup `backup run` takes and a schedule
/// runs.
#[derive(clap::Args)]
pub struct BackupKindArgs {
    /// L (logical: mariadb-dump) or P (physical: mariabackup).
    #[arg(long)]
    method: String,
    /// F (full) or I (incremental, physical only: based on the last physical set).
    #[arg(long = "type", default_value = "F")]
    backup_type: String,
    /// Back up one database only (logical; BackupSetScale 1).
    #[arg(long)]
    database: Option<String>,
}

impl BackupKindArgs {
    /// The method, the type and the database, parsed.
    pub fn parse(
        self,
    ) -> anyhow::Result<(
        xbak_domain::BackupMethod,
        xbak_domain::BackupType,
        Option<String>,
    )> {
        Ok((
            self.method.parse()?,
            self.backup_type.parse()?,
            self.database,
        ))
    }
}
