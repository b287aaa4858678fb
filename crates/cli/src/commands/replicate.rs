//! `xbak replicate --once`: run the due copy jobs in this process (taking over at once those of
//! workers on this host that are no longer running), name those a live worker holds, then delete
//! expired copies.

use crate::context::Context;
use crate::progress::bytes_bar;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::broadcast;
use xbak_catalog::HeldLease;
use xbak_protocol::time::format_utc;
use xbak_replicator::{CopyEvent, Replicator, ReplicatorConfig, Retention};

#[derive(clap::Args)]
pub struct Args {
    /// Run every due copy job to completion, then exit.
    #[arg(long)]
    once: bool,
    /// How long a claimed job stays this process's without news; a killed worker's jobs are
    /// taken up again after this (at once by a worker on the same host).
    #[arg(long, default_value_t = 60)]
    lease_seconds: u64,
    /// Bandwidth limit per destination region in bytes/s (`50M`, `512K`; `0`: unlimited).
    #[arg(long, default_value = "0", value_parser = xbak_domain::rate::parse_rate)]
    bwlimit: u64,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    if !args.once {
        anyhow::bail!(
            "only `xbak replicate --once` is offered; `xbak serve` runs copies continuously"
        );
    }
    let catalog = ctx.catalog().await?;
    let regions = ctx.regions(catalog.as_ref()).await?;
    let config = ReplicatorConfig {
        lease: Duration::from_secs(args.lease_seconds.max(1)),
        bwlimit: args.bwlimit,
        ..ReplicatorConfig::default()
    };
    let replicator = Replicator::new(catalog.clone(), regions.clone(), config);
    let printer = tokio::spawn(print_events(replicator.subscribe()));
    let summary = replicator.run_once().await?;
    drop(replicator);
    printer.await.ok();
    for held in &summary.skipped {
        println!("copy {}: skipped, {}", held.id, held_by(held));
    }
    println!(
        "{} copies completed ({} bytes), {} to retry later, {} failed for good, {} abandoned, {} skipped (held by a live worker)",
        summary.completed,
        summary.bytes,
        summary.retried,
        summary.failed,
        summary.abandoned,
        summary.skipped.len()
    );
    // Then retention: copies and closed log files older than their policy's retention go (row hidden, object deleted, then its tombstone).
    let expired = Retention::new(catalog, regions)
        .sweep(chrono::Utc::now())
        .await?;
    println!(
        "{} expired copies deleted, {} left for the next sweep",
        expired.deleted, expired.failed
    );
    println!(
        "{} expired log files deleted, {} left for the next sweep",
        expired.log_files_deleted, expired.log_files_failed
    );
    Ok(())
}

/// Who holds a lease and until when: `held by HOST pid PID until TIME`.
fn held_by(held: &HeldLease) -> String {
    let until = format_utc(held.lease_until);
    match &held.holder {
        Some(h) => format!("held by {} pid {} until {until}", h.host, h.pid),
        None => format!("held by an unnamed worker until {until}"),
    }
}

/// Shows each running copy as a bar and prints how each ended, until the replicator is gone.
async fn print_events(mut events: broadcast::Receiver<CopyEvent>) {
    let mut bars = HashMap::new();
    while let Ok(ev) = events.recv().await {
        match ev {
            CopyEvent::Started { copy_id, size } => {
                bars.insert(copy_id, bytes_bar(&format!("copy {copy_id}"), size));
            }
            CopyEvent::Resumed {
                copy_id,
                from: bytes,
            }
            | CopyEvent::Progress { copy_id, bytes } => {
                if let Some(b) = bars.get(&copy_id) {
                    b.set_position(bytes);
                }
            }
            CopyEvent::Completed {
                copy_id,
                bytes,
                elapsed,
                resumed_from,
                sent,
                ..
            } => {
                if let Some(b) = bars.remove(&copy_id) {
                    b.finish_and_clear();
                }
                let mbps = bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9);
                let resumed = if resumed_from > 0 {
                    format!(", resumed at byte {resumed_from}, {sent} bytes sent")
                } else {
                    String::new()
                };
                println!(
                    "copy {copy_id}: completed, {bytes} bytes verified ({mbps:.1} MB/s){resumed}"
                );
            }
            CopyEvent::Failed {
                copy_id,
                error,
                will_retry,
            } => {
                if let Some(b) = bars.remove(&copy_id) {
                    b.finish_and_clear();
                }
                let next = if will_retry { "will retry" } else { "gave up" };
                println!("copy {copy_id}: failed ({next}): {error}");
            }
            _ => {}
        }
    }
}
