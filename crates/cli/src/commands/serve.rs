//! `xbak serve`: the API, the download route and (unless `--no-workers`) the [`Workers`] in one
//! process: copies, retention, daily scheduled backups and the backups enabling a policy
//! requested. `xbak worker` runs the same workers without the API.

use super::workers::{shutdown_signal, WorkerOptions, Workers};
use crate::context::Context;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use xbak_catalog::Catalog;
use xbak_server::budget::RequestBudget;
use xbak_server::nonces::PRUNE_EVERY;
use xbak_server::{app, AppState, ListenerLimits, ServerConfig};
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
    #[command(flatten)]
    metrics: super::serve_metrics::MetricsArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Connection limits, timeouts and per-AccessKey budgets of the API listener.
#[derive(clap::Args)]
struct LimitArgs {
    /// Most connections served at once; more are answered 503 ServiceUnavailable and closed.
    /// Keep it under `ulimit -n`.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Seconds a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_seconds: u64,
    /// Seconds a client has to send a request body (408 RequestTimeout after).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_seconds: u64,
    /// On shutdown, seconds requests in flight may take before their connections are closed.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_seconds: u64,
    /// Requests per second each AccessKey may make (over it: 400 Throttling.User with
    /// `x-acs-retry-after`); 0, the default, is unlimited.
    #[arg(long, default_value_t = 0.0)]
    key_rate: f64,
    /// Requests an AccessKey may make at once under `--key-rate` (default: the rate, at least 1).
    #[arg(long)]
    key_burst: Option<u32>,
}

impl LimitArgs {
    fn listener(&self) -> ListenerLimits {
        ListenerLimits {
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            header_timeout: Duration::from_secs(self.header_timeout_seconds),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
        }
    }

    fn budget(&self) -> anyhow::Result<Option<RequestBudget>> {
        if !self.key_rate.is_finite() || self.key_rate < 0.0 {
            anyhow::bail!("--key-rate must be a number of requests per second, 0 for unlimited");
        }
        Ok((self.key_rate > 0.0).then(|| RequestBudget {
            per_second: self.key_rate,
            burst: self.key_burst.unwrap_or(self.key_rate.ceil() as u32).max(1),
        }))
    }
}

/// Serves (with the workers, unless `--no-workers`) until Ctrl-C or SIGTERM, then lets every
/// task finish what it is doing.
pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let opened = open_state(ctx, &args).await?;
    load_nonces(&opened.state).await;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let metrics = args.metrics.bind().await?;
    print_welcome(ctx, opened.catalog.as_ref(), &args.listen).await;
    let stop = CancellationToken::new();
    let running = Running {
        metrics: metrics.map(|m| m.serve(opened.state.clone(), &stop)),
        pruner: tokio::spawn(prune_nonces(opened.state.clone(), stop.clone())),
        region_reload: tokio::spawn(crate::context::reload_regions(
            opened.catalog.clone(),
            opened.regions.clone(),
            stop.clone(),
        )),
        workers: (!args.no_workers).then(|| spawn_workers(&opened, args.workers, &stop)),
        server: serve(
            listener,
            opened.state.clone(),
            args.limits.listener(),
            &stop,
        ),
    };
    shutdown_signal().await;
    info!("shutting down");
    stop.cancel();
    running.shut_down().await
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
        link_ttl: Duration::from_secs(args.link_ttl_seconds),
        body_timeout: Duration::from_secs(args.limits.body_timeout_seconds),
        request_budget: args.limits.budget()?,
        ..ServerConfig::default()
    };
    let state = AppState::new(config, catalog.clone(), regions.clone(), links).await?;
    Ok(Opened {
        catalog,
        regions,
        state,
    })
}

/// Serves the API within `limits` until `stop` is cancelled, then finishes the requests in
/// flight (for at most the shutdown grace).
fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ListenerLimits,
    stop: &CancellationToken,
) -> JoinHandle<()> {
    warn_if_few_descriptors(limits.max_connections);
    let host_id = state.config.host_id.clone();
    let stopped = stop.clone().cancelled_owned();
    tokio::spawn(xbak_server::listen::serve(
        listener,
        app(state),
        limits,
        host_id,
        stopped,
    ))
}

/// Warns when the open-file limit (`ulimit -n`) cannot hold `--max-connections` sockets
/// besides the catalog's and the regions' files: accept would fail before the cap refuses.
fn warn_if_few_descriptors(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(soft) = soft.filter(|&n| n < max_connections.saturating_add(256)) {
        warn!(
            open_files = soft,
            max_connections,
            "ulimit -n is below --max-connections + 256; lower one or raise the other"
        );
    }
}

/// The tasks of a running `serve`.
struct Running {
    metrics: Option<JoinHandle<std::io::Result<()>>>,
    pruner: JoinHandle<()>,
    region_reload: JoinHandle<()>,
    workers: Option<Workers>,
    server: JoinHandle<()>,
}

impl Running {
    /// Waits for every task to stop (after `stop` was cancelled). Nonces need no saving: each
    /// was claimed in the catalog before its request was answered.
    async fn shut_down(self) -> anyhow::Result<()> {
        self.server.await?;
        if let Some(metrics) = self.metrics {
            metrics.await??;
        }
        if let Some(workers) = self.workers {
            workers.finish().await?;
        }
        self.pruner.await?;
        self.region_reload.await?;
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

/// Reads the live replay claims before listening (see `NonceGuard::load`), saying how many and
/// how long it took when there were any; a failure only costs memory, so it is logged, not fatal.
async fn load_nonces(state: &AppState) {
    let started = std::time::Instant::now();
    match state.nonces.load().await {
        Ok(0) => {}
        Ok(claims) => info!(
            claims,
            seconds = started.elapsed().as_secs_f64(),
            "read the live replay claims made before this server started"
        ),
        Err(e) => warn!(error = %e, "could not read the live replay claims before serving"),
    }
}

/// Runs the upkeep of nonce claims in the catalog every [`PRUNE_EVERY`] until `stop` is cancelled,
/// also midway through a long upkeep (each of its steps is a transaction of its own): a backlog
/// of minutes must not hold up a shutdown.
async fn prune_nonces(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        tokio::select! {
            pruned = state.nonces.prune() => {
                if let Err(e) = pruned {
                    warn!(error = %e, "could not prune nonces");
                }
            }
            _ = stop.cancelled() => return,
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
             --engine MariaDB --engine-version 10.11 --category HighAvailability \\\n      \
             --storage-type local_ssd --dsn mysql://root@127.0.0.1:3306\n  \
             xbak --data-dir {data_dir} policy set rm-demo --cross-region cn-shanghai\n\
             This server then takes a full backup of rm-demo and copies it; list the copies with any\n\
             Alibaba SDK pointed at http://{listen}.\n"
        );
    }
}
