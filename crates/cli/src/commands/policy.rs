//! `xbak policy …`

use crate::context::Context;
use chrono::Utc;
use clap::Subcommand;
use xbak_catalog::PolicyChangeError;
use xbak_domain::PolicyChange;

#[derive(Subcommand)]
pub enum Cmd {
    /// Turn on cross-region copies of an instance's backup sets to a destination region (or,
    /// with --off, turn them off: copies already made stay until they expire).
    ///
    /// The same policy service as ModifyInstanceCrossBackupPolicy: options not given keep the
    /// stored values (defaults only when there is no policy yet). Turning it on queues the copy
    /// of the newest backup set of the last 24 hours, or, when there is none, requests a full
    /// backup that `xbak serve` (with workers) takes.
    #[command(
        after_help = "Examples:\n  xbak policy set rm-bp1 --cross-region cn-shanghai --retention-days 30\n  xbak policy set rm-bp1 --cross-region cn-shanghai --log-backup\n  xbak policy set rm-bp1 --cross-region cn-shanghai --log-backup=false\n  xbak policy set rm-bp1 --cross-region cn-shanghai --off"
    )]
    Set {
        db_instance_id: String,
        /// Destination region.
        #[arg(long)]
        cross_region: String,
        /// Days to keep copies (7-1825; default: the stored value, else 7).
        #[arg(long)]
        retention_days: Option<i64>,
        /// Also mark log (binlog) backups as copied (`LogBackupEnabled`; stored and reported).
        /// `--log-backup=false` turns it off; default: the stored value, else off.
        #[arg(long, conflicts_with = "off", num_args = 0..=1, require_equals = true,
              default_missing_value = "true")]
        log_backup: Option<bool>,
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
            let inst = super::find_instance(&*catalog, &db_instance_id).await?;
            let change = PolicyChange {
                enabled: Some(!off),
                dest_region_id: Some(cross_region.clone()),
                retention_days,
                log_backup_enabled: log_backup,
            };
            let changed = match catalog
                .change_cross_backup_policy(inst.id, &change, Utc::now())
                .await
            {
                Ok(changed) => changed,
                Err(PolicyChangeError::Refused(refusal)) => anyhow::bail!("{refusal}"),
                Err(PolicyChangeError::Catalog(e)) => return Err(e.into()),
            };
            if off {
                println!("{db_instance_id}: cross-region copies off (copies in {cross_region} kept until they expire)");
                return Ok(());
            }
            let retention = changed
                .stored
                .as_ref()
                .map_or(0, |s| s.policy.retention_days);
            println!("{db_instance_id}: backups copied to {cross_region}, kept {retention} days");
            match (changed.queued_copy_id, changed.requested_backup_id) {
                (Some(id), _) => {
                    println!("queued copy {id} of the newest backup set of the last 24 hours")
                }
                (None, Some(id)) => println!(
                    "no backup set of the last 24 hours: full backup requested (request {id}; xbak serve takes it)"
                ),
                (None, None) => println!(
                    "no backup set of the last 24 hours without a copy there: the next backup will be copied"
                ),
            }
        }
    }
    Ok(())
}
