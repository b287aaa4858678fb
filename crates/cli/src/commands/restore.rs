//! `xbak restore CROSSBACKUPID --region DEST (--target DSN | --datadir DIR | --verify-only)`:
//! fetch a cross-region copy, restore it, verify every table against the set's manifest.
//!
//! `xbak restore --instance DBINSTANCEID --region DEST --to-time T (…)`: the same from the newest
//! copy in DEST whose recovery window holds T, then rolled forward to T with the binlog files
//! copied to DEST.
//!
//! With `--endpoint URL` the bytes come through the server's signed download link (the same
//! `/download/…` URL `DescribeCrossRegionBackups` hands out, signed here with the catalog's
//! link key); without it they are read from the region's store directly.

use crate::context::Context;
use crate::progress::{activity_spinner, bytes_bar};
use anyhow::Context as _;
use futures::TryStreamExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use xbak_agent::restore::to_time::rfc3339;
use xbak_agent::restore::{
    RegionFetcher, RestoreConfig, RestoreError, RestoreProgress, RestoreReport, RestoreRequest,
    RestoreTarget, Restorer, SetFetcher, SetReader, TablesFrom,
};
use xbak_catalog::Catalog;
use xbak_domain::Dsn;
use xbak_storage::links::LinkSigner;

#[derive(clap::Args)]
pub struct Args {
    /// CrossBackupId of the copy to restore.
    #[arg(required_unless_present = "to_time", conflicts_with = "to_time")]
    cross_backup_id: Option<i64>,
    /// Region to read it from (the copy's destination region).
    #[arg(long)]
    region: String,
    /// Restore this instance to a point in time (with --to-time).
    #[arg(long, requires = "to_time")]
    instance: Option<String>,
    /// The time to restore to (RFC 3339, e.g. 2026-12-04T18:00:05Z; whole seconds): every
    /// transaction committed at or before it, none after.
    #[arg(long, requires = "instance", value_parser = parse_time)]
    to_time: Option<chrono::DateTime<chrono::Utc>>,
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
    /// Seconds to wait for a physical set's row counts and checksums when they are not stored
    /// beside it yet (they are read after the set is published); then verify without them.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    wait_for_checksums: u64,
}

/// Restores the copy where the arguments say, prints each table's check, and fails when any
/// table differs from the manifest.
pub async fn run(ctx: &Context, a: Args) -> anyhow::Result<()> {
    let target = target(&a)?;
    let catalog = ctx.catalog().await?;
    let fetcher = fetcher(catalog.clone(), a.endpoint.as_deref()).await?;
    let config = RestoreConfig {
        wait_for_tables: std::time::Duration::from_secs(a.wait_for_checksums),
        ..RestoreConfig::default()
    };
    let missing = config.tools.missing();
    if !missing.is_empty() {
        anyhow::bail!(
            "missing MariaDB tools: {missing:?} (apt-get install mariadb-server mariadb-backup)"
        );
    }
    let restorer = Restorer::new(catalog, fetcher.clone(), config);
    let request = match (a.cross_backup_id, &a.instance, a.to_time) {
        (Some(id), None, None) => RestoreRequest {
            cross_backup_id: id,
            region_id: a.region.clone(),
            target,
            roll_forward: None,
        },
        (None, Some(instance), Some(to_time)) => {
            let plan = restorer
                .plan_to_time(instance, &a.region, to_time, &target)
                .await?;
            println!(
                "restoring {instance} to {} from cross-region backup {} (window {})",
                rfc3339(plan.roll_forward.to_time),
                plan.cross_backup_id,
                plan.window
            );
            RestoreRequest {
                cross_backup_id: plan.cross_backup_id,
                region_id: a.region.clone(),
                target,
                roll_forward: Some(plan.roll_forward),
            }
        }
        _ => anyhow::bail!("say what to restore: CROSSBACKUPID, or --instance ID --to-time T"),
    };
    let display = ProgressDisplay::new();
    let report = restorer.restore(&request, &|p| display.show(p)).await;
    display.clear();
    let report = report
        .with_context(|| format!("restoring cross-region backup {}", request.cross_backup_id))?;
    print_report(&report, &fetcher.describe());
    let bad = report.verification.mismatches().count();
    if bad > 0 {
        anyhow::bail!("verification failed: {bad} tables differ from the manifest");
    }
    Ok(())
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-12-04T18:00:05Z: {e}"))
}

/// Where to restore, from exactly one of `--target`, `--datadir` and `--verify-only`.
fn target(a: &Args) -> anyhow::Result<RestoreTarget> {
    Ok(match (&a.target, &a.datadir, a.verify_only) {
        (Some(t), None, false) => RestoreTarget::Server(Dsn::parse(t)?),
        (None, Some(d), false) => RestoreTarget::DataDir(d.clone()),
        (None, None, true) => RestoreTarget::Drill,
        _ => anyhow::bail!("say where to restore: --target DSN, --datadir DIR or --verify-only"),
    })
}

/// Reads sets through the download links of the server at `endpoint`, or else from the
/// regions' stores.
async fn fetcher(
    catalog: Arc<dyn Catalog>,
    endpoint: Option<&str>,
) -> anyhow::Result<Arc<dyn SetFetcher>> {
    Ok(match endpoint {
        Some(url) => {
            let (key_id, secret) = catalog.link_signing_key().await?;
            Arc::new(LinkFetcher {
                signer: LinkSigner::new(key_id, secret, url.trim_end_matches('/').to_owned()),
                http: reqwest::Client::new(),
                endpoint: url.to_owned(),
            })
        }
        None => Arc::new(RegionFetcher::new(catalog)),
    })
}

/// A restore's progress on the terminal: a spinner naming the step, and a bar for the set
/// being fetched.
struct ProgressDisplay {
    spinner: indicatif::ProgressBar,
    /// The bar and the index of the set it shows.
    bar: Mutex<Option<(usize, indicatif::ProgressBar)>>,
}

impl ProgressDisplay {
    fn new() -> Self {
        ProgressDisplay {
            spinner: activity_spinner("resolving"),
            bar: Mutex::new(None),
        }
    }

    fn show(&self, progress: RestoreProgress) {
        match progress {
            RestoreProgress::Step(s) => self.spinner.set_message(s),
            RestoreProgress::Fetched {
                index,
                bytes,
                total,
            } => {
                let Ok(mut bar) = self.bar.lock() else {
                    return;
                };
                if bar.as_ref().map(|(i, _)| *i) != Some(index) {
                    if let Some((_, old)) = bar.take() {
                        old.finish_and_clear();
                    }
                    *bar = Some((
                        index,
                        bytes_bar(&format!("fetching set {}", index + 1), total),
                    ));
                }
                if let Some((_, b)) = bar.as_ref() {
                    b.set_position(bytes);
                }
            }
        }
    }

    /// Takes the spinner and the bar off the terminal.
    fn clear(self) {
        self.spinner.finish_and_clear();
        if let Ok(mut bar) = self.bar.lock() {
            if let Some((_, b)) = bar.take() {
                b.finish_and_clear();
            }
        }
    }
}

/// What was restored from where, and each table's check against the manifest.
fn print_report(report: &RestoreReport, fetched_via: &str) {
    let method = match report.chain.last().map(|l| l.backup_set.method) {
        Some(xbak_domain::BackupMethod::Physical) => "physical",
        _ => "logical",
    };
    println!(
        "restored cross-region backup {} ({} {method} set{}, {} bytes fetched via {}) into {} in {:.1?}",
        report.cross_backup_id,
        report.chain.len(),
        if report.chain.len() == 1 { "" } else { "s" },
        report.fetched_bytes,
        fetched_via,
        report.target,
        report.restore_elapsed
    );
    println!(
        "data as of {} ({})",
        report.manifest.consistent_at, report.manifest.consistency
    );
    match &report.tables_from {
        TablesFrom::InSet => {}
        TablesFrom::Beside { waited } => println!(
            "row counts and checksums from the manifest stored beside the set{}",
            if waited.is_zero() {
                String::new()
            } else {
                format!(" (waited {waited:.1?} for it)")
            }
        ),
        TablesFrom::Missing(why) => println!(
            "not verified against row counts and checksums: {why}; checked only that mariadbd starts on the data"
        ),
    }
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
    if let Some(r) = &report.replayed {
        println!(
            "rolled forward to {} with {} binlog file{} ({} bytes: {}) in {:.1?}",
            rfc3339(r.to_time),
            r.files.len(),
            if r.files.len() == 1 { "" } else { "s" },
            r.bytes,
            r.files.join(", "),
            r.elapsed
        );
    }
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
    async fn open_if_present(
        &self,
        region_id: &str,
        key: &str,
    ) -> Result<Option<SetReader>, RestoreError> {
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
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(fail(format!(
                "the download link answered {}",
                resp.status()
            )));
        }
        let stream = resp.bytes_stream().map_err(std::io::Error::other);
        Ok(Some(Box::new(tokio_util::io::StreamReader::new(stream))))
    }

    fn describe(&self) -> String {
        format!("download links of {}", self.endpoint)
    }
}
