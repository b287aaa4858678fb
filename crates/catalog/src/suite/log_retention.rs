//! Retention of log files (`expired_log_files`, `begin_log_expiry`, `expiring_log_objects`,
//! `finish_log_expiry`), and what it means for the log shipper's `record_log_copy`.

use xbak_domain::time::Timestamp;
use xbak_domain::{
    BinlogPosition, BinlogProgress, Dsn, Instance, InstanceConnection, LogFile, LogFileState,
};

use super::binlogs::{segment, streaming_world};
use super::*;
use crate::{ExpiredLogFile, ExpiringLogObject};

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

/// `file` of `db_instance_id` closed, its last event at `last` (none: no event time at all).
fn closed(db_instance_id: &str, file: &str, last: Option<Timestamp>) -> BinlogProgress {
    let next = format!("{file}9");
    BinlogProgress::Closed {
        file_name: file.into(),
        size: 200,
        sha256: "ab".repeat(32),
        crc64: 1,
        object_key: format!("binlogs/{db_instance_id}/{file}"),
        first_event_at: last.map(|t| t - secs(60)),
        last_event_at: last,
        position: BinlogPosition::start_of(&next, ""),
    }
}

async fn files_of(cat: &dyn Catalog, instance_id: i64) -> Vec<LogFile> {
    cat.log_files(instance_id).await.unwrap()
}

/// The row of `file` in `region`.
async fn row(cat: &dyn Catalog, instance_id: i64, file: &str, region: &str) -> Option<LogFile> {
    files_of(cat, instance_id)
        .await
        .into_iter()
        .find(|f| f.file_name == file && f.region_id == region)
}

/// Records `progress` under the stream's lease, then copies what the destination lacks of every
/// file to Shanghai, as the shipper does.
async fn store_and_ship(cat: &dyn Catalog, id: i64, token: &str, progress: &[BinlogProgress]) {
    for p in progress {
        cat.advance_binlog_stream(id, token, p, clock())
            .await
            .unwrap();
    }
    for file in files_of(cat, id).await {
        if file.region_id == HANGZHOU {
            cat.record_log_copy(id, token, &file, SHANGHAI, clock())
                .await
                .unwrap();
        }
    }
}

/// A second instance whose policy keeps 30 days and ships logs, with its stream claimed; the
/// lease token.
async fn second_streaming_instance(w: &World) -> (Instance, String) {
    let cat = &*w.cat;
    let b = w.bare_instance("rm-b").await;
    let policy = Policy {
        instance_id: b.id,
        enabled: true,
        dest_region_id: SHANGHAI.into(),
        retention_days: 30,
        updated_at: clock(),
    };
    cat.put_cross_backup_policy(&policy, true).await.unwrap();
    let connection = InstanceConnection {
        instance_id: b.id,
        dsn: Dsn::parse("mysql://repl@127.0.0.1:3306").unwrap(),
        standby: None,
    };
    cat.put_instance_connection(&connection).await.unwrap();
    let claim = cat
        .claim_binlog_stream_by(clock(), LEASE, crate::leases::this_process())
        .await
        .unwrap()
        .expect("rm-b's stream");
    assert_eq!(claim.instance_id, b.id);
    (b, claim.lease_token)
}

fn expired_rows(expired: &[ExpiredLogFile]) -> Vec<(String, String)> {
    expired
        .iter()
        .map(|e| (e.file_name.clone(), e.region_id.clone()))
        .collect()
}

fn rows_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(f, r)| (f.to_string(), r.to_string()))
        .collect()
}

/// Exactly the closed log files whose last event is strictly older than their instance policy's
/// retention expire, in the instance's region and in the destination alike, oldest first,
/// whether the policy is on or off; open files and files with no event time never do.
pub async fn expired_log_files_follow_the_policy_retention(backend: &dyn Backend) {
    let (w, token) = streaming_world(backend).await;
    let (cat, id) = (&*w.cat, w.instance.id);
    store_and_ship(
        cat,
        id,
        &token,
        &[
            closed("rm-a", "bin.000001", Some(t0() + days(1))),
            closed("rm-a", "bin.000002", Some(t0() + days(2))),
            closed("rm-a", "bin.000003", None),
            segment("bin.000004", 4, 96),
        ],
    )
    .await;
    let (b, b_token) = second_streaming_instance(&w).await;
    store_and_ship(
        cat,
        b.id,
        &b_token,
        &[closed("rm-b", "bin.000001", Some(t0() + days(1)))],
    )
    .await;
    assert_eq!(
        files_of(cat, id).await.len(),
        8,
        "four files in two regions"
    );
    // Turning the policy off keeps the log files until they expire.
    set_policy(cat, &w.instance, false, SHANGHAI).await;

    // Exactly 7 days after bin.000002's last event: only bin.000001 is older.
    let expired = cat.expired_log_files(t0() + days(9), 100).await.unwrap();
    let want = [("bin.000001", HANGZHOU), ("bin.000001", SHANGHAI)];
    assert_eq!(expired_rows(&expired), rows_of(&want));
    let home = row(cat, id, "bin.000001", HANGZHOU).await.unwrap();
    assert_eq!(
        expired[0],
        ExpiredLogFile {
            log_file_id: home.id,
            instance_id: id,
            region_id: HANGZHOU.into(),
            file_name: "bin.000001".into(),
            object_key: "binlogs/rm-a/bin.000001".into(),
            last_event_at: t0() + days(1),
        }
    );
    let now = t0() + days(9) + secs(1);
    let expired = cat.expired_log_files(now, 100).await.unwrap();
    let want = [
        ("bin.000001", HANGZHOU),
        ("bin.000001", SHANGHAI),
        ("bin.000002", HANGZHOU),
        ("bin.000002", SHANGHAI),
    ];
    assert_eq!(expired_rows(&expired), rows_of(&want));
    assert!(
        expired.iter().all(|e| e.instance_id == id),
        "rm-b keeps 30 days"
    );
    // The limit keeps the oldest.
    let first = cat.expired_log_files(now, 1).await.unwrap();
    assert_eq!(expired_rows(&first), rows_of(&want[..1]));
    // Long after: the file with no event time and the open file are still kept.
    let late = t0() + days(1000);
    let expired = cat.expired_log_files(late, 100).await.unwrap();
    let names: Vec<_> = expired
        .iter()
        .map(|e| (e.instance_id, e.file_name.as_str()))
        .collect();
    assert_eq!(names.len(), 6);
    assert!(!names.contains(&(id, "bin.000003")));
    assert!(!names.contains(&(id, "bin.000004")));
    assert!(names.contains(&(b.id, "bin.000001")));
    let open = row(cat, id, "bin.000004", HANGZHOU).await.unwrap();
    assert_eq!(open.state, LogFileState::Open);
    assert!(
        cat.begin_log_expiry(open.id, late).await.unwrap().is_none(),
        "open files are never expired"
    );

    for e in cat.expired_log_files(now, 100).await.unwrap() {
        let begun = cat.begin_log_expiry(e.log_file_id, now).await.unwrap();
        assert_eq!(
            begun,
            Some(ExpiringLogObject {
                log_file_id: e.log_file_id,
                instance_id: id,
                region_id: e.region_id.clone(),
                object_key: e.object_key.clone(),
            })
        );
        assert!(cat.finish_log_expiry(e.log_file_id).await.unwrap());
    }
    assert!(cat.expired_log_files(now, 100).await.unwrap().is_empty());
    let left: Vec<_> = files_of(cat, id)
        .await
        .into_iter()
        .map(|f| (f.file_name, f.region_id))
        .collect();
    let want = [
        ("bin.000003", HANGZHOU),
        ("bin.000003", SHANGHAI),
        ("bin.000004", HANGZHOU),
        ("bin.000004", SHANGHAI),
    ];
    assert_eq!(left, rows_of(&want));
    assert_eq!(files_of(cat, b.id).await.len(), 2);
}

/// Beginning a log file's expiry takes its row out of `log_files` at once (so out of listings
/// and recovery windows) while a tombstone still names its object, listed oldest first until
/// finished; of concurrent begins exactly one gets the file; finishing twice is harmless;
/// tombstones survive reopening; beginning moves the change token.
pub async fn begun_log_expiry_hides_the_file_until_finished(backend: &dyn Backend) {
    let (w, token) = streaming_world(backend).await;
    let (cat, id) = (&*w.cat, w.instance.id);
    store_and_ship(
        cat,
        id,
        &token,
        &[
            closed("rm-a", "bin.000001", Some(t0())),
            closed("rm-a", "bin.000002", Some(t0() + secs(1))),
        ],
    )
    .await;
    let first = row(cat, id, "bin.000001", SHANGHAI).await.unwrap();
    let second = row(cat, id, "bin.000002", HANGZHOU).await.unwrap();
    let tombstone = |f: &LogFile| ExpiringLogObject {
        log_file_id: f.id,
        instance_id: id,
        region_id: f.region_id.clone(),
        object_key: f.object_key.clone().unwrap(),
    };
    let now = t0() + days(30);

    let before = cat.change_token().await.unwrap();
    let begun = cat.begin_log_expiry(first.id, now).await.unwrap();
    assert_eq!(begun, Some(tombstone(&first)));
    assert_ne!(cat.change_token().await.unwrap(), before, "a counted write");
    assert!(row(cat, id, "bin.000001", SHANGHAI).await.is_none());
    assert!(row(cat, id, "bin.000001", HANGZHOU).await.is_some());
    assert_eq!(
        cat.expiring_log_objects(100).await.unwrap(),
        vec![tombstone(&first)]
    );
    assert!(cat.begin_log_expiry(first.id, now).await.unwrap().is_none());
    let expired = cat.expired_log_files(now, 100).await.unwrap();
    assert!(expired.iter().all(|e| e.log_file_id != first.id));

    // Two sweepers begin the same file at once: one gets it.
    let (one, two) = (backend.open().await, backend.open().await);
    let (a, b) = tokio::join!(
        one.begin_log_expiry(second.id, now + secs(1)),
        two.begin_log_expiry(second.id, now + secs(1)),
    );
    let winners: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(winners, vec![tombstone(&second)]);

    // Tombstones outlive the handle, oldest first, until finished.
    let again = backend.open().await;
    assert_eq!(
        again.expiring_log_objects(100).await.unwrap(),
        vec![tombstone(&first), tombstone(&second)]
    );
    assert_eq!(
        again.expiring_log_objects(1).await.unwrap(),
        vec![tombstone(&first)]
    );
    assert!(again.finish_log_expiry(first.id).await.unwrap());
    assert!(!again.finish_log_expiry(first.id).await.unwrap(), "twice");
    assert_eq!(
        again.expiring_log_objects(100).await.unwrap(),
        vec![tombstone(&second)]
    );
    assert!(again.finish_log_expiry(second.id).await.unwrap());
    assert!(again.expiring_log_objects(100).await.unwrap().is_empty());
    let left: Vec<_> = files_of(cat, id)
        .await
        .into_iter()
        .map(|f| (f.file_name, f.region_id))
        .collect();
    let want = [("bin.000001", HANGZHOU), ("bin.000002", SHANGHAI)];
    assert_eq!(left, rows_of(&want));
}

/// A shipper that read a closed file before retention expired it in the instance's region
/// records nothing when it then copies it: the destination never gets back a file the
/// instance's region no longer holds.
pub async fn a_log_copy_never_brings_back_an_expired_file(backend: &dyn Backend) {
    let (w, token) = streaming_world(backend).await;
    let (cat, id, token) = (&*w.cat, w.instance.id, token.as_str());
    let progress = closed("rm-a", "bin.000001", Some(t0()));
    cat.advance_binlog_stream(id, token, &progress, clock())
        .await
        .unwrap();
    let read = row(cat, id, "bin.000001", HANGZHOU).await.unwrap();
    assert!(cat
        .begin_log_expiry(read.id, t0() + days(30))
        .await
        .unwrap()
        .is_some());

    let recorded = cat
        .record_log_copy(id, token, &read, SHANGHAI, clock())
        .await
        .unwrap();
    assert!(!recorded);
    assert!(files_of(cat, id).await.is_empty());
    assert!(cat
        .expired_log_files(t0() + days(30), 100)
        .await
        .unwrap()
        .is_empty());
}
