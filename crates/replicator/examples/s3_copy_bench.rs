//! Copy throughput S3 → S3 (two buckets of one S3-compatible server), verification included,
//! against `rclone copy` between the same buckets in the same run.
//!
//! ```text
//! eval "$(bash .ci/s3-server.sh start)"      # or any loopback S3 server in XBAK_TEST_S3_ENDPOINT
//! cargo run --release -p xbak-replicator --example s3_copy_bench -- [MB] [ROUNDS]
//! ```
//!
//! Uploads an `MB`-megabyte object (default 256) into a source bucket, then, `ROUNDS` times
//! (default 2), copies it to the destination bucket with the replicator (resumable multipart
//! upload, read-back verification, publish by server-side copy-if-not-exists; and once more
//! publishing by HEAD + plain server-side copy, `copy_if_not_exists=none`) and with
//! `rclone copy` twice: as rclone does by default between buckets of one server (a server-side
//! copy: no byte leaves the server), and with server-side copy disabled (`--disable Copy`:
//! streamed through rclone like the replicator, 5 MiB parts, 4 in flight, MD5 per part, no
//! read-back). rclone runs only if it is installed.

use std::process::Command;
use xbak_storage::conformance::{s3, PatternReader};
use xbak_storage::RegionStore;
use xbak_testkit::bench::{self, Report};
use xbak_testkit::world;

const SRC_BUCKET: &str = "xbak-bench-src";
const DST_BUCKET: &str = "xbak-bench-dst";

#[tokio::main]
async fn main() {
    bench::init_tracing();
    let mut args = std::env::args().skip(1);
    let mb: u64 = bench::arg(&mut args, "MB", 256);
    let rounds: u32 = bench::arg(&mut args, "ROUNDS", 2);
    let size = mb * 1_000_000;
    let endpoint = s3::endpoint();
    let dir = tempfile::tempdir().unwrap();

    let src_url = s3::region_url(SRC_BUCKET).await;
    let src = RegionStore::open("src", &src_url).unwrap();
    let key = "backups/rm-bench/set.xb";
    let mut reader = PatternReader::new(size, 42);
    let staged = src.upload_staged(key, &mut reader, &|_| {}).await.unwrap();
    src.publish(&staged, key).await.unwrap();
    let src_prefix = src_url
        .split('@')
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();

    let (mut xbak, mut xbak_plain) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let sha = &staged.sha256;
        xbak.push(replicate(&dir, 2 * round, &src_url, "", key, size, sha).await);
        let plain = "&copy_if_not_exists=none";
        xbak_plain.push(replicate(&dir, 2 * round + 1, &src_url, plain, key, size, sha).await);
    }

    let rclone_present = bench::rclone_installed();
    let (mut server_side, mut streamed) = (Vec::new(), Vec::new());
    if rclone_present {
        for _ in 0..rounds {
            server_side.push(rclone(&endpoint, src_prefix, &[]));
            // `--s3-no-head`: rclone 1.60 HEADs the upload with `versionId=null`, which moto
            // answers 400, and rclone then copies the whole file again.
            streamed.push(rclone(
                &endpoint,
                src_prefix,
                &["--disable", "Copy", "--s3-no-head"],
            ));
        }
    }

    let report = Report { bytes: size };
    let show = |name: &str, runs: &[f64]| report.best(name, runs);
    println!("{mb} MB, S3 → S3 (bucket {SRC_BUCKET} → {DST_BUCKET}) on {endpoint}");
    show(
        "xbak replicate (multipart upload + read-back verify + publish copy)",
        &xbak,
    );
    show(
        "xbak replicate, copy_if_not_exists=none (publish: HEAD + CopyObject)",
        &xbak_plain,
    );
    if rclone_present {
        show("rclone copy, default (server-side copy)", &server_side);
        show(
            "rclone copy --disable Copy --s3-no-head (streamed through rclone)",
            &streamed,
        );
    } else {
        println!("  rclone: not installed");
    }
}

/// One replicator copy of the source object into a fresh destination prefix (its URL with
/// `dst_options` appended), with a catalog of its own; seconds.
async fn replicate(
    dir: &tempfile::TempDir,
    round: u32,
    src_url: &str,
    dst_options: &str,
    key: &str,
    size: u64,
    sha256: &str,
) -> f64 {
    let catalog_dir = dir.path().join(format!("round-{round}"));
    std::fs::create_dir_all(&catalog_dir).unwrap();
    let catalog = world::sqlite_catalog(&catalog_dir).await;
    let dst_url = s3::region_url(DST_BUCKET).await + dst_options;
    bench::replicate_one_set(catalog, src_url, &dst_url, key, size, sha256).await
}

/// `rclone copy` of the source object's folder into a fresh prefix of the destination bucket,
/// with an S3 remote `xb` on the endpoint configured through the environment; seconds.
fn rclone(endpoint: &str, src_prefix: &str, extra: &[&str]) -> f64 {
    let src = format!("xb:{src_prefix}/backups/rm-bench");
    let dst = format!("xb:{DST_BUCKET}/rclone-{}", uuid_like());
    let (status, secs) = bench::timed_sync(|| {
        Command::new("rclone")
            .args(["copy", &src, &dst])
            .args(extra)
            .env("RCLONE_CONFIG_XB_TYPE", "s3")
            .env("RCLONE_CONFIG_XB_PROVIDER", "Other")
            .env("RCLONE_CONFIG_XB_ENDPOINT", endpoint)
            .env("RCLONE_CONFIG_XB_ACCESS_KEY_ID", "xbak-test")
            .env("RCLONE_CONFIG_XB_SECRET_ACCESS_KEY", "xbak-test-secret")
            .env("RCLONE_CONFIG_XB_REGION", "us-east-1")
            .env("RCLONE_CONFIG_XB_FORCE_PATH_STYLE", "true")
            // A CA bundle from the environment breaks rclone's plain-http client (and is not needed).
            .env_remove("AWS_CA_BUNDLE")
            .status()
            .unwrap()
    });
    assert!(status.success(), "rclone copy {src} {dst} {extra:?}");
    secs
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
