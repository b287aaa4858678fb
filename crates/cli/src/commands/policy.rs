//! `xbak policy …`

use crate::context::Context;
use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;
use xbak_domain::instance::{DEFAULT_RETENTION_DAYS, RETENTION_DAYS};
use xbak_domain::Policy;

#[derive(Subcommand)]
pub enum Cmd {
    /// Turn on cross-region copies of an instance's backup sets to a destination region.
    Set {
        db_instance_id: String,
        /// Destination region.
        #[arg(long)]
        cross_region: String,
        /// Days to keep copies (7-1825).
        #[arg(long, default_value_t = DEFAULT_RETENTION_DAYS)]
        retention_days: i64,
    },
}

pub async fn run(ctx: &Context, cmd: Cmd) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    match cmd {
        Cmd::Set {
            db_instance_id,
            cross_region,
            retention_days,
        } => {
            if !RETENTION_DAYS.contains(&retention_days) {
                anyhow::bail!("--retention-days must be between 7 and 1825");
            }
            let inst = catalog
                .instance_by_db_instance_id(&db_instance_id)
                .await?
                .with_context(|| format!("no instance {db_instance_id:?}"))?;
            if cross_region == inst.region_id {
                anyhow::bail!(
                    "the destination must differ from the instance's region {}",
                    inst.region_id
                );
            }
            catalog.region(&cross_region).await?.with_context(|| {
                format!("no region {cross_region:?} (xbak region add {cross_region})")
            })?;
            let policy = Policy {
                instance_id: inst.id,
                enabled: true,
                dest_region_id: cross_region.clone(),
                retention_days,
                updated_at: Utc::now(),
            };
            catalog.put_policy(&policy).await?;
            println!(
                "{db_instance_id}: backups copied to {cross_region}, kept {retention_days} days"
            );
        }
    }
    Ok(())
}
