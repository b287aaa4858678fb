//! `xbak serve`: the API, the download route and the copy workers in one process.
//!
//! With workers on, the server also takes the backup that enabling a cross-region policy asks
//! for when the instance has no set from the last 24 hours
//! ([`PolicyBackups`](super::policy_backups::PolicyBackups)).

use super::policy_backups::PolicyBackups;
use crate::context::Context;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tracing::{info, warn};
use xbak_agent::{AgentConfig, BackupAgent, BackupScheduler};
use xbak_replicator::{Replicator, ReplicatorConfig, Retention};
use xbak_server::nonces::FLUSH_EVERY;
use xbak_server::{app, AppState, OnDemandBackups, ServerConfig};
use xbak_storage::links::LinkSigner;

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
}

/// How often `serve` deletes expired copies.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    let regions = ctx.regions(catalog.as_ref()).await?;
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let (key_id, secret) = catalog.link_signing_key().await?;
    let links = LinkSigner::new(key_id, secret, public_url.trim_end_matches('/').to_owned());
    let config = ServerConfig {
        link_ttl: std::time::Duration::from_secs(args.link_ttl_seconds),
        ..ServerConfig::default()
    };
    let state = AppState::new(config, catalog.clone(), regions.clone(), links).await?;
    let agent = BackupAgent::new(catalog.clone(), AgentConfig::default());
    // Enabling a policy on an instance without a recent set takes a backup, here with workers on.
    let policy_backups =
        (!args.no_workers).then(|| Arc::new(PolicyBackups::new(agent.clone(), catalog.clone())));
    if let Some(b) = &policy_backups {
        state.set_on_demand_backups(Some(b.clone() as Arc<dyn OnDemandBackups>));
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    print_welcome(ctx, catalog.as_ref(), &args.listen).await;

    let flusher = tokio::spawn(flush_nonces(state.clone(), stop_rx.clone()));
    let workers = (!args.no_workers).then(|| {
        let replicator = Replicator::new(
            catalog.clone(),
            regions.clone(),
            ReplicatorConfig {
                bwlimit: args.bwlimit,
                ..ReplicatorConfig::default()
            },
        );
        tokio::spawn(feed_metrics(state.clone(), replicator.subscribe()));
        // Expired copies go: hidden from listings, then the object, then the tombstone.
        let retention = Retention::new(catalog.clone(), regions.clone());
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            let stop = async move { rx.wait_for(|s| *s).await.map(|_| ()).unwrap_or(()) };
            retention.run(RETENTION_EVERY, stop).await
        });
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            replicator
                .run(async move { rx.wait_for(|s| *s).await.map(|_| ()).unwrap_or(()) })
                .await
        })
    });

    // Daily scheduled backups (`xbak schedule set`) run beside the copy workers.
    let scheduler = (!args.no_workers).then(|| {
        let agent = agent.clone();
        let mut rx = stop_rx.clone();
        tokio::spawn(
            BackupScheduler::new(agent)
                .run(async move { rx.wait_for(|s| *s).await.map(|_| ()).unwrap_or(()) }),
        )
    });

    let mut rx = stop_rx.clone();
    let server = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(async move { rx.wait_for(|s| *s).await.map(|_| ()).unwrap_or(()) });
    let serving = tokio::spawn(async move { server.await });
    shutdown_signal().await;
    info!("shutting down");
    stop_tx.send(true).ok();
    serving.await??;
    if let Some(w) = workers {
        if let Err(e) = w.await? {
            warn!(error = %e, "copy workers stopped with an error");
        }
    }
    if let Some(s) = scheduler {
        s.await?;
    }
    if let Some(b) = policy_backups {
        // Like the scheduler, a backup in progress is finished rather than left `running`.
        state.set_on_demand_backups(None);
        b.finish().await;
    }
    flusher.await?;
    state.nonces.flush().await?;
    Ok(())
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

async fn flush_nonces(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
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
             --engine MySQL --engine-version 5.7 --category HighAvailability --storage-type local_ssd\n  \
             xbak --data-dir {data_dir} policy set rm-demo --cross-region cn-shanghai\n  \
             xbak --data-dir {data_dir} backup register rm-demo --file dump.tar.gz --method L --type F \\\n      \
             --start 2026-01-01T00:00:00Z --end 2026-01-01T00:05:00Z --consistent 2026-01-01T00:05:00Z\n\
             Copies run in this server; list them with any Alibaba SDK pointed at http://{listen}.\n"
        );
    }
}
