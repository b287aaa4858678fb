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
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, Category, NewBackupSet, NewInstance, Policy, Region,
    StorageType,
};
use xbak_replicator::{Replicator, ReplicatorConfig};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut args = std::env::args().skip(1);
    let mb: u64 = args.next().map(|a| a.parse().expect("MB")).unwrap_or(512);
    let base = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).unwrap();
    let size = mb * 1_000_000;

    let catalog: Arc<dyn Catalog> = Arc::new(
        SqliteCatalog::open(&dir.path().join("catalog.db"))
            .await
            .unwrap(),
    );
    for region in ["src", "dst"] {
        let url = format!("file://{}", dir.path().join(region).display());
        catalog
            .put_region(&Region {
                region_id: region.into(),
                store_url: url,
            })
            .await
            .unwrap();
    }
    let (account, _) = catalog.create_account("bench").await.unwrap();
    let instance = catalog
        .create_instance(&NewInstance {
            db_instance_id: "rm-bench".into(),
            region_id: "src".into(),
            account_id: account.id,
            engine: "MySQL".into(),
            engine_version: "5.7".into(),
            category: Category::HighAvailability,
            storage_type: StorageType::LocalSsd,
            instance_number: 1,
        })
        .await
        .unwrap();
    catalog
        .put_policy(&Policy {
            instance_id: instance.id,
            enabled: true,
            dest_region_id: "dst".into(),
            retention_days: 7,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();

    // The source object, written straight to disk with its checksum.
    let key = "backups/rm-bench/set.xb";
    let path = dir.path().join("src").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let sha256 = write_pattern(&path, size);
    let now = chrono::Utc::now();
    catalog
        .record_backup_set(&NewBackupSet {
            instance_id: instance.id,
            method: BackupMethod::Physical,
            backup_type: BackupType::Full,
            scale: BackupSetScale::Instance,
            started_at: now,
            finished_at: now,
            consistent_at: now,
            instance_number: 1,
            object_key: key.into(),
            size_bytes: size as i64,
            sha256,
        })
        .await
        .unwrap();

    let regions = xbak_replicator::regions_from_catalog(&*catalog)
        .await
        .unwrap();
    let replicator = Replicator::new(catalog.clone(), regions, ReplicatorConfig::default());
    let started = Instant::now();
    let summary = replicator.run_once().await.unwrap();
    let xbak = started.elapsed().as_secs_f64();
    assert_eq!(summary.completed, 1, "{summary:?}");

    let copy = dir.path().join("copy.xb");
    let sh = |script: &str| {
        let started = Instant::now();
        let status = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&path)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
        let _ = std::fs::remove_file(&copy);
        started.elapsed().as_secs_f64()
    };
    let cp = sh("cp \"$1\" \"$2\"");
    let cp_sha = sh("cp \"$1\" \"$2\" && sha256sum \"$2\" >/dev/null");
    let sha_cp_sha =
        sh("sha256sum \"$1\" >/dev/null && cp \"$1\" \"$2\" && sha256sum \"$2\" >/dev/null");
    let cp_sync_sha = sh("cp \"$1\" \"$2\" && sync \"$2\" && sha256sum \"$2\" >/dev/null");

    let rclone = Command::new("rclone")
        .arg("version")
        .output()
        .is_ok()
        .then(|| sh("rclone copyto \"$1\" \"$2\""));

    let mbs = |secs: f64| size as f64 / secs / 1e6;
    println!(
        "{mb} MB, local → local, warm page cache, {}",
        dir.path().display()
    );
    println!("  xbak replicate (copy + inline sha256 + fsync + read-back verify + publish): {xbak:.2} s  {:.0} MB/s", mbs(xbak));
    println!("  cp:                                                                        {cp:.2} s  {:.0} MB/s", mbs(cp));
    println!("  cp + sha256sum copy:                                                       {cp_sha:.2} s  {:.0} MB/s", mbs(cp_sha));
    println!("  cp + sync + sha256sum copy:                                                {cp_sync_sha:.2} s  {:.0} MB/s", mbs(cp_sync_sha));
    println!("  sha256sum source + cp + sha256sum copy:                                    {sha_cp_sha:.2} s  {:.0} MB/s", mbs(sha_cp_sha));
    if let Some(rclone) = rclone {
        println!("  rclone copyto (in-stream MD5 of both sides):                               {rclone:.2} s  {:.0} MB/s", mbs(rclone));
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
