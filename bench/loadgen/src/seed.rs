//! `xbak-loadgen seed`: a benchmark catalog at `DIR/catalog.db` (or the PostgreSQL database given by
//! `--catalog postgres://…`), written through the backend's batch path
//! ([`SqliteCatalog::bulk_insert_copies`], [`PostgresCatalog::bulk_insert_copies`]: one backup set
//! and one Completed copy per row, no objects behind them: listings never open them, and download
//! links are only signed).
//!
//! Shape: regions `cn-hangzhou` (source) and `cn-shanghai` (destination) with `file://` stores
//! under `DIR/regions`, account `bench`, instances `rm-bench0 … rm-bench{K-1}` (MySQL 5.7,
//! HighAvailability, local_ssd, cn-hangzhou: eligible for cross-region backup), `N/K` copies each,
//! started an hour apart from 2020-01-01T00:00:00Z. The AccessKey goes to `DIR/bench-key.json`.
//! A data dir already seeded with the same shape is reused as is.

use anyhow::{bail, Context as _};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::sqlite::{BulkCopies, SqliteCatalog};
use xbak_catalog::Catalog;
use xbak_domain::{Category, NewInstance, Region, StorageType};
use xbak_protocol::time::parse_utc_seconds;

pub const SOURCE: &str = "cn-hangzhou";
pub const DEST: &str = "cn-shanghai";
const ACCOUNT: &str = "bench";
/// Copies written per transaction (bounds the WAL; progress is printed per batch).
const BATCH: u64 = 100_000;

#[derive(clap::Args, Clone)]
pub struct SeedArgs {
    /// Data dir of the xbak server to be benchmarked (`xbak --data-dir DIR serve`).
    #[arg(long)]
    data_dir: PathBuf,
    /// Total listed copies.
    #[arg(long, default_value_t = 1_000_000)]
    copies: u64,
    /// Instances the copies are spread over (N/K each).
    #[arg(long, default_value_t = 100)]
    instances: u64,
    /// A `postgres://` URL: seed that database instead of `DIR/catalog.db` (serve it with
    /// `xbak --catalog URL --data-dir DIR serve`; the key still goes to `DIR/bench-key.json`).
    #[arg(long)]
    catalog: Option<String>,
}

/// The catalog being seeded, with its backend's batch path.
enum Seeded {
    Sqlite(SqliteCatalog),
    Postgres(PostgresCatalog),
}

impl Seeded {
    async fn open(a: &SeedArgs, dir: &Path) -> anyhow::Result<Seeded> {
        Ok(match &a.catalog {
            Some(url) => Seeded::Postgres(
                PostgresCatalog::open(url)
                    .await
                    .context("opening the PostgreSQL catalog given by --catalog")?,
            ),
            None => Seeded::Sqlite(
                SqliteCatalog::open(&dir.join("catalog.db"))
                    .await
                    .context("opening the catalog")?,
            ),
        })
    }

    fn catalog(&self) -> &dyn Catalog {
        match self {
            Seeded::Sqlite(c) => c,
            Seeded::Postgres(c) => c,
        }
    }

    async fn bulk_insert_copies(&self, spec: &BulkCopies) -> anyhow::Result<u64> {
        Ok(match self {
            Seeded::Sqlite(c) => c.bulk_insert_copies(spec).await?,
            Seeded::Postgres(c) => c.bulk_insert_copies(spec).await?,
        })
    }
}

pub fn instance_name(i: u64) -> String {
    format!("rm-bench{i}")
}

pub async fn run(a: SeedArgs) -> anyhow::Result<()> {
    if a.copies.checked_rem(a.instances) != Some(0) {
        bail!("--copies must be a positive multiple of --instances");
    }
    let per_instance = a.copies / a.instances;
    std::fs::create_dir_all(&a.data_dir)
        .with_context(|| format!("creating {}", a.data_dir.display()))?;
    let dir = std::fs::canonicalize(&a.data_dir)?;
    let key_path = dir.join("bench-key.json");
    let seeded = Seeded::open(&a, &dir).await?;
    let cat = seeded.catalog();

    if cat.account_by_name(ACCOUNT).await?.is_some() {
        let counts = cat.copy_counts().await?;
        let listed = counts.completed + counts.failed;
        let last = cat
            .instance_by_db_instance_id(&instance_name(a.instances - 1))
            .await?;
        let beyond = cat
            .instance_by_db_instance_id(&instance_name(a.instances))
            .await?;
        if listed != a.copies || last.is_none() || beyond.is_some() || !key_path.exists() {
            bail!(
                "{} is already seeded with another shape ({listed} copies); use another --data-dir",
                dir.display()
            );
        }
        println!(
            "reusing {} ({listed} copies over {} instances)",
            dir.display(),
            a.instances
        );
        return Ok(());
    }

    let started = Instant::now();
    for id in [SOURCE, DEST] {
        let store = dir.join("regions").join(id);
        std::fs::create_dir_all(&store)?;
        cat.put_region(&Region {
            region_id: id.into(),
            store_url: format!("file://{}", store.display()),
        })
        .await?;
    }
    let (account, key) = cat.create_account(ACCOUNT).await?;
    let mut ids = Vec::new();
    for i in 0..a.instances {
        let inst = cat
            .create_instance(&NewInstance {
                db_instance_id: instance_name(i),
                region_id: SOURCE.into(),
                account_id: account.id,
                engine: "MySQL".into(),
                engine_version: "5.7".into(),
                category: Category::HighAvailability,
                storage_type: StorageType::LocalSsd,
                instance_number: 10_000_000 + i as i64,
            })
            .await?;
        ids.push(inst.id);
    }
    let per_batch = (BATCH / per_instance.max(1)).max(1) as usize;
    let mut written = 0;
    for chunk in ids.chunks(per_batch) {
        let spec = BulkCopies {
            instance_ids: chunk.to_vec(),
            per_instance,
            dest_region_id: DEST.into(),
            first_started_at: parse_utc_seconds("2020-01-01T00:00:00Z").expect("valid time"),
            step_secs: 3600,
            failed_every: None,
        };
        written += seeded.bulk_insert_copies(&spec).await?;
        eprintln!(
            "  {written}/{} copies ({:.1?})",
            a.copies,
            started.elapsed()
        );
    }
    write_key(
        &key_path,
        &key.access_key_id,
        &key.secret,
        a.copies,
        a.instances,
    )?;
    println!(
        "seeded {} with {written} copies over {} instances in {:.1?}; key in {}",
        dir.display(),
        a.instances,
        started.elapsed(),
        key_path.display()
    );
    Ok(())
}

fn write_key(
    path: &Path,
    id: &str,
    secret: &str,
    copies: u64,
    instances: u64,
) -> anyhow::Result<()> {
    let json = serde_json::json!({
        "AccessKeyId": id,
        "AccessKeySecret": secret,
        "Copies": copies,
        "Instances": instances,
    });
    std::fs::write(path, format!("{json}\n")).with_context(|| format!("writing {}", path.display()))
}

/// Reads `(AccessKeyId, AccessKeySecret)` back from a `bench-key.json` (for `--key-file`).
pub fn read_key(path: &Path) -> anyhow::Result<(String, String)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let field = |name: &str| {
        v[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{name} missing in {}", path.display()))
    };
    Ok((field("AccessKeyId")?, field("AccessKeySecret")?))
}
