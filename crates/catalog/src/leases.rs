//! Who holds each lease, and taking over the jobs of holders that died.
//!
//! Every claim (copy jobs, requested backups, periodic runs) records its holder
//! ([`LeaseHolder`]: host, boot id, pid, process start time). A claimer on the same host and
//! boot whose holder's process is gone ([`holder_is_gone`]) ends that lease at once
//! ([`Catalog::break_lease`], conditional on the holder's token, so of two claimers breaking the
//! same lease one wins) and claims the job as usual, instead of waiting for the lease to run
//! out. Holders on other hosts, or alive, keep their leases until they expire.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::Utc;

use xbak_domain::time::Timestamp;
use xbak_domain::LeaseHolder;

use crate::{Catalog, Result};

/// The queues whose rows are claimed with leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeasedQueue {
    /// Cross-region copy jobs (`copies`; ids are `CrossBackupId`s).
    Copies,
    /// Requested backups (`backup_requests`).
    BackupRequests,
    /// Periodic runs: a daily schedule's day, a sweep's period (`periodic_runs`).
    PeriodicRuns,
    /// Binlog streams (`binlog_streams`; ids are instance ids).
    BinlogStreams,
}

/// A lease that has not run out, as [`Catalog::held_leases`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLease {
    /// The leased row's id in its queue.
    pub id: i64,
    pub lease_token: String,
    pub lease_until: Timestamp,
    /// Who holds it; `None` for a lease taken before holders were recorded.
    pub holder: Option<LeaseHolder>,
}

/// A claimed periodic run ([`Catalog::claim_periodic_run`]): once per task and period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicRun {
    pub id: i64,
    pub lease_token: String,
    /// Claims of this task's period so far, this one included (more than 1: taken over).
    pub attempts: i64,
}

/// This process as a lease holder (read once from `/proc`).
pub fn this_process() -> &'static LeaseHolder {
    static HOLDER: OnceLock<LeaseHolder> = OnceLock::new();
    HOLDER.get_or_init(|| {
        let pid = std::process::id();
        LeaseHolder {
            host: read_trimmed("/proc/sys/kernel/hostname")
                .or_else(|| std::env::var("HOSTNAME").ok())
                .unwrap_or_else(|| "localhost".into()),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
            pid,
            started: process_start(pid).unwrap_or(0),
        }
    })
}

/// Whether `holder` ran on this host since this boot and its process is no longer running: its
/// pid is gone, a zombie, or now another process's (a different start time).
pub fn holder_is_gone(holder: &LeaseHolder) -> bool {
    if !this_process().same_boot(holder) {
        return false;
    }
    match process_state(holder.pid) {
        None => true,
        Some((state, started)) => {
            state == 'Z' || (holder.started != 0 && started != holder.started)
        }
    }
}

/// What [`take_over_dead_leases`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TakeOver {
    /// Leases of dead holders ended now: their jobs are claimable at once.
    pub broken: Vec<HeldLease>,
    /// Leases whose holders are alive, or elsewhere: left to run out.
    pub live: Vec<HeldLease>,
}

/// Ends every lease on `queue` whose holder is gone ([`holder_is_gone`]) and lists the others.
pub async fn take_over_dead_leases(
    catalog: &dyn Catalog,
    queue: LeasedQueue,
    now: Timestamp,
) -> Result<TakeOver> {
    let mut found = TakeOver::default();
    for lease in catalog.held_leases(queue, now).await? {
        let gone = lease.holder.as_ref().is_some_and(holder_is_gone);
        if gone
            && catalog
                .break_lease(queue, lease.id, &lease.lease_token, now)
                .await?
        {
            tracing::info!(?queue, id = lease.id, holder = ?lease.holder, "took over the lease of a holder that is no longer running");
            found.broken.push(lease);
        } else if !gone {
            found.live.push(lease);
        }
    }
    Ok(found)
}

/// Runs `claim`; when it finds nothing, ends the leases on `queue` whose holders are gone and, if
/// it ended any, claims once more: a job whose holder on this host died is taken up at once, not
/// when its lease runs out.
pub async fn claim_or_take_over<T, Fut>(
    catalog: &dyn Catalog,
    queue: LeasedQueue,
    claim: impl Fn() -> Fut,
) -> Result<Option<T>>
where
    Fut: Future<Output = Result<Option<T>>>,
{
    if let Some(found) = claim().await? {
        return Ok(Some(found));
    }
    let found = take_over_dead_leases(catalog, queue, Utc::now()).await?;
    if found.broken.is_empty() {
        return Ok(None);
    }
    claim().await
}

/// Runs `work` at most once to completion for `task` and `period` across every process on the
/// catalog ([`Catalog::claim_periodic_run`]; a dead holder on this host is taken over at once),
/// renewing the claim's lease (`lease`) meanwhile, then marks the run finished. `Ok(None)` when
/// another worker holds or finished the run.
pub async fn once_per_period<T>(
    catalog: &dyn Catalog,
    task: &str,
    period: &str,
    lease: Duration,
    work: impl Future<Output = T>,
) -> Result<Option<T>> {
    let claim = || catalog.claim_periodic_run(task, period, Utc::now(), lease, this_process());
    let Some(run) = claim_or_take_over(catalog, LeasedQueue::PeriodicRuns, claim).await? else {
        return Ok(None);
    };
    let renewing = async {
        loop {
            tokio::time::sleep(lease / 3).await;
            let until = Utc::now() + chrono::TimeDelta::from_std(lease).unwrap_or_default();
            match catalog
                .renew_periodic_run(run.id, &run.lease_token, until)
                .await
            {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(task, period, error = %e, "cannot renew the periodic run's lease");
                    if matches!(e, crate::CatalogError::LeaseLost(_)) {
                        return std::future::pending::<std::convert::Infallible>().await;
                    }
                }
            }
        }
    };
    let out = tokio::select! {
        out = work => out,
        never = renewing => match never {},
    };
    catalog
        .finish_periodic_run(run.id, &run.lease_token, Utc::now())
        .await?;
    Ok(Some(out))
}

fn read_trimmed(path: &str) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Start time of a running process, in clock ticks after boot.
pub fn process_start(pid: u32) -> Option<u64> {
    process_state(pid).map(|(_, started)| started)
}

/// A process's state letter and start time, from `/proc/PID/stat`.
fn process_state(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 was the state; the start time is field 22.
    let started = fields.nth(18)?.parse().ok()?;
    Some((state, started))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_gone() {
        let me = this_process().clone();
        assert!(me.pid > 0);
        assert!(!holder_is_gone(&me));
        assert!(!me.boot_id.is_empty() && me.started > 0, "{me:?}");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dead = LeaseHolder {
            pid: child.id(),
            ..me.clone()
        };
        assert!(holder_is_gone(&dead));
        // Our pid with another start time: the pid was reused.
        let reused = LeaseHolder {
            started: me.started + 1,
            ..me.clone()
        };
        assert!(holder_is_gone(&reused));
        let elsewhere = LeaseHolder {
            host: format!("{}-other", me.host),
            ..dead
        };
        assert!(!holder_is_gone(&elsewhere));
    }
}
