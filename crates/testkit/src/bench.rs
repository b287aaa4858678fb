//! The benchmarks' timing: seconds of a run, throughput, the report lines and the shell
//! baselines (`cp`, `sha256sum`, `rclone`) the copy benchmarks compare against, and the one
//! timed replicator pass both copy benchmarks measure.

use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use xbak_catalog::Catalog;
use xbak_replicator::{Replicator, ReplicatorConfig};

use crate::world::{self, FullSet, InstanceSpec};

/// Logs as `RUST_LOG` says.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
}

/// The next command-line argument parsed as a `T` (`name` in the message when it does not
/// parse), or `default` when there is none.
pub fn arg<T: std::str::FromStr>(
    args: &mut impl Iterator<Item = String>,
    name: &str,
    default: T,
) -> T {
    args.next()
        .map(|a| {
            a.parse()
                .unwrap_or_else(|_| panic!("{name}: not a number: {a}"))
        })
        .unwrap_or(default)
}

/// Runs `run` to completion; its output and the seconds it took.
pub async fn timed<F: Future>(run: F) -> (F::Output, f64) {
    let started = Instant::now();
    let out = run.await;
    (out, started.elapsed().as_secs_f64())
}

/// Runs `run`; its output and the seconds it took.
pub fn timed_sync<T>(run: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = run();
    (out, started.elapsed().as_secs_f64())
}

/// Runs `script` under `sh -c` with `$1` = `from` and `$2` = `to`, asserts it succeeded,
/// removes `to`; seconds.
pub fn shell(script: &str, from: &Path, to: &Path) -> f64 {
    let (status, secs) = timed_sync(|| {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(from)
            .arg(to)
            .status()
            .unwrap()
    });
    assert!(status.success(), "{script}");
    let _ = std::fs::remove_file(to);
    secs
}

/// Whether `rclone` is installed (its baselines run only then).
pub fn rclone_installed() -> bool {
    Command::new("rclone").arg("version").output().is_ok()
}

/// Report lines for runs that each move `bytes` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub bytes: u64,
}

impl Report {
    /// Megabytes (10^6) per second for one run of `secs` seconds.
    pub fn mb_per_s(&self, secs: f64) -> f64 {
        self.bytes as f64 / secs / 1e6
    }

    /// `name: seconds  MB/s` for one run.
    pub fn once(&self, name: &str, secs: f64) {
        println!(
            "  {:<76}{secs:.2} s  {:.0} MB/s",
            format!("{name}:"),
            self.mb_per_s(secs)
        );
    }

    /// `name  best seconds  MB/s  (all runs)` for several runs of one contender.
    pub fn best(&self, name: &str, runs: &[f64]) {
        let best = runs.iter().cloned().fold(f64::INFINITY, f64::min);
        let all: Vec<String> = runs.iter().map(|s| format!("{s:.2}")).collect();
        println!(
            "  {name:<72} best {best:.2} s  {:>5.1} MB/s   (runs: {} s)",
            self.mb_per_s(best),
            all.join(", ")
        );
    }
}

/// Regions `src` and `dst` at these URLs in `catalog`, account `bench`'s instance `rm-bench`
/// copying from `src` to `dst`, and its full set at `key` (`size` bytes, this checksum)
/// already stored in `src`; then one replicator pass (default configuration), which must copy
/// the set. Seconds of the pass.
pub async fn replicate_one_set(
    catalog: Arc<dyn Catalog>,
    src_url: &str,
    dst_url: &str,
    key: &str,
    size: u64,
    sha256: &str,
) -> f64 {
    world::put_regions(&*catalog, &[("src", src_url), ("dst", dst_url)]).await;
    let instance = InstanceSpec {
        instance_number: 1,
        ..InstanceSpec::mysql57("bench", "rm-bench", "src").copying_to("dst")
    }
    .seed(&*catalog)
    .await;
    let now = chrono::Utc::now();
    FullSet {
        object_key: key,
        size,
        sha256: sha256.into(),
        started: now,
        finished: now,
        consistent: now,
    }
    .record(&*catalog, &instance)
    .await;
    let regions = xbak_replicator::regions_from_catalog(&*catalog)
        .await
        .unwrap();
    let replicator = Replicator::new(catalog, regions, ReplicatorConfig::default());
    let (summary, secs) = timed(replicator.run_once()).await;
    let summary = summary.unwrap();
    assert_eq!(summary.completed, 1, "{summary:?}");
    secs
}
