//! `xbak schedule …`: one daily backup window per instance (UTC), run by `xbak serve`.

use crate::context::Context;
use clap::Subcommand;
use xbak_domain::agent::parse_hh_mm;
use xbak_domain::{BackupMethod, BackupSchedule, BackupType};

#[derive(Subcommand)]
pub enum Cmd {
    /// Back an instance up every day at a time (UTC).
    Set {
        db_instance_id: String,
        /// Start of the daily window, HH:MM UTC.
        #[arg(long)]
        at: String,
        #[command(flatten)]
        kind: super::BackupKindArgs,
        /// Minutes after --at during which a missed run may still start.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1440))]
        window_minutes: u32,
        /// Keep the schedule but do not run it.
        #[arg(long)]
        disabled: bool,
    },
    /// Remove an instance's schedule.
    Delete { db_instance_id: String },
    /// Show every schedule.
    List,
}

pub async fn run(ctx: &Context, cmd: Cmd) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    match cmd {
        Cmd::Set {
            db_instance_id,
            at,
            kind,
            window_minutes,
            disabled,
        } => {
            let inst = super::find_instance(&*catalog, &db_instance_id).await?;
            let (method, backup_type, database) = kind.parse()?;
            if database.is_some() && method == BackupMethod::Physical {
                anyhow::bail!("--database applies to logical backups only");
            }
            if backup_type == BackupType::Incremental && method == BackupMethod::Logical {
                anyhow::bail!("incremental backups are physical only");
            }
            catalog
                .put_backup_schedule(&BackupSchedule {
                    enabled: !disabled,
                    ..BackupSchedule::daily(
                        inst.id,
                        parse_hh_mm(&at)?,
                        window_minutes,
                        method,
                        backup_type,
                        database,
                    )
                })
                .await?;
            println!(
                "{db_instance_id}: {}/{} backup daily at {at} UTC (run by `xbak serve`)",
                method.as_str(),
                backup_type.as_str()
            );
        }
        Cmd::Delete { db_instance_id } => {
            let inst = super::find_instance(&*catalog, &db_instance_id).await?;
            if !catalog.delete_backup_schedule(inst.id).await? {
                anyhow::bail!("{db_instance_id} has no schedule");
            }
        }
        Cmd::List => {
            println!("INSTANCE              AT     WINDOW  M/T  DATABASE  ENABLED  LAST RUN");
            for s in catalog.backup_schedules().await? {
                let name = catalog
                    .instance(s.instance_id)
                    .await?
                    .map(|i| i.db_instance_id)
                    .unwrap_or_default();
                println!(
                    "{name:<20}  {:02}:{:02}  {:>5}m  {}/{}  {:<8}  {:<7}  {}",
                    s.at_minute / 60,
                    s.at_minute % 60,
                    s.window_minutes,
                    s.method.as_str(),
                    s.backup_type.as_str(),
                    s.database.as_deref().unwrap_or("-"),
                    s.enabled,
                    s.last_run_day.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(())
}
