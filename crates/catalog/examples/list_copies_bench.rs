//! `list_copies` latency and throughput on a large SQLite catalog, against a small one with the
//! same per-instance size measured in the same run (the cost must not grow with the catalog).
//!
//! ```text
//! cargo run --release -p xbak-catalog --example list_copies_bench -- \
//!     [--copies 1000000] [--instances 100] [--iterations 2000] [--requests 50000] [--concurrency 8] [--dir DIR]
//! ```
//!
//! Databases are seeded once (one transaction each) under `--dir` (default: the system temp
//! directory) and reused by later runs with the same shape.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xbak_catalog::sqlite::{BulkCopies, SqliteCatalog};
use xbak_catalog::Catalog;
use xbak_domain::{Category, CopyQuery, Instance, NewInstance, PageSize, Region, StorageType};

struct Args {
    copies: u64,
    instances: u64,
    iterations: usize,
    requests: usize,
    concurrency: usize,
    dir: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        copies: 1_000_000,
        instances: 100,
        iterations: 2000,
        requests: 50_000,
        concurrency: 8,
        dir: std::env::temp_dir(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let n = || {
            value
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--copies" => a.copies = n(),
            "--instances" => a.instances = n(),
            "--iterations" => a.iterations = n() as usize,
            "--requests" => a.requests = n() as usize,
            "--concurrency" => a.concurrency = n() as usize,
            "--dir" => a.dir = PathBuf::from(&value),
            _ => panic!("unknown flag {flag}"),
        }
    }
    a
}

const DEST: &str = "cn-shanghai";

/// Opens (seeding if empty) a catalog of `instances` instances with `per_instance` listed copies each.
async fn seeded(
    path: &Path,
    instances: u64,
    per_instance: u64,
) -> (Arc<SqliteCatalog>, Vec<Instance>) {
    let cat = Arc::new(SqliteCatalog::open(path).await.expect("open"));
    let name = |i: u64| format!("rm-bench-{i:05}");
    let mut all = Vec::new();
    if cat.account_by_name("bench").await.unwrap().is_none() {
        let started = Instant::now();
        for id in ["cn-hangzhou", DEST] {
            let region = Region {
                region_id: id.into(),
                store_url: format!("file:///srv/{id}"),
            };
            cat.put_region(&region).await.unwrap();
        }
        let (account, _) = cat.create_account("bench").await.unwrap();
        for i in 0..instances {
            let new = NewInstance {
                db_instance_id: name(i),
                region_id: "cn-hangzhou".into(),
                account_id: account.id,
                engine: "MySQL".into(),
                engine_version: "5.7".into(),
                category: Category::HighAvailability,
                storage_type: StorageType::LocalSsd,
                instance_number: 1000 + i as i64,
            };
            all.push(cat.create_instance(&new).await.unwrap());
        }
        let spec = BulkCopies {
            instance_ids: all.iter().map(|i| i.id).collect(),
            per_instance,
            dest_region_id: DEST.into(),
            first_started_at: jan_1_2020(),
            step_secs: 3600,
            failed_every: Some(50),
        };
        let written = cat.bulk_insert_copies(&spec).await.unwrap();
        println!(
            "seeded {} with {written} copies in {:.1?}",
            path.display(),
            started.elapsed()
        );
    } else {
        for i in 0..instances {
            all.push(
                cat.instance_by_db_instance_id(&name(i))
                    .await
                    .unwrap()
                    .expect("seeded instance"),
            );
        }
    }
    let counts = cat.copy_counts().await.unwrap();
    assert_eq!(
        counts.completed + counts.failed,
        instances * per_instance,
        "{} has another shape",
        path.display()
    );
    (cat, all)
}

fn scenarios(instance: &Instance, per_instance: u64) -> Vec<(&'static str, CopyQuery)> {
    let base = CopyQuery::first_page(instance.id, PageSize::Thirty);
    let hours = |h: i64| jan_1_2020() + chrono::Duration::hours(h);
    let mid = per_instance as i64 / 2;
    let last_page = per_instance.div_ceil(100) as u32;
    vec![
        ("first page of 30", base.clone()),
        (
            "middle page of 100",
            CopyQuery {
                page_size: PageSize::Hundred,
                page_number: last_page / 2,
                ..base.clone()
            },
        ),
        (
            "last page of 100",
            CopyQuery {
                page_size: PageSize::Hundred,
                page_number: last_page,
                ..base.clone()
            },
        ),
        (
            "window of 10% (page 1)",
            CopyQuery {
                window: Some((hours(mid), hours(mid + per_instance as i64 / 10))),
                ..base.clone()
            },
        ),
        (
            "dest region filter",
            CopyQuery {
                dest_region_id: Some(DEST.into()),
                ..base.clone()
            },
        ),
        (
            "past the end",
            CopyQuery {
                page_number: last_page * 10,
                ..base.clone()
            },
        ),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn latency(
    cat: &SqliteCatalog,
    query: &CopyQuery,
    iterations: usize,
) -> (Duration, Duration, u64) {
    let mut samples = Vec::with_capacity(iterations);
    let mut total = 0;
    for _ in 0..iterations {
        let t = Instant::now();
        let listing = cat.list_copies(query).await.unwrap();
        samples.push(t.elapsed());
        total = listing.total;
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99), total)
}

/// First pages of random instances from `concurrency` tasks; returns requests per second.
async fn throughput(
    cat: Arc<SqliteCatalog>,
    instances: &[Instance],
    requests: usize,
    concurrency: usize,
) -> f64 {
    let ids: Arc<Vec<i64>> = Arc::new(instances.iter().map(|i| i.id).collect());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (cat, ids) = (Arc::clone(&cat), Arc::clone(&ids));
        tasks.push(tokio::spawn(async move {
            for n in (worker..requests).step_by(concurrency) {
                let instance_id = ids[(n * 7919) % ids.len()];
                let q = CopyQuery::first_page(instance_id, PageSize::Thirty);
                let listing = cat.list_copies(&q).await.unwrap();
                assert_eq!(listing.items.len(), 30);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    requests as f64 / started.elapsed().as_secs_f64()
}

async fn report(
    label: &str,
    cat: Arc<SqliteCatalog>,
    instances: &[Instance],
    per_instance: u64,
    a: &Args,
) {
    println!("\n{label}");
    println!(
        "  {:<24} {:>10} {:>10} {:>8}",
        "query", "p50", "p99", "total"
    );
    let target = &instances[instances.len() / 2];
    for (name, q) in scenarios(target, per_instance) {
        latency(&cat, &q, a.iterations / 10 + 1).await; // warm up
        let (p50, p99, total) = latency(&cat, &q, a.iterations).await;
        println!("  {name:<24} {:>10.1?} {:>10.1?} {total:>8}", p50, p99);
    }
    let rps = throughput(Arc::clone(&cat), instances, a.requests, a.concurrency).await;
    println!(
        "  first pages of random instances, {} tasks: {rps:.0} requests/s",
        a.concurrency
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    let per_instance = a.copies / a.instances;
    std::fs::create_dir_all(&a.dir).unwrap();
    let big_path = a
        .dir
        .join(format!("xbak-bench-{}x{per_instance}.db", a.instances));
    let small_path = a.dir.join(format!("xbak-bench-2x{per_instance}.db"));
    let (big, big_instances) = seeded(&big_path, a.instances, per_instance).await;
    let (small, small_instances) = seeded(&small_path, 2, per_instance).await;
    println!(
        "\nlist_copies, {} iterations per query, {per_instance} copies per instance (every 50th Failed)",
        a.iterations
    );
    report(
        &format!(
            "catalog of {} copies ({} instances)",
            a.instances * per_instance,
            a.instances
        ),
        big,
        &big_instances,
        per_instance,
        &a,
    )
    .await;
    report(
        &format!(
            "baseline: catalog of {} copies (2 instances)",
            2 * per_instance
        ),
        small,
        &small_instances,
        per_instance,
        &a,
    )
    .await;
}

/// 2020-01-01T00:00:00Z, where the bench's sets start.
fn jan_1_2020() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone as _;
    chrono::Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
}
