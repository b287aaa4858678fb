//! A process's own filters of the claims it read from the log, one per stretch of the log (an
//! epoch), so that a claim is checked with one filter lookup per epoch however often runs are cut.
//!
//! An epoch's filter is sized before its claims are counted: for the claims the last epoch's rate
//! brings in [`Limits::epoch_secs`], rounded up to a multiple of 16 blocks. It closes when full
//! (at a steady rate, after about that), or when twice that old, and is then folded (halved,
//! exactly: `bloom`) while its claims keep the bits each it was sized for. The bits per
//! claim come from a memory budget for all epochs: the claims that live at the current rate share
//! it, at most [`BITS_PER_CLAIM`] each. Past the budget each filter answers "maybe" more often,
//! which costs confirmation lookups, not memory.

use std::collections::VecDeque;

use super::bloom::{Filter, BITS_PER_CLAIM, BLOCK_BITS};
use crate::rules::Fingerprint;

/// How epochs are sized; [`Limits::default`] in production.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Seconds of claims an epoch is sized for; it closes when full or twice that old.
    pub(crate) epoch_secs: i64,
    /// Fewest and most claims an epoch is sized for.
    pub(crate) least: usize,
    pub(crate) most: usize,
    /// Bytes all epochs' filters may take together (see the module docs).
    pub(crate) budget: usize,
    /// Fewest bits per claim, however far over the budget: at 2, nearly every lookup answers
    /// "maybe" and confirmations bound the claim rate long before memory grows.
    pub(crate) least_bits: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // Claims live ~15 minutes: 4 to 8 epochs to look in.
            epoch_secs: 120,
            least: 4_096,
            // 16 MB of filter at 16 bits a claim.
            most: 1 << 23,
            // ~36,000 claims a second live ~34 million: 15 bits each, a server under 150 MB
            // (bench/results.md, 2026-12-06T18:46:10Z).
            budget: 64 << 20,
            least_bits: 2,
        }
    }
}

/// Claims read over a stretch of the log, `first_seq..=last_seq`.
pub(crate) struct Epoch {
    pub(crate) first_seq: i64,
    pub(crate) last_seq: i64,
    /// When its last claim expires (unix seconds).
    expires_max: i64,
    filter: Filter,
    /// When it opened (unix seconds).
    opened: i64,
    claims: usize,
    /// Claims it takes before it closes, and the bits per claim that makes.
    capacity: usize,
    bits: usize,
}

impl Epoch {
    /// An empty closed epoch for the claims of finished `runs` (`(run, first_seq)`, in order, at
    /// least one), `bits` each: runs the view did not read from the log (`backfill`).
    pub(crate) fn of_runs(runs: &[(i64, i64)], bits: usize) -> Epoch {
        let claims: usize = runs.iter().map(span).sum();
        let blocks = (claims.max(1) * bits).div_ceil(BLOCK_BITS);
        Epoch {
            first_seq: runs.first().map_or(0, |r| r.1),
            last_seq: runs.last().map_or(0, |r| r.0),
            expires_max: 0,
            filter: Filter::with_blocks(blocks),
            opened: 0,
            claims: 0,
            capacity: blocks * BLOCK_BITS / bits,
            bits,
        }
    }

    /// Adds a claim of its runs.
    pub(crate) fn insert(&mut self, fp: &Fingerprint, expires_at: i64) {
        self.filter.insert(fp);
        self.expires_max = self.expires_max.max(expires_at);
        self.claims += 1;
    }

    /// Claims added.
    pub(crate) fn claims(&self) -> usize {
        self.claims
    }
}

/// Claims of a finished run `(run, first_seq)`, at most (a claim logged twice is one).
pub(super) fn span(&(run, first_seq): &(i64, i64)) -> usize {
    usize::try_from(run - first_seq + 1).unwrap_or(0)
}

/// An open epoch's blocks are a multiple of this, so that its filter can be halved four times
/// when it closes with fewer claims than it was sized for.
const OPEN_BLOCK_MULTIPLE: usize = 16;

/// The epochs of one view.
#[derive(Default)]
pub(crate) struct Epochs {
    limits: Limits,
    /// Closed epochs, oldest first.
    closed: VecDeque<Epoch>,
    /// The epoch claims go into; opened by the first claim after the last one closed.
    open: Option<Epoch>,
    /// Claims a second, as the last closed epoch measured (0 before one closed).
    rate: f64,
    /// Seconds a claim lives (its expiry − when it was read), as the last closed epoch measured.
    life: i64,
}

impl Epochs {
    pub(crate) fn new(limits: Limits) -> Epochs {
        Epochs {
            limits,
            ..Epochs::default()
        }
    }

    /// How its epochs are sized.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// Adds a claim logged at `seq` (after every seq added before), expiring at `expires_at`,
    /// read at `now`.
    pub(crate) fn insert(&mut self, fp: &Fingerprint, expires_at: i64, seq: i64, now: i64) {
        let epoch = match &mut self.open {
            Some(epoch) => epoch,
            open => open.insert(new_epoch(self.limits, self.rate, self.life, seq, now)),
        };
        epoch.insert(fp, expires_at);
        epoch.last_seq = seq;
        if epoch.claims >= epoch.capacity {
            self.close(now);
        }
    }

    /// Closes the open epoch if it is twice [`Limits::epoch_secs`] old, and forgets those whose
    /// claims all expired.
    pub(crate) fn tick(&mut self, now: i64) {
        if let Some(epoch) = &self.open {
            if epoch.expires_max <= now {
                self.open = None;
            } else if now - epoch.opened >= 2 * self.limits.epoch_secs {
                self.close(now);
            }
        }
        while self.closed.front().is_some_and(|e| e.expires_max <= now) {
            self.closed.pop_front();
        }
    }

    /// Bits per claim for a filter of claims the view did not read from the log (`backfill`),
    /// when `extra` such claims are live besides those of its epochs: their share of the budget.
    pub(crate) fn bits_for(&self, extra: usize) -> usize {
        let held: usize = self.closed.iter().chain(&self.open).map(|e| e.claims).sum();
        let live = ((self.rate * self.life as f64) as usize).max(held + extra);
        (self.limits.budget * 8 / live.max(1)).clamp(self.limits.least_bits, BITS_PER_CLAIM)
    }

    /// Takes `epoch` (closed) among the closed ones, in the order of the log.
    pub(crate) fn adopt(&mut self, epoch: Epoch) {
        let at = self
            .closed
            .partition_point(|e| e.first_seq < epoch.first_seq);
        self.closed.insert(at, epoch);
    }

    /// The epochs whose filters may hold `fp` and whose claims are not all expired at `now`.
    pub(crate) fn may_hold<'a>(
        &'a self,
        fp: &'a Fingerprint,
        now: i64,
    ) -> impl Iterator<Item = &'a Epoch> + 'a {
        self.closed
            .iter()
            .chain(&self.open)
            .filter(move |e| e.expires_max > now && e.filter.may_contain(fp))
    }

    /// Bytes of the filters: `(closed epochs', the open epoch's)`.
    pub(crate) fn bytes(&self) -> (usize, usize) {
        (
            self.closed.iter().map(|e| e.filter.bytes()).sum(),
            self.open.as_ref().map_or(0, |e| e.filter.bytes()),
        )
    }

    /// Epochs held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.epochs().count()
    }

    #[cfg(test)]
    fn epochs(&self) -> impl Iterator<Item = &Epoch> {
        self.closed.iter().chain(&self.open)
    }

    /// Closes the open epoch: measures the rate and folds its filter to its claims.
    fn close(&mut self, now: i64) {
        let Some(mut epoch) = self.open.take() else {
            return;
        };
        let secs = (now - epoch.opened).max(1);
        self.rate = epoch.claims as f64 / secs as f64;
        self.life = (epoch.expires_max - now).max(1);
        while epoch.filter.blocks().is_multiple_of(2)
            && epoch.filter.blocks() / 2 * BLOCK_BITS >= epoch.claims.max(1) * epoch.bits
        {
            epoch.filter.fold();
        }
        tracing::debug!(
            claims = epoch.claims,
            bits = epoch.bits,
            bytes = epoch.filter.bytes(),
            "claim epoch closed"
        );
        self.closed.push_back(epoch);
    }
}

/// An empty epoch from `seq` at `now`, sized for `limits.epoch_secs` of claims at `rate` (a
/// second), each of the claims that live `life` seconds at that rate taking its share of the
/// budget.
fn new_epoch(limits: Limits, rate: f64, life: i64, seq: i64, now: i64) -> Epoch {
    let expected = (rate * limits.epoch_secs as f64) as usize;
    let expected = expected.clamp(limits.least, limits.most);
    // At least this epoch's own claims share the budget.
    let live = (rate * life as f64) as usize;
    let bits = (limits.budget * 8 / live.max(expected)).clamp(limits.least_bits, BITS_PER_CLAIM);
    // Not a power of two, which was up to twice the claims expected (8.0 MiB at ~20,000 claims
    // a second, 4–6 MiB this way: bench/results.md, 2026-12-07); it then closes when full after
    // about `epoch_secs`.
    let blocks = (expected * bits)
        .div_ceil(BLOCK_BITS)
        .next_multiple_of(OPEN_BLOCK_MULTIPLE);
    Epoch {
        first_seq: seq,
        last_seq: seq,
        expires_max: 0,
        filter: Filter::with_blocks(blocks),
        opened: now,
        claims: 0,
        capacity: blocks * BLOCK_BITS / bits,
        bits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn fp(i: u64) -> Fingerprint {
        Sha256::digest(i.to_le_bytes())[..16].try_into().unwrap()
    }

    fn bytes(epochs: &Epochs) -> usize {
        let (closed, open) = epochs.bytes();
        closed + open
    }

    fn limits(budget: usize) -> Limits {
        Limits {
            epoch_secs: 10,
            least: 1_024,
            most: 1 << 16,
            budget,
            least_bits: 2,
        }
    }

    #[test]
    fn epochs_close_when_full_or_old_and_fold_to_their_claims() {
        let mut epochs = Epochs::new(limits(1 << 30));
        // The first epoch is sized for the least: 1,024 claims fill it within one second.
        (0..1_024).for_each(|i| epochs.insert(&fp(i), 1_000, i as i64, 0));
        assert_eq!(epochs.len(), 1);
        assert!(epochs.open.is_none(), "full");
        assert_eq!(bytes(&epochs), 1_024 * BITS_PER_CLAIM / 8);
        // 1,024 a second: the next is sized for ten seconds of them (10,240 claims, 320 blocks),
        // and closes at twenty seconds with 100, folded while its half holds 16 bits each of
        // them: 320 = 5 × 64 blocks, to 5.
        (1_024..1_124).for_each(|i| epochs.insert(&fp(i), 1_000, i as i64, 1));
        epochs.tick(20);
        let open = epochs.open.as_ref().expect("neither full nor old");
        assert_eq!(open.filter.blocks(), 320, "a multiple of 16, not 512");
        epochs.tick(21);
        assert!(epochs.open.is_none());
        let second = &epochs.closed[1];
        assert_eq!((second.first_seq, second.last_seq), (1_024, 1_123));
        assert_eq!(second.filter.blocks(), 5);
        assert!((0..1_124).all(|i| epochs.may_hold(&fp(i), 21).count() >= 1));
        // Once their claims expired, they are forgotten.
        epochs.tick(1_000);
        assert_eq!((epochs.len(), bytes(&epochs)), (0, 0));
        epochs.insert(&fp(7), 2_000, 5_000, 1_000);
        assert_eq!(epochs.len(), 1, "and a new one opens");
    }

    #[test]
    fn a_higher_rate_shares_the_budget_with_fewer_bits_per_claim() {
        // 100 KiB for claims that live 100 s: at 1,024 a second, ~102,400 live claims, 8 bits each.
        let mut epochs = Epochs::new(limits(100 << 10));
        let mut seq = 0;
        for second in 0..30 {
            for _ in 0..1_024 {
                epochs.insert(&fp(seq), second + 100, seq as i64, second);
                seq += 1;
            }
            epochs.tick(second + 1);
        }
        let last = epochs.epochs().last().unwrap();
        assert!((7..=8).contains(&last.bits), "{} bits", last.bits);
        assert!(bytes(&epochs) <= 100 << 10, "{} bytes", bytes(&epochs));
        assert!((0..seq).all(|i| epochs.may_hold(&fp(i), 30).count() >= 1));
        let others = (seq..seq + 20_000)
            .filter(|&i| epochs.may_hold(&fp(i), 30).count() > 0)
            .count();
        // About 3 % a filter at 8 bits, and three epochs.
        assert!(others < 3_000, "{others} false maybes of 20,000");
    }
}
