//! `xbak instance …`

use crate::context::Context;
use anyhow::Context as _;
use clap::Subcommand;
use xbak_domain::{Category, NewInstance, StorageType};

#[derive(Subcommand)]
pub enum Cmd {
    /// Register a database instance.
    Create {
        /// DBInstanceId, e.g. rm-uf6wjk5xxxxxxx.
        db_instance_id: String,
        #[arg(long)]
        region: String,
        /// Owning account (by name).
        #[arg(long)]
        account: String,
        /// MySQL or MariaDB.
        #[arg(long)]
        engine: String,
        #[arg(long)]
        engine_version: String,
        /// Basic, HighAvailability or Finance.
        #[arg(long)]
        category: String,
        /// local_ssd, cloud_ssd or cloud_essd.
        #[arg(long)]
        storage_type: String,
        /// Node number reported as InstanceId (default: derived from the catalog id).
        #[arg(long)]
        instance_number: Option<i64>,
        #[command(flatten)]
        servers: super::dbconn::ServerArgs,
    },
    /// Set the database servers backups are taken from (--dsn, --standby-dsn).
    Connect(super::dbconn::ConnectArgs),
}

pub async fn run(ctx: &Context, cmd: Cmd) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    match cmd {
        Cmd::Create {
            db_instance_id,
            region,
            account,
            engine,
            engine_version,
            category,
            storage_type,
            instance_number,
            servers,
        } => {
            if db_instance_id.is_empty()
                || db_instance_id.len() > 64
                || db_instance_id.contains(['/', ' '])
            {
                anyhow::bail!(
                    "DBInstanceId {db_instance_id:?} must be 1-64 characters without '/' or spaces"
                );
            }
            let category: Category = category.parse()?;
            let storage_type: StorageType = storage_type.parse()?;
            let acct = catalog.account_by_name(&account).await?.with_context(|| {
                format!("no account named {account:?} (xbak account create {account})")
            })?;
            catalog
                .region(&region)
                .await?
                .with_context(|| format!("no region {region:?} (xbak region add {region})"))?;
            let new = NewInstance {
                db_instance_id: db_instance_id.clone(),
                region_id: region,
                account_id: acct.id,
                engine,
                engine_version,
                category,
                storage_type,
                instance_number: instance_number.unwrap_or_else(default_instance_number),
            };
            let inst = catalog.create_instance(&new).await?;
            println!(
                "instance {} in {} (InstanceId {})",
                inst.db_instance_id, inst.region_id, inst.instance_number
            );
            servers.apply(catalog.as_ref(), &inst).await?;
            if !inst.supports_cross_region_backup() {
                eprintln!(
                    "note: Alibaba offers cross-region backup only for MySQL 5.6 and MySQL 5.7 HighAvailability local_ssd; \
                     DescribeCrossRegionBackups will refuse this instance"
                );
            }
        }
        Cmd::Connect(a) => return super::dbconn::connect(ctx, a).await,
    }
    Ok(())
}

/// Alibaba's node numbers are 7-8 digit integers; pick one in that range.
fn default_instance_number() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    1_000_000 + i64::from(nanos % 9_000_000)
}
