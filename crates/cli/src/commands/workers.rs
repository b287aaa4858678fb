//! [`Workers`]: the background work of `xbak serve` (without `--no-workers`) and of `xbak
//! worker`: copies, retention sweeps, daily scheduled backups, the backups enabling a policy
//! requested and the binlog streams of instances with log backup on. Any number of processes may run them on one catalog: every job is claimed with a
//! lease that names its holder, a schedule's day and a sweep's period run once across all of them.

use super::policy_backups::RequestedBackups;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use xbak_agent::binlog::{BinlogStreamers, StreamerConfig};
use xbak_agent::{AgentConfig, BackupAgent, BackupScheduler};
use xbak_catalog::Catalog;
use xbak_domain::CopyEvent;
use xbak_replicator::{Replicator, ReplicatorConfig, Retention, Throttles};
use xbak_storage::Regions;

/// The options workers take from the command line.
#[derive(clap::Args, Clone, Copy)]
pub struct WorkerOptions {
    /// Bandwidth limit per destination region in bytes/s (`50M`, `512K`; `0`: unlimited),
    /// shared by the copies of backup sets and of binlog files into it.
    #[arg(long, default_value = "0", value_parser = xbak_domain::rate::parse_rate)]
    pub bwlimit: u64,
    /// Length of a retention period in seconds: expired copies are deleted once per period,
    /// by one of the workers on the catalog.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub retention_every: u64,
    /// How often, at least, each binlog streamer stores the new tail of the open binlog file
    /// in the instance's region, in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub log_flush_seconds: u64,
}

/// The running workers; each stops when the `stop` token given to [`Workers::spawn`] is cancelled.
pub struct Workers {
    copies: JoinHandle<()>,
    retention: JoinHandle<()>,
    scheduler: JoinHandle<()>,
    requested_backups: JoinHandle<()>,
    binlogs: JoinHandle<()>,
}

impl Workers {
    /// Starts every worker over `catalog` and `regions`; the copies' progress events go to the
    /// receiver returned.
    pub fn spawn(
        catalog: Arc<dyn Catalog>,
        regions: Regions,
        options: WorkerOptions,
        stop: &CancellationToken,
    ) -> (Workers, broadcast::Receiver<CopyEvent>) {
        // One limit per destination for the copies of backup sets and of binlog files alike.
        let throttles = Arc::new(Throttles::new(options.bwlimit));
        let replicator = Replicator::sharing(
            catalog.clone(),
            regions.clone(),
            ReplicatorConfig::default(),
            throttles.clone(),
        );
        let events = replicator.subscribe();
        let stopped = stop.clone().cancelled_owned();
        let copies = tokio::spawn(async move {
            if let Err(e) = replicator.run(stopped).await {
                warn!(error = %e, "copy workers stopped with an error");
            }
        });
        let retention = Retention::new(catalog.clone(), regions);
        let every = Duration::from_secs(options.retention_every);
        let stopped = stop.clone().cancelled_owned();
        let retention = tokio::spawn(async move { retention.run(every, stopped).await });
        let agent = BackupAgent::new(catalog.clone(), AgentConfig::default());
        let scheduler =
            tokio::spawn(BackupScheduler::new(agent.clone()).run(stop.clone().cancelled_owned()));
        let streamers = BinlogStreamers::new(
            catalog.clone(),
            StreamerConfig {
                flush_interval: Duration::from_secs(options.log_flush_seconds),
                throttles,
                ..StreamerConfig::default()
            },
        );
        let binlogs = tokio::spawn(streamers.run(stop.clone()));
        let requests = RequestedBackups::new(agent, catalog);
        let requested_backups = tokio::spawn(requests.run(stop.clone().cancelled_owned()));
        let workers = Workers {
            copies,
            retention,
            scheduler,
            requested_backups,
            binlogs,
        };
        (workers, events)
    }

    /// Waits for the workers to stop. Copies in progress are abandoned to their leases; a
    /// backup in progress (scheduled or requested) is finished rather than left `running`;
    /// binlog streamers store their tails and release their streams.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.copies.await?;
        self.retention.await?;
        self.scheduler.await?;
        self.requested_backups.await?;
        self.binlogs.await?;
        Ok(())
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
