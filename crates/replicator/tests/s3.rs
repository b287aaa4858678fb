//! The replicator on S3-compatible regions, each test once on moto (`.ci/s3-server.sh`) and
//! once on Garage (`.ci/garage.sh`), failing without them: local → S3 and S3 → S3 copies,
//! presigned links to the copies, and copies interrupted again and again (the task aborted, the
//! worker process killed) that resume from the parts already uploaded.

mod common;
mod s3world;

use s3world::{At, CountingProxy, S3World};
use std::time::Duration;
use xbak_domain::CopyStatus;
use xbak_replicator::{CopyEvent, Replicator, RunSummary};
use xbak_storage::conformance::s3::TestServer;
use xbak_storage::faults::ReadFault;
use xbak_storage::resumable::PARTS_IN_FLIGHT;
use xbak_storage::PART_SIZE;

const MB: u64 = 1_000_000;

xbak_storage::for_each_test_server!(
    local_to_s3_copies_are_verified_published_and_completed,
    s3_to_s3_copies_and_their_presigned_links_serve_the_exact_bytes,
    aborted_s3_copies_resume_from_the_parts_already_uploaded,
    a_retry_after_a_transient_failure_resumes_the_upload,
    wrong_bytes_discard_the_upload_and_the_next_attempt_starts_over,
    killed_workers_resume_s3_copies
);

async fn local_to_s3_copies_are_verified_published_and_completed(server: TestServer) {
    common::init_tracing();
    let w = S3World::new(&server, At::Local, At::S3("xbak-replicator-dest")).await;
    let (big, big_key, big_sha) = w.add_set(1, 2 * PART_SIZE as u64 + 12345).await;
    let replicator = Replicator::new(w.catalog.clone(), w.regions(), common::config(3));
    let summary = replicator.run_once().await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            completed: 1,
            bytes: 2 * PART_SIZE as u64 + 12345,
            ..RunSummary::default()
        }
    );
    assert_eq!(w.status(big).await, CopyStatus::Completed);
    w.assert_dest_holds_only(&big_key, 2 * PART_SIZE as u64 + 12345, &big_sha)
        .await;

    // An empty set goes the same way.
    let (empty, empty_key, empty_sha) = w.add_set(2, 0).await;
    replicator.run_once().await.unwrap();
    assert_eq!(w.status(empty).await, CopyStatus::Completed);
    assert_eq!(w.dest.checksum(&empty_key).await.unwrap().sha256, empty_sha);
}

async fn s3_to_s3_copies_and_their_presigned_links_serve_the_exact_bytes(server: TestServer) {
    common::init_tracing();
    let w = S3World::new(
        &server,
        At::S3("xbak-replicator-src"),
        At::S3("xbak-replicator-dest"),
    )
    .await;
    let size = 3 * PART_SIZE as u64 + 1;
    let (id, key, sha) = w.add_set(1, size).await;
    let replicator = Replicator::new(w.catalog.clone(), w.regions(), common::config(3));
    assert_eq!(replicator.run_once().await.unwrap().completed, 1);
    assert_eq!(w.status(id).await, CopyStatus::Completed);
    w.assert_dest_holds_only(&key, size, &sha).await;

    let url = w
        .dest
        .presigned_get(&key, Duration::from_secs(300))
        .await
        .unwrap()
        .expect("S3 regions presign");
    let body = reqwest::get(&url).await.unwrap();
    assert_eq!(body.status(), 200);
    let body = body.bytes().await.unwrap();
    assert_eq!(body.len() as u64, size);
    assert_eq!(common::sha256_hex(&body), sha);
}

/// Runs the replicator until `copy_id` has `parts` more parts in the destination than
/// `from`, then aborts it (and with it the copy task, parts in flight included).
async fn run_until(replicator: &Replicator, copy_id: i64, stop_at: u64) -> u64 {
    let mut rx = replicator.subscribe();
    let r = replicator.clone();
    let task = tokio::spawn(async move { r.run(futures::future::pending()).await });
    let reached = loop {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Ok(CopyEvent::Progress { copy_id: id, bytes }))
                if id == copy_id && bytes >= stop_at =>
            {
                break bytes
            }
            Ok(Ok(CopyEvent::Completed { .. })) => panic!("completed before {stop_at} bytes"),
            Ok(_) => {}
            Err(_) => panic!("no progress for a minute"),
        }
    };
    task.abort();
    let _ = task.await;
    reached
}

async fn aborted_s3_copies_resume_from_the_parts_already_uploaded(server: TestServer) {
    common::init_tracing();
    let proxy = CountingProxy::start(&server).await;
    let w = S3World::new(
        &server,
        At::S3("xbak-replicator-src"),
        At::Proxied("xbak-replicator-dest", proxy.port),
    )
    .await;
    let size = 20 * PART_SIZE as u64 + 999;
    let (id, key, sha) = w.add_set(1, size).await;
    let replicator = Replicator::new(w.catalog.clone(), w.regions(), common::config(10));

    let mut from_zero = 0; // what restarting from zero each time would have sent
    for stop in [3, 7, 8, 14, 19] {
        let reached = run_until(&replicator, id, stop * PART_SIZE as u64).await;
        from_zero += reached;
        common::wait_for_leases_to_expire().await;
    }
    let summary = replicator.run_once().await.unwrap();
    assert_eq!(summary.completed, 1, "{summary:?}");
    from_zero += size;
    w.assert_dest_holds_only(&key, size, &sha).await;

    assert_resumed(proxy.sent(), size, from_zero, 5);
}

/// A copy of `size` bytes interrupted `interruptions` times sent `sent` bytes, less than the
/// `from_zero` that restarting each time would have: each interruption may cost the parts in
/// flight, nothing else is sent twice.
fn assert_resumed(sent: u64, size: u64, from_zero: u64, interruptions: u64) {
    eprintln!(
        "{interruptions} interruptions: sent {:.1} MB for a {:.1} MB set; restarts from zero would have sent {:.1} MB",
        sent as f64 / 1e6,
        size as f64 / 1e6,
        from_zero as f64 / 1e6
    );
    let waste = interruptions * (PARTS_IN_FLIGHT as u64 + 1) * PART_SIZE as u64;
    assert!(sent < size + waste + MB, "sent {sent} for {size}");
    assert!(sent < from_zero, "sent {sent}, from zero {from_zero}");
}

async fn a_retry_after_a_transient_failure_resumes_the_upload(server: TestServer) {
    common::init_tracing();
    let (proxy, w) = S3World::local_to_proxied(&server).await;
    let size = 12 * PART_SIZE as u64 + 5;
    let (id, key, sha) = w.add_set(1, size).await;
    let cut = 6 * PART_SIZE as u64;
    w.source_faults
        .as_ref()
        .unwrap()
        .push_read(ReadFault::Cut { after: cut });
    let replicator = Replicator::new(w.catalog.clone(), w.regions(), common::config(3));
    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.completed), (1, 1), "{summary:?}");
    assert_eq!(w.status(id).await, CopyStatus::Completed);
    w.assert_dest_holds_only(&key, size, &sha).await;
    // The first attempt handed at most `cut` bytes over, all but the parts in flight finished;
    // the retry sent only what was missing.
    let sent = proxy.sent();
    assert!(
        sent <= size + PARTS_IN_FLIGHT as u64 * PART_SIZE as u64 + MB,
        "sent {sent} for {size}"
    );
    assert!(sent < cut + size, "sent {sent}: as much as starting over");
}

async fn wrong_bytes_discard_the_upload_and_the_next_attempt_starts_over(server: TestServer) {
    common::init_tracing();
    let w = S3World::new(&server, At::Local, At::S3("xbak-replicator-dest")).await;
    let size = 10 * PART_SIZE as u64 + 77;
    let (id, key, sha) = w.add_set(1, size).await;
    let faults = w.source_faults.as_ref().unwrap();
    // Attempt 1 is cut (its upload is kept); attempt 2 resumes it with a corrupted source,
    // which only the read-back can tell (a resumed upload does not hash): the upload is
    // discarded; attempt 3 starts over, hashes what it reads, and succeeds.
    faults.push_read(ReadFault::Cut {
        after: 5 * PART_SIZE as u64,
    });
    faults.push_read(ReadFault::Corrupt { at: 1000 });
    let replicator = Replicator::new(w.catalog.clone(), w.regions(), common::config(5));
    let mut rx = replicator.subscribe();
    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.completed), (2, 1), "{summary:?}");
    let failures: Vec<String> = common::drain(&mut rx)
        .into_iter()
        .filter_map(|e| match e {
            CopyEvent::Failed { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[1].contains("checksum mismatch"), "{failures:?}");
    assert_eq!(w.status(id).await, CopyStatus::Completed);
    w.assert_dest_holds_only(&key, size, &sha).await;

    // Source bytes that differ from the record on a fresh upload are caught while copying; the
    // upload is discarded each time and the copy fails for good, leaving nothing behind.
    let (bad, _, _) = w.add_set(2, 3 * PART_SIZE as u64).await;
    for _ in 0..2 {
        faults.push_read(ReadFault::Corrupt { at: 7 });
    }
    let replicator = Replicator::new(w.catalog.clone(), w.regions(), common::config(2));
    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.failed), (1, 1), "{summary:?}");
    assert_eq!(w.status(bad).await, CopyStatus::Failed);
    w.assert_dest_holds_only(&key, size, &sha).await;
}

/// The crash test: a worker process copying a multi-hundred-MB set into an S3 region is killed
/// with SIGKILL again and again, at different points; a new process (after the lease ran out)
/// takes the job over. In the end there is one completed copy with the recorded checksum,
/// nothing partial in the destination, and far fewer bytes sent than restarts from zero would.
async fn killed_workers_resume_s3_copies(server: TestServer) {
    common::init_tracing();
    let (proxy, w) = S3World::local_to_proxied(&server).await;
    let size = 300 * MB + 4321;
    let (id, key, sha) = w.add_set(1, size).await;

    let mut from_zero = 0;
    let mut kills = 0;
    // Kill points: bytes sent by the current worker before it is killed.
    for kill_after in [20 * MB, 45 * MB, 9 * MB, 60 * MB, 33 * MB, 70 * MB, 25 * MB] {
        let before = proxy.sent();
        let mut child = worker(&w.catalog_path);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("worker exited by itself ({status}) before being killed");
            }
            if proxy.sent() - before >= kill_after {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        kills += 1;
        from_zero += proxy.sent() - before;
        assert_eq!(w.status(id).await, CopyStatus::Pending);
        assert_eq!(
            w.dest.list("").await.unwrap(),
            Vec::<String>::new(),
            "partial copy visible"
        );
    }
    // The last worker is left to finish; it exits once the copy is completed.
    let mut child = worker(&w.catalog_path);
    let status = tokio::time::timeout(Duration::from_secs(300), child.wait())
        .await
        .expect("the last worker finishes")
        .unwrap();
    assert!(status.success(), "{status}");
    from_zero += size;
    assert_eq!(w.status(id).await, CopyStatus::Completed);
    w.assert_dest_holds_only(&key, size, &sha).await;

    assert_resumed(proxy.sent(), size, from_zero, kills);
}

/// Environment variable that turns [`worker_process`] into a copy worker on this catalog.
const WORKER_CATALOG: &str = "XBAK_TEST_WORKER_CATALOG";

/// Starts this test binary again as a worker process ([`worker_process`]) on the catalog.
fn worker(catalog: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER_CATALOG, catalog)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Not a test by itself: when started by [`killed_workers_resume_s3_copies`] (with
/// `XBAK_TEST_WORKER_CATALOG` set), it is the worker process that gets killed: it opens the
/// catalog and its regions as `xbak replicate` would and copies until no copy is pending.
/// Run normally, it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_process() {
    let Ok(path) = std::env::var(WORKER_CATALOG) else {
        return;
    };
    let catalog: std::sync::Arc<dyn xbak_catalog::Catalog> = std::sync::Arc::new(
        xbak_catalog::sqlite::SqliteCatalog::open(std::path::Path::new(&path))
            .await
            .unwrap(),
    );
    let regions = xbak_replicator::regions_from_catalog(&*catalog)
        .await
        .unwrap();
    let replicator = Replicator::new(catalog.clone(), regions, common::config(20));
    loop {
        replicator.run_once().await.unwrap();
        if catalog.copy_counts().await.unwrap().pending == 0 {
            return;
        }
        // A killed predecessor's lease has to run out first.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
