//! `xbak backup run` (take a backup with the agent) and `xbak backup runs` (what it did).

use crate::context::Context;
use crate::progress::activity_spinner;
use anyhow::Context as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use xbak_agent::{
    AgentConfig, AgentProgress, BackupAgent, BackupOutcome, BackupRequest, TablesStored,
};
use xbak_catalog::Catalog;
use xbak_protocol::time::format_utc;

#[derive(clap::Args)]
pub struct RunArgs {
    db_instance_id: String,
    #[command(flatten)]
    kind: super::BackupKindArgs,
    /// gzip level of logical sets.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    gzip_level: u32,
}

#[derive(clap::Args)]
pub struct RunsArgs {
    db_instance_id: String,
    /// How many runs to show, newest first.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

pub async fn run(ctx: &Context, a: RunArgs) -> anyhow::Result<()> {
    let (method, backup_type, database) = a.kind.parse()?;
    let req = BackupRequest {
        db_instance_id: a.db_instance_id.clone(),
        method,
        backup_type,
        database,
        trigger: "manual".into(),
    };
    let agent = BackupAgent::new(
        ctx.catalog().await?,
        AgentConfig {
            gzip_level: a.gzip_level,
            ..AgentConfig::default()
        },
    );
    let missing = agent.config().tools.missing();
    if !missing.is_empty() {
        anyhow::bail!(
            "missing MariaDB tools: {missing:?} (apt-get install mariadb-client mariadb-backup)"
        );
    }
    // Runs left `running` by agents that died are failed first, so `backup runs` tells the truth.
    agent.fail_interrupted_runs().await;
    let display = ProgressDisplay::new();
    let outcome = agent.run(&req, &|p| display.show(p)).await;
    display.clear();
    let outcome = outcome.with_context(|| {
        format!(
            "backup of {} failed (recorded as a failed run: xbak backup runs {})",
            a.db_instance_id, a.db_instance_id
        )
    })?;
    print_outcome(&outcome);
    Ok(())
}

/// A backup's progress on the terminal: a spinner with the step and the bytes so far.
struct ProgressDisplay {
    spinner: indicatif::ProgressBar,
    step: Mutex<String>,
    /// Bytes the tool (mariadb-dump, mariabackup) produced.
    tool: AtomicU64,
    /// Bytes stored in the region.
    stored: AtomicU64,
}

impl ProgressDisplay {
    fn new() -> Self {
        ProgressDisplay {
            spinner: activity_spinner("starting"),
            step: Mutex::new(String::from("starting")),
            tool: AtomicU64::new(0),
            stored: AtomicU64::new(0),
        }
    }

    fn show(&self, progress: AgentProgress) {
        match progress {
            AgentProgress::Step(s) => {
                if let Ok(mut g) = self.step.lock() {
                    *g = s;
                }
            }
            AgentProgress::ToolBytes(n) => self.tool.store(n, Ordering::Relaxed),
            AgentProgress::StoredBytes(n) => self.stored.store(n, Ordering::Relaxed),
        }
        let step = self.step.lock().map(|s| s.clone()).unwrap_or_default();
        self.spinner.set_message(format!(
            "{step}: {} from the tool, {} stored",
            indicatif::HumanBytes(self.tool.load(Ordering::Relaxed)),
            indicatif::HumanBytes(self.stored.load(Ordering::Relaxed))
        ));
    }

    fn clear(self) {
        self.spinner.finish_and_clear();
    }
}

/// The stored set, its manifest and the copy it queued.
fn print_outcome(o: &BackupOutcome) {
    let set = &o.backup_set;
    println!(
        "backup set {} ({}/{}) stored as {} ({} bytes, sha256 {}) in {:.1?}",
        set.id,
        set.method.as_str(),
        set.backup_type.as_str(),
        set.object_key,
        set.size_bytes,
        set.sha256,
        o.elapsed
    );
    println!(
        "consistent at {} ({}); {} tables in the manifest {}",
        o.manifest.consistent_at,
        o.manifest.consistency,
        o.manifest.tables.len(),
        o.manifest_key
    );
    if let Some(l) = &o.manifest.lsn {
        println!("LSN {} -> {}", l.from_lsn, l.to_lsn);
    }
    let queued = match o.queued_copy_id {
        Some(id) => format!("cross-region copy {id} queued"),
        None => "no cross-region policy: nothing queued".to_owned(),
    };
    println!(
        "published after {:.2} s: durable in its region; {queued}",
        o.published_after.as_secs_f64()
    );
    match &o.tables {
        TablesStored::InSet => {}
        TablesStored::Beside {
            after,
            copied_to,
            not_copied_to,
        } => {
            let mut beside = String::from("beside the set");
            for r in copied_to {
                beside += &format!(" and beside its copy in {r}");
            }
            for r in not_copied_to {
                beside += &format!(" (not yet in {r}: the copy job carries it)");
            }
            println!(
                "row counts and checksums read after publishing, stored {beside} after {:.2} s",
                after.as_secs_f64()
            );
        }
        TablesStored::Failed(why) => {
            println!("warning: {why}; restores of this set verify without them")
        }
    }
}

pub async fn runs(ctx: &Context, a: RunsArgs) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    let inst = super::find_instance(&*catalog, &a.db_instance_id).await?;
    println!("RUN  STARTED (UTC)         M/T  STATUS     SET   TRIGGER    ERROR");
    // Requested backups not run yet (waiting for a worker, or claimed and starting).
    for r in catalog.open_requested_backups(inst.id).await? {
        println!(
            "{:<4} {:<20}  -/F  {:<9}  {:<5} {:<10} backup request {} (attempts {})",
            "-",
            format_utc(r.created_at),
            r.state.as_str(),
            "-",
            r.trigger,
            r.id,
            r.attempts
        );
    }
    for r in catalog.backup_runs(inst.id, a.limit).await? {
        println!(
            "{:<4} {:<20}  {}/{}  {:<9}  {:<5} {:<10} {}",
            r.id,
            format_utc(r.started_at),
            r.method.as_str(),
            r.backup_type.as_str(),
            r.status.as_str(),
            r.backup_set_id
                .map(|i| i.to_string())
                .unwrap_or_else(|| "-".into()),
            r.trigger,
            r.error.unwrap_or_default()
        );
    }
    print_log_backup(&*catalog, inst.id).await
}

/// The binlog stream's durable position and every gap in its log (each breaks the recovery
/// window there), when the instance has log backup.
async fn print_log_backup(catalog: &dyn Catalog, instance_id: i64) -> anyhow::Result<()> {
    let Some(at) = catalog.binlog_position(instance_id).await? else {
        return Ok(());
    };
    let gtid = Some(at.gtid_state.as_str()).filter(|g| !g.is_empty());
    println!(
        "log backup: streamed to {}:{} (GTID {})",
        at.file,
        at.offset,
        gtid.unwrap_or("-")
    );
    for g in catalog.log_gaps(instance_id).await? {
        println!(
            "log gap: {}:{} to {}:{}, recorded {}: {}",
            g.from_file,
            g.from_offset,
            g.to_file,
            g.to_offset,
            format_utc(g.recorded_at),
            g.reason
        );
    }
    Ok(())
}
