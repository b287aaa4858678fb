//! `list_copies`: what is listed, filters, order, paging, isolation, and CrossBackupId allocation.

use xbak_domain::{CopyQuery, CopyStatus, PageSize};

use super::*;

/// How many copies `instance_id`'s listing shows when filtered to `copy_id`.
async fn listed_as(cat: &dyn Catalog, instance_id: i64, copy_id: i64) -> u64 {
    let q = CopyQuery {
        cross_backup_id: Some(copy_id),
        ..query(instance_id)
    };
    cat.list_copies(&q).await.unwrap().total
}

pub async fn list_shows_only_completed_and_failed(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let done = record(cat, &w.instance, t0(), 1).await;
    let failed = record(cat, &w.instance, t0() + secs(60), 2).await;
    let in_flight = record(cat, &w.instance, t0() + secs(120), 3).await;
    let now = due();
    for job in claim_all(cat, now).await {
        match job.copy_id {
            id if id == done => cat.complete_copy(id, &job.lease_token, now).await.unwrap(),
            id if id == failed => cat
                .fail_copy_attempt(id, &job.lease_token, "checksum mismatch", None)
                .await
                .unwrap(),
            _ => {} // stays claimed
        }
    }
    let queued = record(cat, &w.instance, t0() + secs(180), 4).await;

    let listing = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!(listing.total, 2);
    assert_eq!(ids(&listing), vec![failed, done]);
    assert_eq!(listing.items[0].status, CopyStatus::Failed);
    assert_eq!(listing.items[0].status.backup_set_status(), 1);
    assert_eq!(listing.items[1].status, CopyStatus::Completed);
    assert_items_show_their_copies(cat, &w.instance, &listing).await;
    assert_eq!(
        cat.copy(done).await.unwrap().unwrap().completed_at,
        Some(now)
    );
    for hidden in [in_flight, queued] {
        assert_eq!(
            cat.copy(hidden).await.unwrap().unwrap().status,
            CopyStatus::Pending
        );
        assert_eq!(
            listed_as(cat, w.instance.id, hidden).await,
            0,
            "pending copy {hidden} listed"
        );
    }
}

pub async fn list_window_is_inclusive_on_backup_start(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let mut by_start = Vec::new();
    for n in 0..4u32 {
        by_start.push(record(cat, &w.instance, t0() + secs(60 * i64::from(n)), n).await);
    }
    settle_all(cat, |_| false).await;
    let window = |from: i64, to: i64| CopyQuery {
        window: Some((t0() + secs(from), t0() + secs(to))),
        ..query(w.instance.id)
    };

    let l = cat.list_copies(&window(60, 120)).await.unwrap();
    assert_eq!(
        (l.total, ids(&l)),
        (2, vec![by_start[2], by_start[1]]),
        "both ends included"
    );
    let l = cat.list_copies(&window(61, 119)).await.unwrap();
    assert_eq!((l.total, l.items.len()), (0, 0), "strictly inside a gap");
    let l = cat.list_copies(&window(0, 0)).await.unwrap();
    assert_eq!(ids(&l), vec![by_start[0]]);
    let l = cat.list_copies(&window(-3600, 3600)).await.unwrap();
    assert_eq!(l.total, 4);
    let l = cat.list_copies(&window(181, 7200)).await.unwrap();
    assert_eq!((l.total, l.items.len()), (0, 0));
}

pub async fn list_filters_by_id_region_and_set(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let to_sh = [
        record(cat, &w.instance, t0(), 1).await,
        record(cat, &w.instance, t0() + secs(60), 2).await,
    ];
    set_policy(cat, &w.instance, true, BEIJING).await;
    let to_bj = [
        record(cat, &w.instance, t0() + secs(120), 3).await,
        record(cat, &w.instance, t0() + secs(180), 4).await,
    ];
    settle_all(cat, |_| false).await;
    let base = query(w.instance.id);
    let set_id = cat.copy(to_sh[1]).await.unwrap().unwrap().backup_set.id;
    let by_id = |id| CopyQuery {
        cross_backup_id: Some(id),
        ..base.clone()
    };
    let to_region = |region: &str| CopyQuery {
        dest_region_id: Some(region.into()),
        ..base.clone()
    };
    let of_set = CopyQuery {
        backup_set_id: Some(set_id),
        ..base.clone()
    };
    let cases = [
        (by_id(to_bj[0]), vec![to_bj[0]]),
        (by_id(to_bj[1] + 1000), vec![]),
        (to_region(SHANGHAI), vec![to_sh[1], to_sh[0]]),
        (to_region(BEIJING), vec![to_bj[1], to_bj[0]]),
        (to_region(HANGZHOU), vec![]),
        (of_set.clone(), vec![to_sh[1]]),
        // Filters combine with AND.
        (
            CopyQuery {
                dest_region_id: Some(BEIJING.into()),
                ..of_set
            },
            vec![],
        ),
        (
            CopyQuery {
                cross_backup_id: Some(to_bj[1]),
                dest_region_id: Some(BEIJING.into()),
                window: Some((t0() + secs(180), t0() + secs(180))),
                ..base.clone()
            },
            vec![to_bj[1]],
        ),
    ];
    for (q, want) in cases {
        let l = cat.list_copies(&q).await.unwrap();
        assert_eq!((l.total, ids(&l)), (want.len() as u64, want), "{q:?}");
        for item in &l.items {
            let region = q.dest_region_id.as_deref();
            assert!(region.is_none_or(|r| item.dest_region_id == r), "{q:?}");
            let set = q.backup_set_id;
            assert!(set.is_none_or(|s| item.backup_set_id == s), "{q:?}");
        }
    }
}

pub async fn list_is_newest_first_with_id_tiebreak(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let starts = [10, 30, 30, 20, 30];
    let mut copies = Vec::new();
    for (n, s) in starts.iter().enumerate() {
        copies.push(record(cat, &w.instance, t0() + secs(*s), n as u32).await);
    }
    settle_all(cat, |id| id == copies[2]).await;
    let l = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!(
        ids(&l),
        vec![copies[4], copies[2], copies[1], copies[3], copies[0]]
    );
    let started: Vec<_> = l.items.iter().map(|c| c.started_at).collect();
    assert!(started.windows(2).all(|p| p[0] >= p[1]), "{started:?}");
}

pub async fn list_pages_are_stable_across_sizes(backend: &dyn Backend) {
    const N: usize = 230;
    let w = world(backend).await;
    let cat = &*w.cat;
    let mut expected = Vec::new();
    for n in 0..N as u32 {
        // Many equal start times, recorded out of order, so the id tiebreak matters across pages.
        let start = t0() + secs(60 * i64::from((n * 37) % 97));
        expected.push((start, record(cat, &w.instance, start, n).await));
    }
    settle_all(cat, |id| id % 7 == 0).await;
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();

    for size in [PageSize::Thirty, PageSize::Fifty, PageSize::Hundred] {
        let page_count = N.div_ceil(size.get() as usize) as u32;
        let mut seen = Vec::new();
        for page_number in 1..=page_count {
            let l = cat
                .list_copies(&CopyQuery {
                    page_size: size,
                    page_number,
                    ..query(w.instance.id)
                })
                .await
                .unwrap();
            assert_eq!(l.total, N as u64, "page {page_number} of {}", size.get());
            let want = if page_number < page_count {
                size.get() as usize
            } else {
                N - seen.len()
            };
            assert_eq!(l.items.len(), want, "page {page_number} of {}", size.get());
            seen.extend(ids(&l));
        }
        assert_eq!(
            seen,
            expected,
            "pages of {} concatenate to the full order",
            size.get()
        );
        for past in [page_count + 1, 1000] {
            let l = cat
                .list_copies(&CopyQuery {
                    page_size: size,
                    page_number: past,
                    ..query(w.instance.id)
                })
                .await
                .unwrap();
            assert!(
                l.items.is_empty(),
                "page {past} of {} is past the end",
                size.get()
            );
            assert_eq!(l.total, N as u64, "total stays when past the end");
        }
    }

    // A filtered listing pages the same way.
    let window = Some((t0(), t0() + secs(60 * 48)));
    let all = cat
        .list_copies(&CopyQuery {
            window,
            ..query(w.instance.id)
        })
        .await
        .unwrap();
    let second = cat
        .list_copies(&CopyQuery {
            window,
            page_size: PageSize::Thirty,
            page_number: 2,
            ..query(w.instance.id)
        })
        .await
        .unwrap();
    assert!(all.total > 30 && all.total < N as u64, "{}", all.total);
    assert_eq!(second.total, all.total);
    assert_eq!(
        ids(&second),
        ids(&all)[30..60.min(all.items.len())].to_vec()
    );
}

pub async fn list_never_shows_other_instances(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let (other_account, _) = cat.create_account("other").await.unwrap();
    let sibling = instance_with_policy(cat, w.account.id, "rm-sibling").await;
    let stranger = instance_with_policy(cat, other_account.id, "rm-stranger").await;
    let mine = [
        record(cat, &w.instance, t0(), 1).await,
        record(cat, &w.instance, t0() + secs(60), 2).await,
    ];
    let sibling_copy = record(cat, &sibling, t0() + secs(30), 3).await;
    let stranger_copy = record(cat, &stranger, t0() + secs(30), 4).await;
    settle_all(cat, |_| false).await;

    let l = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!((l.total, ids(&l)), (2, vec![mine[1], mine[0]]));
    assert_items_show_their_copies(cat, &w.instance, &l).await;
    for foreign in [sibling_copy, stranger_copy] {
        assert_eq!(
            listed_as(cat, w.instance.id, foreign).await,
            0,
            "copy {foreign} leaked"
        );
    }
    let l = cat.list_copies(&query(stranger.id)).await.unwrap();
    assert_eq!(ids(&l), vec![stranger_copy]);
    assert_items_show_their_copies(cat, &stranger, &l).await;
    let l = cat
        .list_copies(&query(stranger.id + sibling.id + 1000))
        .await
        .unwrap();
    assert_eq!(
        (l.total, l.items.len()),
        (0, 0),
        "unknown instance lists nothing"
    );
}

pub async fn cross_backup_ids_increase_and_are_never_reused(backend: &dyn Backend) {
    let w = world(backend).await;
    let mut last = 0;
    let mut all = Vec::new();
    for n in 0..5u32 {
        let id = record(&*w.cat, &w.instance, t0() + secs(i64::from(n)), n).await;
        assert!(id > last, "{id} after {last}");
        last = id;
        all.push(id);
        // A refused record in between must not disturb allocation.
        assert!(w
            .cat
            .record_backup_set(&new_set(&w.instance, t0(), 0))
            .await
            .is_err());
    }
    settle_all(&*w.cat, |id| id == all[4]).await;
    drop(w.cat);

    // A new handle (another process, or a restart) continues above every id ever handed out.
    let cat = backend.open().await;
    let instance = cat
        .instance_by_db_instance_id("rm-a")
        .await
        .unwrap()
        .unwrap();
    let next = record(&*cat, &instance, t0() + secs(100), 100).await;
    assert!(next > last, "{next} after {last}");
    for id in all {
        assert!(
            cat.copy(id).await.unwrap().is_some(),
            "copy {id} still there"
        );
    }
}

/// A window's total (summed by whole days where the backend keeps them) must equal a count of
/// the listed copies started inside it, whatever the window's bounds (midnight, one second
/// either side, mid-day; one day, adjacent days, many), destination, and the copies' history
/// (failed, pending, moved through the queue, expired).
pub async fn list_window_totals_match_a_count_of_the_listing(backend: &dyn Backend) {
    const DAY: i64 = 86_400;
    let w = world(backend).await;
    let cat = &*w.cat;
    // Start offsets within each day: midnight, one second after, a shared mid-day time (twice,
    // so the id tiebreak applies), the day's last seconds; and a few varying with the day.
    let offsets = |day: i64| {
        vec![
            0,
            1,
            7217 + 97 * day,
            DAY / 2,
            DAY / 2,
            61_000 - 13 * day,
            DAY - 2,
            DAY - 1,
        ]
    };
    let mut n = 0u32;
    let mut recorded = Vec::new();
    for day in 0..10i64 {
        for offset in offsets(day) {
            let dest = if n.is_multiple_of(3) {
                BEIJING
            } else {
                SHANGHAI
            };
            set_policy(cat, &w.instance, true, dest).await;
            recorded.push(record(cat, &w.instance, t0() + secs(day * DAY + offset), n).await);
            n += 1;
        }
    }
    // Some fail for good, the rest complete (pending -> failed / completed through the queue).
    settle_all(cat, |id| id % 5 == 0).await;
    // Some expire (deleted with their tombstone), listed failed ones included.
    for &id in recorded.iter().filter(|id| *id % 7 == 3) {
        assert!(cat.begin_expiry(id, clock()).await.unwrap().is_some());
    }
    // Pending ones, never listed: queued, claimed and held, and retried later.
    set_policy(cat, &w.instance, true, SHANGHAI).await;
    for day in [0i64, 3, 4, 9] {
        record(cat, &w.instance, t0() + secs(day * DAY + DAY / 2 + 1), n).await;
        record(cat, &w.instance, t0() + secs(day * DAY), n + 1).await;
        n += 2;
    }
    let jobs = claim_all(cat, due()).await;
    assert_eq!(jobs.len(), 8);
    for job in jobs.iter().step_by(2) {
        cat.fail_copy_attempt(
            job.copy_id,
            &job.lease_token,
            "retry",
            Some(due() + secs(3600)),
        )
        .await
        .unwrap();
    }

    // Every listed copy, through the unfiltered listing.
    let mut listed = Vec::new();
    for page_number in 1.. {
        let page = CopyQuery {
            page_number,
            ..query(w.instance.id)
        };
        let l = cat.list_copies(&page).await.unwrap();
        if l.items.is_empty() {
            break;
        }
        listed.extend(
            l.items
                .iter()
                .map(|c| (c.started_at, c.dest_region_id.clone())),
        );
    }
    assert!(listed.len() > 40, "{} listed", listed.len());

    let at = |s: i64| t0() + secs(s);
    let mut windows = Vec::new();
    for first in 0..11i64 {
        for last in first..11i64 {
            for from in [
                first * DAY,
                first * DAY - 1,
                first * DAY + 1,
                first * DAY + DAY / 2,
            ] {
                for to in [
                    last * DAY,
                    last * DAY - 1,
                    last * DAY + DAY - 1,
                    last * DAY + DAY / 2,
                ] {
                    windows.push((at(from), at(to)));
                }
            }
        }
    }
    windows.push((at(-30 * DAY), at(30 * DAY)));
    windows.push((at(5 * DAY), at(3 * DAY)));
    for (from, to) in windows {
        for dest in [None, Some(SHANGHAI), Some(BEIJING), Some(HANGZHOU)] {
            let expected = listed
                .iter()
                .filter(|(started, d)| {
                    (from..=to).contains(started) && dest.is_none_or(|dest| d == dest)
                })
                .count() as u64;
            let q = CopyQuery {
                window: Some((from, to)),
                dest_region_id: dest.map(String::from),
                page_size: PageSize::Thirty,
                ..query(w.instance.id)
            };
            // Page 1 (full when there are more than 30) and a page past the end: both need the
            // total rather than reading it off a partial page.
            for page_number in [1, 1000] {
                let l = cat
                    .list_copies(&CopyQuery {
                        page_number,
                        ..q.clone()
                    })
                    .await
                    .unwrap();
                assert_eq!(
                    l.total, expected,
                    "window {from}..={to}, destination {dest:?}, page {page_number}"
                );
            }
        }
    }
}
