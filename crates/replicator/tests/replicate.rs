//! The replicator end to end: a real SQLite catalog, two local regions, faults injected in
//! front of them.

mod common;
mod local;

use common::*;
use local::*;
use std::sync::atomic::Ordering;
use std::time::Duration;
use xbak_domain::CopyStatus;
use xbak_replicator::{CopyEvent, Replicator, RunSummary};
use xbak_storage::conformance::pattern;
use xbak_storage::faults::ReadFault;
use xbak_storage::PART_SIZE;

const MIB: usize = 1024 * 1024;

async fn status(w: &World, copy_id: i64) -> CopyStatus {
    w.catalog
        .copy(copy_id)
        .await
        .unwrap()
        .expect("copy exists")
        .status
}

/// The `Failed` events of `copy_id`, as (error, will_retry).
fn failures(events: &[CopyEvent], copy_id: i64) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            CopyEvent::Failed {
                copy_id: id,
                error,
                will_retry,
            } if *id == copy_id => Some((error.clone(), *will_retry)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_verified_published_and_completed() {
    let w = World::new().await;
    let big = pattern(2 * PART_SIZE + 12345, 1);
    let small = pattern(1000, 2);
    let (big_id, big_key) = w.add_set(1, &big).await;
    let (small_id, small_key) = w.add_set(2, &small).await;
    let replicator = w.replicator(config(3));
    let mut rx = replicator.subscribe();

    let summary = replicator.run_once().await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            completed: 2,
            bytes: (big.len() + small.len()) as u64,
            ..RunSummary::default()
        }
    );

    let mut keys = vec![big_key.clone(), small_key.clone()];
    keys.sort();
    assert_eq!(w.dest.list("").await.unwrap(), keys);
    for (key, data) in [(&big_key, &big), (&small_key, &small)] {
        let (_, bytes) = xbak_storage::conformance::read(&w.dest, key, None)
            .await
            .unwrap();
        assert!(bytes == *data, "{key} differs");
    }
    assert_eq!(status(&w, big_id).await, CopyStatus::Completed);
    assert_eq!(status(&w, small_id).await, CopyStatus::Completed);
    let listing = w
        .catalog
        .list_copies(&listing_query(w.instance.id))
        .await
        .unwrap();
    assert_eq!(listing.total, 2);
    assert!(
        w.dest_staging_files().is_empty(),
        "{:?}",
        w.dest_staging_files()
    );

    // Each copy reported Started, then progress, then Verified, then Completed.
    let events = drain(&mut rx);
    for (id, size) in [(big_id, big.len() as u64), (small_id, small.len() as u64)] {
        let mine: Vec<&CopyEvent> = events.iter().filter(|e| e.copy_id() == id).collect();
        assert_eq!(
            mine.first(),
            Some(&&CopyEvent::Started { copy_id: id, size })
        );
        let progress: Vec<u64> = mine
            .iter()
            .filter_map(|e| {
                if let CopyEvent::Progress { bytes, .. } = e {
                    Some(*bytes)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(progress.last(), Some(&size));
        assert!(progress.windows(2).all(|p| p[0] < p[1]));
        let n = mine.len();
        assert_eq!(mine[n - 2], &CopyEvent::Verified { copy_id: id });
        assert!(
            matches!(mine[n - 1], CopyEvent::Completed { copy_id, bytes, .. } if *copy_id == id && *bytes == size)
        );
    }
    assert_eq!(
        replicator.run_once().await.unwrap(),
        RunSummary::default(),
        "nothing left to do"
    );
}

fn listing_query(instance_id: i64) -> xbak_domain::CopyQuery {
    xbak_domain::CopyQuery::first_page(instance_id, xbak_domain::PageSize::Thirty)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_bytes_not_matching_the_recorded_checksum_retry_then_fail() {
    let w = World::new().await;
    let data = pattern(3 * MIB, 3);
    let mut recorded = data.clone();
    recorded[1234] ^= 1;
    let (id, _) = w.add_set_as(1, &recorded, Some(&data)).await;
    let replicator = w.replicator(config(3));
    let mut rx = replicator.subscribe();

    let summary = replicator.run_once().await.unwrap();
    assert_eq!(
        (summary.retried, summary.failed, summary.completed),
        (2, 1, 0)
    );
    assert_eq!(status(&w, id).await, CopyStatus::Failed);
    let failed = failures(&drain(&mut rx), id);
    assert_eq!(
        failed.iter().map(|f| f.1).collect::<Vec<_>>(),
        vec![true, true, false]
    );
    assert!(
        failed[0].0.contains("do not match the recorded checksum"),
        "{}",
        failed[0].0
    );
    assert_eq!(w.dest.list("").await.unwrap(), Vec::<String>::new());
    assert!(
        w.dest_staging_files().is_empty(),
        "{:?}",
        w.dest_staging_files()
    );
    let listing = w
        .catalog
        .list_copies(&listing_query(w.instance.id))
        .await
        .unwrap();
    assert_eq!(listing.items[0].status.backup_set_status(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_recorded_size_fails_before_copying() {
    let w = World::new().await;
    let data = pattern(100_000, 4);
    let (id, _) = w.add_set_as(1, &data[..99_999], Some(&data)).await;
    let replicator = w.replicator(config(2));
    let mut rx = replicator.subscribe();
    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.failed), (1, 1));
    let events = drain(&mut rx);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, CopyEvent::Progress { .. })),
        "copied anyway"
    );
    assert!(failures(&events, id)[0]
        .0
        .contains("100000 bytes, 99999 were recorded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_read_back_is_a_failed_attempt_and_the_retry_completes() {
    let w = World::new().await;
    let (data, id, key) = w.add_pattern_set(1, PART_SIZE + 77, 5).await;
    // The first read of the destination is the verification of the first attempt.
    w.dest_faults.push_read(ReadFault::Corrupt { at: 4242 });
    let replicator = w.replicator(config(3));
    let mut rx = replicator.subscribe();

    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.completed), (1, 1));
    let failed = failures(&drain(&mut rx), id);
    assert!(failed[0].0.contains("checksum mismatch"), "{}", failed[0].0);
    w.assert_copied(id, &key, &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_object_is_retried_then_failed() {
    let w = World::new().await;
    let (id, _) = w.add_set_as(1, b"never stored", None).await;
    let replicator = w.replicator(config(4));
    let mut rx = replicator.subscribe();

    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.failed), (3, 1));
    assert_eq!(status(&w, id).await, CopyStatus::Failed);
    let failed = failures(&drain(&mut rx), id);
    assert_eq!(failed.len(), 4);
    assert!(
        failed.iter().all(|(e, _)| e.contains("not found")),
        "{failed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_source_streams_are_retried_and_the_copy_completes() {
    let w = World::new().await;
    let (data, id, key) = w.add_pattern_set(1, 3 * PART_SIZE, 6).await;
    w.source_faults.push_read(ReadFault::Cut {
        after: (PART_SIZE + 10) as u64,
    });
    w.source_faults.push_read(ReadFault::Fail);
    let replicator = w.replicator(config(3));

    let summary = replicator.run_once().await.unwrap();
    assert_eq!(
        (summary.retried, summary.completed, summary.failed),
        (2, 1, 0)
    );
    w.assert_copied(id, &key, &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_due_later_stay_queued() {
    let w = World::new().await;
    let (id, _) = w.add_set_as(1, b"missing", None).await;
    let mut cfg = config(3);
    cfg.retry.base = Duration::from_secs(3600);
    cfg.retry.max = Duration::from_secs(3600);
    let replicator = w.replicator(cfg);
    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.failed), (1, 0));
    assert_eq!(status(&w, id).await, CopyStatus::Pending);
    let due = w.catalog.next_copy_due().await.unwrap().unwrap();
    let in_59_minutes = chrono::Utc::now() + chrono::Duration::minutes(59);
    assert!(due > in_59_minutes, "{due}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_leaves_nothing_visible_and_a_later_run_completes_it() {
    let w = World::new().await;
    let (data, id, key) = w.add_pattern_set(1, 3 * PART_SIZE, 7).await;
    let replicator = w.replicator(config(3));
    let mut rx = replicator.subscribe();
    w.source_faults.push_read(ReadFault::Stall {
        after: (PART_SIZE + PART_SIZE / 2) as u64,
    });

    let run = tokio::spawn({
        let r = replicator.clone();
        async move { r.run_once().await }
    });
    // Wait until the first part is in staging, then kill the run.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("progress")
            .unwrap()
        {
            CopyEvent::Progress { bytes, .. } if bytes >= PART_SIZE as u64 => break,
            _ => {}
        }
    }
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(w.dest.list("").await.unwrap(), Vec::<String>::new());
    assert_eq!(w.dest.head(&key).await.unwrap(), None);
    assert_eq!(status(&w, id).await, CopyStatus::Pending);

    // Restart: the lease runs out, a new replicator takes the job over and completes it.
    let restarted = w.replicator(config(3));
    wait_for_leases_to_expire().await;
    let summary = restarted.run_once().await.unwrap();
    assert_eq!(summary.completed, 1);
    w.assert_copied(id, &key, &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_the_stale_lease_expires_staging_is_swept_and_the_copy_succeeds() {
    let w = World::new().await;
    let (data, id, key) = w.add_pattern_set(1, MIB, 8).await;
    // The killed worker: it claimed the job and left a partial upload that nobody cleaned up.
    let job = w
        .catalog
        .claim_copy_job(chrono::Utc::now(), Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.copy_id, id);
    let partial = region_dir(w.dir.path(), DEST)
        .join(".staging/1700000000-killed")
        .join(&key);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(
        partial.with_file_name(format!(
            "{}#1",
            partial.file_name().unwrap().to_str().unwrap()
        )),
        &data[..1000],
    )
    .unwrap();

    let mut cfg = config(3);
    cfg.staging_max_age = Duration::ZERO;
    let restarted = w.replicator(cfg);
    assert_eq!(restarted.sweep_staging().await, 1);
    assert!(w.dest_staging_files().is_empty());
    wait_for_leases_to_expire().await;
    assert_eq!(restarted.run_once().await.unwrap().completed, 1);
    assert_eq!(w.dest.list("").await.unwrap(), vec![key.clone()]);
    assert_eq!(status(&w, id).await, CopyStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_already_published_before_a_crash_completes_without_conflict() {
    let w = World::new().await;
    let (data, id, key) = w.add_pattern_set(1, 5000, 9).await;
    let staged = w
        .dest
        .upload_staged(&key, &data[..], &|_| {})
        .await
        .unwrap();
    w.dest.publish(&staged, &key).await.unwrap();
    let replicator = w.replicator(config(3));
    assert_eq!(replicator.run_once().await.unwrap().completed, 1);
    assert_eq!(status(&w, id).await, CopyStatus::Completed);
    assert!(w.dest_staging_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_bytes_at_the_destination_fail_for_good_at_once() {
    let w = World::new().await;
    let (id, key) = w.add_set(1, &pattern(5000, 10)).await;
    let staged = w
        .dest
        .upload_staged(&key, &b"someone else's"[..], &|_| {})
        .await
        .unwrap();
    w.dest.publish(&staged, &key).await.unwrap();
    let replicator = w.replicator(config(5));
    let mut rx = replicator.subscribe();
    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.failed), (0, 1));
    let failed = failures(&drain(&mut rx), id);
    assert!(
        failed[0].0.contains("already holds different bytes") && !failed[0].1,
        "{failed:?}"
    );
    assert_eq!(
        xbak_storage::conformance::read(&w.dest, &key, None)
            .await
            .unwrap()
            .1,
        b"someone else's"
    );
    assert!(w.dest_staging_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_that_cannot_be_opened_fails_for_good_at_once() {
    let w = World::new().await;
    let (id, _) = w.add_set(1, b"data").await;
    w.catalog
        .put_region(&xbak_domain::Region {
            region_id: DEST.into(),
            store_url: "ftp://nowhere/x".into(),
        })
        .await
        .unwrap();
    // The process knows only the source; the destination is looked up in the catalog.
    let regions = xbak_storage::Regions::new();
    regions.insert((*w.source).clone());
    let replicator = Replicator::new(w.catalog.clone(), regions, config(5));
    let mut rx = replicator.subscribe();
    let summary = replicator.run_once().await.unwrap();
    assert_eq!((summary.retried, summary.failed), (0, 1));
    let failed = failures(&drain(&mut rx), id);
    assert!(
        failed[0].0.contains("cn-shanghai") && failed[0].0.contains("ftp"),
        "{failed:?}"
    );
    assert_eq!(status(&w, id).await, CopyStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_missing_at_start_are_opened_from_the_catalog() {
    let w = World::new().await;
    let (data, _, key) = w.add_pattern_set(1, 2000, 11).await;
    let replicator = Replicator::new(w.catalog.clone(), xbak_storage::Regions::new(), config(1));
    assert_eq!(replicator.run_once().await.unwrap().completed, 1);
    assert_eq!(
        w.dest.checksum(&key).await.unwrap().sha256,
        sha256_hex(&data)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_stops_the_copy_before_publishing() {
    let w = World::new().await;
    let (_, id, key) = w.add_pattern_set(1, 3000, 12).await;
    let (stealing, steal) = stealing_catalog(w.catalog.clone(), id);
    let replicator = Replicator::new(stealing.clone(), w.regions(), config(3));
    let mut rx = replicator.subscribe();

    let only_abandoned = RunSummary {
        abandoned: 1,
        ..RunSummary::default()
    };
    assert_eq!(replicator.run_once().await.unwrap(), only_abandoned);
    assert_eq!(
        w.dest.head(&key).await.unwrap(),
        None,
        "published without the lease"
    );
    assert!(w.dest_staging_files().is_empty());
    assert_eq!(
        failures(&drain(&mut rx), id),
        vec![("lease lost".to_owned(), true)]
    );
    assert_eq!(status(&w, id).await, CopyStatus::Pending);

    // Lost in the middle of a long copy: the renewal notices and the copy stops.
    w.source_faults.push_read(ReadFault::Stall { after: 1000 });
    wait_for_leases_to_expire().await;
    let started = std::time::Instant::now();
    let summary = replicator.run_once().await.unwrap();
    assert_eq!(summary.abandoned, 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(w.dest_staging_files().is_empty());

    steal.store(false, Ordering::SeqCst);
    wait_for_leases_to_expire().await;
    assert_eq!(replicator.run_once().await.unwrap().completed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_copies_new_jobs_as_they_come_and_stops_on_shutdown() {
    let w = World::new().await;
    let replicator = w.replicator(config(3));
    let mut rx = replicator.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn({
        let r = replicator.clone();
        async move { r.run(async { stopped.await.unwrap_or(()) }).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (data, id, key) = w.add_pattern_set(1, 4000, 13).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("completion")
            .unwrap()
        {
            CopyEvent::Completed { copy_id, .. } if copy_id == id => break,
            _ => {}
        }
    }
    assert_eq!(
        w.dest.checksum(&key).await.unwrap().sha256,
        sha256_hex(&data)
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run stops")
        .unwrap()
        .unwrap();
}

/// A bandwidth limit slows copies down but changes nothing else (the limiter's timing is
/// unit-tested on tokio's paused clock in `throttle`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_copies_complete_and_report_their_region() {
    let w = World::new().await;
    let (data, id, key) = w.add_pattern_set(1, 3 * MIB + 17, 9).await;
    let config = xbak_replicator::ReplicatorConfig {
        bwlimit: 256 * MIB as u64,
        ..config(3)
    };
    let replicator = w.replicator(config);
    let mut rx = replicator.subscribe();
    let summary = replicator.run_once().await.unwrap();
    assert_eq!(summary.completed, 1);
    assert_eq!(status(&w, id).await, CopyStatus::Completed);
    assert_eq!(w.dest.head(&key).await.unwrap(), Some(data.len() as u64));
    let events = drain(&mut rx);
    assert!(events.iter().any(|e| matches!(e,
        CopyEvent::Completed { copy_id, dest_region_id, .. } if *copy_id == id && dest_region_id == DEST)));
}
