//! Retention of log files end to end: binlog files stored in the instance's local region and
//! copied to the destination, as the streamer and the shipper leave them, then expired by the
//! sweeper at chosen times.

mod common;
mod local;

use chrono::{DateTime, Duration as Days, Utc};
use common::*;
use local::*;
use xbak_catalog::leases::this_process;
use xbak_domain::naming::{log_file_key, log_segment_key};
use xbak_domain::{BinlogPosition, BinlogProgress, Dsn, InstanceConnection, LogSegment, Policy};
use xbak_replicator::{Retention, RetentionSummary};
use xbak_storage::conformance::pattern;
use xbak_storage::{RegionStore, Regions};

/// 2024-03-01 + `n` days: the last event of file `n`.
fn day(n: i64) -> DateTime<Utc> {
    use chrono::TimeZone as _;
    Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap() + Days::days(n)
}

async fn put(store: &RegionStore, key: &str, data: &[u8]) -> String {
    let staged = store.upload_staged(key, data, &|_| {}).await.unwrap();
    store.publish(&staged, key).await.unwrap();
    staged.checksum().sha256
}

async fn read(store: &RegionStore, key: &str) -> Vec<u8> {
    use futures::TryStreamExt as _;
    let (_, chunks) = store.get(key, None).await.unwrap();
    let chunks: Vec<_> = chunks.try_collect().await.unwrap();
    chunks.concat()
}

/// Turns the world's log backup on (7 days' retention) and claims its stream; the lease token.
async fn stream(w: &World) -> String {
    let policy = Policy {
        instance_id: w.instance.id,
        enabled: true,
        dest_region_id: DEST.into(),
        retention_days: 7,
        updated_at: Utc::now(),
    };
    w.catalog
        .put_cross_backup_policy(&policy, true)
        .await
        .unwrap();
    let connection = InstanceConnection {
        instance_id: w.instance.id,
        dsn: Dsn::parse("mysql://repl@127.0.0.1:3306").unwrap(),
        standby: None,
    };
    w.catalog
        .put_instance_connection(&connection)
        .await
        .unwrap();
    let lease = std::time::Duration::from_secs(600);
    let claim = w
        .catalog
        .claim_binlog_stream_by(Utc::now(), lease, this_process())
        .await
        .unwrap()
        .expect("the stream is claimable");
    claim.lease_token
}

/// Stores closed file `bin.00000{n}` (last event on day `n`) in the source region and records
/// it, as the streamer does; returns its key.
async fn close_file(w: &World, token: &str, n: i64) -> String {
    let name = format!("bin.00000{n}");
    let key = log_file_key(&w.instance.db_instance_id, &name);
    let data = pattern(1000, n as u64);
    let sha256 = put(&w.source, &key, &data).await;
    let progress = BinlogProgress::Closed {
        file_name: name,
        size: data.len() as u64,
        sha256,
        crc64: 1,
        object_key: key.clone(),
        first_event_at: Some(day(n) - Days::hours(1)),
        last_event_at: Some(day(n)),
        position: BinlogPosition::start_of(&format!("bin.00000{}", n + 1), ""),
    };
    let now = Utc::now();
    w.catalog
        .advance_binlog_stream(w.instance.id, token, &progress, now)
        .await
        .unwrap();
    key
}

/// Stores the first segment of open file `bin.00000{n}` (its only event on day 0: open files
/// never expire, however old) and records it; returns its key.
async fn open_file(w: &World, token: &str, n: i64) -> String {
    let name = format!("bin.00000{n}");
    let data = pattern(96, 99);
    let key = log_segment_key(&w.instance.db_instance_id, &name, 4, 100);
    let sha256 = put(&w.source, &key, &data).await;
    let progress = BinlogProgress::Segment {
        file_name: name.clone(),
        segment: LogSegment {
            offset: 4,
            size: 96,
            sha256,
            object_key: key.clone(),
        },
        first_event_at: Some(day(0)),
        last_event_at: Some(day(0)),
        position: BinlogPosition {
            file: name,
            offset: 100,
            gtid_state: String::new(),
        },
    };
    w.catalog
        .advance_binlog_stream(w.instance.id, token, &progress, Utc::now())
        .await
        .unwrap();
    key
}

/// Copies every object of the source region's files to the destination and records the
/// copies, as the shipper does.
async fn ship_all(w: &World, token: &str) {
    for file in w.catalog.log_files(w.instance.id).await.unwrap() {
        let keys: Vec<_> = file
            .object_key
            .iter()
            .cloned()
            .chain(file.segments.iter().map(|s| s.object_key.clone()))
            .collect();
        for key in keys {
            let data = read(&w.source, &key).await;
            put(&w.dest, &key, &data).await;
        }
        w.catalog
            .record_log_copy(w.instance.id, token, &file, DEST, Utc::now())
            .await
            .unwrap();
    }
}

/// `(file, region)` of every listed log file of the world's instance.
async fn listed(w: &World) -> Vec<(String, String)> {
    let files = w.catalog.log_files(w.instance.id).await.unwrap();
    files
        .into_iter()
        .map(|f| (f.file_name, f.region_id))
        .collect()
}

async fn exists(store: &RegionStore, key: &str) -> bool {
    store.head(key).await.unwrap().is_some()
}

fn log_files(deleted: u64, failed: u64) -> RetentionSummary {
    RetentionSummary {
        log_files_deleted: deleted,
        log_files_failed: failed,
        ..RetentionSummary::default()
    }
}

/// Exactly the closed files past retention are deleted, objects and rows, in both regions
/// (with the segments a killed streamer left of them); newer files and the open file keep
/// theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_the_expired_log_files_are_deleted_in_both_regions() {
    let w = World::new().await;
    let token = stream(&w).await;
    let old = close_file(&w, &token, 1).await;
    let kept = close_file(&w, &token, 2).await;
    let segment = open_file(&w, &token, 3).await;
    ship_all(&w, &token).await;
    // A segment of bin.000001 a killed streamer published but never dropped.
    let leftover = log_segment_key(&w.instance.db_instance_id, "bin.000001", 4, 50);
    put(&w.source, &leftover, b"left behind").await;
    assert_eq!(listed(&w).await.len(), 6);
    let retention = Retention::new(w.catalog.clone(), w.regions());

    // Exactly seven days after bin.000002's last event: only bin.000001 is older.
    let now = day(2) + Days::days(7);
    assert_eq!(retention.sweep(now).await.unwrap(), log_files(2, 0));
    for store in [&w.source, &w.dest] {
        assert!(!exists(store, &old).await, "{}", store.region_id());
        assert!(exists(store, &kept).await, "{}", store.region_id());
        assert!(exists(store, &segment).await, "{}", store.region_id());
    }
    assert!(!exists(&w.source, &leftover).await, "leftover segment");
    let want: Vec<(String, String)> = [
        ("bin.000002", SOURCE),
        ("bin.000002", DEST),
        ("bin.000003", SOURCE),
        ("bin.000003", DEST),
    ]
    .iter()
    .map(|(f, r)| (f.to_string(), r.to_string()))
    .collect();
    assert_eq!(listed(&w).await, want);
    assert!(w.catalog.expiring_log_objects(10).await.unwrap().is_empty());
    assert_eq!(
        retention.sweep(now).await.unwrap(),
        RetentionSummary::default()
    );
}

/// A sweeper that crashed right after `begin_log_expiry`: the file is no longer listed though
/// its object is still there; the next sweep (a fresh process, regions opened from the catalog)
/// deletes the object, a missing object counting as deleted, then the tombstone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_begin_log_expiry_is_finished_by_the_next_sweep() {
    let w = World::new().await;
    let token = stream(&w).await;
    let key = close_file(&w, &token, 1).await;
    ship_all(&w, &token).await;
    let now = day(1) + Days::days(7) + Days::seconds(1);
    let expired = w.catalog.expired_log_files(now, 10).await.unwrap();
    assert_eq!(expired.len(), 2);
    for file in &expired {
        w.catalog
            .begin_log_expiry(file.log_file_id, now)
            .await
            .unwrap()
            .unwrap();
    }
    assert!(listed(&w).await.is_empty());
    assert!(exists(&w.source, &key).await && exists(&w.dest, &key).await);
    // The destination's object is already gone (the crash came after deleting it).
    w.dest.delete(&key).await.unwrap();

    let retention = Retention::new(w.catalog.clone(), Regions::new());
    assert_eq!(retention.sweep(now).await.unwrap(), log_files(2, 0));
    assert!(!exists(&w.source, &key).await);
    assert!(w.catalog.expiring_log_objects(10).await.unwrap().is_empty());
}

/// A region that refuses deletes: the expired file leaves listings at once but keeps its
/// tombstone (counted as failed) until a sweep after the fault clears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_log_object_delete_keeps_the_tombstone_until_a_later_sweep() {
    let w = World::new().await;
    let token = stream(&w).await;
    let key = close_file(&w, &token, 1).await;
    ship_all(&w, &token).await;
    let now = day(1) + Days::days(7) + Days::seconds(1);
    let retention = Retention::new(w.catalog.clone(), w.regions());
    w.dest_faults.refuse_deletes(true);

    assert_eq!(retention.sweep(now).await.unwrap(), log_files(1, 1));
    assert!(listed(&w).await.is_empty());
    assert_eq!(w.catalog.expiring_log_objects(10).await.unwrap().len(), 1);
    assert!(!exists(&w.source, &key).await);
    assert!(exists(&w.dest, &key).await);

    w.dest_faults.refuse_deletes(false);
    assert_eq!(retention.sweep(now).await.unwrap(), log_files(1, 0));
    assert!(!exists(&w.dest, &key).await);
    assert!(w.catalog.expiring_log_objects(10).await.unwrap().is_empty());
}
