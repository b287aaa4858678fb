//! Replay protection: a nonce may be used once per AccessKey while its request could still pass
//! the clock check, whichever API server on the catalog sees it, and across restarts.
//!
//! The catalog is the authority. Before a request is answered, its nonce is claimed there
//! ([`Catalog::claim_nonces`]) until the request's `Timestamp` leaves the clock window (signing
//! time + skew; after that the clock check refuses a replay anyway). A claim already held by a
//! live one, made by any server, refuses the request. One writer task per server batches the
//! claims of concurrent requests into one catalog transaction (group commit) and answers each
//! waiting request. When the catalog fails, the request is refused (`ServiceUnavailable`), never
//! let through unclaimed.
//!
//! In memory a server keeps only the nonces it claimed or was refused, as 128-bit keyed
//! fingerprints (~17 B each, never two equal by chance in practice) in buckets by expiry minute, at
//! most [`REMEMBERED`] of them: a replay of one is refused without a catalog round trip. A hit in
//! the bucket of the current minute may have expired, so it is confirmed by a claim (which takes
//! the nonce over if it had). When full, the earliest-expiring bucket is dropped: forgetting costs
//! a claim, which refuses the replay all the same, so memory stays bounded at any request rate. No
//! Bloom filter for older minutes here: a nonce not refused from memory must be claimed in the
//! catalog anyway (that is what tells the other servers), and that claim refuses a replay by
//! itself, so a filter hit could never save the round trip it would need for confirmation. (The
//! SQLite catalog keeps filters of its own, of the claims it read from its claim log, to check a
//! claim without reading a random page: `xbak_catalog::sqlite`'s `nonces`.)

use chrono::{DateTime, Utc};
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use xbak_catalog::{Catalog, CatalogError, SeenNonce};

use crate::error::HandlerError;

/// How often `serve` runs the catalog's upkeep of claims ([`NonceGuard::prune`]): deleting
/// expired ones and, on SQLite, cutting a run of the logged ones every 5 seconds (every server
/// holds the claims since the last run exactly in memory, until the next one is written).
pub const PRUNE_EVERY: Duration = Duration::from_secs(5);
/// Most fingerprints a server remembers (~2–5 MB).
pub const REMEMBERED: usize = 1 << 17;
/// Claims expired this long ago are left in the catalog by [`NonceGuard::prune`]: another
/// server whose clock is behind ours still counts them live.
const PRUNE_MARGIN: chrono::Duration = chrono::Duration::minutes(5);
/// Claims deleted or moved per upkeep transaction (about a millisecond), so claims never wait
/// long behind it.
const PRUNE_STEP: u32 = 1_024;
/// Least pause between two prune transactions. After each step the upkeep rests as long as the
/// step took, so it holds the nonces file's writer at most about half the time: steps back to
/// back kept the writer busy for seconds and claims queued behind them (bench/results.md,
/// 2026-12-05T13:45Z), while a fixed 10 ms pause capped the upkeep at ~90,000 claims a second
/// written, moved or deleted, less than the three per claim 40,000 cached calls a second need:
/// its backlog, and the claims every server keeps exactly until a run is written, then grew
/// without end (2026-12-06T15:48:01Z).
const PRUNE_PAUSE: Duration = Duration::from_millis(1);
/// Most claims per catalog transaction.
const MAX_BATCH: usize = 1_024;
/// Times the writer lets the runtime run other tasks, taking the claims they queued, before it
/// makes a batch: requests already being checked then join it instead of waiting for the next
/// one. With claims appended to a log, batches of ~13 instead of ~2 cost 4 µs less server CPU
/// per cached call (bench/results.md, 2026-12-06T10:45Z).
const GATHER_YIELDS: usize = 2;
/// Claims waiting for the writer; requests beyond it wait for room (back pressure).
const QUEUE: usize = 4_096;
const SHARDS: usize = 16;
const BUCKET_SECS: i64 = 60;

/// Refuses replayed nonces across every server on the catalog.
pub struct NonceGuard {
    catalog: Arc<dyn Catalog>,
    /// How far a request's `Timestamp` may be from now (the clock check's skew).
    skew: chrono::Duration,
    recent: Recent,
    claims: mpsc::Sender<Claim>,
}

/// One request's claim, waiting for the writer's answer.
struct Claim {
    nonce: SeenNonce,
    now: DateTime<Utc>,
    answer: oneshot::Sender<Result<bool, String>>,
}

impl NonceGuard {
    /// A guard on `catalog` and its writer task (which ends with the guard). `skew` is the clock
    /// check's: how far a request's `Timestamp` may be from now.
    pub fn new(catalog: Arc<dyn Catalog>, skew: Duration) -> NonceGuard {
        let (claims, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_claims(catalog.clone(), queue));
        NonceGuard {
            catalog,
            skew: chrono::Duration::from_std(skew.max(Duration::from_secs(1)))
                .unwrap_or(chrono::Duration::minutes(15)),
            recent: Recent::new(REMEMBERED),
            claims,
        }
    }

    /// Claims the nonce of a request signed at `signed_at` (already within the clock window):
    /// `false` when it was used and has not expired; `Unavailable` when the catalog cannot say.
    pub async fn check_and_remember(
        &self,
        access_key_id: &str,
        nonce: &str,
        signed_at: DateTime<Utc>,
    ) -> Result<bool, HandlerError> {
        self.check_at(access_key_id, nonce, signed_at, Utc::now())
            .await
    }

    async fn check_at(
        &self,
        access_key_id: &str,
        nonce: &str,
        signed_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, HandlerError> {
        let fp = self.recent.fingerprint(access_key_id, nonce);
        if self.recent.surely_live(fp, now.timestamp()) {
            return Ok(false);
        }
        let expires_at = signed_at + self.skew;
        let (answer, answered) = oneshot::channel();
        let claim = Claim {
            nonce: SeenNonce {
                access_key_id: access_key_id.to_owned(),
                nonce: nonce.to_owned(),
                expires_at,
            },
            now,
            answer,
        };
        let unavailable = |why: String| HandlerError::Unavailable(format!("replay guard: {why}"));
        self.claims
            .send(claim)
            .await
            .map_err(|_| unavailable("the claim writer stopped".into()))?;
        let won = answered
            .await
            .map_err(|_| unavailable("the claim writer stopped".into()))?
            .map_err(unavailable)?;
        // Refused too: a replay sent to every server costs each one claim, not one per copy
        // (and a read-only action runs while its claim is made: `rpc::serve`).
        self.recent
            .remember(fp, expires_at.timestamp(), now.timestamp());
        Ok(won)
    }

    /// Reads the live claims made before this server started, by any server (see
    /// [`Catalog::load_nonces`]); returns how many. Before serving: claims wait meanwhile.
    pub async fn load(&self) -> Result<u64, CatalogError> {
        self.catalog.load_nonces(Utc::now()).await
    }

    /// Runs the catalog's upkeep of claims (deletes expired ones; on SQLite also writes runs of
    /// the logged ones), a bounded step at a time with a pause after each as long as the step
    /// took (see [`PRUNE_PAUSE`]); returns how many claims the steps deleted or moved. Each step
    /// is a transaction of its own, so the future may be dropped between or during steps.
    pub async fn prune(&self) -> Result<u64, CatalogError> {
        let before = Utc::now() - PRUNE_MARGIN;
        let mut pruned = 0;
        loop {
            let started = std::time::Instant::now();
            let n = self.catalog.prune_nonces(before, PRUNE_STEP).await?;
            pruned += n;
            if n < u64::from(PRUNE_STEP) {
                return Ok(pruned);
            }
            tokio::time::sleep(started.elapsed().max(PRUNE_PAUSE)).await;
        }
    }
}

/// The writer: takes every claim waiting (up to [`MAX_BATCH`], gathered as
/// [`GATHER_YIELDS`] says), makes them in one catalog
/// transaction, answers each, and starts over; while one batch is in the catalog the next one
/// gathers. Ends when the guard is dropped.
async fn write_claims(catalog: Arc<dyn Catalog>, mut queue: mpsc::Receiver<Claim>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        for _ in 0..GATHER_YIELDS {
            tokio::task::yield_now().await;
            while batch.len() < MAX_BATCH {
                let Ok(claim) = queue.try_recv() else { break };
                batch.push(claim);
            }
        }
        // Taking over an expired claim depends on `now`: the latest of the batch is the truest.
        let now = batch.iter().map(|c| c.now).max().unwrap_or_else(Utc::now);
        let (nonces, answers): (Vec<SeenNonce>, Vec<_>) =
            batch.drain(..).map(|c| (c.nonce, c.answer)).unzip();
        match catalog.claim_nonces(&nonces, now).await {
            Ok(won) if won.len() == answers.len() => {
                for (answer, won) in answers.into_iter().zip(won) {
                    // A request that gave up waiting no longer listens; nothing to do.
                    let _ = answer.send(Ok(won));
                }
            }
            Ok(won) => {
                let why = format!("{} answers to {} claims", won.len(), answers.len());
                answers
                    .into_iter()
                    .for_each(|a| drop(a.send(Err(why.clone()))));
            }
            Err(e) => {
                let why = e.to_string();
                answers
                    .into_iter()
                    .for_each(|a| drop(a.send(Err(why.clone()))));
            }
        }
    }
}

/// The fingerprints of the nonces this server claimed, by expiry minute, at most a fixed number.
struct Recent {
    /// Two independent keys: 128 bits, so no two nonces share a fingerprint in practice.
    hashers: [RandomState; 2],
    shards: Vec<Mutex<VecDeque<Bucket>>>,
    per_shard: usize,
}

/// Fingerprints expiring in one minute (or a part of them, when that minute has many).
struct Bucket {
    /// Unix minute in which its fingerprints expire.
    minute: i64,
    seen: HashSet<u128, NoHash>,
}

impl Recent {
    fn new(capacity: usize) -> Recent {
        Recent {
            hashers: [RandomState::new(), RandomState::new()],
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: (capacity / SHARDS).max(1),
        }
    }

    fn fingerprint(&self, access_key_id: &str, nonce: &str) -> u128 {
        let [a, b] = &self.hashers;
        u128::from(a.hash_one((access_key_id, nonce))) << 64
            | u128::from(b.hash_one((access_key_id, nonce)))
    }

    fn shard(&self, fp: u128) -> std::sync::MutexGuard<'_, VecDeque<Bucket>> {
        // The top bits pick the shard; the table hashes by the low ones.
        self.shards[(fp >> 120) as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `fp` is remembered with an expiry surely after `now` (unix seconds): in a
    /// bucket of a later minute than now's.
    fn surely_live(&self, fp: u128, now: i64) -> bool {
        let this_minute = now.div_euclid(BUCKET_SECS);
        self.shard(fp)
            .iter()
            .any(|b| b.minute > this_minute && b.seen.contains(&fp))
    }

    /// Remembers `fp` until `expires` (unix seconds), dropping the buckets expired before `now`
    /// and, when the shard is full, the earliest-expiring ones.
    fn remember(&self, fp: u128, expires: i64, now: i64) {
        let minute = expires.div_euclid(BUCKET_SECS);
        let this_minute = now.div_euclid(BUCKET_SECS);
        let mut buckets = self.shard(fp);
        while buckets.front().is_some_and(|b| b.minute < this_minute) {
            buckets.pop_front();
        }
        while buckets.iter().map(|b| b.seen.len()).sum::<usize>() >= self.per_shard {
            buckets.pop_front();
        }
        // Buckets stay ordered by minute (an earlier expiry goes in its place), a minute in
        // chunks of a quarter of the shard, so evicting one never empties a busy shard.
        let end = buckets.partition_point(|b| b.minute <= minute);
        let room = end > 0
            && buckets[end - 1].minute == minute
            && buckets[end - 1].seen.len() < (self.per_shard / 4).max(1);
        let pos = if room { end - 1 } else { end };
        if !room {
            buckets.insert(
                pos,
                Bucket {
                    minute,
                    seen: HashSet::default(),
                },
            );
        }
        buckets[pos].seen.insert(fp);
    }

    /// `(fingerprints, bytes of their tables)` now remembered.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        // A hash table slot: the fingerprint and one control byte.
        let slot = std::mem::size_of::<u128>() + 1;
        self.shards.iter().fold((0, 0), |(n, bytes), shard| {
            let buckets = shard.lock().unwrap();
            let len: usize = buckets.iter().map(|b| b.seen.len()).sum();
            let cap: usize = buckets.iter().map(|b| b.seen.capacity() * slot).sum();
            (n + len, bytes + cap)
        })
    }
}

/// The fingerprints are already keyed hashes: hashing them again would only cost time.
#[derive(Default, Clone, Copy)]
struct NoHash;

impl BuildHasher for NoHash {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

#[cfg(test)]
mod tests;
