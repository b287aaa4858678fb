//! Upkeep of the nonces file, in bounded steps of one short transaction each, so claims never
//! wait long behind it:
//! 1. Every [`RUN_EVERY`], the claims logged since the last run become a run: written once into
//!    `claim_sorted` in key order (appends at the end of its B-tree, each page written once),
//!    then its filter stored in `claim_runs` for every process to load. A step writes part of a
//!    run; a process killed midway leaves a run without filter, which the next step (of any
//!    process) goes on writing from the last key written.
//! 2. Log claims that finished runs hold are deleted from the log's front.
//! 3. A run whose every claim has expired is deleted whole.
//! 4. A file from before the log: its `nonces` table is swept as before and dropped once empty.

use rusqlite::{Connection, Transaction};

use super::bloom::Filter;
use super::fingerprint_at;
use crate::rules::Fingerprint;
use crate::sqlite::errors::SqlResultExt;
use crate::sqlite::rows::optional_row;
use crate::Result;

/// How often a run is cut (seconds): the log's claims after the last run are what every process
/// keeps exactly in memory, so this bounds that memory. A view looks up claims in its own
/// filters (`epochs`), not in one per run, so many runs cost it nothing but the confirmation of a
/// rare false "maybe" (a lookup in each run of its epoch).
pub(crate) const RUN_EVERY: i64 = 5;
/// A run is cut sooner when this many claims were logged since the last one.
pub(crate) const RUN_MOST: i64 = 1 << 18;

/// This process's upkeep state: the run it is writing, and the sweep cursor of the old table.
#[derive(Default)]
pub(crate) struct Upkeep {
    /// The run being written (its last `seq`), its claims in key order (each fingerprint once,
    /// with its latest expiry) and their filter: read from the log by [`Upkeep::load`].
    run: i64,
    sorted: Vec<(Fingerprint, i64)>,
    filter: Option<Filter>,
    legacy_cursor: Vec<u8>,
}

impl Upkeep {
    /// Reads the claims of the run being written, unless already read, and makes its filter:
    /// outside any write transaction (a run's claims are committed and stay in the log until it
    /// is finished), so that claims do not wait while a minute of them is read and sorted.
    pub(crate) fn load(&mut self, conn: &Connection) -> Result<()> {
        let open: Option<(i64, i64)> = optional_row(
            conn,
            "SELECT run, first_seq FROM claim_runs WHERE filter IS NULL ORDER BY run LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((run, first_seq)) = open else {
            return Ok(());
        };
        if self.run == run && self.filter.is_some() {
            return Ok(());
        }
        // Sized once: growing it by doubling would briefly hold twice a run's claims.
        let span = usize::try_from(run - first_seq + 1).unwrap_or(0);
        let mut claims: Vec<(Fingerprint, i64)> =
            Vec::with_capacity(span.min(2 * RUN_MOST as usize));
        let mut stmt = conn
            .prepare_cached(
                "SELECT fingerprint, expires_at FROM claim_log WHERE seq >= ?1 AND seq <= ?2",
            )
            .db()?;
        let mut rows = stmt.query((first_seq, run)).db()?;
        while let Some(row) = rows.next().db()? {
            claims.push((fingerprint_at(row, 0)?, row.get(1).db()?));
        }
        claims.sort_unstable();
        // Sorted by expiry within a fingerprint: the last one kept is the latest.
        claims.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
        let mut filter = Filter::with_capacity(claims.len());
        claims.iter().for_each(|(fp, _)| filter.insert(fp));
        self.run = run;
        self.sorted = claims;
        self.filter = Some(filter);
        Ok(())
    }

    /// Bytes it holds: the run being written, its claims and filter.
    pub(crate) fn memory(&self) -> u64 {
        let claims = self.sorted.capacity() * std::mem::size_of::<(Fingerprint, i64)>();
        (claims + self.filter.as_ref().map_or(0, Filter::bytes)) as u64
    }

    /// One step of upkeep, at most `limit` claims written or deleted; returns how many. Fewer than
    /// `limit`: nothing is left to do now. `before`: claims expiring at or before it may go. A
    /// run is started by [`start_run_if_due`] and written once [`Upkeep::load`] read it.
    pub(crate) fn step(&mut self, tx: &Transaction<'_>, before: i64, limit: u64) -> Result<u64> {
        let mut done = 0;
        let open = optional_row(
            tx,
            "SELECT run FROM claim_runs WHERE filter IS NULL ORDER BY run LIMIT 1",
            [],
            |r| r.get::<_, i64>(0),
        )?;
        if let Some(run) = open.filter(|&run| run == self.run && self.filter.is_some()) {
            done += self.write_run(tx, run, limit)?;
        }
        if done < limit {
            done += delete_logged_in_runs(tx, limit - done)?;
        }
        while done < limit {
            match drop_expired_run(tx, before, limit - done)? {
                0 => break,
                n => done += n,
            }
        }
        if done < limit && super::has_legacy_table(tx)? {
            done += self.sweep_legacy(tx, before, limit - done)?;
        }
        Ok(done)
    }

    /// Writes up to `limit` more claims of run `run` (read by [`Upkeep::load`]) into
    /// `claim_sorted`, going on after the last key written (by any process), and finishes the
    /// run (its filter and latest expiry) once all are written. Returns the claims written, plus
    /// one for finishing.
    fn write_run(&mut self, tx: &Transaction<'_>, run: i64, limit: u64) -> Result<u64> {
        let written: Option<Vec<u8>> = optional_row(
            tx,
            "SELECT fingerprint FROM claim_sorted WHERE run = ?1 ORDER BY fingerprint DESC LIMIT 1",
            [run],
            |r| r.get(0),
        )?;
        let start = written.map_or(0, |last| {
            self.sorted
                .partition_point(|(fp, _)| fp.as_slice() <= last.as_slice())
        });
        let end = (start + limit as usize).min(self.sorted.len());
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO claim_sorted (run, fingerprint, expires_at) VALUES (?1, ?2, ?3)",
            )
            .db()?;
        for (fp, expires_at) in &self.sorted[start..end] {
            insert.execute((run, &fp[..], expires_at)).db()?;
        }
        let mut done = (end - start) as u64;
        if end == self.sorted.len() && done < limit {
            let Some(filter) = self.filter.take() else {
                return Ok(done);
            };
            let expires_max = self.sorted.iter().map(|c| c.1).max().unwrap_or(0);
            tx.prepare_cached("UPDATE claim_runs SET filter = ?2, expires_max = ?3 WHERE run = ?1")
                .db()?
                .execute((run, filter.to_bytes(), expires_max))
                .db()?;
            tracing::debug!(run, claims = self.sorted.len(), "claim run written");
            self.sorted = Vec::new();
            done += 1;
        }
        Ok(done)
    }

    /// One step of the old table's sweep, then the table dropped once it is empty.
    fn sweep_legacy(&mut self, tx: &Transaction<'_>, before: i64, limit: u64) -> Result<u64> {
        let before = chrono::DateTime::from_timestamp(before, 0).unwrap_or_default();
        let (deleted, _) = super::prune_step(
            tx,
            before,
            limit,
            super::PRUNE_SCAN,
            &mut self.legacy_cursor,
        )?;
        let empty = optional_row(tx, "SELECT 1 FROM nonces LIMIT 1", [], |r| {
            r.get::<_, i64>(0)
        })?
        .is_none();
        if empty {
            tx.execute_batch("DROP TABLE nonces").db()?;
            tracing::info!("the nonces table of the old layout is empty and dropped");
        }
        Ok(deleted)
    }
}

/// The run to start now, `(run, first_seq)`, if one is due (see [`RUN_EVERY`]) and none is
/// being written. Read outside a write transaction it is a hint, which [`start_run_if_due`]
/// checks again under the write lock.
pub(crate) fn due_run(conn: &Connection, wall: i64) -> Result<Option<(i64, i64)>> {
    let open: Option<i64> = optional_row(
        conn,
        "SELECT run FROM claim_runs WHERE filter IS NULL LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    if open.is_some() {
        return Ok(None);
    }
    let last: Option<(i64, i64)> = optional_row(
        conn,
        "SELECT run, created_at FROM claim_runs ORDER BY run DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let head: Option<i64> =
        optional_row(conn, "SELECT MAX(seq) FROM claim_log", [], |r| r.get(0))?.flatten();
    let last_run = last.map_or(0, |(run, _)| run);
    let Some(head) = head.filter(|&head| head > last_run) else {
        return Ok(None);
    };
    let due =
        head - last_run >= RUN_MOST || last.is_none_or(|(_, created)| wall - created >= RUN_EVERY);
    Ok(due.then_some((head, last_run + 1)))
}

/// Starts the run of the claims logged since the last one when it is due (see [`due_run`]):
/// `(run, first_seq)`.
pub(crate) fn start_run_if_due(tx: &Transaction<'_>, wall: i64) -> Result<Option<(i64, i64)>> {
    let Some((run, first_seq)) = due_run(tx, wall)? else {
        return Ok(None);
    };
    tx.prepare_cached(
        "INSERT INTO claim_runs (run, first_seq, expires_max, filter, created_at)
         VALUES (?1, ?2, 0, NULL, ?3)",
    )
    .db()?
    .execute((run, first_seq, wall))
    .db()?;
    Ok(Some((run, first_seq)))
}

/// Deletes up to `limit` claims from the log's front that finished runs hold.
fn delete_logged_in_runs(tx: &Transaction<'_>, limit: u64) -> Result<u64> {
    let deleted = tx
        .prepare_cached(
            "DELETE FROM claim_log WHERE seq IN (
                 SELECT seq FROM claim_log
                 WHERE seq <= (SELECT COALESCE(MAX(run), 0) FROM claim_runs WHERE filter IS NOT NULL)
                 ORDER BY seq LIMIT ?1)",
        )
        .db()?
        .execute([limit])
        .db()?;
    Ok(deleted as u64)
}

/// Deletes up to `limit` claims of the oldest run whose claims all expired at or before
/// `before`, and the run itself once it has none left; returns the claims deleted (plus one for
/// the run), 0 when no run has expired.
fn drop_expired_run(tx: &Transaction<'_>, before: i64, limit: u64) -> Result<u64> {
    let Some(run) = optional_row(
        tx,
        "SELECT run FROM claim_runs WHERE filter IS NOT NULL AND expires_max <= ?1
         ORDER BY run LIMIT 1",
        [before],
        |r| r.get::<_, i64>(0),
    )?
    else {
        return Ok(0);
    };
    let deleted = tx
        .prepare_cached(
            "DELETE FROM claim_sorted WHERE run = ?1 AND fingerprint IN (
                 SELECT fingerprint FROM claim_sorted WHERE run = ?1
                 ORDER BY fingerprint LIMIT ?2)",
        )
        .db()?
        .execute((run, limit))
        .db()? as u64;
    if deleted < limit {
        tx.prepare_cached("DELETE FROM claim_runs WHERE run = ?1")
            .db()?
            .execute([run])
            .db()?;
        return Ok(deleted + 1);
    }
    Ok(deleted)
}
