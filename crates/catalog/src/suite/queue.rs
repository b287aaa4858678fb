//! The copy job queue: claims, leases, completion, failure and retry, counts, next due time.

use std::collections::HashSet;

use xbak_domain::naming::{copy_key, file_name_of};
use xbak_domain::CopyStatus;

use super::*;
use crate::{CatalogError, CopyCounts};

fn lease_lost(result: crate::Result<()>, copy_id: i64) {
    assert!(
        matches!(result, Err(CatalogError::LeaseLost(id)) if id == copy_id),
        "{result:?}"
    );
}

pub async fn claim_respects_next_attempt_and_leases(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    assert_eq!(
        cat.claim_copy_job(due(), LEASE).await.unwrap(),
        None,
        "empty queue"
    );
    let queued_before = clock();
    let new = new_set(&w.instance, t0(), 1);
    let copy_id = cat
        .record_backup_set(&new)
        .await
        .unwrap()
        .queued_copy_id
        .unwrap();

    assert_eq!(
        cat.claim_copy_job(queued_before - secs(3600), LEASE)
            .await
            .unwrap(),
        None,
        "not due yet"
    );
    let now = due();
    let job = claim_job(cat, now, "due job").await;
    assert_eq!(job.copy_id, copy_id);
    assert_eq!(
        (job.source_region_id.as_str(), job.source_key.as_str()),
        (HANGZHOU, new.object_key.as_str())
    );
    assert_eq!(job.dest_region_id, SHANGHAI);
    assert_eq!(
        job.dest_key,
        copy_key("rm-a", file_name_of(&new.object_key))
    );
    assert_eq!(
        (job.size_bytes, job.sha256.as_str()),
        (new.size_bytes, new.sha256.as_str())
    );
    assert_eq!(job.attempts, 0);
    assert_eq!(job.lease_until, now + secs(LEASE.as_secs() as i64));
    assert!(
        job.lease_token.len() >= 16,
        "lease tokens must be unguessable: {:?}",
        job.lease_token
    );

    for at in [
        now,
        now + secs(1),
        job.lease_until - secs(1),
        job.lease_until,
    ] {
        assert_eq!(
            cat.claim_copy_job(at, LEASE).await.unwrap(),
            None,
            "leased job claimed again at {at}"
        );
    }
    let again = claim_job(cat, job.lease_until + secs(1), "expired lease").await;
    assert_eq!(again.copy_id, copy_id);
    assert_ne!(again.lease_token, job.lease_token);
    assert_eq!(again.attempts, 0, "a lapsed claim is not a counted attempt");
}

pub async fn concurrent_claimers_never_share_a_job(backend: &dyn Backend) {
    const JOBS: u32 = 80;
    const CLAIMERS: usize = 8;
    let w = world(backend).await;
    for n in 0..JOBS {
        record(&*w.cat, &w.instance, t0() + secs(i64::from(n)), n).await;
    }
    // Several handles: for a file-backed catalog, processes racing on the same database.
    let mut handles = vec![Arc::clone(&w.cat)];
    for _ in 1..4 {
        handles.push(backend.open().await);
    }
    let now = due();
    let mut tasks = Vec::new();
    for i in 0..CLAIMERS {
        let cat = Arc::clone(&handles[i % handles.len()]);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = cat.claim_copy_job(now, LEASE).await.expect("claim") {
                cat.complete_copy(job.copy_id, &job.lease_token, now)
                    .await
                    .expect("complete own job");
                mine.push(job.copy_id);
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.expect("claimer task"));
    }
    let distinct: HashSet<_> = claimed.iter().collect();
    assert_eq!(
        distinct.len(),
        claimed.len(),
        "a job was claimed twice: {claimed:?}"
    );
    assert_eq!(claimed.len(), JOBS as usize);
    assert_eq!(
        w.cat.copy_counts().await.unwrap(),
        CopyCounts {
            pending: 0,
            completed: u64::from(JOBS),
            failed: 0
        }
    );
}

pub async fn expired_lease_is_reclaimed_and_old_token_refused(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let copy_id = record(cat, &w.instance, t0(), 1).await;
    let first = claim_job(cat, due(), "claimed").await;
    let later = first.lease_until + secs(1);
    let second = claim_job(cat, later, "re-claim after expiry").await;
    assert_eq!(second.copy_id, copy_id);

    lease_lost(
        cat.complete_copy(copy_id, &first.lease_token, later).await,
        copy_id,
    );
    lease_lost(
        cat.fail_copy_attempt(copy_id, &first.lease_token, "late", None)
            .await,
        copy_id,
    );
    lease_lost(
        cat.fail_copy_attempt(copy_id, &first.lease_token, "late", Some(later))
            .await,
        copy_id,
    );
    lease_lost(
        cat.renew_copy_lease(copy_id, &first.lease_token, later + secs(600))
            .await,
        copy_id,
    );
    assert_eq!(
        cat.copy(copy_id).await.unwrap().unwrap().status,
        CopyStatus::Pending,
        "the stale holder changed nothing"
    );

    cat.complete_copy(copy_id, &second.lease_token, later)
        .await
        .unwrap();
    assert_eq!(
        cat.copy(copy_id).await.unwrap().unwrap().status,
        CopyStatus::Completed
    );
    lease_lost(
        cat.complete_copy(copy_id, &second.lease_token, later).await,
        copy_id,
    );
    lease_lost(cat.complete_copy(copy_id, "", later).await, copy_id);

    let unknown = cat
        .complete_copy(copy_id + 1000, &second.lease_token, later)
        .await;
    assert!(
        matches!(
            unknown,
            Err(CatalogError::NotFound(_) | CatalogError::LeaseLost(_))
        ),
        "{unknown:?}"
    );
}

/// A world whose one recorded copy is claimed at `due()`: the world, the job and the claim time.
async fn one_claimed_copy(backend: &dyn Backend) -> (World, CopyJob, Timestamp) {
    let w = world(backend).await;
    let copy_id = record(&*w.cat, &w.instance, t0(), 1).await;
    let now = due();
    let job = claim_job(&*w.cat, now, "claimed").await;
    assert_eq!(job.copy_id, copy_id);
    (w, job, now)
}

pub async fn renewed_lease_holds_the_job(backend: &dyn Backend) {
    let (w, job, _) = one_claimed_copy(backend).await;
    let (cat, copy_id) = (&*w.cat, job.copy_id);
    let until = job.lease_until + secs(3600);
    cat.renew_copy_lease(copy_id, &job.lease_token, until)
        .await
        .unwrap();
    assert_eq!(
        cat.claim_copy_job(job.lease_until + secs(1), LEASE)
            .await
            .unwrap(),
        None,
        "renewed lease held"
    );
    assert_eq!(cat.claim_copy_job(until, LEASE).await.unwrap(), None);
    cat.complete_copy(copy_id, &job.lease_token, until)
        .await
        .expect("the renewed token still holds the job");
    lease_lost(
        cat.renew_copy_lease(copy_id, &job.lease_token, until + secs(60))
            .await,
        copy_id,
    );
}

pub async fn failed_attempt_retries_at_retry_at(backend: &dyn Backend) {
    let (w, job, now) = one_claimed_copy(backend).await;
    let (cat, copy_id) = (&*w.cat, job.copy_id);
    let retry_at = now + secs(300);
    cat.fail_copy_attempt(
        copy_id,
        &job.lease_token,
        "connection reset",
        Some(retry_at),
    )
    .await
    .unwrap();
    lease_lost(
        cat.complete_copy(copy_id, &job.lease_token, now).await,
        copy_id,
    );

    assert_eq!(
        cat.copy(copy_id).await.unwrap().unwrap().status,
        CopyStatus::Pending
    );
    assert_eq!(
        cat.list_copies(&query(w.instance.id)).await.unwrap().total,
        0,
        "retrying copies are not listed"
    );
    assert_eq!(cat.next_copy_due().await.unwrap(), Some(retry_at));
    assert_eq!(
        cat.claim_copy_job(retry_at - secs(1), LEASE).await.unwrap(),
        None,
        "claimed before retry_at"
    );
    let retry = claim_job(cat, retry_at, "due at retry_at").await;
    assert_eq!((retry.copy_id, retry.attempts), (copy_id, 1));
    assert_ne!(retry.lease_token, job.lease_token);

    let retry_again = retry_at + secs(600);
    cat.fail_copy_attempt(copy_id, &retry.lease_token, "again", Some(retry_again))
        .await
        .unwrap();
    let third = claim_job(cat, retry_again, "claimed").await;
    assert_eq!(third.attempts, 2);
    cat.complete_copy(copy_id, &third.lease_token, retry_again)
        .await
        .unwrap();
    assert_eq!(
        cat.list_copies(&query(w.instance.id)).await.unwrap().total,
        1
    );
}

pub async fn failure_for_good_is_listed_as_failed(backend: &dyn Backend) {
    let (w, job, now) = one_claimed_copy(backend).await;
    let (cat, copy_id) = (&*w.cat, job.copy_id);
    cat.fail_copy_attempt(copy_id, &job.lease_token, "retry budget spent", None)
        .await
        .unwrap();

    let copy = cat.copy(copy_id).await.unwrap().unwrap();
    assert_eq!(copy.status, CopyStatus::Failed);
    let l = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!((l.total, ids(&l)), (1, vec![copy_id]));
    assert_eq!(l.items[0].status.backup_set_status(), 1);
    assert_eq!(
        cat.claim_copy_job(now + secs(86_400 * 365), LEASE)
            .await
            .unwrap(),
        None,
        "failed copies stay failed"
    );
    assert_eq!(cat.next_copy_due().await.unwrap(), None);
    assert_eq!(
        cat.copy_counts().await.unwrap(),
        CopyCounts {
            pending: 0,
            completed: 0,
            failed: 1
        }
    );
    lease_lost(
        cat.complete_copy(copy_id, &job.lease_token, now).await,
        copy_id,
    );
}

pub async fn completion_is_listed(backend: &dyn Backend) {
    let (w, job, now) = one_claimed_copy(backend).await;
    let (cat, copy_id) = (&*w.cat, job.copy_id);
    assert_eq!(
        cat.list_copies(&query(w.instance.id)).await.unwrap().total,
        0,
        "in flight"
    );
    let finished = now + secs(42);
    cat.complete_copy(copy_id, &job.lease_token, finished)
        .await
        .unwrap();

    let l = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!((l.total, ids(&l)), (1, vec![copy_id]));
    let copy = cat.copy(copy_id).await.unwrap().unwrap();
    assert_eq!(
        (copy.status, copy.completed_at),
        (CopyStatus::Completed, Some(finished))
    );
    assert_eq!(copy.status.backup_set_status(), 0);
    assert_eq!(l.items, [as_listed(&copy)]);
    assert_eq!(
        cat.claim_copy_job(finished + secs(86_400), LEASE)
            .await
            .unwrap(),
        None,
        "completed copies leave the queue"
    );
}

/// Resume state is saved under the lease, survives a failed attempt and a lost lease (the
/// next claimer gets it), and is cleared by completion.
pub async fn resume_state_is_kept_under_the_lease(backend: &dyn Backend) {
    let (w, job, now) = one_claimed_copy(backend).await;
    let (cat, copy_id) = (&*w.cat, job.copy_id);
    assert_eq!(job.resume_state, None);
    cat.save_copy_resume_state(copy_id, &job.lease_token, Some("{\"parts\":1}"))
        .await
        .unwrap();
    cat.save_copy_resume_state(copy_id, &job.lease_token, Some("{\"parts\":2}"))
        .await
        .unwrap();
    lease_lost(
        cat.save_copy_resume_state(copy_id, "not-the-token", Some("x"))
            .await,
        copy_id,
    );
    assert!(matches!(
        cat.save_copy_resume_state(copy_id + 1000, &job.lease_token, None)
            .await,
        Err(CatalogError::NotFound(_))
    ));

    // Kept across a failed attempt.
    cat.fail_copy_attempt(copy_id, &job.lease_token, "boom", Some(now))
        .await
        .unwrap();
    let job = claim_job(cat, now, "claimed").await;
    assert_eq!(job.resume_state.as_deref(), Some("{\"parts\":2}"));

    // Kept when the lease runs out; the old token can no longer write it.
    let later = now + LEASE + secs(1);
    let next = claim_job(cat, later, "claimed").await;
    assert_eq!(next.resume_state.as_deref(), Some("{\"parts\":2}"));
    lease_lost(
        cat.save_copy_resume_state(copy_id, &job.lease_token, None)
            .await,
        copy_id,
    );
    cat.save_copy_resume_state(copy_id, &next.lease_token, None)
        .await
        .unwrap();
    cat.save_copy_resume_state(copy_id, &next.lease_token, Some("{\"parts\":3}"))
        .await
        .unwrap();
    cat.complete_copy(copy_id, &next.lease_token, later)
        .await
        .unwrap();
    lease_lost(
        cat.save_copy_resume_state(copy_id, &next.lease_token, Some("x"))
            .await,
        copy_id,
    );
}

pub async fn copy_counts_by_state(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    assert_eq!(cat.copy_counts().await.unwrap(), CopyCounts::default());
    let mut copies = Vec::new();
    for n in 0..6u32 {
        copies.push(record(cat, &w.instance, t0() + secs(i64::from(n)), n).await);
    }
    assert_eq!(
        cat.copy_counts().await.unwrap(),
        CopyCounts {
            pending: 6,
            completed: 0,
            failed: 0
        }
    );
    let now = due();
    for job in claim_all(cat, now).await {
        match copies.iter().position(|&c| c == job.copy_id) {
            Some(0..=2) => cat
                .complete_copy(job.copy_id, &job.lease_token, now)
                .await
                .unwrap(),
            Some(3) => cat
                .fail_copy_attempt(job.copy_id, &job.lease_token, "x", None)
                .await
                .unwrap(),
            Some(4) => cat
                .fail_copy_attempt(job.copy_id, &job.lease_token, "x", Some(now))
                .await
                .unwrap(),
            _ => {}
        }
    }
    assert_eq!(
        cat.copy_counts().await.unwrap(),
        CopyCounts {
            pending: 2,
            completed: 3,
            failed: 1
        }
    );
}

pub async fn next_copy_due_follows_the_queue(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    assert_eq!(cat.next_copy_due().await.unwrap(), None);
    let before = clock();
    let copy_id = record(cat, &w.instance, t0(), 1).await;
    let queued_due = cat.next_copy_due().await.unwrap().expect("a pending copy");
    assert!(
        queued_due >= before - secs(1) && queued_due <= clock() + secs(1),
        "due when queued: {queued_due}"
    );

    let now = due();
    let job = claim_job(cat, now, "claimed").await;
    assert_eq!(
        cat.next_copy_due().await.unwrap(),
        Some(job.lease_until),
        "a leased copy is due when its lease ends"
    );
    let retry_at = now + secs(90);
    cat.fail_copy_attempt(copy_id, &job.lease_token, "x", Some(retry_at))
        .await
        .unwrap();
    assert_eq!(cat.next_copy_due().await.unwrap(), Some(retry_at));

    let second = record(cat, &w.instance, t0() + secs(1), 2).await;
    let due_now = cat.next_copy_due().await.unwrap().unwrap();
    assert!(due_now < retry_at, "the new copy is due first");
    for job in claim_all(cat, retry_at).await {
        assert!([copy_id, second].contains(&job.copy_id));
        cat.complete_copy(job.copy_id, &job.lease_token, retry_at)
            .await
            .unwrap();
    }
    assert_eq!(cat.next_copy_due().await.unwrap(), None);
}
