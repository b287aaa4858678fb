//! Lease holders: a dead holder's job is taken over at once, a live or remote holder's is not;
//! periodic runs run once per task and period.

use xbak_domain::{CopyStatus, LeaseHolder};

use super::requests::requested;
use super::*;
use crate::leases::{take_over_dead_leases, this_process};
use crate::{CatalogError, LeasedQueue};

/// This machine and boot, but the pid of a process that has exited (and been reaped).
pub fn dead_holder() -> LeaseHolder {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawning true");
    child.wait().expect("waiting for true");
    LeaseHolder {
        pid: child.id(),
        ..this_process().clone()
    }
}

/// Another machine: its pids mean nothing here, dead or not.
pub fn remote_holder() -> LeaseHolder {
    LeaseHolder {
        host: format!("{}-elsewhere", this_process().host),
        ..dead_holder()
    }
}

pub async fn a_dead_holders_copy_is_taken_over_at_once(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let copy_id = record(cat, &w.instance, t0(), 1).await;
    let now = due();
    let dead = dead_holder();
    let job = cat
        .claim_copy_job_by(now, LEASE, &dead)
        .await
        .unwrap()
        .expect("due job");
    cat.save_copy_resume_state(copy_id, &job.lease_token, Some("parts 1-3"))
        .await
        .unwrap();
    assert_eq!(cat.claim_copy_job(now, LEASE).await.unwrap(), None);
    let held = cat.held_leases(LeasedQueue::Copies, now).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].id, held[0].holder.as_ref()),
        (copy_id, Some(&dead))
    );

    let found = take_over_dead_leases(cat, LeasedQueue::Copies, now)
        .await
        .unwrap();
    assert_eq!((found.broken.len(), found.live.len()), (1, 0));
    // Breaking again with the dead holder's token does nothing: only one claimer wins.
    assert!(!cat
        .break_lease(LeasedQueue::Copies, copy_id, &job.lease_token, now)
        .await
        .unwrap());
    let again = claim_job(cat, now, "taken over before the lease ran out").await;
    assert_eq!(again.copy_id, copy_id);
    assert_eq!(again.resume_state.as_deref(), Some("parts 1-3"));
    assert!(matches!(
        cat.complete_copy(copy_id, &job.lease_token, now).await,
        Err(CatalogError::LeaseLost(_))
    ));
    cat.complete_copy(copy_id, &again.lease_token, now)
        .await
        .unwrap();
    let copy = cat.copy(copy_id).await.unwrap().unwrap();
    assert_eq!(copy.status, CopyStatus::Completed);
}

pub async fn live_and_remote_holders_keep_their_leases(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let remote_copy = record(cat, &w.instance, t0(), 1).await;
    let mine = record(cat, &w.instance, t0() + secs(60), 2).await;
    let now = due();
    let remote = remote_holder();
    let a = cat.claim_copy_job_by(now, LEASE, &remote).await.unwrap();
    let b = cat.claim_copy_job(now, LEASE).await.unwrap();
    assert_eq!(
        (a.map(|j| j.copy_id), b.map(|j| j.copy_id)),
        (Some(remote_copy), Some(mine))
    );

    let found = take_over_dead_leases(cat, LeasedQueue::Copies, now)
        .await
        .unwrap();
    assert!(found.broken.is_empty(), "{found:?}");
    let holders: Vec<_> = found
        .live
        .iter()
        .map(|l| (l.id, l.holder.clone(), l.lease_until))
        .collect();
    assert_eq!(
        holders,
        vec![
            (remote_copy, Some(remote), now + secs(600)),
            (mine, Some(this_process().clone()), now + secs(600)),
        ]
    );
    assert_eq!(cat.claim_copy_job(now, LEASE).await.unwrap(), None);
    // Once its lease ran out, the remote holder's job is claimable again.
    let later = now + secs(601);
    let c = claim_job(cat, later, "claimed").await;
    assert_eq!(c.copy_id, remote_copy);
}

pub async fn a_dead_holders_requested_backup_is_taken_over(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let now = clock();
    let id = requested(cat, w.account.id, "rm-lease", now).await;
    let first = cat
        .claim_requested_backup_by(now, LEASE, &dead_holder())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cat.claim_requested_backup(now, LEASE).await.unwrap(), None);
    let found = take_over_dead_leases(cat, LeasedQueue::BackupRequests, now)
        .await
        .unwrap();
    assert_eq!(found.broken.iter().map(|l| l.id).collect::<Vec<_>>(), [id]);
    let again = claim_request(cat, now, "taken over at once").await;
    assert_eq!((again.id, again.attempts), (id, 2));
    let stale = first.lease_token.unwrap();
    assert!(matches!(
        cat.complete_requested_backup(id, &stale, None, now).await,
        Err(CatalogError::LeaseLost(_))
    ));
    let token = again.lease_token.unwrap();
    cat.complete_requested_backup(id, &token, None, now)
        .await
        .unwrap();
}

pub async fn periodic_runs_run_once_per_period(backend: &dyn Backend) {
    let cat = backend.open().await;
    let other = backend.open().await;
    let now = clock();
    let me = this_process();
    let run = cat
        .claim_periodic_run("retention", "h1", now, LEASE, me)
        .await
        .unwrap()
        .expect("first claim");
    assert_eq!(run.attempts, 1);
    let remote = remote_holder();
    // Held: nobody else gets it, neither another handle nor a remote worker.
    for c in [&cat, &other] {
        assert_eq!(
            c.claim_periodic_run("retention", "h1", now, LEASE, &remote)
                .await
                .unwrap(),
            None
        );
    }
    cat.renew_periodic_run(run.id, &run.lease_token, now + secs(900))
        .await
        .unwrap();
    cat.finish_periodic_run(run.id, &run.lease_token, now)
        .await
        .unwrap();
    // Finished: never again, even long after.
    assert_eq!(
        other
            .claim_periodic_run("retention", "h1", now + secs(7200), LEASE, me)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        cat.finish_periodic_run(run.id, &run.lease_token, now).await,
        Err(CatalogError::LeaseLost(_))
    ));
    // Another period, another task: their own runs.
    assert!(other
        .claim_periodic_run("retention", "h2", now, LEASE, me)
        .await
        .unwrap()
        .is_some());
    assert!(other
        .claim_periodic_run("schedule:1", "h1", now, LEASE, me)
        .await
        .unwrap()
        .is_some());
}

pub async fn unfinished_periodic_runs_are_taken_up_again(backend: &dyn Backend) {
    let cat = backend.open().await;
    let now = clock();
    let me = this_process();
    // A holder elsewhere that stopped renewing: taken over once its lease ran out.
    let lost = cat
        .claim_periodic_run("schedule:7", "2026-12-03", now, LEASE, &remote_holder())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cat.claim_periodic_run("schedule:7", "2026-12-03", now + secs(599), LEASE, me)
            .await
            .unwrap(),
        None
    );
    let retaken = cat
        .claim_periodic_run("schedule:7", "2026-12-03", now + secs(601), LEASE, me)
        .await
        .unwrap()
        .expect("an expired unfinished run is taken up again");
    assert_eq!((retaken.id, retaken.attempts), (lost.id, 2));
    assert!(matches!(
        cat.renew_periodic_run(lost.id, &lost.lease_token, now + secs(900))
            .await,
        Err(CatalogError::LeaseLost(_))
    ));

    // A dead holder on this machine: taken over at once.
    let dead = cat
        .claim_periodic_run("retention", "h9", now, LEASE, &dead_holder())
        .await
        .unwrap()
        .unwrap();
    let found = take_over_dead_leases(&*cat, LeasedQueue::PeriodicRuns, now)
        .await
        .unwrap();
    assert_eq!(
        found.broken.iter().map(|l| l.id).collect::<Vec<_>>(),
        [dead.id]
    );
    assert_eq!(found.live.len(), 1, "the lease retaken above is live");
    let mine = cat
        .claim_periodic_run("retention", "h9", now, LEASE, me)
        .await
        .unwrap()
        .expect("taken over at once");
    assert_eq!((mine.id, mine.attempts), (dead.id, 2));
}

pub async fn concurrent_periodic_claimers_get_one_run(backend: &dyn Backend) {
    let now = clock();
    let mut claimers = Vec::new();
    for _ in 0..8 {
        let cat = backend.open().await;
        claimers.push(tokio::spawn(async move {
            cat.claim_periodic_run("schedule:3", "2026-12-03", now, LEASE, this_process())
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for c in claimers {
        won += usize::from(c.await.unwrap().is_some());
    }
    assert_eq!(won, 1);
}
