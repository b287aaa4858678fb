//! Continuous binlog backup: stream claims under the log-backup switch, and the progress a
//! streamer records (segments, closed files, gaps) with its durable position.

use xbak_domain::binlog::BINLOG_FIRST_EVENT;
use xbak_domain::{
    BinlogPosition, BinlogProgress, Dsn, InstanceConnection, LogFileState, LogSegment,
};

use super::*;
use crate::{CatalogError, LeasedQueue};

/// Turns the world's log backup on or off (the data policy stays on) and gives it a connection.
async fn log_backup(w: &World, on: bool) {
    let policy = Policy {
        instance_id: w.instance.id,
        enabled: true,
        dest_region_id: SHANGHAI.into(),
        retention_days: 7,
        updated_at: clock(),
    };
    w.cat.put_cross_backup_policy(&policy, on).await.unwrap();
    let connection = InstanceConnection {
        instance_id: w.instance.id,
        dsn: Dsn::parse("mysql://repl@127.0.0.1:3306").unwrap(),
        standby: None,
    };
    w.cat.put_instance_connection(&connection).await.unwrap();
}

fn at(file: &str, offset: u64, gtid: &str) -> BinlogPosition {
    BinlogPosition {
        file: file.into(),
        offset,
        gtid_state: gtid.into(),
    }
}

pub(super) fn segment(file: &str, offset: u64, size: u64) -> BinlogProgress {
    BinlogProgress::Segment {
        file_name: file.into(),
        segment: LogSegment {
            offset,
            size,
            sha256: format!("{:064x}", offset + size),
            object_key: format!("binlogs/rm-a/{file}.segments/{offset}"),
        },
        first_event_at: Some(t0() + secs(offset as i64)),
        last_event_at: Some(t0() + secs((offset + size) as i64)),
        position: at(file, offset + size, &format!("0-1-{}", offset + size)),
    }
}

pub async fn binlog_streams_are_claimed_only_with_log_backup_on(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let holder = crate::leases::this_process();
    let now = clock();
    let try_claim = || async {
        cat.claim_binlog_stream_by(now, LEASE, holder)
            .await
            .unwrap()
    };
    log_backup(&w, false).await;
    assert_eq!(try_claim().await, None, "log backup off");

    log_backup(&w, true).await;
    let claim = try_claim().await.expect("claimed");
    assert_eq!(
        (claim.instance_id, claim.position.clone()),
        (w.instance.id, None)
    );
    assert_eq!(try_claim().await, None, "held");
    let held = cat
        .held_leases(LeasedQueue::BinlogStreams, now)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].id, held[0].holder.as_ref()),
        (w.instance.id, Some(holder))
    );

    let token = &claim.lease_token;
    assert!(cat
        .renew_binlog_stream(w.instance.id, token, now + LEASE)
        .await
        .unwrap());
    log_backup(&w, false).await;
    assert!(
        !cat.renew_binlog_stream(w.instance.id, token, now + LEASE)
            .await
            .unwrap(),
        "turned off"
    );
    cat.release_binlog_stream(w.instance.id, token)
        .await
        .unwrap();
    assert!(matches!(
        cat.renew_binlog_stream(w.instance.id, token, now + LEASE)
            .await,
        Err(CatalogError::LeaseLost(_))
    ));

    // On again: claimable at once after a release; after the lease ran out, a new claimer gets
    // the stream with its position and the old token is refused.
    log_backup(&w, true).await;
    let first = try_claim().await.expect("released");
    cat.advance_binlog_stream(
        w.instance.id,
        &first.lease_token,
        &segment("bin.000001", 4, 96),
        now,
    )
    .await
    .unwrap();
    let later = now + LEASE + secs(1);
    let second = backend
        .open()
        .await
        .claim_binlog_stream_by(later, LEASE, holder)
        .await
        .unwrap();
    let second = second.expect("lease ran out");
    assert_eq!(second.position, Some(at("bin.000001", 100, "0-1-100")));
    assert!(matches!(
        cat.advance_binlog_stream(
            w.instance.id,
            &first.lease_token,
            &segment("bin.000001", 100, 5),
            later
        )
        .await,
        Err(CatalogError::LeaseLost(_))
    ));
    assert!(matches!(
        cat.break_lease(
            LeasedQueue::BinlogStreams,
            w.instance.id,
            &second.lease_token,
            later
        )
        .await,
        Ok(true)
    ));
}

/// A world with log backup on and its stream claimed; the lease token.
pub(super) async fn streaming_world(backend: &dyn Backend) -> (World, String) {
    let w = world(backend).await;
    log_backup(&w, true).await;
    let holder = crate::leases::this_process();
    let claim = w
        .cat
        .claim_binlog_stream_by(clock(), LEASE, holder)
        .await
        .unwrap()
        .unwrap();
    (w, claim.lease_token)
}

pub async fn binlog_progress_records_segments_closed_files_and_gaps(backend: &dyn Backend) {
    let (w, token) = streaming_world(backend).await;
    let (cat, now, id, token) = (&*w.cat, clock(), w.instance.id, token.as_str());
    let freshness = |recovery_point, gaps, destination_recovery_point| crate::LogBackupFreshness {
        db_instance_id: w.instance.db_instance_id.clone(),
        recovery_point,
        gaps,
        destination_recovery_point,
    };
    assert_eq!(
        cat.log_backup_freshness().await.unwrap(),
        [freshness(None, 0, None)],
        "a claimed stream with nothing stored yet"
    );

    cat.advance_binlog_stream(
        id,
        token,
        &segment("bin.000001", BINLOG_FIRST_EVENT, 96),
        now,
    )
    .await
    .unwrap();
    cat.advance_binlog_stream(id, token, &segment("bin.000001", 100, 50), now)
        .await
        .unwrap();
    for wrong in [
        segment("bin.000001", 100, 10),
        segment("bin.000002", 100, 10),
    ] {
        assert!(
            matches!(
                cat.advance_binlog_stream(id, token, &wrong, now).await,
                Err(CatalogError::Conflict(_))
            ),
            "{wrong:?} does not continue the stored file"
        );
    }
    assert_eq!(
        cat.binlog_position(id).await.unwrap(),
        Some(at("bin.000001", 150, "0-1-150"))
    );
    let open = cat.log_files(id).await.unwrap();
    let segments: Vec<_> = open[0]
        .segments
        .iter()
        .map(|s| (s.offset, s.size))
        .collect();
    assert_eq!(
        (open[0].state, segments),
        (
            LogFileState::Open,
            vec![(BINLOG_FIRST_EVENT, 96), (100, 50)]
        )
    );

    let closed = |file: &str, size: u64, next: &str| BinlogProgress::Closed {
        file_name: file.into(),
        size,
        sha256: "ab".repeat(32),
        crc64: u64::MAX - size,
        object_key: format!("binlogs/rm-a/{file}"),
        first_event_at: Some(t0()),
        last_event_at: Some(t0() + secs(200)),
        position: BinlogPosition::start_of(next, "0-1-200"),
    };
    cat.advance_binlog_stream(id, token, &closed("bin.000001", 200, "bin.000002"), now)
        .await
        .unwrap();
    // A file closed before its first segment is recorded whole.
    cat.advance_binlog_stream(id, token, &closed("bin.000002", 300, "bin.000003"), now)
        .await
        .unwrap();
    let gap = BinlogProgress::Gap {
        reason: "purged on the source before it was read".into(),
        from_time: Some(t0() + secs(200)),
        position: BinlogPosition::start_of("bin.000005", "0-1-900"),
    };
    cat.advance_binlog_stream(id, token, &gap, now)
        .await
        .unwrap();

    // The destination's copy of a closed file: recorded once, under the lease.
    let closed_first = cat
        .log_files(id)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.file_name == "bin.000001")
        .unwrap();
    assert!(cat
        .record_log_copy(id, token, &closed_first, SHANGHAI, now)
        .await
        .unwrap());
    assert!(
        !cat.record_log_copy(id, token, &closed_first, SHANGHAI, now)
            .await
            .unwrap(),
        "once"
    );
    assert!(matches!(
        cat.record_log_copy(id, "not-the-token", &closed_first, SHANGHAI, now)
            .await,
        Err(CatalogError::LeaseLost(_))
    ));

    let again = backend.open().await;
    let all = again.log_files(id).await.unwrap();
    let copied: Vec<_> = all.iter().filter(|f| f.region_id == SHANGHAI).collect();
    assert_eq!(copied.len(), 1);
    assert_eq!(
        (
            copied[0].file_name.as_str(),
            copied[0].state,
            copied[0].size,
            copied[0].crc64
        ),
        (
            "bin.000001",
            LogFileState::Closed,
            200,
            Some(u64::MAX - 200)
        )
    );
    let files: Vec<_> = all
        .into_iter()
        .filter(|f| f.region_id == HANGZHOU)
        .collect();
    let summary: Vec<_> = files
        .iter()
        .map(|f| {
            (
                f.file_name.as_str(),
                f.sequence,
                f.size,
                f.state,
                f.segments.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("bin.000001", 1, 200, LogFileState::Closed, 0),
            ("bin.000002", 2, 300, LogFileState::Closed, 0),
        ]
    );
    let first = &files[0];
    assert_eq!(first.region_id, HANGZHOU);
    assert_eq!(
        (first.first_event_at, first.last_event_at),
        (Some(t0() + secs(4)), Some(t0() + secs(200)))
    );
    assert_eq!(first.object_key.as_deref(), Some("binlogs/rm-a/bin.000001"));
    // Above i64::MAX: kept whole, as the decimal the API shows.
    assert_eq!(
        (first.crc64, files[1].crc64),
        (Some(u64::MAX - 200), Some(u64::MAX - 300))
    );
    let gaps = again.log_gaps(id).await.unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (
            gaps[0].from_file.as_str(),
            gaps[0].from_offset,
            gaps[0].to_file.as_str(),
            gaps[0].to_offset
        ),
        ("bin.000003", 4, "bin.000005", 4)
    );
    assert_eq!(gaps[0].from_time, Some(t0() + secs(200)));
    assert_eq!(
        again.binlog_position(id).await.unwrap(),
        Some(at("bin.000005", 4, "0-1-900"))
    );
    assert!(again.log_files(9_999).await.unwrap().is_empty());
    assert_eq!(
        again.log_backup_freshness().await.unwrap(),
        [freshness(Some(t0() + secs(200)), 1, Some(t0() + secs(200)))]
    );
}

/// The open file's copy in the destination grows segment by segment, then is closed by the
/// whole file's copy (its segment rows dropped).
pub async fn open_files_are_copied_segment_by_segment(backend: &dyn Backend) {
    let (w, token) = streaming_world(backend).await;
    let (cat, now, id, token) = (&*w.cat, clock(), w.instance.id, token.as_str());
    let source_file = || async {
        cat.log_files(id)
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.region_id != SHANGHAI)
            .unwrap()
    };
    let copy = || async {
        cat.log_files(id)
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.region_id == SHANGHAI)
    };
    let seg = |offset, size| segment("bin.000001", offset, size);
    cat.advance_binlog_stream(id, token, &seg(BINLOG_FIRST_EVENT, 96), now)
        .await
        .unwrap();
    let one = source_file().await;
    assert!(cat
        .record_log_copy(id, token, &one, SHANGHAI, now)
        .await
        .unwrap());
    assert!(
        !cat.record_log_copy(id, token, &one, SHANGHAI, now)
            .await
            .unwrap(),
        "nothing new"
    );
    for (offset, size) in [(100, 50), (150, 25)] {
        cat.advance_binlog_stream(id, token, &seg(offset, size), now)
            .await
            .unwrap();
    }
    let three = source_file().await;
    assert!(cat
        .record_log_copy(id, token, &three, SHANGHAI, now)
        .await
        .unwrap());
    let copied = copy().await.unwrap();
    let shape = |f: &xbak_domain::LogFile| {
        let segments: Vec<_> = f
            .segments
            .iter()
            .map(|s| (s.offset, s.size, s.object_key.clone()))
            .collect();
        (f.state, f.size, f.first_event_at, f.last_event_at, segments)
    };
    assert_eq!(
        shape(&copied),
        shape(&three),
        "the copy holds what the source holds"
    );
    assert_eq!(copied.size, 175);

    let closed = BinlogProgress::Closed {
        file_name: "bin.000001".into(),
        size: 300,
        sha256: "cd".repeat(32),
        crc64: 7,
        object_key: "binlogs/rm-a/bin.000001".into(),
        first_event_at: Some(t0()),
        last_event_at: Some(t0() + secs(300)),
        position: BinlogPosition::start_of("bin.000002", "0-1-300"),
    };
    cat.advance_binlog_stream(id, token, &closed, now)
        .await
        .unwrap();
    let whole = source_file().await;
    // A round that read the file while open, recorded after it closed: nothing goes backwards.
    assert!(cat
        .record_log_copy(id, token, &whole, SHANGHAI, now)
        .await
        .unwrap());
    assert!(!cat
        .record_log_copy(id, token, &three, SHANGHAI, now)
        .await
        .unwrap());
    let copied = backend.open().await.log_files(id).await.unwrap();
    let copied = copied.iter().find(|f| f.region_id == SHANGHAI).unwrap();
    assert_eq!(
        (
            copied.state,
            copied.size,
            copied.crc64,
            copied.segments.len()
        ),
        (LogFileState::Closed, 300, Some(7), 0)
    );
    assert!(matches!(
        cat.record_log_copy(id, "not-the-token", &whole, SHANGHAI, now)
            .await,
        Err(CatalogError::LeaseLost(_))
    ));
}
