//! `xbak serve`: the API, the download route and (unless `--no-workers`) the [`Workers`] in one
//! process: copies, retention, daily scheduled backups and the backups enabling a policy
//! requested. `xbak worker` runs the same workers without the API.

use super::workers::{shutdown_signal, WorkerOptions, Workers};
use crate::context::Context;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use xbak_catalog::Catalog;
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
    #[command(flatten)]
    workers: WorkerOptions,
}

/// Serves (with the workers, unless `--no-workers`) until Ctrl-C or SIGTERM, then lets every
/// task finish what it is doing and persists the nonces.
pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let opened = open_state(ctx, &args).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    print_welcome(ctx, opened.catalog.as_ref(), &args.listen).await;
    let stop = CancellationToken::new();
    let running = Running {
        flusher: tokio::spawn(flush_nonces(opened.state.clone(), stop.clone())),
        workers: (!args.no_workers).then(|| spawn_workers(&opened, args.workers, &stop)),
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
    flusher: JoinHandle<()>,
    workers: Option<Workers>,
    server: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Waits for every task to stop (after `stop` was cancelled), then persists the nonces.
    async fn shut_down(self, state: &AppState) -> anyhow::Result<()> {
        self.server.await??;
        if let Some(workers) = self.workers {
            workers.finish().await?;
        }
        self.flusher.await?;
        state.nonces.flush().await?;
        Ok(())
    }
}

/// Starts the background work ([`Workers`]), its copies feeding the server's metrics.
fn spawn_workers(opened: &Opened, options: WorkerOptions, stop: &CancellationToken) -> Workers {
    let (workers, events) = Workers::spawn(
        opened.catalog.clone(),
        opened.regions.clone(),
        options,
        stop,
    );
    tokio::spawn(feed_metrics(opened.state.clone(), events));
    workers
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
             --engine MySQL --engine-version 5.7 --category HighAvailability --storage-type local_ssd\n  \
             xbak --data-dir {data_dir} policy set rm-demo --cross-region cn-shanghai\n  \
             xbak --data-dir {data_dir} backup register rm-demo --file dump.tar.gz --method L --type F \\\n      \
             --start 2026-01-01T00:00:00Z --end 2026-01-01T00:05:00Z --consistent 2026-01-01T00:05:00Z\n\
             Copies run in this server; list them with any Alibaba SDK pointed at http://{listen}.\n"
        );
    }
}
