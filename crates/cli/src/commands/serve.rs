//! `xbak serve`: the API, the download route and the copy workers in one process.
//!
//! With workers on, the server also takes the backups that enabling a cross-region policy
//! requested (catalog rows) when the instance had no set from the last 24 hours
//! ([`RequestedBackups`]).

use super::policy_backups::RequestedBackups;
use crate::context::Context;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use xbak_agent::{AgentConfig, BackupAgent, BackupScheduler};
use xbak_catalog::Catalog;
use xbak_replicator::{Replicator, ReplicatorConfig, Retention};
use xbak_server::nonces::FLUSH_EVERY;
use xbak_server::{app, AppState, ServerConfig};
use xbak_storage::links::LinkSigner;
use xbak_storage::Regions;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Base URL put in download links (default: http://LISTEN).
    #[arg(long)]
    public_url: Option<String>,
    /// Do not run copy workers in this process, nor backups: neither scheduled ones nor the one
    /// enabling a cross-region policy takes when the instance has no backup set from the last
    /// 24 hours (the policy is stored and the newest recent set's copy queued all the same).
    #[arg(long)]
    no_workers: bool,
    /// Lifetime of the download links handed out in listings, in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    link_ttl_seconds: u64,
    /// Bandwidth limit of the copy workers per destination region in bytes/s (`50M`, `512K`;
    /// `0`: unlimited).
    #[arg(long, default_value = "0", value_parser = xbak_domain::rate::parse_rate)]
    bwlimit: u64,
    #[command(flatten)]
    metrics: super::serve_metrics::MetricsArgs,
}

/// How often `serve` deletes expired copies.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Serves (with the workers, unless `--no-workers`) until Ctrl-C or SIGTERM, then lets every
/// task finish what it is doing and persists the nonces.
pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let opened = open_state(ctx, &args).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let metrics = args.metrics.bind().await?;
    print_welcome(ctx, opened.catalog.as_ref(), &args.listen).await;
    let stop = CancellationToken::new();
    let running = Running {
        metrics: metrics.map(|m| m.serve(opened.state.clone(), &stop)),
        flusher: tokio::spawn(flush_nonces(opened.state.clone(), stop.clone())),
        region_reload: tokio::spawn(crate::context::reload_regions(
            opened.catalog.clone(),
            opened.regions.clone(),
            stop.clone(),
        )),
        workers: (!args.no_workers).then(|| Workers::spawn(&opened, args.bwlimit, &stop)),
        server: serve(listener, opened.state.clone(), &stop),
    };
    shutdown_signal().await;
    info!("shutting down");
    stop.cancel();
    running.shut_down(&opened.state).await
}

/// The catalog, its regions and the server state over them.
struct Opened {
    catalog: Arc<dyn Catalog>,
    regions: Regions,
    state: AppState,
}

/// Opens the catalog and its regions and builds the server state, with download links signed
/// by the catalog's link key for `--public-url`.
async fn open_state(ctx: &Context, args: &Args) -> anyhow::Result<Opened> {
    let catalog = ctx.catalog().await?;
    let regions = ctx.regions(catalog.as_ref()).await?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let (key_id, secret) = catalog.link_signing_key().await?;
    let links = LinkSigner::new(key_id, secret, public_url.trim_end_matches('/').to_owned());
    let config = ServerConfig {
        link_ttl: std::time::Duration::from_secs(args.link_ttl_seconds),
        ..ServerConfig::default()
    };
    let state = AppState::new(config, catalog.clone(), regions.clone(), links).await?;
    Ok(Opened {
        catalog,
        regions,
        state,
    })
}

/// Serves the API until `stop` is cancelled, then finishes the requests in flight.
fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: &CancellationToken,
) -> JoinHandle<std::io::Result<()>> {
    let server =
        axum::serve(listener, app(state)).with_graceful_shutdown(stop.clone().cancelled_owned());
    tokio::spawn(async move { server.await })
}

/// The tasks of a running `serve`.
struct Running {
    metrics: Option<JoinHandle<std::io::Result<()>>>,
    flusher: JoinHandle<()>,
    region_reload: JoinHandle<()>,
    workers: Option<Workers>,
    server: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Waits for every task to stop (after `stop` was cancelled), then persists the nonces.
    async fn shut_down(self, state: &AppState) -> anyhow::Result<()> {
        self.server.await??;
        if let Some(metrics) = self.metrics {
            metrics.await??;
        }
        if let Some(workers) = self.workers {
            workers.finish().await?;
        }
        self.flusher.await?;
        self.region_reload.await?;
        state.nonces.flush().await?;
        Ok(())
    }
}

/// The background work of a `serve` without `--no-workers`: copies (feeding the metrics),
/// retention, daily scheduled backups, and the backup enabling a policy asks for.
struct Workers {
    copies: JoinHandle<()>,
    scheduler: JoinHandle<()>,
    requested_backups: JoinHandle<()>,
}

impl Workers {
    /// Starts every worker; each stops when `stop` is cancelled.
    fn spawn(opened: &Opened, bwlimit: u64, stop: &CancellationToken) -> Workers {
        let agent = BackupAgent::new(opened.catalog.clone(), AgentConfig::default());
        Workers {
            copies: spawn_copies(opened, bwlimit, stop),
            scheduler: spawn_scheduler(agent.clone(), stop),
            requested_backups: spawn_requested_backups(opened, agent, stop),
        }
    }

    /// Waits for the workers to stop. Like the scheduler, a policy backup in progress is
    /// finished rather than left `running`.
    async fn finish(self) -> anyhow::Result<()> {
        self.copies.await?;
        self.scheduler.await?;
        self.requested_backups.await?;
        Ok(())
    }
}

/// Starts the copy workers, the metrics fed from their events, and retention: expired copies
/// go (hidden from listings, then the object, then the tombstone).
fn spawn_copies(opened: &Opened, bwlimit: u64, stop: &CancellationToken) -> JoinHandle<()> {
    let replicator = Replicator::new(
        opened.catalog.clone(),
        opened.regions.clone(),
        ReplicatorConfig {
            bwlimit,
            ..ReplicatorConfig::default()
        },
    );
    tokio::spawn(feed_metrics(opened.state.clone(), replicator.subscribe()));
    let retention = Retention::new(opened.catalog.clone(), opened.regions.clone());
    let stopped = stop.clone().cancelled_owned();
    tokio::spawn(async move { retention.run(RETENTION_EVERY, stopped).await });
    let stopped = stop.clone().cancelled_owned();
    tokio::spawn(async move {
        if let Err(e) = replicator.run(stopped).await {
            warn!(error = %e, "copy workers stopped with an error");
        }
    })
}

/// Starts the daily scheduled backups (`xbak schedule set`).
fn spawn_scheduler(agent: BackupAgent, stop: &CancellationToken) -> JoinHandle<()> {
    tokio::spawn(BackupScheduler::new(agent).run(stop.clone().cancelled_owned()))
}

/// Starts the worker that takes the backups enabling a policy requested (catalog rows any
/// process may have inserted) when the instance had no recent set.
fn spawn_requested_backups(
    opened: &Opened,
    agent: BackupAgent,
    stop: &CancellationToken,
) -> JoinHandle<()> {
    let requests = RequestedBackups::new(agent, opened.catalog.clone());
    tokio::spawn(requests.run(stop.clone().cancelled_owned()))
}

/// Turns the replicator's events into the server's metrics.
async fn feed_metrics(
    state: AppState,
    mut events: tokio::sync::broadcast::Receiver<xbak_domain::CopyEvent>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut progress = std::collections::HashMap::new();
    loop {
        match events.recv().await {
            Ok(ev) => state.metrics.record_copy(&ev, &mut progress),
            Err(RecvError::Lagged(n)) => warn!(missed = n, "metrics missed copy events"),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Persists the nonces seen every [`FLUSH_EVERY`] (and prunes expired ones now and then) until
/// `stop` is cancelled.
async fn flush_nonces(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(e) = state.nonces.flush().await {
            warn!(error = %e, "could not persist nonces; will retry");
        }
        n += 1;
        if n.is_multiple_of(300) {
            if let Err(e) = state.nonces.prune().await {
                warn!(error = %e, "could not prune nonces");
            }
        }
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
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

/// On an empty data dir, say what to do next.
async fn print_welcome(ctx: &Context, catalog: &dyn xbak_catalog::Catalog, listen: &SocketAddr) {
    let data_dir = ctx.data_dir.display();
    eprintln!("xbak serving Alibaba RDS API 2014-08-15 on http://{listen} (data dir {data_dir})");
    let empty = catalog
        .regions()
        .await
        .map(|r| r.is_empty())
        .unwrap_or(false);
    if empty {
        eprintln!(
            "\nThe catalog is empty. Next, in another terminal:\n  \
             xbak --data-dir {data_dir} region add cn-hangzhou\n  \
             xbak --data-dir {data_dir} region add cn-shanghai\n  \
             xbak --data-dir {data_dir} account create demo            # prints AccessKeyId/Secret once\n  \
             xbak --data-dir {data_dir} instance create rm-demo --region cn-hangzhou --account demo \\\n      \
             --engine MariaDB --engine-version 10.11 --category HighAvailability \\\n      \
             --storage-type local_ssd --dsn mysql://root@127.0.0.1:3306\n  \
             xbak --data-dir {data_dir} policy set rm-demo --cross-region cn-shanghai\n\
             This server then takes a full backup of rm-demo and copies it; list the copies with any\n\
             Alibaba SDK pointed at http://{listen}.\n"
        );
    }
}
