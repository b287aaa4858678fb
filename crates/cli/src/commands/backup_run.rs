//! `xbak backup run` (take a backup with the agent) and `xbak backup runs` (what it did).

use crate::context::Context;
use crate::progress::activity_spinner;
use anyhow::Context as _;
use std::sync::atomic::{AtomicU64, Ordering};
use xbak_agent::{AgentConfig, AgentProgress, BackupAgent, BackupRequest};
use xbak_domain::time::format_utc;
use xbak_domain::{BackupMethod, BackupType};

#[derive(clap::Args)]
pub struct RunArgs {
    db_instance_id: String,
    /// L (logical: mariadb-dump) or P (physical: mariabackup).
    #[arg(long)]
    method: String,
    /// F (full) or I (incremental, physical only: based on the last physical set).
    #[arg(long = "type", default_value = "F")]
    backup_type: String,
    /// Back up one database only (logical; BackupSetScale 1).
    #[arg(long)]
    database: Option<String>,
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
    let method: BackupMethod = a.method.parse()?;
    let backup_type: BackupType = a.backup_type.parse()?;
    let catalog = ctx.catalog().await?;
    let agent = BackupAgent::new(
        catalog,
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
    let req = BackupRequest {
        db_instance_id: a.db_instance_id.clone(),
        method,
        backup_type,
        database: a.database,
        trigger: "manual".into(),
    };
    let bar = activity_spinner("starting");
    let (tool, stored) = (AtomicU64::new(0), AtomicU64::new(0));
    let step = std::sync::Mutex::new(String::from("starting"));
    let render = |bar: &indicatif::ProgressBar| {
        let step = step.lock().map(|s| s.clone()).unwrap_or_default();
        bar.set_message(format!(
            "{step}: {} from the tool, {} stored",
            indicatif::HumanBytes(tool.load(Ordering::Relaxed)),
            indicatif::HumanBytes(stored.load(Ordering::Relaxed))
        ));
    };
    let outcome = agent
        .run(&req, &|p| {
            match p {
                AgentProgress::Step(s) => {
                    if let Ok(mut g) = step.lock() {
                        *g = s;
                    }
                }
                AgentProgress::ToolBytes(n) => tool.store(n, Ordering::Relaxed),
                AgentProgress::StoredBytes(n) => stored.store(n, Ordering::Relaxed),
            }
            render(&bar);
        })
        .await;
    bar.finish_and_clear();
    let o = outcome.with_context(|| {
        format!(
            "backup of {} failed (recorded as a failed run: xbak backup runs {})",
            a.db_instance_id, a.db_instance_id
        )
    })?;
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
    match o.queued_copy_id {
        Some(id) => println!("cross-region copy {id} queued"),
        None => println!("no cross-region policy: nothing queued"),
    }
    Ok(())
}

pub async fn runs(ctx: &Context, a: RunsArgs) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    let inst = catalog
        .instance_by_db_instance_id(&a.db_instance_id)
        .await?
        .with_context(|| format!("no instance {:?}", a.db_instance_id))?;
    println!("RUN  STARTED (UTC)         M/T  STATUS     SET   TRIGGER    ERROR");
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
    Ok(())
}
