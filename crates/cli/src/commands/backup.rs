//! `xbak backup …`

use super::parse_time;
use crate::context::Context;
use crate::progress::bytes_bar;
use anyhow::Context as _;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::time::Timestamp;
use xbak_domain::{BackupMethod, BackupSetScale, BackupType, NewBackupSet};
use xbak_storage::{RegionStore, Staged};

#[derive(Subcommand)]
pub enum Cmd {
    /// Record a backup set made by an external tool: the file is stored in the instance's region,
    /// checked, and (when the instance has a policy) queued for its cross-region copy.
    Register(RegisterArgs),
    /// Take a backup of the instance's database server (mariadb-dump or mariabackup), stream it
    /// into the instance's region and record it (queueing its cross-region copy).
    Run(super::backup_run::RunArgs),
    /// List the backups the agent attempted, failed ones included.
    Runs(super::backup_run::RunsArgs),
}

#[derive(clap::Args)]
pub struct RegisterArgs {
    db_instance_id: String,
    /// The backup file.
    #[arg(long)]
    file: PathBuf,
    /// P (physical) or L (logical).
    #[arg(long)]
    method: String,
    /// F (full) or I (incremental).
    #[arg(long = "type")]
    backup_type: String,
    /// 0: whole instance, 1: single database.
    #[arg(long, default_value_t = 0)]
    scale: i64,
    #[arg(long)]
    start: String,
    #[arg(long)]
    end: String,
    /// Point in time the data represents.
    #[arg(long)]
    consistent: String,
    /// Node the set was taken from (default: the instance's).
    #[arg(long)]
    instance_number: Option<i64>,
}

pub async fn run(ctx: &Context, cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Register(a) => register(ctx, a).await,
        Cmd::Run(a) => super::backup_run::run(ctx, a).await,
        Cmd::Runs(a) => super::backup_run::runs(ctx, a).await,
    }
}

async fn register(ctx: &Context, a: RegisterArgs) -> anyhow::Result<()> {
    let facts = SetFacts::parse(&a)?;
    let catalog = ctx.catalog().await?;
    let inst = super::find_instance(&*catalog, &a.db_instance_id).await?;
    let region = catalog
        .region(&inst.region_id)
        .await?
        .with_context(|| format!("no region {}", inst.region_id))?;
    let store = RegionStore::open(&region.region_id, &region.store_url)?;
    let instance_number = a.instance_number.unwrap_or(inst.instance_number);
    let file_name = backup_set_file_name(
        &inst.region_id,
        &inst.db_instance_id,
        instance_number,
        facts.started_at,
        facts.method,
    );
    let key = backup_set_key(&inst.db_instance_id, &file_name);
    let staged = store_file(&store, &key, &a.file).await?;
    let recorded = catalog
        .record_backup_set(&NewBackupSet {
            instance_id: inst.id,
            method: facts.method,
            backup_type: facts.backup_type,
            scale: facts.scale,
            started_at: facts.started_at,
            finished_at: facts.finished_at,
            consistent_at: facts.consistent_at,
            instance_number,
            object_key: key.clone(),
            size_bytes: staged.size as i64,
            sha256: staged.sha256.clone(),
        })
        .await?;
    println!(
        "backup set {} stored as {file_name} ({} bytes, sha256 {})",
        recorded.backup_set.id, staged.size, staged.sha256
    );
    match recorded.queued_copy_id {
        Some(id) => {
            println!("cross-region copy {id} queued (run `xbak replicate --once` or `xbak serve`)")
        }
        None => println!(
            "no cross-region policy: nothing queued (xbak policy set {} --cross-region R)",
            inst.db_instance_id
        ),
    }
    Ok(())
}

/// What `backup register` says about the set, parsed and checked.
struct SetFacts {
    method: BackupMethod,
    backup_type: BackupType,
    scale: BackupSetScale,
    started_at: Timestamp,
    finished_at: Timestamp,
    consistent_at: Timestamp,
}

impl SetFacts {
    fn parse(a: &RegisterArgs) -> anyhow::Result<SetFacts> {
        let facts = SetFacts {
            method: a.method.parse()?,
            backup_type: a.backup_type.parse()?,
            scale: BackupSetScale::from_i64(a.scale)?,
            started_at: parse_time("--start", &a.start)?,
            finished_at: parse_time("--end", &a.end)?,
            consistent_at: parse_time("--consistent", &a.consistent)?,
        };
        if facts.finished_at < facts.started_at {
            anyhow::bail!("--end is before --start");
        }
        Ok(facts)
    }
}

/// Stores `file` under `key` in the region: staged, read back and checked, then published.
async fn store_file(store: &RegionStore, key: &str, file: &Path) -> anyhow::Result<Staged> {
    let reader = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let len = reader.metadata().await?.len();
    let bar = bytes_bar("storing backup set", len);
    let staged = store
        .upload_staged(
            key,
            tokio::io::BufReader::with_capacity(1 << 20, reader),
            &|n| bar.set_position(n),
        )
        .await?;
    bar.finish_and_clear();
    let check = store.checksum(&staged.staging_key).await?;
    if check.sha256 != staged.sha256 || check.size != staged.size {
        store.delete(&staged.staging_key).await.ok();
        anyhow::bail!("the stored bytes did not read back as written; nothing was recorded");
    }
    store
        .publish(&staged, key)
        .await
        .with_context(|| format!("publishing {key}"))?;
    Ok(staged)
}
