//! `xbak restore CROSSBACKUPID --region DEST (--target DSN | --datadir DIR | --verify-only)`:
//! fetch a cross-region copy, restore it, verify every table against the set's manifest.
//!
//! With `--endpoint URL` the bytes come through the server's signed download link (the same
//! `/download/…` URL `DescribeCrossRegionBackups` hands out, signed here with the catalog's
//! link key); without it they are read from the region's store directly.

use crate::context::Context;
use crate::progress::{activity_spinner, bytes_bar};
use anyhow::Context as _;
use futures::TryStreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use xbak_agent::restore::{
    RegionFetcher, RestoreConfig, RestoreError, RestoreProgress, RestoreRequest, RestoreTarget,
    Restorer, SetFetcher, SetReader,
};
use xbak_domain::Dsn;
use xbak_storage::links::LinkSigner;

#[derive(clap::Args)]
pub struct Args {
    /// CrossBackupId of the copy to restore.
    cross_backup_id: i64,
    /// Region to read it from (the copy's destination region).
    #[arg(long)]
    region: String,
    /// Restore a logical set into this running server (mysql://user:pass@host:port).
    #[arg(long, conflicts_with_all = ["datadir", "verify_only"])]
    target: Option<String>,
    /// Restore into this (empty or new) data directory, ready for mariadbd.
    #[arg(long, conflicts_with = "verify_only")]
    datadir: Option<PathBuf>,
    /// A restore drill: restore into a scratch server, verify, throw it away.
    #[arg(long)]
    verify_only: bool,
    /// Fetch through this xbak server's download links (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    endpoint: Option<String>,
}

pub async fn run(ctx: &Context, a: Args) -> anyhow::Result<()> {
    let target = match (&a.target, &a.datadir, a.verify_only) {
        (Some(t), None, false) => RestoreTarget::Server(Dsn::parse(t)?),
        (None, Some(d), false) => RestoreTarget::DataDir(d.clone()),
        (None, None, true) => RestoreTarget::Drill,
        _ => anyhow::bail!("say where to restore: --target DSN, --datadir DIR or --verify-only"),
    };
    let catalog = ctx.catalog().await?;
    let fetcher: Arc<dyn SetFetcher> = match &a.endpoint {
        Some(url) => {
            let (key_id, secret) = catalog.link_signing_key().await?;
            Arc::new(LinkFetcher {
                signer: LinkSigner::new(key_id, secret, url.trim_end_matches('/').to_owned()),
                http: reqwest::Client::new(),
                endpoint: url.clone(),
            })
        }
        None => Arc::new(RegionFetcher::new(catalog.clone())),
    };
    let config = RestoreConfig::default();
    let missing = config.tools.missing();
    if !missing.is_empty() {
        anyhow::bail!(
            "missing MariaDB tools: {missing:?} (apt-get install mariadb-server mariadb-backup)"
        );
    }
    let restorer = Restorer::new(catalog, fetcher.clone(), config);
    let spinner = activity_spinner("resolving");
    let bar = std::sync::Mutex::new(None::<(usize, indicatif::ProgressBar)>);
    let report = restorer
        .restore(
            &RestoreRequest {
                cross_backup_id: a.cross_backup_id,
                region_id: a.region.clone(),
                target,
            },
            &|p| match p {
                RestoreProgress::Step(s) => spinner.set_message(s),
                RestoreProgress::Fetched {
                    index,
                    bytes,
                    total,
                } => {
                    if let Ok(mut g) = bar.lock() {
                        if g.as_ref().map(|(i, _)| *i) != Some(index) {
                            if let Some((_, old)) = g.take() {
                                old.finish_and_clear();
                            }
                            *g = Some((
                                index,
                                bytes_bar(&format!("fetching set {}", index + 1), total),
                            ));
                        }
                        if let Some((_, b)) = g.as_ref() {
                            b.set_position(bytes);
                        }
                    }
                }
            },
        )
        .await;
    spinner.finish_and_clear();
    if let Ok(mut g) = bar.lock() {
        if let Some((_, b)) = g.take() {
            b.finish_and_clear();
        }
    }
    let report =
        report.with_context(|| format!("restoring cross-region backup {}", a.cross_backup_id))?;
    println!(
        "restored cross-region backup {} ({} set{}, {} bytes fetched via {}) into {} in {:.1?}",
        report.cross_backup_id,
        report.chain.len(),
        if report.chain.len() == 1 { "" } else { "s" },
        report.fetched_bytes,
        fetcher.describe(),
        report.target,
        report.restore_elapsed
    );
    println!(
        "data as of {} ({})",
        report.manifest.consistent_at, report.manifest.consistency
    );
    for t in &report.verification.tables {
        println!(
            "  {:<4} {:<48} rows {:>10}  checksum {:>12}",
            if t.ok() { "ok" } else { "DIFF" },
            t.name(),
            show(t.actual.rows, t.expected.rows),
            show(t.actual.checksum, t.expected.checksum),
        );
    }
    let bad = report.verification.mismatches().count();
    println!(
        "verified {} tables in {:.1?}: {}",
        report.verification.tables.len(),
        report.verify_elapsed,
        if bad == 0 {
            "all match the manifest".to_owned()
        } else {
            format!("{bad} differ")
        }
    );
    if bad > 0 {
        anyhow::bail!("verification failed: {bad} tables differ from the manifest");
    }
    Ok(())
}

/// `actual`, or `actual (expected E)` when they differ.
fn show(actual: Option<u64>, expected: Option<u64>) -> String {
    let f = |v: Option<u64>| v.map_or_else(|| "missing".to_owned(), |v| v.to_string());
    if actual == expected {
        f(actual)
    } else {
        format!("{} (expected {})", f(actual), f(expected))
    }
}

/// Fetches through the server's signed download links.
struct LinkFetcher {
    signer: LinkSigner,
    http: reqwest::Client,
    endpoint: String,
}

#[async_trait::async_trait]
impl SetFetcher for LinkFetcher {
    async fn open(&self, region_id: &str, key: &str) -> Result<SetReader, RestoreError> {
        let expires = chrono::Utc::now().timestamp() + 3600;
        let url = self.signer.sign(region_id, key, expires);
        let fail = |message: String| RestoreError::Fetch {
            key: key.to_owned(),
            message,
        };
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| fail(format!("GET {}: {e}", self.endpoint)))?;
        if !resp.status().is_success() {
            return Err(fail(format!(
                "the download link answered {}",
                resp.status()
            )));
        }
        let stream = resp.bytes_stream().map_err(std::io::Error::other);
        Ok(Box::new(tokio_util::io::StreamReader::new(stream)))
    }

    fn describe(&self) -> String {
        format!("download links of {}", self.endpoint)
    }
}
