//! The scale-out test, black-box: 2 API servers (`serve --no-workers`) and 3 `xbak worker`s on
//! one PostgreSQL catalog, both regions on the 3-node Garage cluster (different buckets, reached
//! through different nodes). A stream of backup sets is registered while a killer SIGKILLs a
//! random worker every 1–2 s (restarting it at once) and one API server once mid-run. At the
//! end: every set has exactly one Completed copy whose downloaded bytes match the source, both
//! servers return the same page for the same query, a request replayed to the other server is
//! refused `SignatureNonceUsed`, and the daily schedule ran once across the workers.
//!
//! `XBAK_SCALE_SETS` overrides the number of sets (default 200).

mod common;

use common::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xbak_catalog::suite::scratch::ScratchDatabase;
use xbak_storage::conformance::s3::TestServer;

const INSTANCE: &str = "rm-bb0001";
const SCHEDULED: &str = "rm-scale-sched";
/// The first set's start; set `i` starts `i` minutes later.
const EPOCH: &str = "2026-05-01T00:00:00Z";

fn set_count() -> usize {
    std::env::var("XBAK_SCALE_SETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// A small xorshift, so the test's choices vary between runs without a new dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn start_of(i: usize) -> String {
    let t =
        chrono::DateTime::parse_from_rfc3339(EPOCH).unwrap() + chrono::Duration::minutes(i as i64);
    t.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `SELECT` on the catalog through `psql`; the rows' fields `|`-separated.
fn psql(url: &str, sql: &str) -> String {
    let out = output_ok(Command::new("psql").args([
        url,
        "-X",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
    ]));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn spawn_worker(data: &DataDir) -> Child {
    data.cmd(&["worker"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The workers and the killer's stop flag; dropping it (also on a failed assertion) stops the
/// killer and kills every worker.
struct Fleet {
    workers: Arc<Mutex<Vec<Child>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        for w in workers.iter_mut() {
            w.kill().ok();
            w.wait().ok();
        }
    }
}

fn sigkill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// One page of `DescribeCrossRegionBackups` over the whole stream from `server`.
fn page(data: &DataDir, server: &Server, creds: (&str, &str), number: usize) -> serde_json::Value {
    let end = start_of(set_count());
    rds(
        data,
        server,
        creds,
        "DescribeCrossRegionBackups",
        &[
            "--RegionId",
            "cn-hangzhou",
            "--DBInstanceId",
            INSTANCE,
            "--StartTime",
            EPOCH,
            "--EndTime",
            &end,
            "--PageSize",
            "100",
            "--PageNumber",
            &number.to_string(),
        ],
    )
}

/// A page without what differs per request: its RequestId and the links' presigned queries.
fn comparable(mut page: serde_json::Value) -> serde_json::Value {
    page.as_object_mut().unwrap().remove("RequestId");
    for item in page["Items"]["Item"].as_array_mut().unwrap() {
        let link = item["CrossBackupDownloadLink"].as_str().unwrap();
        let base = link.split('?').next().unwrap().to_owned();
        item["CrossBackupDownloadLink"] = base.into();
    }
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_and_three_workers_complete_every_copy_once_through_sigkills() {
    let sets = set_count();
    let scratch = ScratchDatabase::create().await;
    let url = scratch.url().to_owned();
    let data = DataDir::with_catalog(&url);
    let nodes = TestServer::garage_nodes(3);
    let source = nodes[0].region_url("xbak-scale-source").await;
    let dest = nodes[1].region_url("xbak-scale-dest").await;
    let (ak, secret) = data.seed_stores(Some(&source), Some(&dest));

    // A daily logical backup of the machine's MariaDB whose window opens now.
    let db = format!("xbak_scale_{}", std::process::id());
    let _cleanup = thousand_row_database(&db);
    create_mariadb_instance(
        &data,
        SCHEDULED,
        &["--instance-number", "222", "--dsn", DSN],
    );
    schedule_logical_now(&data, SCHEDULED, &db);

    let data = Arc::new(data);
    tokio::task::spawn_blocking(move || run(&data, &url, sets, (&ak, &secret)))
        .await
        .unwrap();
}

fn run(data: &Arc<DataDir>, url: &str, sets: usize, creds: (&str, &str)) {
    let no_workers = ["--no-workers"];
    let mut servers = [
        Server::start_with(data, &no_workers, Stdio::null()),
        Server::start_with(data, &no_workers, Stdio::null()),
    ];
    let fleet = Fleet {
        workers: Arc::new(Mutex::new((0..3).map(|_| spawn_worker(data)).collect())),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let (workers, stop) = (&fleet.workers, &fleet.stop);
    let kills = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let killer = {
        let (data, workers, stop, kills) =
            (data.clone(), workers.clone(), stop.clone(), kills.clone());
        let mut rng = Rng(rng.below(u64::MAX) | 1);
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1000 + rng.below(1000)));
                let mut workers = workers.lock().unwrap();
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let victim = &mut workers[rng.below(3) as usize];
                sigkill(victim);
                *victim = spawn_worker(&data);
                kills.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    // The stream: 64–256 KiB sets, listed now and then through either server; one API server
    // SIGKILLed halfway and restarted at once.
    let mut files: HashMap<String, PathBuf> = HashMap::new();
    for i in 0..sets {
        let len = (64 + rng.below(193) as usize) * 1024;
        let file = data.path().join(format!("set-{i}.xb"));
        std::fs::write(&file, xbak_testkit::noise::noise(len, i as u64 + 1)).unwrap();
        let start = start_of(i);
        data.register(&file, &start);
        files.insert(start, file);
        // The API servers answer while the workers copy and die.
        if i % 10 == 0 {
            let listed = page(data, &servers[i / 10 % 2], creds, 1);
            assert!(listed["TotalRecordCount"].is_u64(), "{listed}");
        }
        if i == sets / 2 {
            sigkill(&mut servers[0].child);
            servers[0] = Server::start_with(data, &no_workers, Stdio::null());
        }
    }

    let deadline = Instant::now() + Duration::from_secs(600);
    let completed = "SELECT count(*) FROM copies WHERE status = 'completed'";
    while psql(url, completed) != sets.to_string() {
        assert!(
            Instant::now() < deadline,
            "not every copy completed: {}",
            psql(url, "SELECT status, count(*) FROM copies GROUP BY status")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Today's scheduled run completes (a SIGKILLed one is taken up again by another worker).
    let scheduled_runs = |status: &str| {
        psql(
            url,
            &format!(
                "SELECT count(*) FROM backup_runs r JOIN instances i ON i.id = r.instance_id \
                 WHERE i.db_instance_id = '{SCHEDULED}' AND r.run_trigger = 'scheduled' \
                 AND r.status = '{status}'"
            ),
        )
    };
    while scheduled_runs("completed") == "0" {
        assert!(
            Instant::now() < deadline,
            "the schedule never completed a run"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Let every worker look at the schedule again under the killer.
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::SeqCst);
    killer.join().unwrap();
    drop(fleet);
    assert!(kills.load(Ordering::SeqCst) > 0, "no worker was killed");
    eprintln!(
        "scale-out: {sets} sets, {} worker SIGKILLs",
        kills.load(Ordering::SeqCst)
    );

    // Every set of the stream has exactly one copy, Completed, and nothing else is queued.
    let per_set = psql(
        url,
        &format!(
            "SELECT count(*), count(DISTINCT c.backup_set_id), \
             count(*) FILTER (WHERE c.status = 'completed' AND c.dest_region_id = 'cn-shanghai') \
             FROM backup_sets b JOIN instances i ON i.id = b.instance_id \
             LEFT JOIN copies c ON c.backup_set_id = b.id WHERE i.db_instance_id = '{INSTANCE}'"
        ),
    );
    assert_eq!(per_set, format!("{sets}|{sets}|{sets}"));
    assert_eq!(
        psql(
            url,
            "SELECT count(*) FROM copies WHERE status <> 'completed'"
        ),
        "0"
    );

    // Both servers list the same pages; every listed copy downloads to its source's bytes.
    let mut listed = 0;
    for number in 1..=sets.div_ceil(100) {
        let a = page(data, &servers[0], creds, number);
        let b = page(data, &servers[1], creds, number);
        assert_eq!(a["TotalRecordCount"], sets, "{a}");
        assert_eq!(comparable(a.clone()), comparable(b));
        for item in a["Items"]["Item"].as_array().unwrap() {
            let start = item["BackupStartTime"].as_str().unwrap();
            let source = &files[start];
            let link = item["CrossBackupDownloadLink"].as_str().unwrap();
            let got = data.path().join("download.xb");
            let bytes = download(link);
            std::fs::write(&got, bytes).unwrap();
            assert_eq!(sha256_file(&got), sha256_file(source), "{start}");
            listed += 1;
        }
    }
    assert_eq!(listed, sets);

    // A signed request accepted by one server is refused when replayed to the other.
    let query = xbak_testkit::sign::v1_params(
        "GET",
        creds.0,
        creds.1,
        &[
            ("RegionId", "cn-hangzhou"),
            ("DBInstanceId", INSTANCE),
            ("StartTime", EPOCH),
            ("EndTime", &start_of(sets)),
        ],
        chrono::Utc::now(),
    );
    let (status, body) = get(&format!("{}/?{query}", servers[0].url()));
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&format!("{}/?{query}", servers[1].url()));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["Code"], "SignatureNonceUsed", "{body}");
    assert!(
        body["RequestId"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );

    // The daily schedule completed one run today across the three workers and their restarts,
    // and only that run produced a backup set. Runs a SIGKILL interrupted stay `running` until
    // they have been silent for 2 minutes, then are failed: they are only counted here.
    let runs = data.ok(&["backup", "runs", SCHEDULED]);
    assert_eq!(scheduled_runs("completed"), "1", "{runs}");
    let with_sets = psql(
        url,
        &format!(
            "SELECT count(*) FROM backup_sets b JOIN instances i ON i.id = b.instance_id \
             WHERE i.db_instance_id = '{SCHEDULED}'"
        ),
    );
    assert_eq!(with_sets, "1", "{runs}");
    eprintln!(
        "scale-out: scheduled runs interrupted by a SIGKILL: {} failed, {} not yet failed",
        scheduled_runs("failed"),
        scheduled_runs("running")
    );
}

/// GET `url`: status and JSON body.
fn get(url: &str) -> (u16, serde_json::Value) {
    let (status, body) = http_get(url);
    (status, serde_json::from_slice(&body).unwrap())
}

/// GET `url` on a runtime of its own (the test body runs on a blocking thread).
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::get(url).await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.bytes().await.unwrap().to_vec())
    })
}

/// The body of a GET that must succeed.
fn download(url: &str) -> Vec<u8> {
    let (status, body) = http_get(url);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    body
}
