//! `xbak policy …`

use crate::context::Context;
use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;
use xbak_domain::instance::{DEFAULT_RETENTION_DAYS, RETENTION_DAYS};
use xbak_domain::Policy;

/// How far back a set may have started to be copied when the policy is turned on (as the API).
const LATEST_SET_WINDOW_HOURS: i64 = 24;

#[derive(Subcommand)]
pub enum Cmd {
    /// Turn on cross-region copies of an instance's backup sets to a destination region (or,
    /// with --off, turn them off: copies already made stay until they expire).
    ///
    /// Turning it on queues the copy of the newest backup set of the last 24 hours, as
    /// ModifyInstanceCrossBackupPolicy does. (Through the API, `xbak serve` also takes a backup
    /// when there is none; here, run `xbak backup run` yourself.)
    #[command(
        after_help = "Examples:\n  xbak policy set rm-bp1 --cross-region cn-shanghai --retention-days 30\n  xbak policy set rm-bp1 --cross-region cn-shanghai --log-backup\n  xbak policy set rm-bp1 --cross-region cn-shanghai --off"
    )]
    Set {
        db_instance_id: String,
        /// Destination region.
        #[arg(long)]
        cross_region: String,
        /// Days to keep copies (7-1825).
        #[arg(long, default_value_t = DEFAULT_RETENTION_DAYS)]
        retention_days: i64,
        /// Also mark log (binlog) backups as copied (`LogBackupEnabled`; stored and reported).
        #[arg(long, conflicts_with = "off")]
        log_backup: bool,
        /// Turn the policy off: no new copies; old ones are kept until they expire.
        #[arg(long)]
        off: bool,
    },
}

pub async fn run(ctx: &Context, cmd: Cmd) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    match cmd {
        Cmd::Set {
            db_instance_id,
            cross_region,
            retention_days,
            log_backup,
            off,
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
                enabled: !off,
                dest_region_id: cross_region.clone(),
                retention_days,
                updated_at: Utc::now(),
            };
            catalog.put_cross_backup_policy(&policy, log_backup).await?;
            if off {
                println!("{db_instance_id}: cross-region copies off (copies in {cross_region} kept until they expire)");
                return Ok(());
            }
            println!(
                "{db_instance_id}: backups copied to {cross_region}, kept {retention_days} days"
            );
            let since = Utc::now() - chrono::Duration::hours(LATEST_SET_WINDOW_HOURS);
            match catalog
                .queue_copy_of_latest_set(inst.id, &cross_region, since)
                .await?
            {
                Some(id) => println!("queued copy {id} of the newest backup set of the last 24 hours"),
                None => println!(
                    "no backup set of the last 24 hours without a copy there: the next backup will be copied"
                ),
            }
        }
    }
    Ok(())
}
