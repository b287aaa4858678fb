//! `xbak worker`: the background work of `xbak serve` without its API ([`Workers`]): copies,
//! retention sweeps, daily scheduled backups, requested backups. Run any number of them (and of
//! `xbak serve --no-workers`) on one catalog. Progress goes to the log (stderr).

use super::workers::{shutdown_signal, WorkerOptions, Workers};
use crate::context::Context;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use xbak_catalog::leases::this_process;
use xbak_catalog::Catalog;
use xbak_domain::CopyEvent;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    options: WorkerOptions,
    /// How often the queue's counts are logged, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    report_every: u64,
}

/// Runs the workers until Ctrl-C or SIGTERM, then lets each finish what it is doing.
pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    let regions = ctx.regions(catalog.as_ref()).await?;
    let me = this_process();
    info!(host = %me.host, pid = me.pid, "xbak worker started");
    let stop = CancellationToken::new();
    // A `region add` that changes a store reaches the copies within seconds, as in `serve`.
    let region_reload = tokio::spawn(crate::context::reload_regions(
        catalog.clone(),
        regions.clone(),
        stop.clone(),
    ));
    let (workers, events) = Workers::spawn(catalog.clone(), regions, args.options, &stop);
    let logger = tokio::spawn(log_events(events));
    let reporter = tokio::spawn(report_counts(
        catalog,
        Duration::from_secs(args.report_every),
        stop.clone(),
    ));
    shutdown_signal().await;
    info!("stopping: copies in progress are left to their leases, backups in progress finish");
    stop.cancel();
    workers.finish().await?;
    reporter.await?;
    region_reload.await?;
    logger.await?;
    info!("xbak worker stopped");
    Ok(())
}

/// Logs how each copy started and ended, until the copy workers are gone.
async fn log_events(mut events: broadcast::Receiver<CopyEvent>) {
    use broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(CopyEvent::Started { copy_id, size }) => info!(copy_id, size, "copy started"),
            Ok(CopyEvent::Completed {
                copy_id,
                bytes,
                elapsed,
                resumed_from,
                ..
            }) => info!(
                copy_id,
                bytes,
                resumed_from,
                mb_per_s = bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9),
                "copy completed"
            ),
            Ok(CopyEvent::Failed {
                copy_id,
                error,
                will_retry,
            }) => warn!(copy_id, will_retry, error = %error, "copy failed"),
            Ok(_) => {}
            Err(RecvError::Lagged(n)) => warn!(missed = n, "copy event log missed events"),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Logs the copy queue's counts every `every` until `stop`.
async fn report_counts(
    catalog: std::sync::Arc<dyn Catalog>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match catalog.copy_counts().await {
            Ok(c) => info!(
                pending = c.pending,
                completed = c.completed,
                failed = c.failed,
                "copy queue"
            ),
            Err(e) => warn!(error = %e, "cannot read the copy queue's counts"),
        }
    }
}
