//! Copy throughput, local region to local region, verification included, against `cp` +
//! `sha256sum` on the same file and disk in the same run.
//!
//! ```text
//! cargo run --release -p xbak-replicator --example copy_bench -- [MB] [DIR]
//! ```
//!
//! Writes an `MB`-megabyte file (default 512) under `DIR` (default: a temporary directory),
//! copies it with the replicator (read source → stage with inline SHA-256 → fsync → read back
//! and verify → publish → record), then times the shell baselines. The page cache is warm for
//! every contender: the file was just written.

use sha2::{Digest, Sha256};
use std::io::Write;
use xbak_testkit::bench::{self, Report};
use xbak_testkit::world;

#[tokio::main]
async fn main() {
    bench::init_tracing();
    let mut args = std::env::args().skip(1);
    let mb: u64 = bench::arg(&mut args, "MB", 512);
    let base = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).unwrap();
    let size = mb * 1_000_000;

    // The source object, written straight to disk with its checksum.
    let key = "backups/rm-bench/set.xb";
    let path = dir.path().join("src").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let sha256 = write_pattern(&path, size);
    let catalog = world::sqlite_catalog(dir.path()).await;
    let (src_url, dst_url) = (
        world::local_url(dir.path(), "src"),
        world::local_url(dir.path(), "dst"),
    );
    let xbak = bench::replicate_one_set(catalog, &src_url, &dst_url, key, size, &sha256).await;

    let copy = dir.path().join("copy.xb");
    let sh = |script: &str| bench::shell(script, &path, &copy);
    let cp = sh("cp \"$1\" \"$2\"");
    let cp_sha = sh("cp \"$1\" \"$2\" && sha256sum \"$2\" >/dev/null");
    let sha_cp_sha =
        sh("sha256sum \"$1\" >/dev/null && cp \"$1\" \"$2\" && sha256sum \"$2\" >/dev/null");
    let cp_sync_sha = sh("cp \"$1\" \"$2\" && sync \"$2\" && sha256sum \"$2\" >/dev/null");

    let rclone = bench::rclone_installed().then(|| sh("rclone copyto \"$1\" \"$2\""));

    let report = Report { bytes: size };
    println!(
        "{mb} MB, local → local, warm page cache, {}",
        dir.path().display()
    );
    for (name, secs) in [
        (
            "xbak replicate (copy + inline sha256 + fsync + read-back verify + publish)",
            xbak,
        ),
        ("cp", cp),
        ("cp + sha256sum copy", cp_sha),
        ("cp + sync + sha256sum copy", cp_sync_sha),
        ("sha256sum source + cp + sha256sum copy", sha_cp_sha),
    ] {
        report.once(name, secs);
    }
    if let Some(rclone) = rclone {
        report.once("rclone copyto (in-stream MD5 of both sides)", rclone);
    }
}

/// Writes `size` pseudo-random bytes to `path`; returns their SHA-256.
fn write_pattern(path: &std::path::Path, size: u64) -> String {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let chunk = xbak_storage::conformance::pattern(1 << 20, 42);
    let mut left = size;
    let mut n = 0u8;
    while left > 0 {
        let mut block = chunk[..left.min(chunk.len() as u64) as usize].to_vec();
        block[0] = n; // no two blocks alike
        n = n.wrapping_add(1);
        hasher.update(&block);
        file.write_all(&block).unwrap();
        left -= block.len() as u64;
    }
    file.flush().unwrap();
    file.get_ref().sync_all().unwrap();
    hex::encode(hasher.finalize())
}
