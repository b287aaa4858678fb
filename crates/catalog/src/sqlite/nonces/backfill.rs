//! A view's own filters for the finished runs it did not read from the log.
//!
//! A process that starts while others claim (a restart under load) finds up to 15 minutes of
//! claims already in runs, with nothing of them in its epochs. `serve` reads them before it
//! listens (`ClaimLog::preload`). Otherwise (a process idle for a run or more while others
//! claimed, or whose view a failed claim transaction reset) the view checks those runs with each
//! run's stored filter, one filter lookup per run (up to ~180 with a run every 5 seconds) for
//! every claim, until those runs expire. In its upkeep's spare time it reads those runs' claims
//! instead, a run per step and outside any write lock, into epochs of about [`EPOCH_CLAIMS`]
//! claims each, and each one replaces the stored filters of its runs once all of them are read.

use std::sync::Mutex;

use rusqlite::Connection;

use super::epochs::{span, Epoch};
use super::{fingerprint_at, ClaimLog};
use crate::sqlite::errors::SqlResultExt;
use crate::sqlite::lock;
use crate::Result;

/// Claims of the runs one epoch is made of, about (a run's more may be taken): at 36,000 claims a
/// second, ~2 minutes of them, as the view's own epochs (`epochs::Limits::epoch_secs`).
pub(crate) const EPOCH_CLAIMS: usize = 1 << 22;

/// The epoch a process is making of runs its view did not read from the log.
pub(crate) struct Backfill {
    /// Claims an epoch is made of, about: [`EPOCH_CLAIMS`].
    epoch_claims: usize,
    /// The runs it is made of, `(run, first_seq)` in order, and the next one to read.
    runs: Vec<(i64, i64)>,
    next: usize,
    epoch: Option<Epoch>,
}

impl Default for Backfill {
    fn default() -> Backfill {
        Backfill::new(EPOCH_CLAIMS)
    }
}

impl Backfill {
    /// Makes epochs of about `epoch_claims` claims.
    pub(crate) fn new(epoch_claims: usize) -> Backfill {
        Backfill {
            epoch_claims,
            runs: Vec::new(),
            next: 0,
            epoch: None,
        }
    }

    /// Reads the claims of one more run into the epoch being made (first planning one from the
    /// stored filters `view` holds), and once all its runs are read, hands it to `view` in
    /// place of their stored filters. Returns the claims read plus one, 0 when `view` holds no
    /// stored filter.
    pub(crate) fn step(&mut self, conn: &Connection, view: &Mutex<ClaimLog>) -> Result<u64> {
        let epoch = match &mut self.epoch {
            Some(epoch) => epoch,
            none => {
                let Some((runs, bits)) = lock(view).backfill_plan(self.epoch_claims) else {
                    return Ok(0);
                };
                let epoch = Epoch::of_runs(&runs, bits);
                self.runs = runs;
                self.next = 0;
                none.insert(epoch)
            }
        };
        let read = read_run(conn, self.runs[self.next].0, epoch)?;
        self.next += 1;
        if self.next == self.runs.len() {
            let runs: Vec<i64> = self.runs.drain(..).map(|(run, _)| run).collect();
            if let Some(epoch) = self.epoch.take() {
                tracing::debug!(
                    runs = runs.len(),
                    claims = epoch.claims(),
                    "claim epoch made of runs"
                );
                lock(view).adopt(&runs, epoch);
            }
        }
        Ok(read + 1)
    }
}

/// How many of `runs` (`(run, first_seq)`, in order) one epoch is made of: those that begin
/// before `most` claims are reached, at least one.
pub(super) fn group(runs: &[(i64, i64)], most: usize) -> usize {
    let mut claims = 0;
    runs.iter()
        .take_while(|run| {
            let more = claims < most;
            claims += span(run);
            more
        })
        .count()
}

/// Adds the claims of finished run `run` to `epoch`; returns how many. Outside any transaction:
/// a finished run is never written again, and deleted only once all its claims expired.
pub(super) fn read_run(conn: &Connection, run: i64, epoch: &mut Epoch) -> Result<u64> {
    let mut read = 0;
    let mut stmt = conn
        .prepare_cached("SELECT fingerprint, expires_at FROM claim_sorted WHERE run = ?1")
        .db()?;
    let mut rows = stmt.query([run]).db()?;
    while let Some(row) = rows.next().db()? {
        epoch.insert(&fingerprint_at(row, 0)?, row.get(1).db()?);
        read += 1;
    }
    Ok(read)
}
