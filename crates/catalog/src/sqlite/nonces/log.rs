//! A process's view of the claims in the nonces file, and claiming against it.
//!
//! Every claim is appended to `claim_log` (the end of a rowid table: no random page per claim).
//! Uniqueness comes from the view, which each claim transaction first brings up to date while it
//! holds the file's write lock, so no other process can claim in between:
//! - the claims of the log not yet in a finished run, exactly (fingerprint → expiry), read from
//!   the log's tail: what any process appended since this one last looked;
//! - every claim the view read from the log (or appended) also goes into its own filters, one per
//!   stretch of the log (`epochs`); a filter's "maybe" is confirmed by a point lookup in
//!   `claim_sorted` in each finished run of that stretch (the rest of it is in the exact part),
//!   so a false "maybe" costs reads, never a refused claim;
//! - the runs with claims the view did not read from the log (those finished before it was
//!   loaded, or while other processes claimed and this one did not), by their stored filters
//!   (loaded once, each "maybe" confirmed in its run), until the process read those runs into
//!   epochs of its own (`backfill`);
//! - while a file from before the log still holds claims (`nonces`), a point lookup there.
//!
//! The view's memory is what was claimed since the last finished run (a run is cut every
//! `upkeep::RUN_EVERY`) and the epochs' filters, which share a fixed budget (`epochs::Limits`).
//! Until 2026-12 the view held each run's stored filter instead of its own: one lookup per live
//! run, so runs were cut only every minute, and a minute of claims held exactly took ~105 MB at
//! 40,000 claims a second (bench/results.md, 2026-12-06T17:03:40Z).

use hashbrown::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::backfill;
use super::bloom::Filter;
use super::epochs::{span, Epoch, Epochs, Limits};
use crate::rules::{secs, Fingerprint, NonceBatch};
use crate::sqlite::errors::SqlResultExt;
use crate::{CatalogError, ClaimChecks, ClaimMemory, Result, SeenNonce};
use xbak_domain::time::Timestamp;

/// Claims the exact part of a view is never shrunk below.
const EXACT_LEAST: usize = 1_024;

/// A finished run whose claims are not all expired.
struct Run {
    /// Its last `seq`; it holds the claims logged at `first_seq..=run`.
    run: i64,
    first_seq: i64,
    expires_max: i64,
}

/// The stored filter of a finished run whose claims the view had not all read from the log
/// (they are then not all in the view's epochs).
struct StoredFilter {
    run: i64,
    first_seq: i64,
    expires_max: i64,
    filter: Filter,
}

/// What one process knows of the nonces file's claims (see the module docs). Brought up to date
/// by every claim transaction; forgotten ([`ClaimLog::reset`]) when one fails, since what it
/// read may have been rolled back.
#[derive(Default)]
pub(crate) struct ClaimLog {
    loaded: bool,
    /// Claims of the log after the last finished run: fingerprint → [`Packed`].
    recent: HashMap<Fingerprint, Packed, BuildHasherDefault<FirstWord>>,
    /// The first `seq` of the log not read yet.
    next_seq: i64,
    /// The last finished run seen (its last `seq`); 0 before any.
    last_run: i64,
    /// Finished runs whose claims are not all expired, in order.
    runs: Vec<Run>,
    /// The stored filters of those the view did not read whole, in order.
    stored: Vec<StoredFilter>,
    epochs: Epochs,
    /// The file still has the `nonces` table of schema version 1.
    legacy: bool,
    /// What the checks did since the process started (kept across [`ClaimLog::reset`]).
    checks: ClaimChecks,
}

/// An expiry (unix seconds, high 32 bits) and the low 32 bits of the claim's `seq`: 8 bytes
/// where the pair would take 16, so a minute of claims at 13k a second takes ~20 MB, not ~30.
/// The `seq` only ever tells whether a claim comes after a run's end, and the claims in the map
/// span far fewer than 2^31 seqs, so comparing the low bits with wrapping arithmetic is exact.
#[derive(Clone, Copy)]
struct Packed(u64);

impl Packed {
    fn new(expires_at: i64, seq: i64) -> Packed {
        let expires = expires_at.clamp(0, i64::from(u32::MAX)) as u64;
        Packed(expires << 32 | (seq as u64 & 0xffff_ffff))
    }

    fn expires_at(self) -> i64 {
        (self.0 >> 32) as i64
    }

    /// Whether the claim was logged after `seq` (within 2^31 of it).
    fn after(self, seq: i64) -> bool {
        (self.0 as u32).wrapping_sub(seq as u32) as i32 > 0
    }
}

/// The fingerprints are SHA-256 bytes already: their first word is a good hash as it is.
#[derive(Default)]
struct FirstWord(u64);

impl Hasher for FirstWord {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes.iter().take(8) {
            self.0 = self.0 << 8 | u64::from(*b);
        }
    }
    // `[u8; 16]` hashes its length first; it says nothing.
    fn write_usize(&mut self, _: usize) {}
}

impl ClaimLog {
    /// An empty view whose epochs are sized by `limits`.
    pub(crate) fn with_limits(limits: Limits) -> ClaimLog {
        ClaimLog {
            epochs: Epochs::new(limits),
            ..ClaimLog::default()
        }
    }

    /// Forgets everything: the next claim transaction reads the file's state again.
    pub(crate) fn reset(&mut self) {
        *self = ClaimLog {
            checks: self.checks,
            ..ClaimLog::with_limits(self.epochs.limits())
        };
    }

    /// Claims each distinct nonce of `nonces` that no live claim holds, appending it to the log.
    pub(crate) fn claim(
        &mut self,
        tx: &Transaction<'_>,
        nonces: &[SeenNonce],
        now: Timestamp,
    ) -> Result<Vec<bool>> {
        let now = secs(now);
        self.catch_up(tx, now)?;
        let batch = NonceBatch::new(nonces);
        let mut append = tx
            .prepare_cached("INSERT INTO claim_log (fingerprint, expires_at) VALUES (?1, ?2)")
            .db()?;
        let mut won = std::collections::HashSet::new();
        for &(fp, n) in &batch.distinct {
            if self.is_live(tx, &fp, now)? {
                continue;
            }
            let expires_at = secs(n.expires_at);
            append.execute((&fp[..], expires_at)).db()?;
            self.remember(fp, expires_at, tx.last_insert_rowid(), now);
            won.insert(fp);
        }
        Ok(batch.answers(&won))
    }

    /// Reads what changed in the file since this process last looked: runs finished meanwhile,
    /// then the log's new claims.
    fn catch_up(&mut self, tx: &Transaction<'_>, now: i64) -> Result<()> {
        // Until the old table is seen gone: once dropped, it never comes back.
        if !self.loaded || self.legacy {
            self.legacy = super::has_legacy_table(tx)?;
            self.loaded = true;
        }
        self.epochs.tick(now);
        let last_run = self.last_run;
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT run, first_seq, expires_max, CASE WHEN run >= ?2 THEN filter END
                     FROM claim_runs WHERE run > ?1 AND filter IS NOT NULL ORDER BY run",
                )
                .db()?;
            // A run with claims the view has not read from the log (all, when it was just
            // loaded; some, when other processes claimed while this one did not) comes with its
            // stored filter: the log no longer holds them. The view's epochs hold the rest.
            let mut rows = stmt.query((self.last_run, self.next_seq)).db()?;
            while let Some(row) = rows.next().db()? {
                let run: i64 = row.get(0).db()?;
                let expires_max: i64 = row.get(2).db()?;
                self.last_run = run;
                if expires_max <= now {
                    continue;
                }
                let first_seq: i64 = row.get(1).db()?;
                if let Some(bytes) = row.get_ref(3).db()?.as_blob_or_null().map_err(|e| {
                    CatalogError::Internal(format!("the filter of claim run {run}: {e}"))
                })? {
                    let filter = Filter::from_bytes(bytes).ok_or_else(|| {
                        CatalogError::Internal(format!(
                            "the filter of claim run {run} is malformed"
                        ))
                    })?;
                    self.stored.push(StoredFilter {
                        run,
                        first_seq,
                        expires_max,
                        filter,
                    });
                }
                self.runs.push(Run {
                    run,
                    first_seq,
                    expires_max,
                });
            }
        }
        if self.last_run != last_run {
            let covered = self.last_run;
            // A map keeps its largest size: once a slow run had it hold many seconds of claims,
            // it held that memory for good (bench/results.md, 2026-12-07). Shrunk to twice what
            // it held when this run finished once that is a quarter of its size or less, so that
            // a steady rate grows it again at most once.
            let keep = 2 * self.recent.len().max(EXACT_LEAST);
            self.recent.retain(|_, claim| claim.after(covered));
            if self.recent.capacity() > 2 * keep {
                self.recent.shrink_to(keep);
            }
            self.next_seq = self.next_seq.max(covered + 1);
        }
        self.runs.retain(|r| r.expires_max > now);
        self.stored.retain(|r| r.expires_max > now);
        let mut stmt = tx
            .prepare_cached(
                "SELECT seq, fingerprint, expires_at FROM claim_log WHERE seq >= ?1 ORDER BY seq",
            )
            .db()?;
        let mut rows = stmt.query([self.next_seq]).db()?;
        while let Some(row) = rows.next().db()? {
            let seq: i64 = row.get(0).db()?;
            let fp = super::fingerprint_at(row, 1)?;
            self.remember(fp, row.get(2).db()?, seq, now);
        }
        Ok(())
    }

    /// Adds a claim of the log (logged at `seq`, read at `now`) to the exact part of the view
    /// and to its open epoch.
    fn remember(&mut self, fp: Fingerprint, expires_at: i64, seq: i64, now: i64) {
        let expires_at = match self.recent.get(&fp) {
            Some(held) => held.expires_at().max(expires_at),
            None => expires_at,
        };
        self.recent.insert(fp, Packed::new(expires_at, seq));
        self.epochs.insert(&fp, expires_at, seq, now);
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Whether a claim of `fp` is live at `now`: in the log's claims, in a finished run (a
    /// filter's "maybe" confirmed by a lookup), or in the table of schema version 1.
    fn is_live(&mut self, tx: &Transaction<'_>, fp: &Fingerprint, now: i64) -> Result<bool> {
        self.checks.checked += 1;
        if self.recent.get(fp).is_some_and(|c| c.expires_at() > now) {
            return Ok(true);
        }
        let mut checks = self.checks;
        let live = self.confirm(tx, fp, now, &mut checks);
        self.checks = checks;
        live
    }

    /// Whether a finished run (or the table of schema version 1) holds a live claim of `fp`,
    /// counting the filters' "maybe"s and the lookups made in `checks`.
    fn confirm(
        &self,
        tx: &Transaction<'_>,
        fp: &Fingerprint,
        now: i64,
        checks: &mut ClaimChecks,
    ) -> Result<bool> {
        // Every run held is live at `now`: `catch_up` let go of the others.
        let mut in_run = |run: i64| -> Result<bool> {
            checks.lookups += 1;
            let expires_at: Option<i64> = tx
                .prepare_cached(
                    "SELECT expires_at FROM claim_sorted WHERE run = ?1 AND fingerprint = ?2",
                )
                .db()?
                .query_row((run, &fp[..]), |r| r.get(0))
                .optional()
                .db()?;
            Ok(expires_at.is_some_and(|e| e > now))
        };
        for stored in &self.stored {
            if stored.filter.may_contain(fp) {
                checks.maybes += 1;
                if in_run(stored.run)? {
                    return Ok(true);
                }
            }
        }
        for epoch in self.epochs.may_hold(fp, now) {
            checks.maybes += 1;
            // The finished runs of the epoch's stretch of the log; the rest of it is exact.
            let from = self.runs.partition_point(|r| r.run < epoch.first_seq);
            for run in self.runs[from..]
                .iter()
                .take_while(|r| r.first_seq <= epoch.last_seq)
            {
                if in_run(run.run)? {
                    return Ok(true);
                }
            }
        }
        if self.legacy {
            checks.lookups += 1;
            let expires_at: Option<i64> = tx
                .prepare_cached("SELECT expires_at FROM nonces WHERE fingerprint = ?1")
                .db()?
                .query_row([&fp[..]], |r| r.get(0))
                .optional()
                .db()?;
            if expires_at.is_some_and(|e| e > now) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The oldest runs whose stored filters the view holds, `(run, first_seq)`, up to about
    /// `most` claims (at least one run), and the bits per claim of an epoch of them (`backfill`);
    /// `None` when it holds none.
    pub(crate) fn backfill_plan(&self, most: usize) -> Option<(Vec<(i64, i64)>, usize)> {
        let spans: Vec<(i64, i64)> = self.stored.iter().map(|s| (s.run, s.first_seq)).collect();
        let bits = self.epochs.bits_for(spans.iter().map(span).sum());
        let plan = spans[..backfill::group(&spans, most)].to_vec();
        (!plan.is_empty()).then_some((plan, bits))
    }

    /// Before the view's first claim transaction: reads the claims of every finished run not
    /// all expired at `now` into epochs of its own of about `epoch_claims` claims each, on `conn`
    /// outside any write lock, so that it loads none of their stored filters (up to 2 bytes a
    /// claim, ~90 MB at 45,000 claims a second, beside the epochs `backfill` would make of them).
    /// Returns the claims read; nothing once the view was loaded.
    pub(crate) fn preload(
        &mut self,
        conn: &Connection,
        now: Timestamp,
        epoch_claims: usize,
    ) -> Result<u64> {
        if self.loaded || self.last_run != 0 {
            return Ok(0);
        }
        let now = secs(now);
        let mut stmt = conn
            .prepare_cached(
                "SELECT run, first_seq, expires_max FROM claim_runs
                 WHERE filter IS NOT NULL AND expires_max > ?1 ORDER BY run",
            )
            .db()?;
        let runs = stmt
            .query_map([now], |r| {
                Ok(Run {
                    run: r.get(0)?,
                    first_seq: r.get(1)?,
                    expires_max: r.get(2)?,
                })
            })
            .db()?
            .collect::<rusqlite::Result<Vec<Run>>>()
            .db()?;
        let Some(last) = runs.last() else {
            return Ok(0);
        };
        let spans: Vec<(i64, i64)> = runs.iter().map(|r| (r.run, r.first_seq)).collect();
        let bits = self.epochs.bits_for(spans.iter().map(span).sum());
        let (mut rest, mut read) = (&spans[..], 0);
        while !rest.is_empty() {
            let (runs, after) = rest.split_at(backfill::group(rest, epoch_claims));
            let mut epoch = Epoch::of_runs(runs, bits);
            for &(run, _) in runs {
                read += backfill::read_run(conn, run, &mut epoch)?;
            }
            self.epochs.adopt(epoch);
            rest = after;
        }
        // The runs finished after these come with their stored filters, or are read from the
        // log, as for any view.
        self.last_run = last.run;
        self.next_seq = last.run + 1;
        self.runs = runs;
        Ok(read)
    }

    /// Replaces the stored filters of `runs` by `epoch`, which holds every claim of them (read
    /// from `claim_sorted`). Drops it when the view holds none of them any more (they expired,
    /// or the view was reset since).
    pub(crate) fn adopt(&mut self, runs: &[i64], epoch: Epoch) {
        let before = self.stored.len();
        self.stored.retain(|s| runs.binary_search(&s.run).is_err());
        if self.stored.len() < before {
            self.epochs.adopt(epoch);
        }
    }

    /// Bytes the view holds, by part (`upkeep_run` is the upkeep's: left 0).
    pub(crate) fn memory(&self) -> ClaimMemory {
        let (epochs, open_epoch) = self.epochs.bytes();
        ClaimMemory {
            exact: self.recent.allocation_size() as u64,
            epochs: epochs as u64,
            open_epoch: open_epoch as u64,
            stored_filters: self.stored.iter().map(|s| s.filter.bytes() as u64).sum(),
            upkeep_run: 0,
        }
    }

    /// What the view's checks did since the process started.
    pub(crate) fn checks(&self) -> ClaimChecks {
        self.checks
    }

    /// `(exact claims, stored run filters, epochs, bytes of all filters)` in the view.
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize, usize, usize) {
        let memory = self.memory();
        let bytes = memory.epochs + memory.open_epoch + memory.stored_filters;
        (
            self.recent.len(),
            self.stored.len(),
            self.epochs.len(),
            bytes as usize,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_claims_keep_their_expiry_and_order_against_runs() {
        let c = Packed::new(1_900_000_000, 5);
        assert_eq!(c.expires_at(), 1_900_000_000);
        assert!(c.after(4) && !c.after(5) && !c.after(6));
        // Across the 32-bit wrap of the seq.
        let wrapped = Packed::new(1, (1 << 32) + 2);
        assert!(wrapped.after((1 << 32) - 3) && !wrapped.after((1 << 32) + 2));
        assert_eq!(Packed::new(-5, 1).expires_at(), 0);
    }
}
